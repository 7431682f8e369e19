//! `sluice tokenize`: stdin → stdout with placeholders, as ingress would return it.

use std::io::Write;

use super::{CliError, ConfigArg, exit, read_stdin_text};
use crate::config::Config;
use crate::setup;

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
    /// Treat the input as JSON and keep its structure (keys, order, types).
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: TokenizeArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let text = read_stdin_text(MAX_INPUT)?;
    let session = match args.session {
        Some(session) => session,
        None => {
            let session = setup::new_session_id();
            eprintln!("session: {session}");
            session
        }
    };
    let tokenizer = setup::tokenizer(&config).map_err(CliError::usage)?;
    let output = if args.json {
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "input is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let value = tokenizer
            .ingest_json(&session, &args.source, value)
            .map_err(CliError::runtime)?;
        let mut text = serde_json::to_string(&value).map_err(CliError::runtime)?;
        text.push('\n');
        text
    } else {
        tokenizer
            .ingest_text(&session, &args.source, &text)
            .map_err(CliError::runtime)?
    };
    std::io::stdout()
        .lock()
        .write_all(output.as_bytes())
        .map_err(CliError::runtime)?;
    Ok(exit::OK)
}
