//! [`Broker`]: the one typed service API. Every front — the MCP server, the gRPC sidecar,
//! each `sluice` subcommand — calls only these methods, with the typed requests of
//! [`super::request`], and maps the typed [`BrokerError`] to its own wire format. The
//! broker validates a request completely before anything has an effect, mints session
//! ids, scans everything it returns, and decides every flow; fronts only translate.

use std::sync::Arc;

use sandbox_host::{Limits, Outcome, Sandbox};
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::Instrument;

use super::admission::{DEFAULT_CONCURRENT_PER_AGENT, InFlight, Owners};
use super::approval::ApproverSlot;
use super::bridge::ToolRouter;
use super::egress::{self, Destination, ValueFacts};
use super::error::{BrokerError, InvalidRequest};
use super::events::{EventPump, Observer, Watch};
use super::ingress::Tokenizer;
use super::pipeline::Pipeline;
use super::request::{
    self, CallContext, CallToolRequest, CheckFlowRequest, DetokenizeRequest, ExecuteRequest,
    Payload, SearchRequest, SessionId, TokenizeRequest, ToolRef,
};
pub use super::response::{
    CalledTool, Executed, FlowVerdict, PlaceholderFacts, ServerSummary, Tokenized,
};
use super::skills::{Skill, SkillBook, SkillSettings};
use super::workspace::WorkspaceLimits;
use super::{blocking, in_place, scan};
use crate::audit::{AuditEvent, AuditLog};
use crate::backends::Backends;
use crate::catalog::{self, Catalog};
use crate::metrics::METRICS;
use crate::policy::PolicyStore;
use crate::vault::Placeholder;

/// The provenance of values tokenized through the API when the caller names none.
pub const DEFAULT_TOKENIZE_SOURCE: &str = "api";

/// The catalog as last built, with the tool lists it was built from.
#[derive(Default)]
struct CatalogCache {
    built_from: Vec<(String, Arc<Vec<rmcp::model::Tool>>)>,
    catalog: Option<Arc<Catalog>>,
}

/// The broker: sandbox plus the call pipeline, shared by every front.
pub struct Broker {
    sandbox: Option<Sandbox>,
    pipeline: Arc<Pipeline>,
    limits: Limits,
    catalog: Mutex<CatalogCache>,
    in_flight: InFlight,
    per_agent: u32,
    owners: Owners,
    workspace: WorkspaceLimits,
    skills: SkillBook,
}

impl Broker {
    /// Assembles a broker from its parts (`sandbox: None` for one that never executes, as
    /// the data-only CLI commands use).
    pub fn new(
        sandbox: Option<Sandbox>,
        backends: Backends,
        tokenizer: Tokenizer,
        policy: Arc<PolicyStore>,
        audit: Option<Arc<AuditLog>>,
        limits: Limits,
    ) -> Self {
        let skills = SkillBook {
            tokenizer: tokenizer.clone(),
            settings: Arc::new(SkillSettings::default()),
        };
        Broker {
            sandbox,
            pipeline: Arc::new(Pipeline {
                backends: Arc::new(backends),
                tokenizer,
                policy,
                audit,
                remembered: Default::default(),
            }),
            limits,
            catalog: Mutex::new(CatalogCache::default()),
            in_flight: InFlight::default(),
            per_agent: DEFAULT_CONCURRENT_PER_AGENT,
            owners: Owners::default(),
            workspace: WorkspaceLimits::default(),
            skills,
        }
    }

    /// Sets the workspace limits and where saved skills are kept (`[workspace]`, `[skills]`).
    pub fn with_state(mut self, workspace: WorkspaceLimits, skills: SkillSettings) -> Self {
        self.workspace = workspace;
        self.skills.settings = Arc::new(skills);
        self
    }

    /// Sets how many executes one agent may have running or waiting at once.
    pub fn with_concurrent_per_agent(mut self, limit: u32) -> Self {
        self.per_agent = limit.max(1);
        self
    }

    /// Builds the broker `config` describes, sandbox included.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Broker> {
        crate::setup::broker(config, &crate::setup::limits(config))
    }

    /// Builds the broker `config` describes without a sandbox: it serves every operation
    /// but `execute`, and starts faster (for one-shot data commands).
    pub fn from_config_without_sandbox(config: &crate::config::Config) -> anyhow::Result<Broker> {
        crate::setup::broker_without_sandbox(config)
    }

    /// The live flow policies (for the reload watcher).
    pub fn policy(&self) -> &Arc<PolicyStore> {
        &self.pipeline.policy
    }

    /// The default limits of an execute.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Names of the configured backend servers.
    pub fn servers(&self) -> Vec<String> {
        self.pipeline.backends.names()
    }

    /// Logs and audits one policy reload attempt (see [`crate::policy::watch`]).
    pub fn record_reload(&self, event: &crate::policy::watch::ReloadEvent) {
        super::record::reload(self.pipeline.audit.as_deref(), event);
    }

    /// Stops every backend connection (stdio servers exit).
    pub async fn shutdown(&self) {
        self.pipeline.backends.shutdown().await;
    }

    /// Ends a one-shot command's broker (`sluice exec`, `tokenize`, `detokenize`) right
    /// before the process exits: syncs the audit log, and when this process wrote nothing
    /// to the vault store, leaves the store unclosed instead of paying its closing fsync
    /// (sled syncs its file on close even when nothing changed). So a one-shot command
    /// that mints nothing pays no sync of its own, and one that mints pays one: the
    /// store's, at close. Only for a process that exits next: the leaked store keeps its
    /// file lock until then.
    pub fn finish_one_shot(self) {
        if let Some(audit) = &self.pipeline.audit
            && let Err(e) = audit.sync()
        {
            tracing::warn!("{e}");
        }
        if self.vault_untouched() {
            std::mem::forget(self);
        }
    }

    /// Whether this broker wrote nothing to its vault store (see [`crate::vault::Vault::untouched`]).
    pub(crate) fn vault_untouched(&self) -> bool {
        self.pipeline.tokenizer.vault().untouched()
    }

    /// A new session owned by `agent`.
    pub fn create_session(&self, agent: &str) -> Result<SessionId, BrokerError> {
        let session = SessionId::random();
        self.bind(agent, &session, true)?;
        Ok(session)
    }

    /// A new session owned by `agent` within this process only: no owner record is
    /// written, so a one-shot command that never shows its session id (`sluice exec`
    /// without `--session`) writes nothing to the store unless its program mints or
    /// saves. The id must never leave the process: without an owner record, whoever
    /// presented it to another process could claim it. Everything that can reveal a
    /// session (a front's response, `tokenize`'s output) uses [`Broker::create_session`].
    pub fn create_private_session(&self, agent: &str) -> Result<SessionId, BrokerError> {
        crate::vault::validate_agent(agent).map_err(BrokerError::from)?;
        let session = SessionId::random();
        self.owners.insert(session.as_str(), agent);
        Ok(session)
    }

    /// The session a request that may add to it names (execute, tokenize, call, search),
    /// after checking it is `agent`'s — a session nobody owns yet becomes `agent`'s — or
    /// a new one when it names none.
    fn session_for(
        &self,
        agent: &str,
        session: Option<&SessionId>,
    ) -> Result<SessionId, BrokerError> {
        match session {
            Some(session) => {
                self.bind(agent, session, true)?;
                Ok(session.clone())
            }
            None => self.create_session(agent),
        }
    }

    /// Whether `agent` may read or erase `session` (detokenize, check a flow, purge): it
    /// must own it. A session another agent owns and one nobody owns give the same
    /// [`BrokerError::UnknownSession`]. Owners never change, so they are remembered here
    /// once known.
    fn admit(&self, agent: &str, session: &SessionId) -> Result<(), BrokerError> {
        self.bind(agent, session, false)
    }

    /// [`Broker::admit`], claiming an unowned session when `claim` is set.
    fn bind(&self, agent: &str, session: &SessionId, claim: bool) -> Result<(), BrokerError> {
        if let Some(owner) = self.owners.get(session.as_str()) {
            return if owner == agent {
                Ok(())
            } else {
                Err(BrokerError::UnknownSession)
            };
        }
        let vault = self.pipeline.tokenizer.vault();
        let bound = in_place(|| {
            if claim {
                vault.claim_session(session.as_str(), agent)
            } else {
                vault.check_session_owner(session.as_str(), agent)
            }
        });
        match bound {
            Ok(()) => {
                self.owners.insert(session.as_str(), agent);
                Ok(())
            }
            Err(crate::vault::VaultError::UnknownSession) => Err(BrokerError::UnknownSession),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs one program; `observer` (if any) sees its events live.
    pub async fn execute(
        &self,
        request: ExecuteRequest,
        observer: Option<Observer>,
    ) -> Result<Executed, BrokerError> {
        self.execute_approved(request, observer, ApproverSlot::default())
            .await
    }

    /// [`Broker::execute`] with someone to ask when an `@on_deny("ask")` policy refuses
    /// one of the program's tool calls (see [`super::approval`]); the call waits for the
    /// answer within the execute's time limit.
    pub async fn execute_approved(
        &self,
        request: ExecuteRequest,
        observer: Option<Observer>,
        approver: ApproverSlot,
    ) -> Result<Executed, BrokerError> {
        let Some(sandbox) = &self.sandbox else {
            return Err(BrokerError::Internal(
                "this Sluice process was started without a sandbox and cannot run programs".into(),
            ));
        };
        let mut limits = self.limits.clone();
        if let Some(timeout) = request::timeout(request.timeout_ms)? {
            limits.timeout = limits.timeout.min(timeout);
        }
        let mut deadline_bound = false;
        if let Some(deadline) = request.deadline
            && deadline < limits.timeout
        {
            if deadline.is_zero() {
                return Err(InvalidRequest::new(
                    "deadline",
                    "the deadline passed before the program started",
                )
                .into());
            }
            limits.timeout = deadline;
            deadline_bound = true;
        }
        let session = self.session_for(&request.agent, request.session.as_ref())?;
        let _slot = self.in_flight.enter(&request.agent, self.per_agent)?;
        // Dropped when this execute ends, however it ends: questions still open are withdrawn.
        let (approver, _ended) = approver.scoped();
        let context = CallContext {
            session: session.as_str().to_owned(),
            agent: request.agent,
            approver,
        };
        let outcome = self
            .run(sandbox, &request.code, context, &limits, observer)
            .await;
        Ok(Executed {
            session,
            outcome,
            budget: limits.timeout,
            deadline_bound,
        })
    }

    /// Runs one program in an `execute` span.
    async fn run(
        &self,
        sandbox: &Sandbox,
        code: &str,
        context: CallContext,
        limits: &Limits,
        observer: Option<Observer>,
    ) -> Outcome {
        let span = tracing::info_span!("execute", agent = %context.agent);
        async move {
            let session = context.session.clone();
            let observe_calls = matches!(
                observer,
                Some(Observer {
                    watch: Watch::Everything,
                    ..
                })
            );
            let events = observer.map(|observer| {
                EventPump::start(
                    self.pipeline.tokenizer.clone(),
                    session.clone(),
                    observer.sink,
                )
            });
            let bridge = Arc::new(ToolRouter {
                pipeline: Arc::clone(&self.pipeline),
                context,
                events: events.as_ref().map(EventPump::sender),
                observe_calls,
                workspace: self.workspace,
                skills: self.skills.clone(),
            });
            let started = std::time::Instant::now();
            let outcome = sandbox.execute_with(code, bridge, limits).await;
            let outcome = scan::outcome(
                &self.pipeline.tokenizer,
                &session,
                outcome,
                limits.max_output_bytes,
            )
            .await;
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
    pub async fn call_tool(&self, request: CallToolRequest) -> Result<CalledTool, BrokerError> {
        if !request.arguments.is_object() {
            return Err(
                InvalidRequest::new("arguments", "the arguments must be a JSON object").into(),
            );
        }
        self.pipeline.backends.check(&request.tool.server)?;
        let session = self.session_for(&request.agent, request.session.as_ref())?;
        let context = CallContext {
            session: session.as_str().to_owned(),
            agent: request.agent,
            approver: Default::default(),
        };
        let result = self
            .pipeline
            .call(
                &context,
                &request.tool.server,
                &request.tool.tool,
                request.arguments,
            )
            .await;
        let result = match result {
            Ok(value) => Ok(value),
            Err(BrokerError::Tool(message)) => Err(message),
            Err(other) => return Err(other),
        };
        Ok(CalledTool { session, result })
    }

    /// Tokenizes text or JSON into placeholders of the request's session.
    pub async fn tokenize(&self, request: TokenizeRequest) -> Result<Tokenized, BrokerError> {
        let source = request
            .source
            .unwrap_or_else(|| DEFAULT_TOKENIZE_SOURCE.to_owned());
        crate::vault::validate_source(&source)
            .map_err(|e| InvalidRequest::new("source", e.to_string()))?;
        // A tool names a result shape: validated (a configured server, JSON input) and
        // its hints resolved before the session is touched.
        let hints = match (&request.tool, &request.input) {
            (None, _) => None,
            (Some(_), Payload::Text(_)) => {
                return Err(InvalidRequest::new(
                    "tool",
                    "a tool applies only to JSON input: its field declarations are paths in a JSON result",
                )
                .into());
            }
            (Some(tool), Payload::Json(_)) => {
                ToolRef::new(&source, tool)?;
                self.pipeline.backends.check(&source)?;
                Some(self.pipeline.field_hints(&source, tool).await?)
            }
        };
        let session = self.session_for(&request.agent, request.session.as_ref())?;
        let tokenizer = self.pipeline.tokenizer.clone();
        let s = session.as_str().to_owned();
        let tool = request.tool;
        let output = blocking(move || match (request.input, hints) {
            (Payload::Text(text), _) => {
                tokenizer.ingest_text(&s, &source, &text).map(Payload::Text)
            }
            (Payload::Json(value), Some(hints)) => tokenizer
                .ingest_tool_json(&s, &source, tool.as_deref(), &hints, value)
                .map(Payload::Json),
            (Payload::Json(value), None) => {
                tokenizer.ingest_json(&s, &source, value).map(Payload::Json)
            }
        })
        .await
        .map_err(|_| BrokerError::Internal("tokenization failed inside Sluice".into()))??;
        Ok(Tokenized { session, output })
    }

    /// Resolves the placeholders in the input toward the destination, only if Cedar
    /// permits every one of them (as if the input were that tool's arguments). Unknown,
    /// forged and other sessions' placeholders stay literal text.
    pub async fn detokenize(&self, request: DetokenizeRequest) -> Result<Payload, BrokerError> {
        self.check_destination(&request.destination.server)?;
        self.admit(&request.agent, &request.session)?;
        let pipeline = Arc::clone(&self.pipeline);
        let context = CallContext {
            session: request.session.as_str().to_owned(),
            agent: request.agent,
            approver: Default::default(),
        };
        let (json, input) = match request.input {
            Payload::Text(text) => (false, Value::String(text)),
            Payload::Json(value) => (true, value),
        };
        let dest = request.destination;
        let resolved = tokio::task::spawn_blocking(move || {
            let destination = Destination {
                agent: &context.agent,
                server: &dest.server,
                tool: &dest.tool,
            };
            pipeline.release(AuditEvent::Detokenize, &context, destination, input)
        })
        .await
        .map_err(|_| {
            BrokerError::Internal("detokenization failed and nothing was resolved".into())
        })??;
        Ok(match (json, resolved) {
            (false, Value::String(text)) => Payload::Text(text),
            (_, value) => Payload::Json(value),
        })
    }

    /// The flow decision for one placeholder toward a destination, without resolving or
    /// auditing anything.
    pub async fn check_flow(&self, request: CheckFlowRequest) -> Result<FlowVerdict, BrokerError> {
        self.check_destination(&request.destination.server)?;
        let placeholder = Placeholder::parse(&request.placeholder)
            .map_err(|e| InvalidRequest::new("placeholder", e.to_string()))?;
        self.admit(&request.agent, &request.session)?;
        let pipeline = Arc::clone(&self.pipeline);
        let text = placeholder.to_string();
        let checked = tokio::task::spawn_blocking(move || {
            let dest = Destination {
                agent: &request.agent,
                server: &request.destination.server,
                tool: &request.destination.tool,
            };
            egress::check_placeholder(
                pipeline.tokenizer.vault(),
                pipeline.tokenizer.detectors(),
                &pipeline.policy,
                request.session.as_str(),
                dest,
                &placeholder,
                &request.arg_path,
            )
        })
        .await
        .map_err(|_| BrokerError::Internal("the flow check failed inside Sluice".into()))??;
        let check = checked.ok_or(BrokerError::UnknownPlaceholder(text))?;
        Ok(FlowVerdict {
            allowed: check.decision.allowed,
            policy_ids: check.decision.policy_ids,
            reason: check.decision.reason,
            kind: detectors::Kind::from_name(&check.outbound.kind),
            source: check.outbound.source,
        })
    }

    /// What flow policy would see of a placeholder of `session` (for `policy explain`).
    pub async fn placeholder_facts(
        &self,
        session: &SessionId,
        placeholder: &str,
    ) -> Result<PlaceholderFacts, BrokerError> {
        let parsed = Placeholder::parse(placeholder)
            .map_err(|e| InvalidRequest::new("placeholder", e.to_string()))?;
        let pipeline = Arc::clone(&self.pipeline);
        let s = session.as_str().to_owned();
        let resolved = blocking(move || {
            let vault = pipeline.tokenizer.vault();
            vault.resolve_placeholder(&s, &parsed).map(|found| {
                found.map(|r| {
                    let kind = detectors::Kind::from_name(&r.kind);
                    let facts = ValueFacts::of(pipeline.tokenizer.detectors(), &kind, &r.value);
                    PlaceholderFacts {
                        kind,
                        source: r.source,
                        facts,
                        source_tool: r.source_tool,
                        source_path: r.source_path,
                    }
                })
            })
        })
        .await
        .map_err(|_| BrokerError::Internal("the vault lookup failed inside Sluice".into()))??;
        resolved.ok_or_else(|| BrokerError::UnknownPlaceholder(placeholder.to_owned()))
    }

    /// Erases a session's values (right to erasure). `agent: None` is the operator (the
    /// CLI), who may purge any session; an agent may purge only its own.
    pub async fn purge_session(
        &self,
        agent: Option<&str>,
        session: &SessionId,
    ) -> Result<usize, BrokerError> {
        if let Some(agent) = agent {
            self.admit(agent, session)?;
        }
        let tokenizer = self.pipeline.tokenizer.clone();
        let s = session.as_str().to_owned();
        let purged = blocking(move || {
            tokenizer.forget(&s);
            tokenizer.vault().purge_session(&s)
        })
        .await
        .map_err(|_| BrokerError::Internal("the purge failed inside Sluice".into()))??;
        self.pipeline.remembered.forget(session.as_str());
        tracing::info!(purged, "session purged");
        Ok(purged)
    }

    /// How many placeholders the vault holds, per kind (never values).
    pub async fn vault_stats(&self) -> Result<crate::vault::Stats, BrokerError> {
        let tokenizer = self.pipeline.tokenizer.clone();
        blocking(move || tokenizer.vault().stats())
            .await
            .map_err(|_| BrokerError::Internal("the vault failed inside Sluice".into()))?
            .map_err(BrokerError::from)
    }

    /// A destination must be a configured server (or one policies know).
    fn check_destination(&self, server: &str) -> Result<(), BrokerError> {
        if self.pipeline.policy.engine().model().has_server(server) {
            return Ok(());
        }
        Ok(self.pipeline.backends.check(server)?)
    }

    /// Tools matching the query, rendered at the requested detail as TypeScript (or
    /// names), with anything a backend wrote in its descriptions tokenized.
    pub async fn search(&self, request: SearchRequest) -> Result<String, BrokerError> {
        let limit = request::search_limit(request.limit)?;
        let session = self.session_for(&request.agent, request.session.as_ref())?;
        let catalog = self.catalog().await;
        let mut text = catalog::search_text(&catalog, &request.query, request.detail, limit);
        let skills = self
            .skills
            .search_text(&request.agent, &request.query, request.detail, limit)
            .await?;
        if !skills.is_empty() {
            if text.starts_with("// no tools") {
                text = skills;
            } else {
                text.push('\n');
                text.push_str(&skills);
            }
        }
        scan::backend_text(&self.pipeline.tokenizer, session.as_str(), text).await
    }

    /// The saved skills `agent` sees (its own, or its group's), newest versions, by name.
    pub async fn skills(&self, agent: &str) -> Result<Vec<Skill>, BrokerError> {
        self.skills.list(agent).await
    }

    /// The `SKILL.md` of every skill `agent` sees that has an Agent Skills name, as
    /// `(name, description, manifest)`, scanned like search results (for the MCP Skills
    /// extension).
    pub async fn skill_manifests(
        &self,
        agent: &str,
        session: &SessionId,
    ) -> Result<Vec<(String, String, String)>, BrokerError> {
        self.bind(agent, session, true)?;
        let mut out = Vec::new();
        for skill in self.skills.list(agent).await? {
            let Some(name) = skill.kebab_name() else {
                continue;
            };
            if out.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let tokenizer = &self.pipeline.tokenizer;
            let description =
                scan::backend_text(tokenizer, session.as_str(), skill.description.clone()).await?;
            let manifest =
                scan::backend_text(tokenizer, session.as_str(), skill.manifest()).await?;
            out.push((name, description, manifest));
        }
        Ok(out)
    }

    /// Deletes every version of skill `name` that `agent` sees; how many there were.
    pub async fn delete_skill(&self, agent: &str, name: &str) -> Result<u64, BrokerError> {
        super::skills::validate_name(name)?;
        self.skills.delete(agent, name).await
    }

    /// Every configured server with its trust, tags and (if reachable) tool count.
    pub async fn server_summaries(&self) -> Vec<ServerSummary> {
        let lists = self.pipeline.backends.all_tools().await;
        let model = self.pipeline.policy.engine().model().clone();
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
        let lists = self.pipeline.backends.all_tools().await;
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
        // Declarations the tools contradict fail their tools' calls; say so at start too.
        for (server, tools) in &lists {
            for error in self.pipeline.tokenizer.fields().check(server, tools) {
                tracing::error!("{error}");
            }
        }
        cache.built_from = lists;
        cache.catalog = Some(Arc::clone(&catalog));
        catalog
    }

    /// The policy entity model with every reachable backend's tools and input schemas
    /// (for `sluice policy schema|explain`), whether or not the policies in force
    /// validate against them.
    pub async fn live_policy_model(&self) -> crate::policy::EntityModel {
        let lists = self.pipeline.backends.all_tools().await;
        let mut model = self.pipeline.policy.engine().model().clone();
        for (server, tools) in &lists {
            for tool in tools.iter() {
                model.set_tool_input(
                    server,
                    &tool.name,
                    serde_json::Value::Object((*tool.input_schema).clone()),
                );
            }
        }
        model
    }

    /// Adds the listed tools and their input schemas to the policy entity model (so
    /// policies can name them, and argument rules are typed by them).
    fn teach_policy_tools(&self, lists: &[(String, Arc<Vec<rmcp::model::Tool>>)]) {
        let policy = &self.pipeline.policy;
        let tools = lists.iter().flat_map(|(server, tools)| {
            tools.iter().map(move |tool| {
                (
                    server.as_str(),
                    tool.name.as_ref(),
                    serde_json::Value::Object((*tool.input_schema).clone()),
                )
            })
        });
        if let Err(e) = policy.learn_tools(tools) {
            tracing::warn!(error = %e, "the catalog's tools could not be added to the policy model");
        }
    }
}
