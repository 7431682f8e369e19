//! The `sluice` binary: parse, run, exit with the contract's code.

use clap::Parser;

// The application around the library: the command line, the demo scenario, the load
// generator and process resource tuning. They are not part of the library's API and
// reach the broker only through `sluice::flow::Broker` (and the fronts).
mod cli;
mod demo;
mod load;
mod resources;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            ["SLUICE_LOG", "LOG", "RUST_LOG"]
                .into_iter()
                .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
                .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn")),
        )
        // Never stdout: under `sluice serve --stdio` stdout is the MCP channel. Every line
        // is scrubbed of detected values on its way out (`sluice::logging`).
        .with_writer(sluice::logging::ScrubbedStderr)
        .init();
    sluice::tls::install_crypto_provider();
    cli::run(cli::Cli::parse())
}
