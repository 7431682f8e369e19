//! `sluice exec`: one program through the full broker; prints one outcome JSON object.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use sandbox_host::{ErrorKind, Outcome};

use super::approve::ApproveMode;
use super::{CliError, ConfigArg, exit, runtime};
use sluice::config::Config;
use sluice::flow::{Broker, ExecuteRequest, SessionId};

/// Arguments of `sluice exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub(super) config: ConfigArg,
    /// Vault session the program's placeholders belong to (default: a new one).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// The principal (Cedar Agent) running the program.
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
    /// Wall-clock budget in milliseconds.
    #[arg(long, value_name = "N")]
    timeout_ms: Option<u64>,
    /// JS heap budget in MiB.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mb: Option<u64>,
    /// How a refusal by an `@on_deny("ask")` policy is answered: never (refused), always
    /// (approved once each), or prompt (asked on the terminal).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ApproveMode::Never)]
    approve: ApproveMode,
    /// The program (JavaScript or TypeScript); `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    file: Option<PathBuf>,
}

pub(super) fn run(args: ExecArgs) -> Result<u8, CliError> {
    let (mut config, _) =
        Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    // The flags are the operator's own limits for this run, as if set in `[sandbox]`.
    if let Some(timeout) =
        sluice::flow::request::timeout(args.timeout_ms).map_err(CliError::usage)?
    {
        config.sandbox.timeout_ms = u64::try_from(timeout.as_millis()).ok();
    }
    if let Some(mb) = args.memory_mb {
        config.sandbox.memory_mb = Some(mb);
    }
    let session = args
        .session
        .as_deref()
        .map(SessionId::parse)
        .transpose()
        .map_err(CliError::usage)?;
    let max_code_bytes = config
        .sandbox
        .max_code_bytes
        .unwrap_or(sandbox_host::Limits::default().max_code_bytes);
    let source = read_program(args.file.as_ref(), max_code_bytes)?;
    let runtime = runtime()?;
    let outcome = runtime.block_on(async {
        let code = match source {
            Program::Text(code) => code,
            Program::Rejected(outcome) => return Ok(outcome),
        };
        let broker = Broker::from_config(&config).map_err(CliError::usage)?;
        // The outcome never shows the session, so a session of our own needs no owner
        // record: a program that mints nothing leaves the store untouched.
        let session = match session {
            Some(session) => session,
            None => broker
                .create_private_session(&args.agent)
                .map_err(CliError::from_broker)?,
        };
        let request = ExecuteRequest {
            agent: args.agent,
            session: Some(session),
            code,
            timeout_ms: None,
            deadline: None,
        };
        let executed = broker
            .execute_approved(request, None, args.approve.slot())
            .await;
        broker.shutdown().await;
        broker.finish_one_shot();
        executed.map(|e| e.outcome).map_err(CliError::from_broker)
    })?;
    let json = serde_json::to_string(&outcome)
        .context("serializing the outcome")
        .map_err(CliError::runtime)?;
    println!("{json}");
    Ok(exit::OK)
}

enum Program {
    Text(String),
    /// Input that can never run, reported as an outcome like any program error.
    Rejected(Outcome),
}

/// Reads at most one byte past `max` so a huge input is refused without being buffered.
fn read_program(file: Option<&PathBuf>, max: usize) -> Result<Program, CliError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot open program {}", path.display()))
                .map_err(CliError::usage)?;
            f.take(limit)
                .read_to_end(&mut bytes)
                .with_context(|| format!("cannot read program {}", path.display()))
                .map_err(CliError::usage)?;
        }
        _ => {
            std::io::stdin()
                .lock()
                .take(limit)
                .read_to_end(&mut bytes)
                .context("cannot read the program from stdin")
                .map_err(CliError::runtime)?;
        }
    }
    if bytes.len() > max {
        return Ok(Program::Rejected(Outcome::failed(
            ErrorKind::Syntax,
            format!("the program is larger than the maximum of {max} bytes"),
        )));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Program::Text(text)),
        Err(e) => Ok(Program::Rejected(Outcome::failed(
            ErrorKind::Syntax,
            format!(
                "the program is not valid UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))),
    }
}
