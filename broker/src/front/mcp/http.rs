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

use super::{Authenticated, FrontError, MCP_PATH, McpSession};
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
        let router = axum::Router::new().nest_service(MCP_PATH, service).layer(
            middleware::from_fn_with_state(Arc::new(principals), authenticate),
        );
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
