//! The broker core: one typed service API ([`Broker`]) over the pipeline every tool call
//! goes through (DESIGN §1). Fronts and CLI commands call only [`Broker`] with the typed
//! requests of [`request`], and map [`BrokerError`] with a `match`.
//!
//! | module | owns | must never |
//! |---|---|---|
//! | [`broker`] | the facade: validation, sessions, execute, search, (de)tokenize, purge | hand a front a vault, tokenizer or catalog |
//! | [`request`] | typed requests and their validation rules | print a session id in `Debug` |
//! | [`response`] | typed answers of the operations | hold a raw value |
//! | `admission` | session owners and per-agent executes in flight | log a session id |
//! | [`error`] | typed refusals (`CallDenial`, `FlowDenial`) and failures | hold a raw value |
//! | [`pipeline`] | authorize → egress → backend → ingress for one call | call a backend before every decision is audited |
//! | [`egress`] | finding placeholders in arguments, `flow` decisions, substitution | resolve a placeholder of another session |
//! | [`ingress`] | neutralize, known values, detect, mint, replace (the [`Tokenizer`]) | let backend text through untokenized |
//! | [`known`] | matching the values a session already holds, however they are echoed | put a value in `Debug`, a log or a file |
//! | `record` | audit records, decision logs and metrics | log a value or a session id |
//! | `events` | live console lines and call events for observers | deliver an event unscanned |
//! | `scan` | the last scan (and size limit) of everything a program returns | return text it could not scan |
//! | [`approval`] | `ask`: putting an `@on_deny("ask")` refusal to the execute's approver, remembered answers | show an approver a value |
//! | `bridge` | the sandbox's [`sandbox_host::HostBridge`] | decide anything itself |

pub mod broker;
pub mod egress;
pub mod error;
pub mod fields;
pub mod ingress;
pub mod known;
pub mod request;
pub mod response;

pub(crate) mod admission;
pub mod approval;
mod bridge;
mod events;
pub mod pipeline;
mod record;
mod scan;
pub mod skills;
pub mod workspace;

pub use admission::DEFAULT_CONCURRENT_PER_AGENT;
pub use approval::{
    Answer, Approval, ApprovalFuture, ApprovalRequest, Approver, ApproverSlot, Asked, AskedFlow,
};
pub use broker::{
    Broker, CalledTool, Executed, FlowVerdict, PlaceholderFacts, ServerSummary, Tokenized,
};
pub use error::{BrokerError, CallDenial, DeniedFlow, FlowDenial, InvalidRequest};
pub use events::{CallEvent, ExecuteEvent, ExecuteObserver, Observer, Watch};
pub use ingress::Tokenizer;
pub use request::{
    CallContext, CallToolRequest, CheckFlowRequest, Detail, DetokenizeRequest, ExecuteRequest,
    Payload, SearchRequest, SessionId, TokenizeRequest, ToolRef,
};
pub use scan::SANDBOX_SOURCE;

/// Runs vault work that may block on an fsync: in place on a multi-threaded runtime (no
/// thread hand-off; the worker's other tasks move to other workers meanwhile), else on the
/// blocking pool. The one way the broker runs blocking work from async code.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, tokio::task::JoinError> {
    if on_multi_thread_runtime() {
        Ok(tokio::task::block_in_place(f))
    } else {
        tokio::task::spawn_blocking(f).await
    }
}

/// [`blocking`] for sync code called on a runtime (session owners): in place on a
/// multi-threaded runtime, else directly (there is no other thread to move to).
pub(crate) fn in_place<R>(f: impl FnOnce() -> R) -> R {
    if on_multi_thread_runtime() {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Whether the caller runs on a multi-threaded tokio runtime (where `block_in_place` is
/// allowed).
fn on_multi_thread_runtime() -> bool {
    matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;

    /// A config without backends keeping its state in `dir`, with the anonymous agent `t`.
    fn config_in(dir: &std::path::Path) -> Config {
        let text = format!(
            "data_dir = {:?}\n[auth]\nanonymous = \"t\"\n",
            dir.to_str().expect("path")
        );
        Config::parse(&text, std::path::Path::new("t.toml")).expect("config")
    }

    /// Runs `code` observed, both ways, on a broker without backends: the events each
    /// observer saw.
    async fn observed_both_ways(code: &str) -> (Vec<ExecuteEvent>, Vec<ExecuteEvent>) {
        let dir = tempfile::tempdir().expect("dir");
        let config = config_in(dir.path());
        let broker = Broker::from_config(&config).expect("broker");
        let collect = |watch| {
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = Arc::clone(&seen);
            let observer = Observer {
                sink: Arc::new(move |event| {
                    if let Ok(mut events) = sink.lock() {
                        events.push(event);
                    }
                }),
                watch,
            };
            (seen, observer)
        };
        let request = || ExecuteRequest {
            agent: "t".into(),
            session: None,
            code: code.into(),
            timeout_ms: None,
            deadline: None,
        };
        let (everything, observer) = collect(Watch::Everything);
        let executed = broker
            .execute(request(), Some(observer))
            .await
            .expect("ran");
        assert_eq!(executed.outcome.error, None, "{executed:?}");
        let (logs, observer) = collect(Watch::ConsoleOnly);
        let executed = broker
            .execute(request(), Some(observer))
            .await
            .expect("ran");
        assert_eq!(executed.outcome.error, None, "{executed:?}");
        let take = |seen: Arc<std::sync::Mutex<Vec<ExecuteEvent>>>| {
            std::mem::take(&mut *seen.lock().expect("lock"))
        };
        (take(everything), take(logs))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_private_session_writes_nothing_until_its_program_mints() {
        let dir = tempfile::tempdir().expect("dir");
        let config = config_in(dir.path());
        // A fresh store writes its key check record at the first open.
        drop(Broker::from_config(&config).expect("broker"));
        let broker = Broker::from_config(&config).expect("broker");
        assert!(broker.vault_untouched(), "reopened, nothing written yet");
        let run = |agent: &str, session: &SessionId, code: &str| ExecuteRequest {
            agent: agent.into(),
            session: Some(session.clone()),
            code: code.into(),
            timeout_ms: None,
            deadline: None,
        };
        let private = broker.create_private_session("t").expect("session");
        let executed = broker
            .execute(run("t", &private, "return 1 + 1;"), None)
            .await
            .expect("ran");
        assert_eq!(executed.outcome.error, None, "{executed:?}");
        assert!(broker.vault_untouched(), "no owner record, nothing minted");
        // Owned all the same: another agent presenting the id is refused.
        assert!(matches!(
            broker.execute(run("u", &private, "return 1;"), None).await,
            Err(BrokerError::UnknownSession)
        ));
        let executed = broker
            .execute(
                run(
                    "t",
                    &private,
                    r#"console.log("ada" + "@" + "example.org");"#,
                ),
                None,
            )
            .await
            .expect("ran");
        assert!(
            executed.outcome.logs[0].message.starts_with("[EMAIL_"),
            "{executed:?}"
        );
        assert!(!broker.vault_untouched(), "the mint wrote");
        // A session that can be shown is claimed in the store at once.
        let dir = tempfile::tempdir().expect("dir");
        let config = config_in(dir.path());
        let shown = Broker::from_config(&config).expect("broker");
        shown.create_session("t").expect("session");
        assert!(!shown.vault_untouched(), "the claim wrote");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_console_only_observer_sees_console_lines_only_and_tokenized() {
        let code = r#"try { await tools.nowhere.ping({}); } catch (e) {}
                      console.log("mail", "ada" + "@" + "example.org");
                      return 1;"#;
        let (everything, logs) = observed_both_ways(code).await;
        assert!(
            matches!(everything.as_slice(), [ExecuteEvent::Call(call), ExecuteEvent::Log(_)] if call.server == "nowhere"),
            "{everything:?}"
        );
        let [ExecuteEvent::Log(line)] = logs.as_slice() else {
            panic!("only the console line: {logs:?}");
        };
        assert!(line.message.starts_with("mail [EMAIL_"), "{line:?}");
        assert!(!format!("{everything:?}{logs:?}").contains("ada@example.org"));
    }
}
