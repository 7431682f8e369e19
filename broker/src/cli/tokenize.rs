//! `sluice tokenize`: stdin → stdout with placeholders, as ingress would return it.

use std::io::Write;

use super::{CliError, ConfigArg, exit, read_stdin_text, runtime};
use sluice::config::Config;
use sluice::flow::{Broker, Payload, SessionId, TokenizeRequest};

/// Largest input accepted, in bytes.
const MAX_INPUT: u64 = 64 << 20;

/// Arguments of `sluice tokenize`.
#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Vault session to mint placeholders in (default: a new one, printed on stderr).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// The server the data came from (its provenance for flow policy).
    #[arg(long, value_name = "SERVER", default_value = "stdin")]
    source: String,
    /// The tool of `--source` whose result the input is (with `--json`): the
    /// `[servers.SOURCE.fields]` declarations and the tool's `outputSchema` apply, as when
    /// a program calls it (the server is started to read its tool list).
    #[arg(long, value_name = "TOOL", requires = "json")]
    tool: Option<String>,
    /// Treat the input as JSON and keep its structure (keys, order, types).
    #[arg(long)]
    json: bool,
    /// The principal (Cedar Agent) asking; the session belongs to it.
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
}

pub(super) fn run(args: TokenizeArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let session = args
        .session
        .as_deref()
        .map(SessionId::parse)
        .transpose()
        .map_err(CliError::usage)?;
    let text = read_stdin_text(MAX_INPUT)?;
    let input = if args.json {
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "input is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        Payload::Json(value)
    } else {
        Payload::Text(text)
    };
    let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
    let named = session.is_some();
    let request = TokenizeRequest {
        agent: args.agent,
        session,
        source: Some(args.source),
        tool: args.tool,
        input,
    };
    let tokenized = runtime()?
        .block_on(broker.tokenize(request))
        .map_err(CliError::from_broker)?;
    if !named {
        eprintln!("session: {}", tokenized.session);
    }
    let output = match tokenized.output {
        Payload::Text(text) => text,
        Payload::Json(value) => {
            let mut text = serde_json::to_string(&value).map_err(CliError::runtime)?;
            text.push('\n');
            text
        }
    };
    std::io::stdout()
        .lock()
        .write_all(output.as_bytes())
        .map_err(CliError::runtime)?;
    broker.finish_one_shot();
    Ok(exit::OK)
}
