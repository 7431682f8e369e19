//! The `sluice` command line: parses arguments, loads config, calls the library and maps
//! failures to the contract's exit codes. No decisions are made here.

mod approve;
mod audit;
mod bench;
mod config;
mod demo;
mod detokenize;
mod exec;
mod policy;
mod search;
mod serve;
mod skills;
mod store;
mod tokenize;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Contract exit codes (DESIGN §4).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A runtime failure.
    pub const RUNTIME: u8 = 1;
    /// Bad usage or configuration.
    pub const USAGE: u8 = 2;
    /// A flow policy denied the operation.
    pub const DENIED: u8 = 3;
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl CliError {
    /// A usage or configuration error (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::USAGE,
            error: error.into(),
        }
    }

    /// A runtime error (exit 1).
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: exit::RUNTIME,
            error: error.into(),
        }
    }

    /// A broker failure with the exit code of its kind: bad input 2, a policy refusal 3,
    /// anything else 1.
    pub fn from_broker(error: sluice::flow::BrokerError) -> Self {
        use sluice::flow::BrokerError as E;
        let code = match &error {
            E::Invalid(_) | E::UnknownSession | E::UnknownServer(_) | E::UnknownPlaceholder(_) => {
                exit::USAGE
            }
            E::CallDenied(_) | E::FlowDenied(_) => exit::DENIED,
            E::Tool(_)
            | E::Unavailable(_)
            | E::Busy { .. }
            | E::Vault(_)
            | E::Audit(_)
            | E::Internal(_) => exit::RUNTIME,
        };
        CliError {
            code,
            error: error.into(),
        }
    }
}

/// Sluice: a policy-enforcing data-flow broker for MCP agents in code mode.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log lines on stderr as plain text or as one JSON object per line (for log
    /// collectors). The level comes from SLUICE_LOG (e.g. `info`, `sluice=debug`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SLUICE_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the fields, `span`.
    Json,
}

impl Cli {
    /// The log filter when SLUICE_LOG, LOG and RUST_LOG are all unset: warnings, without
    /// rmcp's own transport errors (Sluice reports each failure itself, in words; set
    /// `SLUICE_LOG=warn,rmcp=debug` to see them). `config check` reports failures on
    /// stdout, so only errors are logged there.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Config(_) => "error,rmcp=off",
            _ => "warn,rmcp=off",
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the CRM-sync demo on embedded defaults with the example servers.
    Demo(demo::DemoArgs),
    /// Run one program through the full broker and print its outcome as JSON.
    Exec(exec::ExecArgs),
    /// Find backend tools and show their TypeScript signatures.
    Search(search::SearchArgs),
    /// Serve the broker to agents: MCP over stdio and/or streamable HTTP, and gRPC.
    Serve(serve::ServeArgs),
    /// Replace emails, phones and names on stdin with placeholders (stdin → stdout).
    Tokenize(tokenize::TokenizeArgs),
    /// Resolve the placeholders on stdin that policy lets flow to a destination tool.
    Detokenize(detokenize::DetokenizeArgs),
    /// Validate, test and explain flow policies.
    Policy(policy::PolicyArgs),
    /// Inspect or erase the placeholder vault.
    Vault(vault::VaultArgs),
    /// List, show or delete the skills agents saved.
    Skills(skills::SkillsArgs),
    /// Verify or export the tamper-evident audit log.
    Audit(audit::AuditArgs),
    /// Check a configuration before serving: policies, and every backend started.
    Config(config::ConfigArgs),
    /// Manage the shared PostgreSQL store (schema migrations).
    Store(store::StoreArgs),
    /// Measure a running broker: load and soak over gRPC and MCP HTTP.
    Bench(bench::BenchArgs),
}

/// Options every subcommand that reads config shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// Config file (default: ./sluice.toml if present, else embedded defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Exec(args) => exec::run(args),
        Command::Search(args) => search::run(args),
        Command::Serve(args) => {
            // A thousand MCP sessions hold two thousand sockets (more than the common soft
            // limit of 1,024 open files), and glibc's default arenas let memory creep up
            // under load: see `crate::resources`.
            crate::resources::limit_malloc_arenas();
            if let Err(e) = crate::resources::raise_open_files_limit() {
                tracing::warn!(error = %e, "cannot raise the open-files limit");
            }
            serve::run(args)
        }
        Command::Tokenize(args) => tokenize::run(args),
        Command::Detokenize(args) => detokenize::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Vault(args) => vault::run(args),
        Command::Skills(args) => skills::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Config(args) => config::run(args),
        Command::Store(args) => store::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => report(failure),
    }
}

/// Prints a command's failure and returns its exit code.
pub fn report(failure: CliError) -> ExitCode {
    // Each cause once: many errors quote their cause in their own message.
    eprintln!(
        "sluice: {}",
        sluice::errors::with_causes(failure.error.as_ref())
    );
    ExitCode::from(failure.code)
}

/// Stdin as UTF-8 text, refusing more than `max` bytes without buffering them.
pub(crate) fn read_stdin_text(max: u64) -> Result<String, CliError> {
    use std::io::Read;
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(max + 1)
        .read_to_end(&mut input)
        .map_err(|e| CliError::runtime(anyhow::Error::new(e).context("cannot read stdin")))?;
    if input.len() as u64 > max {
        return Err(CliError::usage(anyhow::anyhow!(
            "input is larger than {} MiB; split it",
            max >> 20
        )));
    }
    String::from_utf8(input).map_err(|e| {
        CliError::usage(anyhow::anyhow!(
            "input is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Starts exporting traces if the command serves or executes and its config sets
/// `[telemetry] otlp_endpoint`: the guard (keep it until the command is done, so the last
/// spans are sent) and the layer for the subscriber. Runs before logging is set up and
/// before any runtime starts. A config that does not load is left to the command, which
/// reports it in full.
pub fn telemetry(
    cli: &Cli,
) -> Result<
    Option<(
        sluice::telemetry::Telemetry,
        sluice::telemetry::TelemetryLayer,
    )>,
    CliError,
> {
    let config = match &cli.command {
        Command::Serve(args) => &args.config,
        Command::Exec(args) => &args.config,
        _ => return Ok(None),
    };
    let Ok((config, _)) = sluice::config::Config::discover(config.config.as_deref()) else {
        return Ok(None);
    };
    let Some(endpoint) = &config.telemetry.otlp_endpoint else {
        return Ok(None);
    };
    let name = config
        .telemetry
        .service_name
        .as_deref()
        .unwrap_or(sluice::telemetry::DEFAULT_SERVICE_NAME);
    sluice::telemetry::start(endpoint, name)
        .map(Some)
        .map_err(|e| CliError::usage(anyhow::Error::new(e).context("invalid [telemetry]")))
}

/// A multi-threaded tokio runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::runtime)
}
