//! MCP over streamable HTTP at `/mcp`: the bearer-token auth layer in front of rmcp's
//! session manager, TLS, allowed hosts and graceful shutdown. It never sees a program's
//! data; every MCP request goes to an [`McpSession`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use super::owners::{SESSION_HEADER, SessionOwners, session_not_found, too_many_sessions};
use super::{Authenticated, FrontError, HEALTH_PATH, MCP_PATH, McpSession};
use crate::auth::{AuthError, Principals};
use crate::flow::Broker;
use crate::front::Shutdown;
use crate::tls::ServerTls;

/// How long open HTTP connections get to finish after shutdown before they are dropped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The MCP streamable-HTTP front, bound and ready to serve.
pub struct McpHttp {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    /// Kept for its cancellation token, which ends every session.
    sessions: StreamableHttpServerConfig,
    /// Who owns each session.
    owners: Arc<SessionOwners>,
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
        let manager = Arc::new(LocalSessionManager::default());
        let owners = Arc::new(SessionOwners::new(Arc::clone(&manager)));
        // One table of suspended session-less programs for every handler of this front.
        let suspended = Arc::new(super::mrtr::Suspended::default());
        let service = StreamableHttpService::new(
            move || {
                Ok(McpSession::remote(
                    Arc::clone(&broker),
                    Arc::clone(&suspended),
                ))
            },
            manager,
            config.clone(),
        );
        let gate = Gate {
            principals: Arc::new(principals),
            owners: Arc::clone(&owners),
        };
        // `/healthz` is added after the auth layer, so probes need no key; it says only
        // that the front is up.
        let router = axum::Router::new()
            .nest_service(MCP_PATH, service)
            .layer(middleware::from_fn_with_state(Arc::new(gate), authenticate))
            .route(HEALTH_PATH, axum::routing::get(|| async { "ok\n" }));
        Ok(McpHttp {
            listener,
            addr: bound,
            router,
            sessions: config,
            owners,
            tls: None,
        })
    }

    /// Sets how many open MCP sessions one agent may hold (default
    /// [`super::owners::DEFAULT_SESSIONS_PER_AGENT`]).
    pub fn max_sessions_per_agent(self, cap: usize) -> Self {
        self.owners.set_cap(cap);
        self
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
                    crate::front::http_server::serve(listener, self.router, stopped).await;
                }
                None => {
                    crate::front::http_server::serve(self.listener, self.router, stopped).await;
                }
            }
            Ok::<(), FrontError>(())
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

/// What the auth layer checks against.
struct Gate {
    principals: Arc<Principals>,
    owners: Arc<SessionOwners>,
}

/// The auth layer: `Authorization: Bearer <key>` → [`Authenticated`], or 401 with a JSON
/// body before the request reaches MCP; then the session's owner must be that agent (see
/// [`super::owners`]).
async fn authenticate(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let presented = match request.headers().get(http::header::AUTHORIZATION) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(Principals::bearer)
            .map(Some)
            .ok_or(AuthError::Invalid),
    };
    let agent = match presented.and_then(|token| gate.principals.authenticate(token)) {
        Ok(agent) => agent,
        Err(error) => {
            tracing::info!(%error, "MCP HTTP request refused");
            return unauthorized(&error);
        }
    };
    request
        .extensions_mut()
        .insert(Authenticated(agent.clone()));
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match session {
        Some(id) => {
            if gate.owners.owner(&id).is_some_and(|owner| owner != agent) {
                tracing::warn!(agent = %agent, "an agent presented an MCP session it does not own");
                return session_not_found();
            }
            let deleting = request.method() == http::Method::DELETE;
            let response = next.run(request).await;
            if deleting && response.status().is_success() {
                gate.owners.remove(&id);
            }
            response
        }
        None => {
            if !gate.owners.has_room(&agent).await {
                tracing::warn!(agent = %agent, "an agent reached its MCP session limit");
                return too_many_sessions(gate.owners.cap());
            }
            let response = next.run(request).await;
            if let Some(id) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                gate.owners.insert(id.to_owned(), agent);
            }
            response
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
