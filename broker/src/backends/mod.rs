//! The backend MCP servers behind the broker: one rmcp client per configured server, over
//! stdio (a child process in its own process group, stderr captured into the logs) or
//! streamable HTTP (with headers and bearer tokens).
//!
//! Connections are made on first use and kept. A server that crashes or whose transport
//! fails is dropped and restarted on the next call (with exponential backoff while it
//! keeps failing to start); the call that saw the failure returns a clear `tool` error
//! naming the server. Each server has its own lock and timeout, so one broken or slow
//! server never blocks calls to the others.

mod env;
mod process;
mod result;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, Tool};
use rmcp::service::{NotificationContext, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use sandbox_host::ToolError;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;

use crate::config::ServerConfig;
use crate::errors::with_causes;

/// How long starting a server and the MCP handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Default budget of one tool call.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait between restart attempts of a failing server.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Tool names listed in an "unknown tool" error before eliding the rest.
const NAMES_IN_ERRORS: usize = 20;

/// A backend set that could not be built from the config.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A `${VAR}` in `env` or `headers` could not be expanded, or a header is invalid.
    #[error("[servers.{server}] {message}")]
    Config {
        /// The server.
        server: String,
        /// What is wrong.
        message: String,
    },
}

/// A server name that is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(server, known))]
pub struct UnknownServer {
    /// The name asked for.
    pub server: String,
    /// The configured servers.
    pub known: Vec<String>,
}

fn describe_unknown(server: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!(
            "unknown server '{server}': no servers are configured (add [servers.{server}] to sluice.toml)"
        )
    } else {
        format!(
            "unknown server '{server}'; the servers are: {}",
            known.join(", ")
        )
    }
}

impl From<UnknownServer> for ToolError {
    fn from(e: UnknownServer) -> ToolError {
        ToolError::tool(e.to_string())
    }
}

/// The configured backends, by name.
#[derive(Default)]
pub struct Backends {
    servers: BTreeMap<String, Arc<Backend>>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.servers.keys()).finish()
    }
}

impl Backends {
    /// Builds (but does not yet connect) the backends named in the config, expanding
    /// `${VAR}` references from the process environment.
    pub fn from_config(servers: &BTreeMap<String, ServerConfig>) -> Result<Self, BackendError> {
        let mut built = BTreeMap::new();
        for (name, config) in servers {
            let transport = Transport::from_config(name, config)?;
            let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
            built.insert(
                name.clone(),
                Arc::new(Backend {
                    name: name.clone(),
                    transport,
                    call_timeout: ms(config.timeout_ms, DEFAULT_CALL_TIMEOUT),
                    connect_timeout: ms(config.connect_timeout_ms, CONNECT_TIMEOUT),
                    state: Mutex::new(State::default()),
                    tools_stale: Arc::new(AtomicBool::new(true)),
                    children: process::ChildGroup::default(),
                }),
            );
        }
        Ok(Backends { servers: built })
    }

    /// Names of the configured servers, sorted.
    pub fn names(&self) -> Vec<String> {
        self.servers.keys().cloned().collect()
    }

    /// Whether `server` is configured.
    pub fn contains(&self, server: &str) -> bool {
        self.servers.contains_key(server)
    }

    /// `Ok` if `server` is configured, else the error naming the configured ones.
    pub fn check(&self, server: &str) -> Result<(), UnknownServer> {
        if self.contains(server) {
            Ok(())
        } else {
            Err(self.unknown(server))
        }
    }

    /// The error for a server that is not configured.
    pub fn unknown(&self, server: &str) -> UnknownServer {
        UnknownServer {
            server: server.to_owned(),
            known: self.names(),
        }
    }

    /// Calls `tool` on `server` with JSON object `args`.
    pub async fn call(&self, server: &str, tool: &str, args: Value) -> Result<Value, ToolError> {
        let Some(backend) = self.servers.get(server) else {
            return Err(self.unknown(server).into());
        };
        backend.call(tool, args).await
    }

    /// The tools `server` offers (connecting if needed; refreshed after `list_changed`).
    pub async fn tools(&self, server: &str) -> Result<Arc<Vec<Tool>>, ToolError> {
        let Some(backend) = self.servers.get(server) else {
            return Err(self.unknown(server).into());
        };
        let (_, tools) = backend.connected().await?;
        Ok(tools)
    }

    /// Every reachable server's tools, in name order. A server that cannot be reached is
    /// left out and logged, so one broken backend never hides the others.
    pub async fn all_tools(&self) -> Vec<(String, Arc<Vec<Tool>>)> {
        let names = self.names();
        let lists = futures::future::join_all(names.iter().map(|name| self.tools(name))).await;
        names
            .into_iter()
            .zip(lists)
            .filter_map(|(server, tools)| match tools {
                Ok(tools) => Some((server, tools)),
                Err(e) => {
                    // Already logged as a warning where the connection failed.
                    tracing::debug!(server, error = %e.message, "server left out of the catalog");
                    None
                }
            })
            .collect()
    }

    /// Closes every connection; stdio servers are stopped — SIGTERM to each one's process
    /// group, SIGKILL after a grace period — also when a call is still running in them.
    pub async fn shutdown(&self) {
        for backend in self.servers.values() {
            let client = backend.state.lock().await.client.take();
            if let Some(client) = client
                && let Ok(mut client) = Arc::try_unwrap(client)
            {
                let _ = client.close_with_timeout(Duration::from_secs(2)).await;
            }
        }
        let groups = self
            .servers
            .values()
            .filter_map(|backend| backend.children.take());
        futures::future::join_all(groups.map(|pid| process::terminate_group(pid, process::GRACE)))
            .await;
    }
}

/// How to reach one server, with `${VAR}`s already expanded.
#[derive(Debug, Clone)]
enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Http {
        url: String,
        bearer: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
        client: LazyClient,
    },
}

impl Transport {
    fn from_config(name: &str, config: &ServerConfig) -> Result<Self, BackendError> {
        let error = |message: String| BackendError::Config {
            server: name.to_string(),
            message,
        };
        let expand = |key: &str, value: &str| {
            env::expand(value, |var| std::env::var(var).ok())
                .map_err(|e| error(format!("{key}: {e}")))
        };
        if let Some(command) = &config.command {
            let env = config
                .env
                .iter()
                .map(|(k, v)| Ok((k.clone(), expand(&format!("env.{k}"), v)?)))
                .collect::<Result<_, BackendError>>()?;
            return Ok(Transport::Stdio {
                command: command.clone(),
                args: config.args.clone(),
                env,
            });
        }
        let url = config
            .url
            .clone()
            .ok_or_else(|| error("set `command` or `url`".into()))?;
        let mut bearer = None;
        let mut headers = HashMap::new();
        for (key, value) in &config.headers {
            let value = expand(&format!("headers.{key}"), value)?;
            if key.eq_ignore_ascii_case("authorization")
                && let Some(token) = value.strip_prefix("Bearer ")
            {
                bearer = Some(token.to_string());
                continue;
            }
            let header = http::HeaderName::try_from(key.as_str())
                .map_err(|e| error(format!("headers.{key}: invalid header name: {e}")))?;
            let value = http::HeaderValue::try_from(value)
                .map_err(|e| error(format!("headers.{key}: invalid header value: {e}")))?;
            headers.insert(header, value);
        }
        let client = LazyClient::new(config).map_err(error)?;
        Ok(Transport::Http {
            url,
            bearer,
            headers,
            client,
        })
    }
}

/// Why an HTTP backend could not be reached, in words: "is unreachable at URL: connection
/// refused" when the connection itself failed (the OS error, once), else the innermost
/// cause that is not a wrapper (e.g. an untrusted certificate). Never a Rust type name:
/// rmcp's outer errors name their transport types, so only the causes below them are used.
fn http_failure(url: &str, error: &rmcp::service::ClientInitializeError) -> String {
    let url = redacted_url(url);
    // rmcp keeps the transport's error in a field it does not expose as a `source`.
    let root: &(dyn std::error::Error + 'static) = match error {
        rmcp::service::ClientInitializeError::TransportError { error, .. } => &*error.error,
        other => other,
    };
    // …and the HTTP client's error in a variant without a `source` either.
    use rmcp::transport::streamable_http_client::StreamableHttpError;
    let root: &(dyn std::error::Error + 'static) =
        match root.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
            Some(StreamableHttpError::Client(client)) => client,
            _ => root,
        };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(root);
    let mut reqwest_error = None;
    let mut io_error = None;
    let mut innermost = root;
    while let Some(e) = cause {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            reqwest_error.get_or_insert(r);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_error.get_or_insert(io);
        }
        innermost = e;
        cause = e.source();
    }
    if let Some(io) = io_error {
        use std::io::ErrorKind as K;
        // Nothing answered (or the name does not resolve): the kind says it plainly, a DNS
        // failure in the resolver's words. Anything else (an untrusted certificate) means
        // something answered, so it is "unavailable", with the error as it is.
        return match io.kind() {
            kind @ (K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::TimedOut
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::AddrNotAvailable) => format!("is unreachable at {url}: {kind}"),
            _ if io.to_string().contains("lookup address") => {
                format!("is unreachable at {url}: {io}")
            }
            _ => format!("is unavailable at {url}: {io}"),
        };
    }
    if let Some(r) = reqwest_error {
        if r.is_timeout() {
            return format!("is unreachable at {url}: the connection timed out");
        }
        if let Some(status) = r.status() {
            return format!("is unavailable: {url} answered HTTP {status}");
        }
    }
    format!("is unavailable at {url}: {}", with_causes(innermost))
}

/// A failed request in words: rmcp's transport errors name the transport's Rust type
/// (`Transport [rmcp::transport::…] error: …`), so only the error inside is used.
fn service_failure(error: &ServiceError) -> String {
    match error {
        ServiceError::TransportSend(transport) => transport.error.to_string(),
        ServiceError::TransportClosed => "the connection closed".to_owned(),
        other => other.to_string(),
    }
}

/// `url` without credentials, query or fragment, for messages and logs.
pub fn redacted_url(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or(url);
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_owned(),
    }
}

/// The HTTP client of one streamable-HTTP backend: HTTPS verified against the system roots
/// plus the server's `ca_file`; no idle pooling (rmcp's choice: reused connections with an
/// unread body stall on delayed ACKs); redirects are not followed, so the session id and
/// credentials are never replayed to another location.
///
/// Built on first connect, not at load: building one loads the system's root certificates
/// (~5 ms), which a one-shot `tokenize` or `detokenize` — that never calls a backend — would
/// pay for nothing. The `ca_file` is still read and checked at load, so its errors are
/// config errors as before.
#[derive(Clone)]
struct LazyClient {
    ca_certs: Arc<Vec<reqwest::Certificate>>,
    built: Arc<std::sync::OnceLock<Result<reqwest::Client, String>>>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("ca_certs", &self.ca_certs.len())
            .finish_non_exhaustive()
    }
}

impl LazyClient {
    fn new(config: &ServerConfig) -> Result<Self, String> {
        let mut ca_certs = Vec::new();
        if let Some(path) = &config.ca_file {
            let certs = crate::tls::read_ca_certificates(path)
                .map_err(|e| format!("ca_file: {}", with_causes(&e)))?;
            for der in certs {
                ca_certs.push(
                    reqwest::Certificate::from_der(&der)
                        .map_err(|e| format!("ca_file {}: {e}", path.display()))?,
                );
            }
        }
        Ok(Self {
            ca_certs: Arc::new(ca_certs),
            built: Arc::default(),
        })
    }

    /// The client, built on the first call (every later call gets the same one).
    fn get(&self) -> Result<reqwest::Client, String> {
        self.built
            .get_or_init(|| {
                crate::tls::install_crypto_provider();
                let mut builder = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .redirect(reqwest::redirect::Policy::none());
                if !self.ca_certs.is_empty() {
                    builder = builder.tls_certs_merge(self.ca_certs.iter().cloned());
                }
                builder
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .clone()
    }
}

type Client = RunningService<RoleClient, Notifications>;

/// Receives server notifications; marks the tool list stale on `tools/list_changed`.
#[derive(Clone)]
struct Notifications {
    tools_stale: Arc<AtomicBool>,
}

impl ClientHandler for Notifications {
    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        self.tools_stale.store(true, Ordering::Release);
        std::future::ready(())
    }
}

#[derive(Default)]
struct State {
    client: Option<Arc<Client>>,
    tools: Arc<Vec<Tool>>,
    failures: u32,
    retry_at: Option<Instant>,
}

struct Backend {
    name: String,
    transport: Transport,
    call_timeout: Duration,
    connect_timeout: Duration,
    state: Mutex<State>,
    tools_stale: Arc<AtomicBool>,
    /// The process group of this backend's child (stdio).
    children: process::ChildGroup,
}

impl Backend {
    async fn call(&self, tool: &str, args: Value) -> Result<Value, ToolError> {
        let name = &self.name;
        let Value::Object(args) = args else {
            return Err(ToolError::tool(format!(
                "arguments of tools.{name}.{tool} must be an object"
            )));
        };
        let (client, tools) = self.connected().await?;
        if !tools.is_empty() && !tools.iter().any(|t| t.name == tool) {
            return Err(unknown_tool(name, tool, &tools));
        }
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.call_timeout, client.call_tool(params)).await;
        tracing::debug!(server = %name, tool, elapsed_us = started.elapsed().as_micros() as u64, "backend call");
        match outcome {
            Err(_) => Err(ToolError::tool(format!(
                "tools.{name}.{tool} timed out after {} ms",
                self.call_timeout.as_millis()
            ))),
            Ok(Err(ServiceError::McpError(e))) => Err(ToolError::tool(format!(
                "tools.{name}.{tool} failed: {}",
                e.message
            ))),
            Ok(Err(e)) => {
                self.forget(&client).await;
                Err(ToolError::unavailable(format!(
                    "server '{name}' failed during tools.{name}.{tool} ({}); it will be restarted",
                    service_failure(&e)
                )))
            }
            Ok(Ok(result)) => result::to_value(result)
                .map_err(|message| ToolError::tool(format!("tools.{name}.{tool}: {message}"))),
        }
    }

    /// The live client and tool list, connecting (or restarting) when needed.
    async fn connected(&self) -> Result<(Arc<Client>, Arc<Vec<Tool>>), ToolError> {
        let name = &self.name;
        let mut state = self.state.lock().await;
        if let Some(client) = &state.client {
            if !client.is_closed() {
                let client = Arc::clone(client);
                if self.tools_stale.swap(false, Ordering::AcqRel) {
                    match client.list_all_tools().await {
                        Ok(tools) => state.tools = Arc::new(tools),
                        Err(e) => {
                            tracing::warn!(server = %name, error = %e, "refreshing tools failed")
                        }
                    }
                }
                return Ok((client, Arc::clone(&state.tools)));
            }
            tracing::warn!(server = %name, "backend connection closed; restarting");
            state.client = None;
        }
        if let Some(at) = state.retry_at
            && Instant::now() < at
        {
            return Err(ToolError::unavailable(format!(
                "server '{name}' is unavailable (failed to start {} times); next restart attempt in {} ms",
                state.failures,
                at.saturating_duration_since(Instant::now()).as_millis()
            )));
        }
        let connected = tokio::time::timeout(self.connect_timeout, self.connect()).await;
        let result = match connected {
            Err(_) => Err(format!(
                "is unavailable: it did not complete the MCP handshake within {} ms",
                self.connect_timeout.as_millis()
            )),
            Ok(result) => result,
        };
        match result {
            Ok((client, tools)) => {
                state.failures = 0;
                state.retry_at = None;
                let client = Arc::new(client);
                state.client = Some(Arc::clone(&client));
                state.tools = Arc::new(tools);
                self.tools_stale.store(false, Ordering::Release);
                Ok((client, Arc::clone(&state.tools)))
            }
            Err(message) => {
                state.failures += 1;
                let backoff = Duration::from_millis(250)
                    .saturating_mul(1 << state.failures.min(6))
                    .min(MAX_BACKOFF);
                state.retry_at = Some(Instant::now() + backoff);
                let message = format!("server '{name}' {message}");
                tracing::warn!("{message}");
                Err(ToolError::unavailable(message))
            }
        }
    }

    /// Drops `client` if it is still the current one, so the next call restarts the server.
    async fn forget(&self, client: &Arc<Client>) {
        let mut state = self.state.lock().await;
        if state
            .client
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, client))
        {
            state.client = None;
        }
    }

    async fn connect(&self) -> Result<(Client, Vec<Tool>), String> {
        let handler = Notifications {
            tools_stale: Arc::clone(&self.tools_stale),
        };
        let client = match &self.transport {
            Transport::Stdio { command, args, env } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
                let (transport, stderr) = process::spawn(cmd)
                    .await
                    .map_err(|e| format!("is unavailable: cannot start `{command}`: {e}"))?;
                if let Some(pid) = transport.id() {
                    self.children.set(pid);
                }
                if let Some(stderr) = stderr {
                    let server = self.name.clone();
                    tokio::spawn(async move {
                        let mut lines = tokio::io::BufReader::new(stderr).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            tracing::info!(target: "sluice::backend", server = %server, "{line}");
                        }
                    });
                }
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| format!("is unavailable: the MCP handshake failed: {e}"))?
            }
            Transport::Http {
                url,
                bearer,
                headers,
                client: http,
            } => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(headers.clone());
                if let Some(token) = bearer {
                    config = config.auth_header(token.clone());
                }
                let transport = StreamableHttpClientTransport::with_client(
                    http.get().map_err(|e| format!("is unavailable: {e}"))?,
                    config,
                );
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| http_failure(url, &e))?
            }
        };
        let tools = client
            .list_all_tools()
            .await
            .map_err(|e| format!("is unavailable: tools/list failed: {e}"))?;
        tracing::info!(server = %self.name, tools = tools.len(), "backend connected");
        Ok((client, tools))
    }
}

fn unknown_tool(server: &str, tool: &str, tools: &[Tool]) -> ToolError {
    let names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let shown: Vec<&str> = names.iter().take(NAMES_IN_ERRORS).copied().collect();
    let more = names.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" … and {more} more (use search)")
    } else {
        String::new()
    };
    ToolError::tool(format!(
        "server '{server}' has no tool '{tool}'; its tools are: {}{tail}",
        shown.join(", ")
    ))
}
