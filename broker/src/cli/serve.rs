//! `sluice serve`: builds the broker once, runs each requested front on it until SIGINT or
//! SIGTERM (or until a front fails), then stops the fronts and the backends.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{CliError, ConfigArg, exit, runtime};
use crate::auth::Principals;
use crate::config::Config;
use crate::front::grpc::GrpcFront;
use crate::setup;

/// Arguments of `sluice serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Serve gRPC (`sluice.v1.Broker`, health, reflection) at ADDR, e.g. 127.0.0.1:50051;
    /// port 0 picks a free port (the real address is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    grpc: Option<SocketAddr>,
}

pub(super) fn run(args: ServeArgs) -> Result<u8, CliError> {
    if args.grpc.is_none() {
        return Err(CliError::usage(anyhow!(
            "nothing to serve: give --grpc ADDR"
        )));
    }
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let principals = Principals::from_config(&config).map_err(CliError::usage)?;
    let limits = setup::limits(&config);
    runtime()?.block_on(async {
        let broker = Arc::new(setup::broker(&config, &limits).map_err(CliError::usage)?);
        let (stop, stopped) = watch::channel(false);
        let mut fronts: JoinSet<anyhow::Result<()>> = JoinSet::new();
        let started = start_fronts(&args, &broker, &principals, &stopped, &mut fronts).await;
        let result = match started {
            Err(e) => Err(e),
            Ok(()) => tokio::select! {
                signal = shutdown_signal() => signal,
                Some(joined) = fronts.join_next() => front_result(joined)
                    .and_then(|()| Err(anyhow!("a front stopped on its own"))),
            },
        };
        tracing::info!("shutting down");
        let _ = stop.send(true);
        let mut result = result;
        while let Some(joined) = fronts.join_next().await {
            if let Err(e) = front_result(joined)
                && result.is_ok()
            {
                result = Err(e);
            }
        }
        broker.shutdown().await;
        result.map_err(CliError::runtime)
    })?;
    Ok(exit::OK)
}

/// Binds and spawns every front the arguments ask for; each stops when `stopped` turns true.
async fn start_fronts(
    args: &ServeArgs,
    broker: &Arc<crate::flow::Broker>,
    principals: &Principals,
    stopped: &watch::Receiver<bool>,
    fronts: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    if let Some(addr) = args.grpc {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for gRPC on {addr}"))?;
        let local = listener
            .local_addr()
            .context("the gRPC socket has no address")?;
        eprintln!("grpc listening on {local}");
        let front = GrpcFront::new(Arc::clone(broker), principals.clone());
        let stopped = stopped.clone();
        fronts.spawn(async move {
            front
                .serve_listener(listener, wait_for_stop(stopped))
                .await
                .context("the gRPC front failed")
        });
    }
    Ok(())
}

fn front_result(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    joined.unwrap_or_else(|e| Err(anyhow!("a front crashed: {e}")))
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone: stop as well.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot watch SIGINT"),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("cannot watch Ctrl-C")
    }
}
