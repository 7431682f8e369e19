//! The `sluice` binary: parse, set up logging, run, exit with the contract's code.

use std::io::IsTerminal;

use clap::Parser;
use cli::{Cli, LogFormat};

// The application around the library: the command line, the demo scenario, the load
// generator and process resource tuning. They are not part of the library's API and
// reach the broker only through `sluice::flow::Broker` (and the fronts).
mod cli;
mod demo;
mod load;
mod resources;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = ["SLUICE_LOG", "LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(cli.default_log_filter()));
    // Never stdout: under `sluice serve --stdio` stdout is the MCP channel. Every line is
    // scrubbed of detected values on its way out (`sluice::logging`). Colour only when
    // stderr is a terminal, so redirected logs and files carry no escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sluice::logging::ScrubbedStderr);
    match cli.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    sluice::tls::install_crypto_provider();
    cli::run(cli)
}
