//! One simulated agent session: open a session on its front, then execute programs back
//! to back until told to stop, checking every answer, then close the session.
//!
//! Over gRPC a session is a `CreateSession` id on a connection shared with other sessions
//! (HTTP/2 multiplexing, as a sidecar's platform would do); over MCP it is its own rmcp
//! streamable-HTTP client, with its own `Mcp-Session-Id` and connections, as independent
//! agents would be.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::{Program, Run};
use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;

/// How a session reaches the server.
#[derive(Clone)]
pub(super) enum Endpoint {
    /// gRPC on a shared channel.
    Grpc {
        channel: Channel,
        auth: Option<MetadataValue<Ascii>>,
    },
    /// MCP over streamable HTTP at this URL.
    Mcp { url: String, auth: Option<String> },
}

/// An open session.
enum Conn {
    Grpc {
        client: BrokerClient<Channel>,
        auth: Option<MetadataValue<Ascii>>,
        session: String,
    },
    Mcp {
        client: RunningService<RoleClient, ()>,
    },
}

/// What an execute answered: the program's result, or its error kind and message.
struct Answer {
    result: Value,
    error: Option<(String, String)>,
}

/// A failure, by class (what the report counts) with one message as an example.
pub(super) struct Failure {
    pub class: String,
    pub message: String,
}

impl Failure {
    fn new(class: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            class: class.into(),
            message: message.into(),
        }
    }
}

fn with_auth<T>(message: T, auth: &Option<MetadataValue<Ascii>>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = auth {
        request
            .metadata_mut()
            .insert("authorization", value.clone());
    }
    request
}

fn grpc_failure(status: &tonic::Status) -> Failure {
    Failure::new(
        format!("grpc status {:?}", status.code()),
        status.message().to_owned(),
    )
}

fn mcp_failure(error: &ServiceError) -> Failure {
    let class = match error {
        ServiceError::McpError(e) => format!("mcp json-rpc error {}", e.code.0),
        ServiceError::TransportSend(_) => "mcp transport send failed".into(),
        ServiceError::TransportClosed => "mcp transport closed".into(),
        ServiceError::Timeout { .. } => "mcp request timeout".into(),
        ServiceError::Cancelled { .. } => "mcp request cancelled".into(),
        _ => "mcp other error".into(),
    };
    Failure::new(class, error.to_string())
}

impl Conn {
    async fn open(endpoint: &Endpoint) -> Result<Conn, Failure> {
        match endpoint {
            Endpoint::Grpc { channel, auth } => {
                let mut client = BrokerClient::new(channel.clone());
                let created = client
                    .create_session(with_auth(pb::CreateSessionRequest {}, auth))
                    .await
                    .map_err(|s| {
                        let f = grpc_failure(&s);
                        Failure::new(format!("open session: {}", f.class), f.message)
                    })?;
                Ok(Conn::Grpc {
                    client,
                    auth: auth.clone(),
                    session: created.into_inner().session,
                })
            }
            Endpoint::Mcp { url, auth } => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                if let Some(key) = auth {
                    config = config.auth_header(key.clone());
                }
                let client =
                    ().serve(StreamableHttpClientTransport::from_config(config))
                        .await
                        .map_err(|e| {
                            Failure::new("open session: mcp initialize failed", e.to_string())
                        })?;
                Ok(Conn::Mcp { client })
            }
        }
    }

    async fn execute(&mut self, code: &str) -> Result<Answer, Failure> {
        match self {
            Conn::Grpc {
                client,
                auth,
                session,
            } => {
                let request = pb::ExecuteRequest {
                    code: code.to_owned(),
                    session: session.clone(),
                    timeout_ms: None,
                };
                let response = client
                    .execute(with_auth(request, auth))
                    .await
                    .map_err(|s| grpc_failure(&s))?
                    .into_inner();
                let outcome = response
                    .outcome
                    .ok_or_else(|| Failure::new("grpc answer without outcome", "no outcome"))?;
                if let Some(error) = outcome.error {
                    let kind = pb::ErrorKind::try_from(error.kind)
                        .map(|k| k.as_str_name().to_ascii_lowercase())
                        .unwrap_or_else(|_| error.kind.to_string());
                    return Ok(Answer {
                        result: Value::Null,
                        error: Some((kind, error.message)),
                    });
                }
                let result = serde_json::from_str(&outcome.result_json)
                    .map_err(|e| Failure::new("grpc result is not JSON", e.to_string()))?;
                Ok(Answer {
                    result,
                    error: None,
                })
            }
            Conn::Mcp { client } => {
                let mut args = serde_json::Map::new();
                args.insert("code".into(), code.into());
                let result = client
                    .call_tool(CallToolRequestParams::new("execute").with_arguments(args))
                    .await
                    .map_err(|e| mcp_failure(&e))?;
                let outcome = result.structured_content.ok_or_else(|| {
                    Failure::new(
                        "mcp answer without structuredContent",
                        "no structuredContent",
                    )
                })?;
                let error = match &outcome["error"] {
                    Value::Null => None,
                    e => Some((
                        e["kind"].as_str().unwrap_or("unknown").to_owned(),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )),
                };
                Ok(Answer {
                    result: outcome["result"].clone(),
                    error,
                })
            }
        }
    }

    async fn close(self) {
        if let Conn::Mcp { client } = self {
            // Ends the MCP session (HTTP DELETE), so the server can drop its state.
            let _ = client.cancel().await;
        }
    }
}

/// Rows of the example sheet whose names are also leads in the example CRM.
const ROWS: [&str; 3] = ["L-001", "L-002", "L-003"];

/// The programs a session runs and what it remembers to check their answers.
struct Script {
    program: Program,
    step: u64,
    /// Row id → (name placeholder, email placeholder) as first seen in this session.
    seen: HashMap<&'static str, (String, String)>,
}

/// What a step runs and how to judge it.
enum Step {
    Trivial,
    Read(&'static str),
    Resolve(&'static str, String),
}

impl Script {
    fn new(program: Program) -> Self {
        Script {
            program,
            step: 0,
            seen: HashMap::new(),
        }
    }

    /// Trivial: `return 1`. Tool: read a row (PII tokenized at ingress), then pass its
    /// name placeholder back to the CRM in the next execute (egress resolves it; the
    /// CRM's answer is tokenized again and must come back as the same placeholder).
    fn next(&mut self) -> (Step, String) {
        let step = self.step;
        self.step += 1;
        if self.program == Program::Trivial {
            return (Step::Trivial, "return 1;".to_owned());
        }
        let row = ROWS[((step / 2) % ROWS.len() as u64) as usize];
        match (step % 2, self.seen.get(row)) {
            (1, Some((name, _))) => {
                let code = format!(
                    "const r = await tools.crm.searchLeads({{ query: {} }});\nreturn r.leads.map(l => l.name);",
                    Value::String(name.clone())
                );
                (Step::Resolve(row, name.clone()), code)
            }
            _ => {
                let code = format!(
                    "const r = await tools.sheets.getRow({{ sheet: \"q4-leads\", id: \"{row}\" }});\nreturn {{ name: r.name, email: r.email }};"
                );
                (Step::Read(row), code)
            }
        }
    }

    fn check(&mut self, step: Step, answer: Answer) -> Result<(), Failure> {
        if let Some((kind, message)) = answer.error {
            return Err(Failure::new(format!("program error: {kind}"), message));
        }
        let result = answer.result;
        match step {
            Step::Trivial => (result == 1)
                .then_some(())
                .ok_or_else(|| Failure::new("check: wrong result", result.to_string())),
            Step::Read(row) => {
                let name = placeholder(&result["name"], "NAME")?;
                let email = placeholder(&result["email"], "EMAIL")?;
                match self.seen.get(row) {
                    Some(first) if *first != (name.clone(), email.clone()) => Err(Failure::new(
                        "check: placeholder changed within the session",
                        format!("row {row}: first {first:?}, now ({name}, {email})"),
                    )),
                    Some(_) => Ok(()),
                    None => {
                        self.seen.insert(row, (name, email));
                        Ok(())
                    }
                }
            }
            Step::Resolve(row, name) => {
                let names = result.as_array().cloned().unwrap_or_default();
                if names.iter().any(|n| n.as_str() == Some(name.as_str())) {
                    Ok(())
                } else {
                    Err(Failure::new(
                        "check: placeholder did not resolve in a later execute",
                        format!("row {row}: searched the CRM for {name}, got {result}"),
                    ))
                }
            }
        }
    }
}

/// `value` must be a placeholder of `kind` such as `[NAME_3]`: anything else is raw data
/// reaching the caller, or a lost value.
fn placeholder(value: &Value, kind: &str) -> Result<String, Failure> {
    let text = value.as_str().unwrap_or_default();
    let ok = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.strip_prefix(kind))
        .and_then(|t| t.strip_prefix('_'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Failure::new(
            format!("check: {kind} is not a placeholder"),
            format!("expected [{kind}_n], got a {}-byte value", text.len()),
        ))
    }
}

/// Runs one session (and its successors, when sessions are recycled) until the run's
/// stop time. `front` is the report's index of the session's front.
pub(super) async fn drive(run: Arc<Run>, endpoint: Endpoint, front: usize, start_at: Instant) {
    tokio::time::sleep_until(start_at.into()).await;
    while Instant::now() < run.stop_at {
        let opened = tokio::time::timeout(run.request_timeout, Conn::open(&endpoint)).await;
        let mut conn = match opened {
            Ok(Ok(conn)) => conn,
            Ok(Err(failure)) => {
                run.fail(failure);
                // Do not hammer a server that refuses sessions.
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(_) => {
                run.fail(Failure::new("open session: client timeout", "no answer"));
                continue;
            }
        };
        run.sessions_opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut script = Script::new(run.program);
        let mut executes = 0u32;
        while Instant::now() < run.stop_at
            && (run.session_executes == 0 || executes < run.session_executes)
        {
            let (step, code) = script.next();
            let started = Instant::now();
            let answer = tokio::time::timeout(run.request_timeout, conn.execute(&code)).await;
            let finished = Instant::now();
            executes += 1;
            let checked = match answer {
                Err(_) => Err(Failure::new(
                    "client timeout",
                    format!("no answer within {} ms", run.request_timeout.as_millis()),
                )),
                Ok(Err(failure)) => Err(failure),
                Ok(Ok(answer)) => script.check(step, answer),
            };
            match checked {
                Ok(()) => run.record(front, started, finished),
                Err(failure) => run.fail(failure),
            }
            if !run.think.is_zero() {
                let pause = run.think.mul_f64(rand::random_range(0.5..1.5));
                tokio::time::sleep_until((Instant::now() + pause).min(run.stop_at).into()).await;
            }
        }
        conn.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(result: Value) -> Answer {
        Answer {
            result,
            error: None,
        }
    }

    #[test]
    fn the_tool_script_reads_then_resolves_each_row() {
        let mut script = Script::new(Program::Tool);
        let (step, code) = script.next();
        assert!(matches!(step, Step::Read("L-001")), "{code}");
        assert!(code.contains("getRow"));
        script
            .check(step, ok(json!({"name": "[NAME_1]", "email": "[EMAIL_1]"})))
            .map_err(|f| f.class)
            .expect("first read");
        let (step, code) = script.next();
        assert!(matches!(step, Step::Resolve("L-001", ref n) if n == "[NAME_1]"));
        assert!(
            code.contains("searchLeads({ query: \"[NAME_1]\" })"),
            "{code}"
        );
        assert!(script.check(step, ok(json!(["[NAME_1]"]))).is_ok());
        let (step, _) = script.next();
        assert!(matches!(step, Step::Read("L-002")));
    }

    #[test]
    fn a_changed_or_raw_or_unresolved_value_is_a_failure() {
        let mut script = Script::new(Program::Tool);
        let (step, _) = script.next();
        assert!(
            script
                .check(step, ok(json!({"name": "[NAME_1]", "email": "[EMAIL_1]"})))
                .is_ok()
        );
        let (step, _) = script.next();
        let unresolved = script.check(step, ok(json!([]))).err().map(|f| f.class);
        assert_eq!(
            unresolved.as_deref(),
            Some("check: placeholder did not resolve in a later execute")
        );
        // Six steps later the same row is read again: a new placeholder is a failure.
        for _ in 0..4 {
            script.next();
        }
        let (step, _) = script.next();
        assert!(matches!(step, Step::Read("L-001")));
        let changed = script
            .check(step, ok(json!({"name": "[NAME_2]", "email": "[EMAIL_1]"})))
            .err()
            .map(|f| f.class);
        assert_eq!(
            changed.as_deref(),
            Some("check: placeholder changed within the session")
        );
        let raw = placeholder(&json!("Amelia Hartley"), "NAME")
            .err()
            .map(|f| f.class);
        assert_eq!(raw.as_deref(), Some("check: NAME is not a placeholder"));
        let error = script.check(
            Step::Trivial,
            Answer {
                result: Value::Null,
                error: Some(("timeout".into(), "slow".into())),
            },
        );
        assert_eq!(
            error.err().map(|f| f.class).as_deref(),
            Some("program error: timeout")
        );
    }
}
