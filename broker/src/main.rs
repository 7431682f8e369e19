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

// mimalloc instead of the C library's allocator: a Cedar policy decision allocates at
// nearly every step, and glibc's malloc/free were about a quarter of its instructions
// (docs/BENCHMARKS.md, "Cedar decisions"). Chosen here, in the binary, so the library
// leaves the choice to whoever embeds it; the benches use the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    sluice::tls::install_crypto_provider();
    // Traces, if the command's config asks for them: the layer must be in the subscriber
    // from the start; the guard outlives the command, so the last spans are sent.
    let (telemetry, spans) = match cli::telemetry(&cli) {
        Ok(Some((guard, layer))) => (Some(guard), Some(layer)),
        Ok(None) => (None, None),
        Err(error) => return cli::report(error),
    };
    let filter = ["SLUICE_LOG", "LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(cli.default_log_filter()));
    // Never stdout: under `sluice serve --stdio` stdout is the MCP channel. Every line is
    // scrubbed of detected values on its way out (`sluice::logging`). Colour only when
    // stderr is a terminal, so redirected logs and files carry no escape codes. The
    // telemetry layer stays empty unless the command's config turns traces on; the level
    // filter applies to the log lines only.
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let lines = tracing_subscriber::fmt::layer().with_writer(sluice::logging::ScrubbedStderr);
    let lines = match cli.log_format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(spans)
        .with(lines.with_filter(filter))
        .init();
    let code = cli::run(cli);
    drop(telemetry);
    code
}
