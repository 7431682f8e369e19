//! Running a server over stdio or streamable HTTP, and logging to stderr; shared by the
//! three binaries.
//!
//! Over stdio, stdout *is* the MCP channel, so nothing here may ever print to stdout:
//! logs go to stderr.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use rmcp::{
    ServerHandler, ServiceExt,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use tracing_subscriber::EnvFilter;

use crate::Error;

/// The path the HTTP transport serves MCP at.
pub const MCP_PATH: &str = "/mcp";

/// Transport flags every example server accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

/// Sends `tracing` output to stderr, filtered by the `LOG` environment variable (default `info,rmcp=warn`).
pub fn init_logging() {
    let filter =
        EnvFilter::try_from_env("LOG").unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// Turns the outcome of a binary's `main` into its exit code, printing any error to stderr.
pub fn exit_code(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves `server` over the transport chosen by `args` until the client or a Ctrl-C ends it.
pub async fn serve<S>(server: S, args: &ServeArgs) -> Result<(), Error>
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    match args.http {
        None => serve_stdio(server).await,
        Some(addr) => serve_http(server, addr).await,
    }
}

/// One MCP session on stdin/stdout; returns when the client closes stdin.
async fn serve_stdio<S: ServerHandler>(server: S) -> Result<(), Error> {
    tracing::info!("serving MCP on stdio");
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| Error::Handshake(Box::new(error)))?;
    let reason = running.waiting().await?;
    tracing::info!(?reason, "stdio session ended");
    Ok(())
}

/// Streamable HTTP at `http://addr/mcp`; every session gets a clone of `server`, so state
/// behind an `Arc` in the server is shared by all clients.
async fn serve_http<S>(server: S, addr: SocketAddr) -> Result<(), Error>
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    let http_error = |source| Error::Http { addr, source };
    let config = StreamableHttpServerConfig::default();
    let sessions_done = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service(MCP_PATH, service);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(http_error)?;
    let bound = listener.local_addr().map_err(http_error)?;
    // Tests and scripts wait for exactly this line to learn the real port (e.g. with port 0).
    eprintln!("listening on http://{bound}{MCP_PATH}");

    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            // If the signal handler cannot be installed, keep serving until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C: shutting down");
            sessions_done.cancel();
        })
        .await
        .map_err(http_error)
}
