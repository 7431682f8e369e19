//! The MCP front: Sluice as an MCP server with exactly two tools, `search` and `execute`,
//! over stdio (one trusted local client) or streamable HTTP at `/mcp` (bearer-token
//! agents).
//!
//! **Sessions.** Each MCP session is one vault session. Every session gets its own
//! [`McpSession`] handler holding a fresh random vault session id: over stdio the
//! connection is the session; over HTTP rmcp's session manager calls the handler factory
//! once per `initialize`, so the id lives exactly as long as the `Mcp-Session-Id`. The
//! vault id never leaves the process. Protocol revisions without sessions (2026-07-28,
//! stateless) are not offered: placeholders must persist across `execute` calls.
//!
//! **Auth.** Over HTTP an axum layer turns `Authorization: Bearer` into an agent (or
//! answers 401 before any MCP processing) and hands it to the handler through the request
//! extensions; a session is bound to the agent that first used it, and another agent
//! presenting the same `Mcp-Session-Id` is refused. rmcp validates the `Host` header
//! against the allowed hosts (DNS-rebinding protection).
//!
//! This module never decides a flow or sees a raw value: the [`Broker`] tokenizes every
//! outcome, and the search text is scanned as well before it is returned.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use sandbox_host::{LogLevel, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::Shutdown;
use crate::auth::{ANONYMOUS, AuthError, Principals};
use crate::catalog::Detail;
use crate::flow::{Broker, CallContext, ExecuteEvent, ExecuteObserver, SANDBOX_SOURCE};
use crate::setup;
use crate::tls::ServerTls;

/// The path streamable HTTP serves MCP at.
pub const MCP_PATH: &str = "/mcp";
/// The unauthenticated liveness path for load balancers and Kubernetes probes.
pub const HEALTH_PATH: &str = "/healthz";
/// Tools `search` returns when the caller gives no `limit`.
pub const SEARCH_DEFAULT_LIMIT: usize = 10;
/// The most tools one `search` returns.
pub const SEARCH_MAX_LIMIT: usize = 50;

/// How long open HTTP connections get to finish after shutdown before they are dropped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The revisions offered: those with an `initialize` handshake, i.e. with sessions.
const PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
];

const EXECUTE_DESCRIPTION: &str = "Run a JS/TS async function body (top-level await; `return` a value). \
Call backend tools as `await tools.<server>.<tool>(args)`; it returns the parsed result and throws on error. \
Use `search` first to learn the tools. \
Personal data appears as placeholders like [EMAIL_1] that stand for real values: pass them to tools unchanged, \
they resolve only where policy allows. console.log is captured. \
Returns {result, logs, calls, error}.";

const SEARCH_DESCRIPTION: &str = "Find backend tools for a task. Returns TypeScript declarations of `tools.<server>.<tool>` to call in execute.";

/// Failures of the MCP front itself (not of a program it runs).
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source} (is the port in use?)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("the MCP HTTP server on {addr} failed: {source}")]
    Serve {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The stdio session ended abnormally.
    #[error("the MCP stdio session failed: {0}")]
    Stdio(String),
}

/// The agent an HTTP request authenticated as; the auth layer puts it in the request's
/// extensions, where the handler reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub String);

/// Who may use a session.
#[derive(Debug)]
enum Owner {
    /// Always this agent (stdio: the one local client).
    Fixed(String),
    /// The first authenticated agent that uses it (HTTP).
    FirstCaller(OnceLock<String>),
}

/// One MCP session: the `ServerHandler` of one client connection, holding its vault
/// session id.
pub struct McpSession {
    broker: Arc<Broker>,
    session: String,
    owner: Owner,
}

impl McpSession {
    /// A session for the single trusted local client (stdio), running as `anonymous`.
    pub fn local(broker: Arc<Broker>) -> Self {
        Self::new(broker, Owner::Fixed(ANONYMOUS.to_owned()))
    }

    /// A session for an authenticated network client; bound to the first agent using it.
    pub fn remote(broker: Arc<Broker>) -> Self {
        Self::new(broker, Owner::FirstCaller(OnceLock::new()))
    }

    fn new(broker: Arc<Broker>, owner: Owner) -> Self {
        let session = setup::new_session_id();
        tracing::info!(session = %session, "MCP session opened");
        McpSession {
            broker,
            session,
            owner,
        }
    }

    /// The vault session this MCP session's placeholders belong to.
    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// The agent making this request; refuses an agent other than the session's owner.
    fn agent(&self, context: &RequestContext<RoleServer>) -> Result<String, ErrorData> {
        let presented = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Authenticated>())
            .map(|a| a.0.clone());
        match &self.owner {
            Owner::Fixed(agent) => Ok(agent.clone()),
            Owner::FirstCaller(owner) => {
                let presented = presented.ok_or_else(|| {
                    ErrorData::invalid_request("the request is not authenticated", None)
                })?;
                let owner = owner.get_or_init(|| presented.clone());
                if *owner == presented {
                    Ok(presented)
                } else {
                    tracing::warn!(session = %self.session, agent = %presented, "another agent tried to use an MCP session");
                    Err(ErrorData::invalid_request(
                        "this MCP session belongs to another agent: start your own session",
                        None,
                    ))
                }
            }
        }
    }

    /// Runs a program. When the request carries a progress token, each console line is
    /// also sent live as a `notifications/progress` message (tokenized like the outcome,
    /// all of them before the result); the result still holds every line.
    async fn execute(
        &self,
        args: ExecuteArgs,
        agent: String,
        progress: Option<(ProgressToken, Peer<RoleServer>)>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut limits = self.broker.limits().clone();
        if let Some(ms) = args.timeout_ms {
            if ms == 0 {
                return Err(ErrorData::invalid_params(
                    "timeout_ms must be at least 1",
                    None,
                ));
            }
            limits.timeout = limits.timeout.min(Duration::from_millis(ms));
        }
        let context = CallContext {
            session: self.session.clone(),
            agent,
        };
        let Some((token, peer)) = progress else {
            let outcome = self.broker.execute(&args.code, context, &limits).await;
            return Ok(execute_result(&outcome));
        };
        let (lines, relay) = relay_logs(token, peer);
        let observer: ExecuteObserver = {
            let lines = lines.clone();
            Arc::new(move |event| {
                if let ExecuteEvent::Log(entry) = event {
                    let _ = lines.send(Some(entry));
                }
            })
        };
        let outcome = self
            .broker
            .execute_logged(&args.code, context, &limits, observer)
            .await;
        // Every line was delivered before `execute_logged` returned: the end marker
        // follows the last line, and the result goes out after the relay has sent it.
        let _ = lines.send(None);
        let _ = relay.await;
        Ok(execute_result(&outcome))
    }

    async fn search(&self, args: SearchArgs) -> Result<CallToolResult, ErrorData> {
        let detail = match args.detail.as_deref() {
            None => Detail::default(),
            Some(text) => text
                .parse::<Detail>()
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
        };
        let limit = match args.limit {
            None => SEARCH_DEFAULT_LIMIT,
            Some(0) => return Err(ErrorData::invalid_params("limit must be at least 1", None)),
            Some(n) => usize::try_from(n).map_or(SEARCH_MAX_LIMIT, |n| n.min(SEARCH_MAX_LIMIT)),
        };
        let text = self.broker.search(&args.query, detail, limit).await;
        // Tool descriptions come from backends: scan them like any other backend text.
        let tokenizer = self.broker.tokenizer().clone();
        let session = self.session.clone();
        let scanned = tokio::task::spawn_blocking(move || {
            tokenizer.ingest_text(&session, SANDBOX_SOURCE, &text)
        })
        .await;
        match scanned {
            Ok(Ok(text)) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
            _ => Ok(CallToolResult::error(vec![ContentBlock::text(
                "error (internal): the search result could not be tokenized and was withheld",
            )])),
        }
    }
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

fn parse_args<T: serde::de::DeserializeOwned>(
    tool: &str,
    arguments: Option<JsonObject>,
) -> Result<T, ErrorData> {
    serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| ErrorData::invalid_params(format!("invalid arguments for {tool}: {e}"), None))
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The two tools Sluice shows a model, whatever backends it has.
pub fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "search",
            SEARCH_DESCRIPTION,
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what you want to do, e.g. \"update a lead's email\""},
                    "detail": {"enum": ["names", "signatures", "full"], "description": "default signatures"},
                    "limit": {"type": "integer", "description": "max tools, default 10, at most 50"}
                },
                "required": ["query"]
            })),
        ),
        Tool::new(
            "execute",
            EXECUTE_DESCRIPTION,
            schema(json!({
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "timeout_ms": {"type": "integer", "description": "wall-clock limit, capped by the server"}
                },
                "required": ["code"]
            })),
        ),
    ]
}

/// The server `instructions`: which backends are connected, and how to start.
pub fn instructions(servers: &[String]) -> String {
    let servers = if servers.is_empty() {
        "none configured".to_owned()
    } else {
        servers.join(", ")
    };
    format!(
        "Sluice runs your code against backend MCP servers ({servers}). \
         Call `search` first to find tools and their TypeScript signatures, then `execute` \
         a program that calls them as tools.<server>.<tool>(args). Personal data comes back \
         as placeholders like [EMAIL_1]; pass them on as they are."
    )
}

/// The MCP answer to an execute: the outcome as `structuredContent` (exactly the JSON
/// `sluice exec` prints) and a compact text rendering; a program failure is `isError`.
pub fn execute_result(outcome: &Outcome) -> CallToolResult {
    let structured = serde_json::to_value(outcome).unwrap_or_else(|e| {
        json!({"result": null, "logs": [], "calls": outcome.calls,
               "error": {"kind": "internal", "message": format!("the outcome could not be serialized: {e}")}})
    });
    let content = vec![ContentBlock::text(render_outcome(outcome))];
    let mut result = if outcome.error.is_some() {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = Some(structured);
    result
}

/// Sends an execute's console lines to the client as progress notifications, in order,
/// until `None` arrives: the sender the observer feeds, and the relaying task.
fn relay_logs(
    token: ProgressToken,
    peer: Peer<RoleServer>,
) -> (
    mpsc::UnboundedSender<Option<sandbox_host::LogEntry>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<sandbox_host::LogEntry>>();
    let relay = tokio::spawn(async move {
        let mut sent = 0u32;
        let mut connected = true;
        while let Some(Some(entry)) = rx.recv().await {
            if !connected {
                continue;
            }
            sent += 1;
            let message = format!("{}{}", level_prefix(entry.level), entry.message);
            let note = ProgressNotificationParam::new(token.clone(), f64::from(sent))
                .with_message(message);
            // A client that went away gets the rest of nothing; the execute goes on.
            connected = peer.notify_progress(note).await.is_ok();
        }
    });
    (tx, relay)
}

/// How a console level is written in front of its line (`console.log` has none).
fn level_prefix(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Log => "",
        LogLevel::Info => "info: ",
        LogLevel::Warn => "warn: ",
        LogLevel::Error => "error: ",
    }
}

/// `result JSON` (or `error (kind): message`), then the logs, one per line.
fn render_outcome(outcome: &Outcome) -> String {
    let mut text = match &outcome.error {
        Some(error) => format!("error ({}): {}", error.kind.as_str(), error.message),
        None => serde_json::to_string(&outcome.result).unwrap_or_else(|_| "null".to_owned()),
    };
    if !outcome.logs.is_empty() {
        text.push_str("\nlogs:");
        for log in &outcome.logs {
            let _ = write!(text, "\n{}{}", level_prefix(log.level), log.message);
        }
    }
    text
}

impl ServerHandler for McpSession {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("sluice", env!("CARGO_PKG_VERSION")))
            .with_instructions(instructions(&self.broker.servers()))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|tool| tool.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let agent = self.agent(&context)?;
        let span = tracing::info_span!("mcp", session = %self.session, agent = %agent, tool = %request.name);
        async move {
            let result = match request.name.as_ref() {
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
                        result = self.execute(args, agent, progress) => result?,
                        () = context.ct.cancelled() => {
                            tracing::info!(session = %self.session, "execute cancelled by the client");
                            return Err(ErrorData::invalid_request(
                                "the execute was cancelled by the client",
                                None,
                            ));
                        }
                    }
                }
                "search" => {
                    let args = parse_args("search", request.arguments)?;
                    self.search(args).await?
                }
                other => {
                    return Err(ErrorData::invalid_params(
                        format!("unknown tool '{other}': Sluice has `search` and `execute`"),
                        None,
                    ));
                }
            };
            Ok(result.into())
        }
        .instrument(span)
        .await
    }
}

/// Serves one MCP session on stdin/stdout until the client closes stdin or `shutdown`
/// fires. Nothing else may write to stdout meanwhile.
pub async fn serve_stdio(broker: Arc<Broker>, shutdown: Shutdown) -> Result<(), FrontError> {
    let handler = McpSession::local(broker);
    let session = handler.session_id().to_owned();
    let running = tokio::select! {
        running = handler.serve(rmcp::transport::stdio_pipes()) => running,
        () = shutdown.wait() => return Ok(()),
    };
    let running = match running {
        Ok(running) => running,
        // A client that goes away before the handshake ends the session, not the server.
        Err(e) => {
            tracing::info!(error = %e, "the stdio client left before the MCP handshake");
            return Ok(());
        }
    };
    let token = running.cancellation_token();
    let reason = tokio::select! {
        reason = running.waiting() => reason,
        () = shutdown.wait() => {
            token.cancel();
            return Ok(());
        }
    };
    tracing::info!(session = %session, ?reason, "MCP stdio session ended");
    reason
        .map(|_| ())
        .map_err(|e| FrontError::Stdio(e.to_string()))
}

/// The MCP streamable-HTTP front, bound and ready to serve.
pub struct McpHttp {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    /// Kept for its cancellation token, which ends every session.
    sessions: StreamableHttpServerConfig,
    /// Serve HTTPS with this identity instead of plain HTTP.
    tls: Option<ServerTls>,
}

impl McpHttp {
    /// Binds `addr` (port 0 picks one). `allowed_hosts` are the `Host` values accepted
    /// (DNS-rebinding protection); `None` means loopback names plus the bound address,
    /// an empty list accepts any host.
    pub async fn bind(
        broker: Arc<Broker>,
        principals: Principals,
        addr: SocketAddr,
        allowed_hosts: Option<Vec<String>>,
    ) -> Result<Self, FrontError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| FrontError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| FrontError::Bind { addr, source })?;
        let hosts = allowed_hosts.unwrap_or_else(|| default_allowed_hosts(bound));
        let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
        let service = StreamableHttpService::new(
            move || Ok(McpSession::remote(Arc::clone(&broker))),
            Arc::new(LocalSessionManager::default()),
            config.clone(),
        );
        // `/healthz` is added after the auth layer, so probes need no key; it says only
        // that the front is up.
        let router = axum::Router::new()
            .nest_service(MCP_PATH, service)
            .layer(middleware::from_fn_with_state(
                Arc::new(principals),
                authenticate,
            ))
            .route(HEALTH_PATH, axum::routing::get(|| async { "ok\n" }));
        Ok(McpHttp {
            listener,
            addr: bound,
            router,
            sessions: config,
            tls: None,
        })
    }

    /// Serves HTTPS with `tls` instead of plain HTTP.
    pub fn with_tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint, e.g. `http://127.0.0.1:7100/mcp` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{MCP_PATH}", self.addr)
    }

    /// Serves until `shutdown` fires; then ends every session and drains connections.
    pub async fn serve(self, shutdown: Shutdown) -> Result<(), FrontError> {
        let addr = self.addr;
        let sessions = self.sessions.cancellation_token.clone();
        let stop = shutdown.clone();
        let stopped = async move {
            stop.wait().await;
            sessions.cancel();
        };
        let server = async move {
            match self.tls {
                Some(tls) => {
                    let listener = tls
                        .listener(self.listener)
                        .map_err(|source| FrontError::Serve { addr, source })?;
                    axum::serve(listener, self.router)
                        .with_graceful_shutdown(stopped)
                        .await
                }
                None => {
                    axum::serve(self.listener, self.router)
                        .with_graceful_shutdown(stopped)
                        .await
                }
            }
            .map_err(|source| FrontError::Serve { addr, source })
        };
        let drained = async {
            shutdown.wait().await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        };
        tokio::select! {
            result = server => result,
            () = drained => {
                tracing::warn!("HTTP connections still open after shutdown were dropped");
                Ok(())
            }
        }
    }
}

/// Loopback names and the bound IP (any port).
pub fn default_allowed_hosts(bound: SocketAddr) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let ip = bound.ip().to_string();
    if !hosts.contains(&ip) {
        hosts.push(ip);
    }
    hosts
}

/// The auth layer: `Authorization: Bearer <key>` → [`Authenticated`], or 401 with a JSON
/// body before the request reaches MCP.
async fn authenticate(
    State(principals): State<Arc<Principals>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = match request.headers().get(http::header::AUTHORIZATION) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(Principals::bearer)
            .map(Some)
            .ok_or(AuthError::Invalid),
    };
    match presented.and_then(|token| principals.authenticate(token)) {
        Ok(agent) => {
            request.extensions_mut().insert(Authenticated(agent));
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(%error, "MCP HTTP request refused");
            unauthorized(&error)
        }
    }
}

fn unauthorized(error: &AuthError) -> Response {
    let body = json!({"error": "unauthorized", "message": error.to_string()}).to_string();
    (
        http::StatusCode::UNAUTHORIZED,
        [
            (http::header::CONTENT_TYPE, "application/json"),
            (http::header::WWW_AUTHENTICATE, "Bearer"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::count_tokens;
    use sandbox_host::{ErrorKind, LogEntry};

    #[test]
    fn tools_list_fits_the_context_budget() {
        let list = serde_json::to_string(&ListToolsResult::with_all_items(tools())).expect("json");
        let tokens = count_tokens(&list);
        println!("tools/list: {tokens} tokens (o200k_base): {list}");
        assert!(tokens <= 400, "tools/list is {tokens} tokens: {list}");
    }

    #[test]
    fn exactly_search_and_execute_with_the_contract_inputs() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["search", "execute"]);
        let execute = &tools[1].input_schema;
        assert_eq!(execute["required"], json!(["code"]));
        assert_eq!(execute["properties"]["timeout_ms"]["type"], "integer");
        let search = &tools[0].input_schema;
        assert_eq!(search["required"], json!(["query"]));
        assert_eq!(
            search["properties"]["detail"]["enum"],
            json!(["names", "signatures", "full"])
        );
        let description = tools[1].description.as_deref().unwrap_or_default();
        for part in [
            "tools.<server>.<tool>(args)",
            "[EMAIL_1]",
            "console.log",
            "return",
        ] {
            assert!(description.contains(part), "{part} missing: {description}");
        }
    }

    #[test]
    fn a_failed_outcome_is_an_error_naming_its_kind() {
        let mut outcome = Outcome::failed(ErrorKind::Timeout, "ran out of time");
        outcome.logs.push(LogEntry {
            level: LogLevel::Warn,
            message: "slow".into(),
        });
        let result = execute_result(&outcome);
        assert_eq!(result.is_error, Some(true));
        let text = result.content[0].as_text().map(|t| t.text.clone());
        assert_eq!(
            text.as_deref(),
            Some("error (timeout): ran out of time\nlogs:\nwarn: slow")
        );
        let structured = result.structured_content.expect("structured");
        assert_eq!(structured["error"]["kind"], "timeout");
        assert_eq!(structured, serde_json::to_value(&outcome).expect("json"));
    }

    #[test]
    fn default_hosts_add_the_bound_address() {
        let hosts = default_allowed_hosts("10.1.2.3:7000".parse().expect("addr"));
        assert_eq!(hosts, ["localhost", "127.0.0.1", "::1", "10.1.2.3"]);
        assert_eq!(
            default_allowed_hosts("127.0.0.1:0".parse().expect("addr")).len(),
            3
        );
    }
}
