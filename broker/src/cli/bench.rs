//! `sluice bench load`: parses the options, runs [`crate::load`], prints the report (a
//! table, or JSON with `--json`) and exits 1 if any request failed.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use super::{CliError, ConfigArg, exit, runtime};
use crate::load::{self, FrontMix, LoadError, LoadOptions, Program, Target};

/// Arguments of `sluice bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    /// Drive many concurrent sessions over gRPC and/or MCP HTTP against `sluice serve`;
    /// report throughput, latency, errors and the server's memory over time.
    Load(LoadArgs),
}

/// Arguments of `sluice bench load`.
#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// Config for the spawned server (default: a generated one with the example sheets,
    /// crm and chat servers and a temporary data dir).
    #[command(flatten)]
    config: ConfigArg,
    /// Fronts that carry the sessions: grpc, mcp or both (half each).
    #[arg(long, default_value = "both", value_name = "FRONT")]
    front: FrontMix,
    /// Concurrent sessions (1 to 10000).
    #[arg(long, default_value_t = 100, value_name = "N")]
    sessions: u32,
    /// Measured seconds (1 to 3600), after the warm-up.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    duration: u64,
    /// Unmeasured seconds first, while sessions start and the server warms up (at most 600).
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    warmup: u64,
    /// What each execute runs: trivial (`return 1;`) or tool (a backend call; PII
    /// tokenized, placeholders resolved in later executes of the session).
    #[arg(long, default_value = "tool", value_name = "PROGRAM")]
    program: Program,
    /// gRPC connections the gRPC sessions share (default: one per 100 sessions).
    #[arg(long, value_name = "N")]
    connections: Option<u32>,
    /// Pause about this long between a session's executes (drawn from 0.5× to 1.5×), as an
    /// agent would; 0 (default): back to back, the most the server can do.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    think_ms: u64,
    /// Close each session after N executes and open a new one (default 0: keep it).
    #[arg(long, default_value_t = 0, value_name = "N")]
    session_executes: u32,
    /// A request unanswered after this long counts as an error.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    request_timeout_ms: u64,
    /// Load a running server's gRPC front at ADDR instead of spawning one.
    #[arg(long, value_name = "ADDR")]
    target_grpc: Option<SocketAddr>,
    /// Load a running server's MCP endpoint (http://HOST:PORT/mcp) instead of spawning one.
    #[arg(long, value_name = "URL")]
    target_mcp: Option<String>,
    /// The running server's process id, to sample its memory and CPU.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Environment variable holding the API key to present (default: none, for a server
    /// with `[auth] anonymous`).
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: BenchArgs) -> Result<u8, CliError> {
    match args.command {
        BenchCommand::Load(args) => run_load(args),
    }
}

fn run_load(args: LoadArgs) -> Result<u8, CliError> {
    let target = if args.target_grpc.is_some() || args.target_mcp.is_some() {
        if args.config.config.is_some() {
            return Err(CliError::usage(anyhow::anyhow!(
                "--config applies to a spawned server; it cannot be combined with --target-grpc/--target-mcp"
            )));
        }
        Target::Running {
            grpc: args.target_grpc,
            mcp: args.target_mcp,
            pid: args.server_pid,
        }
    } else {
        let exe = std::env::current_exe()
            .context("cannot find the sluice executable to spawn `sluice serve`")
            .map_err(CliError::runtime)?;
        Target::Spawn {
            exe,
            config: args.config.config,
        }
    };
    let api_key = match &args.api_key_env {
        None => None,
        Some(var) => Some(
            std::env::var(var)
                .with_context(|| format!("--api-key-env {var}: the variable is not set"))
                .map_err(CliError::usage)?,
        ),
    };
    let options = LoadOptions {
        target,
        fronts: args.front,
        sessions: args.sessions,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
        program: args.program,
        connections: args.connections,
        session_executes: args.session_executes,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        think: Duration::from_millis(args.think_ms),
        api_key,
    };
    options
        .validate()
        .map_err(|e| CliError::usage(anyhow::Error::new(e)))?;
    if let Err(e) = crate::resources::raise_open_files_limit() {
        eprintln!("sluice bench: cannot raise the open-files limit: {e}");
    }
    let runtime = runtime()?;
    let progress = |p: &load::Progress| {
        let rss = p.rss_kib.map_or(String::new(), |k| {
            format!(", server RSS {:.1} MiB", k as f64 / 1024.0)
        });
        eprintln!(
            "[{:>4} s] {}: {} executes, {} errors{rss}",
            p.elapsed.as_secs(),
            p.phase,
            p.executes,
            p.errors
        );
    };
    let report = runtime
        .block_on(load::run(options, &progress))
        .map_err(|e| match e {
            LoadError::Invalid(_) => CliError::usage(e),
            LoadError::Server(_) => CliError::runtime(e),
        })?;
    // Sessions may leave connection tasks behind; do not wait on them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if args.json {
        let text = serde_json::to_string(&report)
            .context("cannot serialize the report")
            .map_err(CliError::runtime)?;
        println!("{text}");
    } else {
        print!("{}", report.render());
    }
    if report.errors > 0 {
        eprintln!("sluice bench: {} requests failed", report.errors);
        return Ok(exit::RUNTIME);
    }
    Ok(exit::OK)
}
