//! `sluice detokenize`: stdin → stdout with the placeholders resolved that flow policy
//! allows toward a destination tool. One denied placeholder denies the whole input:
//! nothing is printed, the explanation goes to stderr and the exit code is 3.

use std::io::Write;

use super::{CliError, ConfigArg, exit, read_stdin_text, runtime};
use anyhow::anyhow;
use sluice::config::Config;
use sluice::flow::{Broker, BrokerError, DetokenizeRequest, Payload, SessionId, ToolRef};

/// Largest input accepted, in bytes.
const MAX_INPUT: u64 = 64 << 20;

/// Arguments of `sluice detokenize`.
#[derive(Debug, clap::Args)]
pub struct DetokenizeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The vault session the placeholders were minted in.
    #[arg(long, value_name = "ID")]
    session: String,
    /// Where the values would go, as `server/tool` (a server of the config).
    #[arg(long, value_name = "SERVER/TOOL")]
    dest: String,
    /// The principal (Cedar Agent) asking.
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
    /// Treat the input as JSON (the destination tool's arguments): paths like `to[0]`
    /// reach policies as `arg_path`, and the output keeps the structure.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: DetokenizeArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let destination = ToolRef::parse(&args.dest, "dest").map_err(CliError::usage)?;
    let session = SessionId::parse(&args.session).map_err(CliError::usage)?;
    let text = read_stdin_text(MAX_INPUT)?;
    let input = if args.json {
        Payload::Json(serde_json::from_str(&text).map_err(|e| {
            CliError::usage(anyhow!(
                "input is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?)
    } else {
        Payload::Text(text)
    };
    let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
    let request = DetokenizeRequest {
        agent: args.agent,
        session,
        destination,
        input,
    };
    let output = match runtime()?.block_on(broker.detokenize(request)) {
        Ok(output) => output,
        Err(error @ BrokerError::FlowDenied(_)) => {
            eprintln!("sluice: {error}");
            return Ok(exit::DENIED);
        }
        Err(e) => return Err(CliError::from_broker(e)),
    };
    let out = match output {
        Payload::Text(text) => text,
        Payload::Json(value) => {
            let mut text = serde_json::to_string(&value).map_err(CliError::runtime)?;
            text.push('\n');
            text
        }
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(CliError::runtime)?;
    broker.finish_one_shot();
    Ok(exit::OK)
}
