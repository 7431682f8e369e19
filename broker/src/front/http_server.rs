//! Serving an axum router over HTTP/1.1 with the limits `axum::serve` leaves out: a client
//! must send a request's headers within [`HEADER_READ_TIMEOUT`] (also the idle time allowed
//! between requests on a kept-alive connection), so connections that never finish their
//! headers (slowloris) are closed instead of held forever; shutdown stops accepting and
//! lets open requests finish.

use std::future::Future;
use std::time::Duration;

use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

/// How long a client has to send a request's headers, on a new connection or between
/// requests on a kept-alive one.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then waits for open
/// connections to finish their current requests (the caller bounds that wait).
pub async fn serve<L: Listener>(
    mut listener: L,
    router: axum::Router,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let io = tokio::select! {
            (io, _) = listener.accept() => io,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(io), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}
