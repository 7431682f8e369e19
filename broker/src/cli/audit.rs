//! `sluice audit verify|export`: check the audit log's chain, or copy records out.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use anyhow::anyhow;
use clap::Subcommand;

use super::{CliError, ConfigArg, exit};
use sluice::audit;
use sluice::config::Config;
use sluice::setup;
use sluice::store::postgres::{Migrate, PgStore};
use sluice::vault::MasterKey;

/// Arguments of `sluice audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Re-walk the MAC chain; exit 1 and name the first bad line if it is broken.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print records (JSON lines, as stored) to stdout, optionally only the recent ones.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Only records at or after this time, e.g. 2026-11-24T00:00:00Z or
        /// 2026-11-24T01:00:00+01:00.
        #[arg(long, value_name = "RFC3339", value_parser = parse_since)]
        since: Option<SystemTime>,
        /// Only records of this session (records carry a keyed digest of the id, computed
        /// here from the id and the master key).
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
}

fn parse_since(text: &str) -> Result<SystemTime, String> {
    audit::parse_rfc3339(text).map_err(|e| e.to_string())
}

pub(super) fn run(args: AuditArgs) -> Result<u8, CliError> {
    match args.command {
        AuditCommand::Verify { config } => verify(&config),
        AuditCommand::Export {
            config,
            since,
            session,
        } => export(&config, since, session),
    }
}

fn load(config: &ConfigArg) -> Result<Config, CliError> {
    Config::discover(config.config.as_deref())
        .map(|(config, _)| config)
        .map_err(CliError::usage)
}

/// The shared store, when `[store]` names one (its schema must exist already).
fn shared_store(config: &Config) -> Result<Option<PgStore>, CliError> {
    setup::postgres(config, Migrate::Require, true).map_err(CliError::usage)
}

fn verify(config: &ConfigArg) -> Result<u8, CliError> {
    let config = load(config)?;
    let data_dir = config.data_dir();
    let store = shared_store(&config)?;
    if store.is_none() && !audit::log_path(&data_dir).exists() {
        println!("no audit records yet");
        return Ok(exit::OK);
    }
    let key = existing_key(&data_dir)?;
    let report = match &store {
        Some(store) => audit::verify_postgres(store, &key),
        None => audit::verify(&data_dir, &key),
    }
    .map_err(CliError::runtime)?;
    match &report.problem {
        None => {
            println!(
                "audit log ok: {} records, chain intact{}",
                report.records,
                if report.torn_tail {
                    " (the last line is incomplete, from a crash or a write in progress, and was not checked)"
                } else {
                    ""
                }
            );
            Ok(exit::OK)
        }
        Some(problem) => {
            eprintln!(
                "sluice: audit log {} is broken at {problem}; the {} records before it are intact",
                report.path.display(),
                report.records
            );
            Ok(exit::RUNTIME)
        }
    }
}

/// The master key the log was written under; never a freshly created one, which could
/// only make an intact log look altered.
fn existing_key(data_dir: &Path) -> Result<MasterKey, CliError> {
    if let Some(key) = MasterKey::from_env().map_err(CliError::usage)? {
        return Ok(key);
    }
    if !data_dir.join(MasterKey::FILE_NAME).exists() {
        return Err(CliError::usage(anyhow!(
            "no master key: {} is unset and {} does not exist; the audit log can only be verified with the key it was written under",
            MasterKey::ENV,
            data_dir.join(MasterKey::FILE_NAME).display()
        )));
    }
    MasterKey::load(data_dir).map_err(CliError::usage)
}

fn export(
    config: &ConfigArg,
    since: Option<SystemTime>,
    session: Option<String>,
) -> Result<u8, CliError> {
    let config = load(config)?;
    let data_dir = config.data_dir();
    let digest = match session {
        Some(session) => Some(
            existing_key(&data_dir)?
                .session_digester()
                .map_err(CliError::runtime)?
                .digest(&session),
        ),
        None => None,
    };
    let store = shared_store(&config)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match &store {
        Some(store) => audit::export_postgres(store, since, digest.as_deref(), &mut out),
        None => audit::export(&data_dir, since, digest.as_deref(), &mut out),
    }
    .map_err(CliError::runtime)?;
    out.flush()
        .map_err(|e| CliError::runtime(anyhow!("cannot write to stdout: {e}")))?;
    Ok(exit::OK)
}
