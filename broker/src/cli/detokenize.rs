//! `sluice detokenize`: stdin → stdout with the placeholders resolved that flow policy
//! allows toward a destination tool. One denied placeholder denies the whole input:
//! nothing is printed, the explanation goes to stderr and the exit code is 3.

use std::io::Write;

use anyhow::anyhow;
use serde_json::Value;

use super::{CliError, ConfigArg, exit, read_stdin_text};
use crate::config::Config;
use crate::flow::{self, CallContext, DetokenizeError};
use crate::setup;

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
    let Some((server, tool)) = args
        .dest
        .split_once('/')
        .filter(|(s, t)| !s.is_empty() && !t.is_empty())
    else {
        return Err(CliError::usage(anyhow!(
            "--dest must be SERVER/TOOL, e.g. crm/updateLead (got {:?})",
            args.dest
        )));
    };
    if !config.servers.contains_key(server) {
        let known: Vec<&str> = config.servers.keys().map(String::as_str).collect();
        return Err(CliError::usage(anyhow!(
            "--dest {}: unknown server '{server}'; the configured servers are: {}",
            args.dest,
            if known.is_empty() {
                "(none)".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let text = read_stdin_text(MAX_INPUT)?;
    let input = if args.json {
        serde_json::from_str(&text).map_err(|e| {
            CliError::usage(anyhow!(
                "input is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?
    } else {
        Value::String(text)
    };
    let tokenizer = setup::tokenizer(&config).map_err(CliError::usage)?;
    let policy = setup::policy_store(&config).map_err(CliError::usage)?;
    let context = CallContext {
        session: args.session,
        agent: args.agent,
    };
    let audit = setup::audit_log(&config).map_err(CliError::usage)?;
    let output = match flow::detokenize(
        &tokenizer,
        &policy,
        Some(&audit),
        &context,
        server,
        tool,
        input,
    ) {
        Ok(value) => value,
        Err(DetokenizeError::Denied(message)) => {
            eprintln!("sluice: {message}");
            return Ok(exit::DENIED);
        }
        Err(e) => return Err(CliError::runtime(e)),
    };
    let out = match output {
        Value::String(text) if !args.json => text,
        value => {
            let mut text = serde_json::to_string(&value).map_err(CliError::runtime)?;
            text.push('\n');
            text
        }
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(CliError::runtime)?;
    Ok(exit::OK)
}
