//! `sluice serve`: builds one broker and runs the requested fronts side by side until a
//! signal (SIGINT, SIGTERM), the stdio client closing stdin, or a front failing; then
//! stops every front and the backends.
//!
//! Under `--stdio`, stdout is the MCP channel: nothing else is ever printed there (the
//! HTTP address and all logs go to stderr).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinSet;

use super::{CliError, ConfigArg, exit, runtime};
use sluice::auth::Principals;
use sluice::config::Config;
use sluice::flow::Broker;
use sluice::front::grpc::GrpcFront;
use sluice::front::{self, Shutdown, mcp};
use sluice::tls::ServerTls;

/// Arguments of `sluice serve`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("fronts").required(true).multiple(true).args(["stdio", "http", "grpc"])))]
pub struct ServeArgs {
    #[command(flatten)]
    pub(super) config: ConfigArg,
    /// Serve MCP on stdin/stdout (what an MCP client's config launches).
    #[arg(long)]
    stdio: bool,
    /// Serve MCP over streamable HTTP at http://ADDR/mcp; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Serve the gRPC API (sluice.v1.Broker, health, reflection) at ADDR; port 0 picks a port.
    #[arg(long, value_name = "ADDR")]
    grpc: Option<SocketAddr>,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
}

/// How long the runtime waits for stray tasks once everything was told to stop.
const RUNTIME_DRAIN: Duration = Duration::from_secs(2);

pub(super) fn run(args: ServeArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let network = match args.http.or(args.grpc) {
        Some(_) => Some(Network {
            principals: Principals::from_config(&config)
                .context("invalid [agents]")
                .map_err(CliError::usage)?,
            tls: match &config.serve.tls {
                Some(tls) => Some(
                    ServerTls::load(tls)
                        .context("invalid [serve.tls]")
                        .map_err(CliError::usage)?,
                ),
                None => None,
            },
        }),
        None => None,
    };
    let runtime = runtime()?;
    let result = runtime.block_on(serve(args, config, network));
    runtime.shutdown_timeout(RUNTIME_DRAIN);
    result
}

/// A running front's result, named for error messages.
type FrontTask = anyhow::Result<()>;

/// What the network fronts (`--http`, `--grpc`) share: who may call, and TLS if configured.
struct Network {
    principals: Principals,
    tls: Option<ServerTls>,
}

async fn serve(args: ServeArgs, config: Config, network: Option<Network>) -> Result<u8, CliError> {
    let broker = Arc::new(Broker::from_config(&config).map_err(CliError::usage)?);
    if network.is_some()
        && let Some(warning) = super::config::refusal_warning(&config)
    {
        tracing::warn!("{warning}");
    }
    // Start every backend now, so a missing binary or an unreachable URL is reported at
    // start (each failure is logged as a warning with the command or URL and the OS
    // error) rather than at the first call; serving does not wait for it.
    let probe = Arc::clone(&broker);
    tokio::spawn(async move {
        let _ = probe.catalog().await;
    });
    let watcher = watch_policies(&config, &broker);
    let shadow_watcher = watch_shadow(&config, &broker);
    let (trigger, shutdown) = front::shutdown_signal();
    let mut fronts: JoinSet<FrontTask> = JoinSet::new();
    let started = start_fronts(&args, &config, network, &broker, &shutdown, &mut fronts).await;
    let mut failure = started.err();
    if failure.is_none() {
        // Run until a signal, or until any front ends (stdin closed, or a failure).
        tokio::select! {
            Some(done) = fronts.join_next() => failure = front_failure(done),
            () = signalled() => tracing::info!("signal received: shutting down"),
        }
    }
    trigger.fire();
    while let Some(done) = fronts.join_next().await {
        failure = failure.or(front_failure(done));
    }
    for watcher in [watcher, shadow_watcher].into_iter().flatten() {
        watcher.abort();
    }
    broker.shutdown().await;
    match failure {
        None => Ok(exit::OK),
        Some(error) => Err(error),
    }
}

/// Hot reload: watches `[policy] dir` (unless `[policy] watch = false`); every attempt is
/// logged and audited, and a rejected set leaves the last good one in force.
fn watch_policies(config: &Config, broker: &Arc<Broker>) -> Option<tokio::task::JoinHandle<()>> {
    let dir = config.policy.dir.clone()?;
    if config.policy.watch == Some(false) {
        return None;
    }
    let store = Arc::clone(broker.policy());
    let auditor = Arc::clone(broker);
    tracing::info!(dir = %dir.display(), "watching the policy directory for changes");
    Some(sluice::policy::watch::spawn(
        store,
        dir,
        sluice::policy::watch::DEFAULT_INTERVAL,
        move |event| auditor.record_reload(event),
    ))
}

/// Hot reload of `[policy] shadow_dir` (unless `watch = false`), like `dir`: a rejected
/// candidate is logged and the last good one stays; the live set is never touched.
fn watch_shadow(
    config: &Config,
    broker: &Arc<sluice::flow::Broker>,
) -> Option<tokio::task::JoinHandle<()>> {
    let dir = config.policy.shadow_dir.clone()?;
    if config.policy.watch == Some(false) {
        return None;
    }
    tracing::info!(dir = %dir.display(), "watching the shadow policy directory for changes");
    Some(sluice::policy::watch::spawn_shadow(
        Arc::clone(broker.policy()),
        dir,
        sluice::policy::watch::DEFAULT_INTERVAL,
        |event| {
            if let sluice::policy::watch::ReloadEvent::Rejected { error, .. } = event {
                tracing::warn!(
                    "shadow policy set rejected; keeping the last good candidate: {error}"
                );
            }
        },
    ))
}

/// Starts each requested front as one task of `fronts`; adding a front is one more block.
async fn start_fronts(
    args: &ServeArgs,
    config: &Config,
    network: Option<Network>,
    broker: &Arc<Broker>,
    shutdown: &Shutdown,
    fronts: &mut JoinSet<FrontTask>,
) -> Result<(), CliError> {
    if let Some(addr) = args.metrics {
        let (listener, local) = sluice::metrics::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))
            .map_err(CliError::runtime)?;
        eprintln!("metrics listening on http://{local}/metrics");
        let stop = shutdown.clone();
        fronts.spawn(async move {
            sluice::metrics::serve(listener, async move { stop.wait().await })
                .await
                .context("metrics endpoint")
        });
    }
    let (principals, tls) = match network {
        Some(network) => (Some(network.principals), network.tls),
        None => (None, None),
    };
    if let (Some(addr), Some(principals)) = (args.grpc, principals.clone()) {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for gRPC on {addr}"))
            .map_err(CliError::runtime)?;
        let local = listener
            .local_addr()
            .context("the gRPC socket has no address")
            .map_err(CliError::runtime)?;
        // Scripts and tests wait for exactly this line (on stderr) to learn the port.
        eprintln!("grpc listening on {local}");
        let mut front = GrpcFront::new(Arc::clone(broker), principals);
        if let Some(tls) = &tls {
            eprintln!("grpc uses TLS{}", mutual_note(tls));
            front = front.with_tls(tls.clone());
        }
        let stop = shutdown.clone();
        fronts.spawn(async move {
            front
                .serve_listener(listener, stop.wait())
                .await
                .context("gRPC")
        });
    }
    if let (Some(addr), Some(principals)) = (args.http, principals) {
        let allowed_hosts = config.serve.allowed_hosts.clone();
        let mut http = mcp::McpHttp::bind(Arc::clone(broker), principals, addr, allowed_hosts)
            .await
            .map_err(CliError::runtime)?
            .max_sessions_per_agent(
                config
                    .serve
                    .max_sessions_per_agent
                    .unwrap_or(mcp::DEFAULT_SESSIONS_PER_AGENT),
            );
        if let Some(tls) = tls {
            eprintln!("http uses TLS{}", mutual_note(&tls));
            http = http.with_tls(tls);
        }
        // Scripts and tests wait for exactly this line (on stderr) to learn the port.
        eprintln!("listening on {}", http.url());
        let stop = shutdown.clone();
        fronts.spawn(async move { http.serve(stop).await.context("MCP over HTTP") });
    }
    if args.stdio {
        let (broker, stop) = (Arc::clone(broker), shutdown.clone());
        fronts.spawn(async move {
            mcp::serve_stdio(broker, stop)
                .await
                .context("MCP over stdio")
        });
    }
    Ok(())
}

fn mutual_note(tls: &ServerTls) -> &'static str {
    if tls.is_mutual() {
        " (client certificates required)"
    } else {
        ""
    }
}

fn front_failure(done: Result<FrontTask, tokio::task::JoinError>) -> Option<CliError> {
    match done {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(CliError::runtime(error)),
        Err(error) => Some(CliError::runtime(
            anyhow::Error::new(error).context("a front crashed"),
        )),
    }
}

/// Resolves on SIGINT or SIGTERM (never, if no handler can be installed).
async fn signalled() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
