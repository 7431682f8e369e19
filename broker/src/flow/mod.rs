//! The broker core: one `execute` end to end (DESIGN §1). It owns the sandbox, the
//! backends, the tokenizer and the policy store, and is the [`HostBridge`] every tool call
//! from agent code goes through.
//!
//! Per tool call, in order: the server must exist → Cedar authorizes `call` → egress
//! (every minted placeholder in the arguments is checked with `flow`; one denial fails the
//! call and the backend is not called; otherwise values are substituted) → the backend →
//! ingress (neutralize, detect, mint, replace). After the program, its whole outcome is
//! scanned once more (defence in depth) with source `sandbox`. The same pipeline serves
//! proxied single calls ([`Broker::call_tool`]) and detokenization toward a destination
//! ([`Broker::detokenize`]).

pub mod egress;
pub mod ingress;

use std::sync::Arc;

use sandbox_host::{
    BridgeFuture, ErrorKind, HostBridge, Limits, LogEntry, Outcome, Sandbox, ToolError,
};
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::audit::{self, AuditEvent, AuditLog, AuditPlaceholder, AuditRecord};
use crate::backends::Backends;
use crate::catalog::{self, Catalog, Detail};
use crate::metrics::METRICS;
use crate::policy::{Decision, PolicyStore};
pub use egress::{Denial, DeniedFlow};
use egress::{Destination, Egress};
use ingress::Tokenizer;

/// The provenance recorded for values first seen in a program's own outcome.
pub const SANDBOX_SOURCE: &str = "sandbox";

/// Who is running a program, and in which session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The vault session placeholders are scoped to.
    pub session: String,
    /// The principal (Cedar `Agent`).
    pub agent: String,
}

/// Why a detokenization was refused.
#[derive(Debug, thiserror::Error)]
pub enum DetokenizeError {
    /// A flow policy denied at least one placeholder (the message names each).
    #[error("{0}")]
    Denied(Denial),
    /// Detokenization stopped before deciding (a worker failed); nothing was resolved.
    #[error("detokenization failed and nothing was resolved")]
    Failed,
    /// The destination is not `server/tool` of a configured server.
    #[error("{0}")]
    Destination(String),
    /// The vault failed.
    #[error("the vault failed: {0}")]
    Vault(#[from] crate::vault::VaultError),
    /// The decision could not be audited, so nothing was resolved.
    #[error("{0}")]
    Audit(String),
}

/// What one tool call of a running program did: names, outcome and timing, never values
/// (arguments and results are not included; the error message is already tokenized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The server called.
    pub server: String,
    /// The tool called.
    pub tool: String,
    /// Why the call failed (`None`: it succeeded).
    pub error: Option<ToolError>,
    /// How long the call took in the broker, policy and backend included.
    pub elapsed: std::time::Duration,
}

/// What a running program did, as an observer sees it live: console lines and finished
/// tool calls, tokenized like the outcome, in the order the program produced them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecuteEvent {
    /// A console line.
    Log(LogEntry),
    /// A tool call finished.
    Call(CallEvent),
}

/// Receives each [`ExecuteEvent`] of an execute as it happens (it must not block). All
/// events are delivered before [`Broker::execute_observed`] returns the outcome.
pub type ExecuteObserver = Arc<dyn Fn(ExecuteEvent) + Send + Sync>;

/// A configured server as fronts list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    /// The server's name (the `tools.<name>` accessor).
    pub name: String,
    /// Its trust level (`Server.trust` in policies).
    pub trust: String,
    /// Its tags (`Server.tags` in policies).
    pub tags: Vec<String>,
    /// How many tools it offers; `None` when it cannot be reached now.
    pub tools: Option<usize>,
}

/// Which events an observed execute reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observed {
    /// Console lines and finished tool calls.
    Everything,
    /// Console lines only.
    Logs,
}

/// The parts every tool call goes through, shared by all executes.
struct Core {
    backends: Arc<Backends>,
    tokenizer: Tokenizer,
    policy: Arc<PolicyStore>,
    audit: Option<Arc<AuditLog>>,
}

/// The catalog as last built, with the tool lists it was built from (to tell when a
/// server's tools changed).
#[derive(Default)]
struct CatalogCache {
    built_from: Vec<(String, Arc<Vec<rmcp::model::Tool>>)>,
    catalog: Option<Arc<Catalog>>,
}

/// The broker: sandbox plus backends, shared by every front.
pub struct Broker {
    sandbox: Sandbox,
    core: Arc<Core>,
    limits: Limits,
    catalog: Mutex<CatalogCache>,
}

impl Broker {
    /// Assembles a broker from its parts.
    pub fn new(
        sandbox: Sandbox,
        backends: Backends,
        tokenizer: Tokenizer,
        policy: Arc<PolicyStore>,
        audit: Option<Arc<AuditLog>>,
        limits: Limits,
    ) -> Self {
        Broker {
            sandbox,
            core: Arc::new(Core {
                backends: Arc::new(backends),
                tokenizer,
                policy,
                audit,
            }),
            limits,
            catalog: Mutex::new(CatalogCache::default()),
        }
    }

    /// The tokenizer (detectors and vault) of this broker.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.core.tokenizer
    }

    /// The live flow policies.
    pub fn policy(&self) -> &Arc<PolicyStore> {
        &self.core.policy
    }

    /// The default limits of an execute.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Names of the configured backend servers.
    pub fn servers(&self) -> Vec<String> {
        self.core.backends.names()
    }

    /// Logs and audits one policy reload attempt (see [`crate::policy::watch`]).
    pub fn record_reload(&self, event: &crate::policy::watch::ReloadEvent) {
        use crate::policy::watch::ReloadEvent;
        let record = match event {
            // The store has logged the attempt; this is its audit record.
            ReloadEvent::Applied(hash) => {
                METRICS.reloads.add(&[("result", "applied")], 1);
                AuditRecord::new(AuditEvent::Reload, audit::Decision::Allow)
                    .policy_set_hash(hash.as_str())
                    .detail("policy set reloaded")
            }
            ReloadEvent::Rejected { error, kept } => {
                METRICS.reloads.add(&[("result", "rejected")], 1);
                AuditRecord::new(AuditEvent::Reload, audit::Decision::Error)
                    .policy_set_hash(kept.as_str())
                    .detail(format!("rejected, last good set kept: {error}"))
            }
        };
        if let Some(log) = &self.core.audit
            && let Err(e) = log.append(record)
        {
            tracing::error!(error = %e, "the policy reload could not be audited");
        }
    }

    /// Stops every backend connection (stdio servers exit).
    pub async fn shutdown(&self) {
        self.core.backends.shutdown().await;
    }

    /// Runs one program for `context` under `limits`.
    pub async fn execute(&self, code: &str, context: CallContext, limits: &Limits) -> Outcome {
        self.execute_observed(code, context, limits, None).await
    }

    /// [`Broker::execute`], telling `observer` about each console line and each finished
    /// tool call as it happens.
    pub async fn execute_observed(
        &self,
        code: &str,
        context: CallContext,
        limits: &Limits,
        observer: Option<ExecuteObserver>,
    ) -> Outcome {
        let observe = observer.map(|observer| (observer, Observed::Everything));
        self.run(code, context, limits, observe).await
    }

    /// [`Broker::execute`], telling `observer` about each console line as it is written
    /// (tool calls are not reported, and cost nothing extra).
    pub async fn execute_logged(
        &self,
        code: &str,
        context: CallContext,
        limits: &Limits,
        observer: ExecuteObserver,
    ) -> Outcome {
        self.run(code, context, limits, Some((observer, Observed::Logs)))
            .await
    }

    /// Runs one program in an `execute` span; `observe` gets the events it asked for.
    async fn run(
        &self,
        code: &str,
        context: CallContext,
        limits: &Limits,
        observe: Option<(ExecuteObserver, Observed)>,
    ) -> Outcome {
        let span =
            tracing::info_span!("execute", session = %context.session, agent = %context.agent);
        async move {
            let session = context.session.clone();
            let observe_calls = matches!(observe, Some((_, Observed::Everything)));
            let events = observe.map(|(observer, _)| {
                EventPump::start(self.core.tokenizer.clone(), session.clone(), observer)
            });
            let bridge = Arc::new(ToolRouter {
                core: Arc::clone(&self.core),
                context,
                events: events.as_ref().map(EventPump::sender),
                observe_calls,
            });
            let started = std::time::Instant::now();
            let outcome = self.sandbox.execute_with(code, bridge, limits).await;
            let outcome = scan_outcome(&self.core.tokenizer, &session, outcome).await;
            if let Some(events) = events {
                events.finish().await;
            }
            let kind = outcome.error.as_ref().map_or("ok", |e| e.kind.as_str());
            METRICS.executes.add(&[("outcome", kind)], 1);
            METRICS.execute_seconds.observe(started.elapsed());
            outcome
        }
        .instrument(span)
        .await
    }

    /// One proxied tool call with the whole pipeline (authorize, egress, call, ingress):
    /// the path for platforms that do not run code.
    pub async fn call_tool(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        self.core.call(context, server, tool, args).await
    }

    /// Resolves the placeholders in `input` toward the destination `server/tool`, only if
    /// Cedar permits every one of them (as if `input` were that tool's arguments).
    /// Unknown, forged and other sessions' placeholders stay literal text.
    pub async fn detokenize(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        input: Value,
    ) -> Result<Value, DetokenizeError> {
        if !self.core.backends.contains(server)
            && !self.core.policy.engine().model().has_server(server)
        {
            return Err(DetokenizeError::Destination(
                unknown_server(server, &self.servers()).message,
            ));
        }
        let core = Arc::clone(&self.core);
        let context = context.clone();
        let (server, tool) = (server.to_owned(), tool.to_owned());
        tokio::task::spawn_blocking(move || {
            detokenize(
                &core.tokenizer,
                &core.policy,
                core.audit.as_deref(),
                &context,
                &server,
                &tool,
                input,
            )
        })
        .await
        .unwrap_or(Err(DetokenizeError::Failed))
    }

    /// The flow decision for `placeholder` of the context's session toward `server/tool`
    /// at `arg_path`, without resolving or auditing anything; `None` when it is not a
    /// placeholder of that session (it would never resolve).
    pub async fn check_flow(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        placeholder: &crate::vault::Placeholder,
        arg_path: &str,
    ) -> Result<Option<egress::FlowCheck>, DetokenizeError> {
        if !self.core.backends.contains(server)
            && !self.core.policy.engine().model().has_server(server)
        {
            return Err(DetokenizeError::Destination(
                unknown_server(server, &self.servers()).message,
            ));
        }
        let core = Arc::clone(&self.core);
        let (session, agent) = (context.session.clone(), context.agent.clone());
        let (server, tool) = (server.to_owned(), tool.to_owned());
        let (placeholder, arg_path) = (placeholder.clone(), arg_path.to_owned());
        let checked = tokio::task::spawn_blocking(move || {
            let dest = Destination {
                agent: &agent,
                server: &server,
                tool: &tool,
            };
            egress::check_placeholder(
                core.tokenizer.vault(),
                core.tokenizer.detectors(),
                &core.policy,
                &session,
                dest,
                &placeholder,
                &arg_path,
            )
        })
        .await;
        match checked {
            Ok(result) => Ok(result?),
            Err(_) => Err(DetokenizeError::Audit("the flow check failed".into())),
        }
    }

    /// Every configured server with its trust, tags and (if reachable) tool count.
    pub async fn server_summaries(&self) -> Vec<ServerSummary> {
        let lists = self.core.backends.all_tools().await;
        let model = self.core.policy.engine().model().clone();
        self.servers()
            .into_iter()
            .map(|name| {
                let (trust, tags) = model
                    .server_facts(&name)
                    .map(|(trust, tags)| {
                        (
                            trust.to_owned(),
                            tags.into_iter().map(str::to_owned).collect(),
                        )
                    })
                    .unwrap_or_default();
                let tools = lists
                    .iter()
                    .find(|(server, _)| *server == name)
                    .map(|(_, tools)| tools.len());
                ServerSummary {
                    name,
                    trust,
                    tags,
                    tools,
                }
            })
            .collect()
    }

    /// The current catalog of every backend's tools. Servers that cannot be reached are
    /// left out (and logged) so one broken backend never hides the others; the catalog is
    /// rebuilt only when some server's tool list changed.
    pub async fn catalog(&self) -> Arc<Catalog> {
        let lists = self.core.backends.all_tools().await;
        let mut cache = self.catalog.lock().await;
        let unchanged = cache.built_from.len() == lists.len()
            && cache
                .built_from
                .iter()
                .zip(&lists)
                .all(|((a, x), (b, y))| a == b && Arc::ptr_eq(x, y));
        if let (true, Some(catalog)) = (unchanged, &cache.catalog) {
            return Arc::clone(catalog);
        }
        let catalog = Arc::new(Catalog::from_servers(
            lists
                .iter()
                .map(|(server, tools)| (server.clone(), tools.as_ref().clone())),
        ));
        self.teach_policy_tools(&lists);
        cache.built_from = lists;
        cache.catalog = Some(Arc::clone(&catalog));
        catalog
    }

    /// Tools matching `query`, rendered at `detail` as TypeScript (or names).
    pub async fn search(&self, query: &str, detail: Detail, limit: usize) -> String {
        catalog::search_text(&*self.catalog().await, query, detail, limit)
    }

    /// Adds the listed tools to the policy entity model (so policies can name them).
    fn teach_policy_tools(&self, lists: &[(String, Arc<Vec<rmcp::model::Tool>>)]) {
        let policy = &self.core.policy;
        let mut model = policy.engine().model().clone();
        let mut changed = false;
        for (server, tools) in lists {
            for tool in tools.iter() {
                changed |= model.add_tool(server, &tool.name);
            }
        }
        if changed && let Err(e) = policy.set_model(model) {
            tracing::warn!(error = %e, "the catalog's tools could not be added to the policy model");
        }
    }
}

/// Resolves the placeholders in `input` toward `server/tool` if Cedar permits every one;
/// blocks on the vault (call from a blocking context). The destination is not checked
/// against the configured servers here: [`Broker::detokenize`] does that.
pub fn detokenize(
    tokenizer: &Tokenizer,
    policy: &PolicyStore,
    audit: Option<&AuditLog>,
    context: &CallContext,
    server: &str,
    tool: &str,
    input: Value,
) -> Result<Value, DetokenizeError> {
    let dest = Destination {
        agent: &context.agent,
        server,
        tool,
    };
    release(
        tokenizer,
        policy,
        audit,
        AuditEvent::Detokenize,
        context,
        dest,
        input,
    )
    .map_err(|refused| match refused {
        Refused::Vault(e) => DetokenizeError::Vault(e),
        Refused::Audit(message) => DetokenizeError::Audit(message),
        Refused::Denied(message) => DetokenizeError::Denied(message),
    })
}

/// Why [`release`] gave nothing back.
enum Refused {
    /// The vault failed while resolving.
    Vault(crate::vault::VaultError),
    /// The decisions could not be audited.
    Audit(String),
    /// A flow was denied.
    Denied(Denial),
}

/// Egress, shared by tool calls and detokenization: decides every placeholder of `input`
/// toward `dest`, audits each decision as `event`, and substitutes the values only if
/// every flow is allowed.
fn release(
    tokenizer: &Tokenizer,
    policy: &PolicyStore,
    audit: Option<&AuditLog>,
    event: AuditEvent,
    context: &CallContext,
    dest: Destination<'_>,
    input: Value,
) -> Result<Value, Refused> {
    let egress = egress::check(
        tokenizer.vault(),
        tokenizer.detectors(),
        policy,
        &context.session,
        dest,
        &input,
    )
    .map_err(Refused::Vault)?;
    record_flows(audit, policy, event, context, dest, &egress).map_err(Refused::Audit)?;
    if egress.allowed() {
        Ok(egress.substitute(input))
    } else {
        Err(Refused::Denied(Denial::of(
            &egress.denied(),
            dest.server,
            dest.tool,
        )))
    }
}

impl Core {
    /// [`Core::call_inner`], measured.
    async fn call(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        let started = std::time::Instant::now();
        let result = self.call_inner(context, server, tool, args).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) if e.kind == sandbox_host::ToolErrorKind::PolicyDenied => "policy_denied",
            Err(_) => "tool",
        };
        METRICS.tool_calls.add(&[("outcome", outcome)], 1);
        METRICS.tool_call_seconds.observe(started.elapsed());
        result
    }

    async fn call_inner(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        tracing::debug!(server, tool, "tool call");
        if !self.backends.contains(server) {
            return Err(unknown_server(server, &self.backends.names()));
        }
        let decision = self.policy.authorize_call(&context.agent, server, tool);
        record_call(
            self.audit.as_deref(),
            &self.policy,
            context,
            server,
            tool,
            &decision,
        )
        .map_err(ToolError::tool)?;
        if !decision.allowed {
            return Err(ToolError::policy_denied(format!(
                "call denied: {} may not call {server}/{tool}: {}",
                context.agent, decision.reason
            )));
        }
        let args = self.egress(context, server, tool, args)?;
        let result = self.backends.call(server, tool, args).await;
        self.ingress(&context.session, server, tool, result).await
    }

    /// Checks every placeholder in `args` and substitutes the values if all may flow.
    fn egress(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, ToolError> {
        let dest = Destination {
            agent: &context.agent,
            server,
            tool,
        };
        let audit = self.audit.as_deref();
        release(
            &self.tokenizer,
            &self.policy,
            audit,
            AuditEvent::Flow,
            context,
            dest,
            args,
        )
        .map_err(|refused| match refused {
            Refused::Vault(e) => ToolError::tool(format!("checking the arguments failed: {e}")),
            Refused::Audit(message) => ToolError::tool(message),
            Refused::Denied(denial) => ToolError::policy_denied(denial.to_string()),
        })
    }

    /// Nothing from a backend reaches the sandbox untokenized, errors included.
    async fn ingress(
        &self,
        session: &str,
        server: &str,
        tool: &str,
        result: Result<Value, ToolError>,
    ) -> Result<Value, ToolError> {
        let tokenizer = self.tokenizer.clone();
        let (session, source) = (session.to_owned(), server.to_owned());
        let tokenized = blocking(move || match result {
            Ok(value) => Ok(tokenizer.ingest_json(&session, &source, value)),
            Err(error) => Err(tokenizer
                .ingest_text(&session, &source, &error.message)
                .map(|message| ToolError { message, ..error })),
        })
        .await;
        match tokenized {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Err(Ok(error))) => Err(error),
            Ok(Ok(Err(e))) | Ok(Err(Err(e))) => Err(ToolError::tool(format!(
                "the result of tools.{server}.{tool} could not be tokenized and was withheld: {e}"
            ))),
            Err(_) => Err(ToolError::tool(format!(
                "the result of tools.{server}.{tool} could not be tokenized and was withheld"
            ))),
        }
    }
}

/// The metric label of a decision: `allow`, `deny` or `error`.
fn audit_decision_name(decision: &Decision) -> &'static str {
    match audit_decision(decision) {
        audit::Decision::Allow => "allow",
        audit::Decision::Deny => "deny",
        audit::Decision::Error => "error",
    }
}

fn audit_decision(decision: &Decision) -> audit::Decision {
    if decision.allowed {
        audit::Decision::Allow
    } else if decision.errors.is_empty() {
        audit::Decision::Deny
    } else {
        audit::Decision::Error
    }
}

/// Logs a `call` decision and appends it to the audit log; an unwritable audit log fails
/// the call (no unaudited decision takes effect).
fn record_call(
    log: Option<&AuditLog>,
    policy: &PolicyStore,
    context: &CallContext,
    server: &str,
    tool: &str,
    decision: &Decision,
) -> Result<(), String> {
    METRICS.decisions.add(
        &[
            ("action", "call"),
            ("decision", audit_decision_name(decision)),
        ],
        1,
    );
    tracing::info!(
        session = %context.session,
        agent = %context.agent,
        tool = %format!("{server}/{tool}"),
        allowed = decision.allowed,
        policies = ?decision.policy_ids,
        "call decision"
    );
    let Some(log) = log else { return Ok(()) };
    let record = AuditRecord::new(AuditEvent::Call, audit_decision(decision))
        .session(context.session.as_str())
        .agent(context.agent.as_str())
        .tool(server, tool)
        .policy_ids(decision.policy_ids.iter().cloned())
        .policy_set_hash(policy.policy_set_hash())
        .detail(decision.reason.as_str());
    log.append(record)
        .map_err(|e| format!("the audit log could not be written, so the call was not made: {e}"))
}

/// Logs each `flow` decision (placeholder ids and kinds, never values) and appends one
/// audit record per decision.
fn record_flows(
    log: Option<&AuditLog>,
    policy: &PolicyStore,
    event: AuditEvent,
    context: &CallContext,
    dest: Destination<'_>,
    egress: &Egress,
) -> Result<(), String> {
    let hash = (!egress.checks.is_empty() && log.is_some()).then(|| policy.policy_set_hash());
    let action = match event {
        AuditEvent::Detokenize => "detokenize",
        _ => "flow",
    };
    for check in &egress.checks {
        let o = &check.outbound;
        METRICS.decisions.add(
            &[
                ("action", action),
                ("decision", audit_decision_name(&check.decision)),
            ],
            1,
        );
        tracing::info!(
            session = %context.session,
            agent = %context.agent,
            tool = %format!("{}/{}", dest.server, dest.tool),
            placeholder = %o.placeholder,
            kind = %o.kind,
            source = %o.source,
            arg_path = %o.arg_path,
            allowed = check.decision.allowed,
            policies = ?check.decision.policy_ids,
            "flow decision"
        );
        let Some(log) = log else { continue };
        let record = AuditRecord::new(event, audit_decision(&check.decision))
            .session(context.session.as_str())
            .agent(context.agent.as_str())
            .tool(dest.server, dest.tool)
            .policy_ids(check.decision.policy_ids.iter().cloned())
            .placeholder(AuditPlaceholder::new(&o.placeholder, &o.source))
            .policy_set_hash(hash.clone().unwrap_or_default())
            .detail(format!("at `{}`: {}", o.arg_path, check.decision.reason));
        log.append(record).map_err(|e| {
            format!("the audit log could not be written, so nothing was resolved: {e}")
        })?;
    }
    Ok(())
}

/// Runs vault work that may block on an fsync: in place on a multi-threaded runtime (no
/// thread hand-off; the worker's other tasks move to other workers meanwhile), else on the
/// blocking pool.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, tokio::task::JoinError> {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => Ok(tokio::task::block_in_place(f)),
        _ => tokio::task::spawn_blocking(f).await,
    }
}

/// Tokenizes whatever the program itself put into its outcome (values it wrote as
/// literals or assembled); fails closed if the vault cannot mint.
async fn scan_outcome(tokenizer: &Tokenizer, session: &str, outcome: Outcome) -> Outcome {
    // Most outcomes hold nothing to mint (placeholders are not findings). Detecting in
    // place first skips the hand-off to a blocking thread, which under load costs a
    // thread switch per execute and keeps spawning threads (and with them malloc arenas).
    if !has_findings(tokenizer.detectors(), &outcome) {
        return outcome;
    }
    let tokenizer = tokenizer.clone();
    let session = session.to_string();
    let scanned = blocking(move || {
        let mut outcome = outcome;
        outcome.result = tokenizer.tokenize_json(&session, SANDBOX_SOURCE, outcome.result)?;
        for log in &mut outcome.logs {
            log.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &log.message)?;
        }
        if let Some(error) = &mut outcome.error {
            error.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &error.message)?;
        }
        Ok::<_, crate::vault::VaultError>(outcome)
    })
    .await;
    match scanned {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::failed(
            ErrorKind::Internal,
            format!("the outcome could not be tokenized and was withheld: {e}"),
        ),
        Err(_) => Outcome::failed(
            ErrorKind::Internal,
            "the outcome scan failed and the outcome was withheld",
        ),
    }
}

/// Whether anything in `outcome` would be tokenized.
fn has_findings(detectors: &detectors::Detectors, outcome: &Outcome) -> bool {
    !detectors.find_json(&outcome.result).is_empty()
        || outcome
            .logs
            .iter()
            .any(|log| !detectors.find(&log.message).is_empty())
        || outcome
            .error
            .as_ref()
            .is_some_and(|error| !detectors.find(&error.message).is_empty())
}

/// Tokenizes what an observer will see of `events` (names, error messages, console lines)
/// in one blocking task; anything that cannot be tokenized is withheld. Events leave the
/// broker while the program runs, before the outcome's own scan, and their text comes
/// from the program (which may hold literals), so it is scanned like the outcome.
async fn scan_events(
    tokenizer: &Tokenizer,
    session: &str,
    events: Vec<ExecuteEvent>,
) -> Vec<ExecuteEvent> {
    let tokenizer = tokenizer.clone();
    let session = session.to_owned();
    let count = events.len();
    let scanned = tokio::task::spawn_blocking(move || {
        let scan = |text: &str| tokenizer.tokenize_text(&session, SANDBOX_SOURCE, text);
        events
            .into_iter()
            .map(|event| {
                Ok::<_, crate::vault::VaultError>(match event {
                    ExecuteEvent::Log(entry) => ExecuteEvent::Log(LogEntry {
                        message: scan(&entry.message)?,
                        ..entry
                    }),
                    ExecuteEvent::Call(call) => ExecuteEvent::Call(CallEvent {
                        server: scan(&call.server)?,
                        tool: scan(&call.tool)?,
                        error: match call.error {
                            Some(error) => Some(ToolError {
                                message: scan(&error.message)?,
                                ..error
                            }),
                            None => None,
                        },
                        elapsed: call.elapsed,
                    }),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    match scanned {
        Ok(Ok(events)) => events,
        _ => {
            tracing::error!(
                count,
                "execute events could not be tokenized and were withheld"
            );
            vec![ExecuteEvent::Log(LogEntry {
                level: sandbox_host::LogLevel::Error,
                message: "[withheld: events could not be tokenized]".into(),
            })]
        }
    }
}

/// Raw events of one execute on their way to the observer, or the end marker.
enum Pumped {
    Event(ExecuteEvent),
    Done,
}

/// Carries one execute's events to its observer in program order: the sandbox and the
/// call tasks push raw events (never blocking), one task tokenizes them in batches and
/// delivers them. Dropping the pump (a cancelled execute) stops it.
struct EventPump {
    queue: tokio::sync::mpsc::UnboundedSender<Pumped>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EventPump {
    fn start(tokenizer: Tokenizer, session: String, observer: ExecuteObserver) -> Self {
        let (queue, mut pending) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut batch = Vec::new();
            while pending.recv_many(&mut batch, 256).await > 0 {
                let done = batch.iter().any(|p| matches!(p, Pumped::Done));
                let events = batch
                    .drain(..)
                    .map_while(|p| match p {
                        Pumped::Event(event) => Some(event),
                        Pumped::Done => None,
                    })
                    .collect::<Vec<_>>();
                if !events.is_empty() {
                    for event in scan_events(&tokenizer, &session, events).await {
                        observer(event);
                    }
                }
                if done {
                    return;
                }
            }
        });
        EventPump {
            queue,
            task: Some(task),
        }
    }

    fn sender(&self) -> tokio::sync::mpsc::UnboundedSender<Pumped> {
        self.queue.clone()
    }

    /// Delivers everything pushed so far, then stops (later pushes are dropped).
    async fn finish(mut self) {
        let _ = self.queue.send(Pumped::Done);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EventPump {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The [`HostBridge`] of one execute: carries its context to every tool call.
struct ToolRouter {
    core: Arc<Core>,
    context: CallContext,
    /// Where events go when the execute is observed.
    events: Option<tokio::sync::mpsc::UnboundedSender<Pumped>>,
    /// Whether finished tool calls are events too (else only console lines are).
    observe_calls: bool,
}

impl HostBridge for ToolRouter {
    /// The call runs as its own task on a runtime worker, not on the sandbox's fiber stack:
    /// Cedar and serde recurse, and a fiber stack is small and opaque to their stack guards.
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        let core = Arc::clone(&self.core);
        let context = self.context.clone();
        let events = self.events.clone().filter(|_| self.observe_calls);
        let (server, tool) = (server.to_owned(), tool.to_owned());
        Box::pin(async move {
            let started = std::time::Instant::now();
            let (s, t) = (server.clone(), tool.clone());
            let task = tokio::spawn(async move { core.call(&context, &s, &t, args).await });
            let result = task
                .await
                .unwrap_or_else(|_| Err(ToolError::tool("the tool call failed inside the broker")));
            if let Some(events) = events {
                // Queued before the program sees the result, so it precedes later logs.
                let _ = events.send(Pumped::Event(ExecuteEvent::Call(CallEvent {
                    server,
                    tool,
                    error: result.as_ref().err().cloned(),
                    elapsed: started.elapsed(),
                })));
            }
            result
        })
    }

    fn log(&self, entry: &LogEntry) {
        if let Some(events) = &self.events {
            let _ = events.send(Pumped::Event(ExecuteEvent::Log(entry.clone())));
        }
    }
}

/// Convenience for errors raised before a backend is reached.
pub(crate) fn unknown_server(server: &str, known: &[String]) -> ToolError {
    if known.is_empty() {
        ToolError::tool(format!(
            "unknown server '{server}': no servers are configured (add [servers.{server}] to sluice.toml)"
        ))
    } else {
        ToolError::tool(format!(
            "unknown server '{server}'; the servers are: {}",
            known.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::setup;

    /// Runs `code` observed, both ways, on a broker without backends: the events each
    /// observer saw.
    async fn observed_both_ways(code: &str) -> (Vec<ExecuteEvent>, Vec<ExecuteEvent>) {
        let dir = tempfile::tempdir().expect("dir");
        let text = format!(
            "data_dir = {:?}\n[auth]\nanonymous = \"t\"\n",
            dir.path().to_str().expect("path")
        );
        let config = Config::parse(&text, std::path::Path::new("t.toml")).expect("config");
        let limits = setup::limits(&config);
        let broker = setup::broker(&config, &limits).expect("broker");
        let context = CallContext {
            session: "s".into(),
            agent: "t".into(),
        };
        let collect = || {
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = Arc::clone(&seen);
            let observer: ExecuteObserver = Arc::new(move |event| {
                if let Ok(mut events) = sink.lock() {
                    events.push(event);
                }
            });
            (seen, observer)
        };
        let (everything, observer) = collect();
        let outcome = broker
            .execute_observed(code, context.clone(), &limits, Some(observer))
            .await;
        assert_eq!(outcome.error, None, "{outcome:?}");
        let (logs, observer) = collect();
        let outcome = broker
            .execute_logged(code, context, &limits, observer)
            .await;
        assert_eq!(outcome.error, None, "{outcome:?}");
        let take = |seen: Arc<std::sync::Mutex<Vec<ExecuteEvent>>>| {
            std::mem::take(&mut *seen.lock().expect("lock"))
        };
        (take(everything), take(logs))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_logged_execute_reports_console_lines_only_and_tokenized() {
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
