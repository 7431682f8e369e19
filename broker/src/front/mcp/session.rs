//! One MCP session: the `ServerHandler` of one client connection. Its owner (the agent)
//! and its vault session are fixed at `initialize`; every later request must come from the
//! same agent. `tools/call` of `execute` and `search` become one typed [`Broker`] call
//! each; this module decides nothing and never sees a raw value.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetSkillRequestParams,
    GetSkillResult, Implementation, InitializeRequestParams, InitializeResult, JsonObject,
    ListSkillsResult, ListToolsResult, PaginatedRequestParams, ProgressToken, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument;

use super::approve::Elicitor;
use super::mrtr::{self, Abort, MrtrApprover, Step, Suspended};
use super::render::{execute_result, relay_logs};
use super::{Authenticated, PROTOCOL_VERSIONS, instructions, tools};
use crate::auth::ANONYMOUS;
use crate::flow::{
    Approver, ApproverSlot, Broker, BrokerError, Detail, ExecuteEvent, ExecuteRequest, Observer,
    SearchRequest, SessionId, Watch,
};

/// Who may use a session.
#[derive(Debug)]
enum Owner {
    /// Always this agent (stdio: the one local client).
    Fixed(String),
    /// The agent that sent `initialize` (HTTP).
    Initializer(OnceLock<String>),
}

/// One MCP session: the handler of one client connection, holding its vault session.
pub struct McpSession {
    broker: Arc<Broker>,
    owner: Owner,
    session: OnceLock<SessionId>,
    /// Session-less programs waiting for an approval (shared by the front's handlers).
    suspended: Arc<Suspended>,
}

impl McpSession {
    /// A session for the single trusted local client (stdio), running as `anonymous`.
    pub fn local(broker: Arc<Broker>) -> Self {
        Self::new(broker, Owner::Fixed(ANONYMOUS.to_owned()), Arc::default())
    }

    /// A session for an authenticated network client, owned by the agent that sends
    /// `initialize`; `suspended` is the front's table of session-less programs waiting
    /// for an approval.
    pub fn remote(broker: Arc<Broker>, suspended: Arc<Suspended>) -> Self {
        Self::new(broker, Owner::Initializer(OnceLock::new()), suspended)
    }

    fn new(broker: Arc<Broker>, owner: Owner, suspended: Arc<Suspended>) -> Self {
        McpSession {
            broker,
            owner,
            session: OnceLock::new(),
            suspended,
        }
    }

    /// The agent a request authenticated as (HTTP); a request that did not is refused.
    fn presented(context: &RequestContext<RoleServer>) -> Result<String, ErrorData> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Authenticated>())
            .map(|a| a.0.clone())
            .ok_or_else(|| ErrorData::invalid_request("the request is not authenticated", None))
    }

    /// Fixes the owner and opens the vault session (at `initialize`).
    fn open(&self, context: &RequestContext<RoleServer>) -> Result<(), ErrorData> {
        let agent = match &self.owner {
            Owner::Fixed(agent) => agent.clone(),
            Owner::Initializer(owner) => {
                let presented = Self::presented(context)?;
                owner.get_or_init(|| presented).clone()
            }
        };
        if self.session.get().is_none() {
            let session = self.broker.create_session(&agent).map_err(internal)?;
            let _ = self.session.set(session);
            tracing::info!(agent = %agent, "MCP session opened");
        }
        Ok(())
    }

    /// The agent of a request and the session's vault id, or a refusal when another
    /// agent presents this session.
    /// The agent of a request and the vault session it works in.
    ///
    /// The session is the one named in the request's `_meta` ([`SESSION_META_KEY`]) when
    /// there is one — a client continuing its session after a reconnect or on another
    /// replica — else the MCP session's own, else (a session-less 2026-07-28 request) a
    /// fresh one. Whichever it is, the broker binds it to this agent: another agent's
    /// session is refused as unknown.
    fn caller(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<(String, SessionId), ErrorData> {
        let agent = self.agent(context)?;
        if let Some(named) = context.meta.0.0.get(SESSION_META_KEY) {
            let named = named.as_str().ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("_meta[\"{SESSION_META_KEY}\"] must be a string: a session id an earlier result returned"),
                    None,
                )
            })?;
            let session = SessionId::parse(named).map_err(|e| {
                ErrorData::invalid_params(
                    format!("_meta[\"{SESSION_META_KEY}\"]: {}", e.message),
                    None,
                )
            })?;
            return Ok((agent, session));
        }
        if let Some(session) = self.session.get() {
            return Ok((agent, session.clone()));
        }
        let session = self.broker.create_session(&agent).map_err(internal)?;
        Ok((agent, session))
    }

    /// The agent a request comes from: the session's owner, or (session-less) whoever
    /// authenticated; another agent presenting this MCP session is refused.
    fn agent(&self, context: &RequestContext<RoleServer>) -> Result<String, ErrorData> {
        let agent = match &self.owner {
            Owner::Fixed(agent) => agent.clone(),
            Owner::Initializer(owner) => {
                let presented = Self::presented(context)?;
                match owner.get() {
                    Some(owner) if *owner == presented => presented,
                    // No `initialize` reached this handler: a session-less request,
                    // served by a handler of its own.
                    None if self.session.get().is_none() => presented,
                    _ => {
                        tracing::warn!(agent = %presented, "an agent presented an MCP session it does not own");
                        return Err(unknown_session());
                    }
                }
            }
        };
        Ok(agent)
    }

    /// A session-less execute whose client can answer a form: it runs in a task of its
    /// own, so that a question can suspend it across this request's end (see
    /// [`super::mrtr`]); the answer is the outcome or the first question.
    async fn execute_suspendable(
        &self,
        args: ExecuteArgs,
        agent: String,
        session: SessionId,
        client: &str,
    ) -> Result<CallToolResponse, ErrorData> {
        let (tx, steps) = mrtr::steps();
        let approver = ApproverSlot::new(Arc::new(MrtrApprover {
            steps: tx.clone(),
            who: format!("MCP client '{client}' of agent '{agent}' (multi round-trip)"),
        }));
        let request = ExecuteRequest {
            agent: agent.clone(),
            session: Some(session.clone()),
            code: args.code,
            timeout_ms: args.timeout_ms,
            deadline: None,
        };
        let broker = Arc::clone(&self.broker);
        let task = tokio::spawn(
            async move {
                let result = broker
                    .execute_approved(request, None, approver)
                    .await
                    .map(|executed| execute_result(&executed.outcome))
                    .map_err(refusal);
                let _ = tx.send(Step::Done(result)).await;
            }
            .in_current_span(),
        );
        let (response, session) = self
            .suspended
            .drive(agent, session.as_str().to_owned(), steps, Abort(task))
            .await?;
        Ok(name_session(response, &session))
    }

    async fn execute(
        &self,
        args: ExecuteArgs,
        agent: String,
        session: SessionId,
        progress: Option<(ProgressToken, Peer<RoleServer>)>,
        peer: &Peer<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        // Within an MCP session the client is asked by a server-initiated elicitation; a
        // session-less request that can be asked goes through `execute_suspendable`, one
        // that cannot is refused as when no one can be asked.
        let in_mcp_session = self.session.get().is_some();
        let approver = ApproverSlot::from_option(
            Elicitor::for_peer(peer, &agent)
                .filter(|_| in_mcp_session)
                .map(|e| Arc::new(e) as Arc<dyn Approver>),
        );
        let request = ExecuteRequest {
            agent,
            session: Some(session),
            code: args.code,
            timeout_ms: args.timeout_ms,
            deadline: None,
        };
        let Some((token, peer)) = progress else {
            let executed = self
                .broker
                .execute_approved(request, None, approver)
                .await
                .map_err(refusal)?;
            return Ok(execute_result(&executed.outcome));
        };
        let (lines, relay) = relay_logs(token, peer);
        let observer = {
            let lines = lines.clone();
            Observer {
                sink: Arc::new(move |event| {
                    if let ExecuteEvent::Log(entry) = event {
                        let _ = lines.send(Some(entry));
                    }
                }),
                watch: Watch::ConsoleOnly,
            }
        };
        let executed = self
            .broker
            .execute_approved(request, Some(observer), approver)
            .await;
        // Every line was delivered before `execute` returned: the end marker follows the
        // last line, and the result goes out after the relay has sent it.
        let _ = lines.send(None);
        let _ = relay.await;
        Ok(execute_result(&executed.map_err(refusal)?.outcome))
    }

    async fn search(
        &self,
        args: SearchArgs,
        agent: String,
        session: SessionId,
    ) -> Result<CallToolResult, ErrorData> {
        let detail = match args.detail.as_deref() {
            None => Detail::default(),
            Some(text) => text
                .parse::<Detail>()
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
        };
        let request = SearchRequest {
            agent,
            session: Some(session),
            query: args.query,
            detail,
            limit: args.limit,
        };
        match self.broker.search(request).await {
            Ok(text) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
            Err(e) => Err(refusal(e)),
        }
    }

    /// A retry of a session-less `execute` that was asked a question: the answer in
    /// `inputResponses` goes to the program waiting under `state` (only the agent's own).
    async fn resume(
        &self,
        request: &CallToolRequestParams,
        state: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "execute" {
            return Err(ErrorData::invalid_params(
                format!(
                    "a requestState answers an approval of `execute`; `{}` never asks one",
                    request.name
                ),
                None,
            ));
        }
        let agent = self.agent(context)?;
        let span = tracing::info_span!("mcp", agent = %agent, tool = "execute");
        let (response, session) = self
            .suspended
            .resume(&agent, state, request.input_responses.as_ref())
            .instrument(span)
            .await?;
        Ok(name_session(response, &session))
    }

    /// The caller's saved skills as `(name, description, SKILL.md)`, scanned by the broker.
    async fn skill_manifests(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Vec<(String, String, String)>, ErrorData> {
        let (agent, session) = self.caller(context)?;
        self.broker
            .skill_manifests(&agent, &session)
            .await
            .map_err(refusal)
    }
}

/// The refusal another agent (or a client that never initialized) gets.
fn unknown_session() -> ErrorData {
    ErrorData::invalid_request(BrokerError::UnknownSession.to_string(), None)
}

/// A broker failure as an MCP error: bad input is `invalid_params`; the rest keep the
/// broker's words.
fn refusal(error: BrokerError) -> ErrorData {
    match error {
        BrokerError::Invalid(e) => ErrorData::invalid_params(e.message, None),
        BrokerError::UnknownSession => unknown_session(),
        other => internal(other),
    }
}

fn internal(error: BrokerError) -> ErrorData {
    ErrorData::internal_error(error.to_string(), None)
}

/// The `_meta` key that names a vault session, in a request (to continue it) and in every
/// `tools/call` result (the session the call worked in).
pub const SESSION_META_KEY: &str = "sluice/session";

/// `result` carrying the session it worked in, so a client can continue that session
/// after a reconnect, on another replica, or in session-less requests.
/// Whether this request's client declared form elicitation (in its `_meta`, session-less).
fn can_answer_a_form(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|caps| caps.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// Names the vault session in a response: the result's `_meta`, or the question's.
fn name_session(response: CallToolResponse, session: &str) -> CallToolResponse {
    match response {
        CallToolResponse::Complete(result) => {
            CallToolResponse::Complete(with_session(result, session))
        }
        CallToolResponse::InputRequired(mut asked) => {
            let mut meta = asked.meta.take().unwrap_or_default();
            meta.0.insert(
                SESSION_META_KEY.to_owned(),
                Value::String(session.to_owned()),
            );
            asked.meta = Some(meta);
            CallToolResponse::InputRequired(asked)
        }
        other => other,
    }
}

fn with_session(mut result: CallToolResult, session: &str) -> CallToolResult {
    let mut meta = result.meta.take().unwrap_or_default();
    meta.0.insert(
        SESSION_META_KEY.to_owned(),
        Value::String(session.to_owned()),
    );
    result.meta = Some(meta);
    result
}

/// Arguments of `execute`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecuteArgs {
    code: String,
    timeout_ms: Option<u64>,
}

/// Arguments of `search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    detail: Option<String>,
    limit: Option<u64>,
}

/// Parses a tool's arguments, naming the tool in the error.
fn parse_args<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: Option<JsonObject>,
) -> Result<T, ErrorData> {
    serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| ErrorData::invalid_params(format!("invalid arguments for {tool}: {e}"), None))
}

impl ServerHandler for McpSession {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_skills()
                .build(),
        )
        .with_server_info(Implementation::new("sluice", env!("CARGO_PKG_VERSION")))
        .with_instructions(instructions(&self.broker.servers()))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.open(&context)?;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn list_skills(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        Ok(super::skills::list(&self.skill_manifests(&context).await?))
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        super::skills::get(&self.skill_manifests(&context).await?, &request.uri)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        super::skills::read(&self.skill_manifests(&context).await?, &request.uri).map(Into::into)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|tool| tool.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(state) = request.request_state.as_deref() {
            return self.resume(&request, state, &context).await;
        }
        let (agent, session) = self.caller(&context)?;
        let session_id = session.as_str().to_owned();
        let span = tracing::info_span!("mcp", agent = %agent, tool = %request.name);
        if let Some(parts) = context.extensions.get::<http::request::Parts>() {
            crate::telemetry::continue_trace(&span, &parts.headers);
        }
        async move {
            let result = match request.name.as_ref() {
                "execute" if self.session.get().is_none() && can_answer_a_form(&context) => {
                    let args = parse_args("execute", request.arguments)?;
                    let client = context
                        .meta
                        .client_info()
                        .map_or_else(|| "unnamed".to_owned(), |i| i.name.chars().take(64).collect());
                    // Cancelling the first request stops the program; once it waits for
                    // an answer, only that answer or its execute timeout ends it.
                    return tokio::select! {
                        response = self.execute_suspendable(args, agent, session, &client) => response,
                        () = context.ct.cancelled() => Err(ErrorData::invalid_request(
                            "the execute was cancelled by the client",
                            None,
                        )),
                    };
                }
                "execute" => {
                    let args = parse_args("execute", request.arguments)?;
                    let progress = context
                        .meta
                        .get_progress_token()
                        .map(|token| (token, context.peer.clone()));
                    // A cancelled request (`notifications/cancelled`, or its session
                    // ending) stops the program and frees its sandbox slot; a tool call
                    // already under way still finishes and is audited.
                    tokio::select! {
                        result = self.execute(args, agent, session, progress, &context.peer) => result?,
                        () = context.ct.cancelled() => {
                            tracing::info!("execute cancelled by the client");
                            return Err(ErrorData::invalid_request(
                                "the execute was cancelled by the client",
                                None,
                            ));
                        }
                    }
                }
                "search" => {
                    let args = parse_args("search", request.arguments)?;
                    self.search(args, agent, session).await?
                }
                other => {
                    return Err(ErrorData::invalid_params(
                        format!("unknown tool '{other}': Sluice has `search` and `execute`"),
                        None,
                    ));
                }
            };
            Ok(with_session(result, &session_id).into())
        }
        .instrument(span)
        .await
    }
}
