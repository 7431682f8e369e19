//! `sluice vault purge|stats`: erasure and counts; never values.

use clap::Subcommand;

use super::{CliError, ConfigArg, exit};
use sluice::config::Config;
use sluice::setup;
use sluice::store::postgres::Migrate;

/// Arguments of `sluice vault`.
#[derive(Debug, clap::Args)]
pub struct VaultArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    command: VaultCommand,
}

/// The vault subcommands.
#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Erase every value, index entry and workspace entry of a session (right to
    /// erasure); its counters
    /// stay, so its placeholder numbers are never reused.
    Purge {
        /// The session to erase.
        #[arg(long, value_name = "ID")]
        session: String,
    },
    /// Count placeholders per kind and sessions (never values), as JSON.
    Stats,
}

pub(super) fn run(args: VaultArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let vault = setup::vault(&config, Migrate::Require).map_err(CliError::usage)?;
    match args.command {
        VaultCommand::Purge { session } => {
            let erased = vault.purge_session(&session).map_err(|e| {
                if e.is_unavailable() {
                    CliError::runtime(e)
                } else {
                    CliError::usage(e)
                }
            })?;
            println!(
                "purged {erased} values of session {}",
                vault.session_digest(&session)
            );
        }
        VaultCommand::Stats => {
            let stats = vault.stats().map_err(CliError::runtime)?;
            println!(
                "{}",
                serde_json::to_string(&stats).map_err(CliError::runtime)?
            );
        }
    }
    Ok(exit::OK)
}
