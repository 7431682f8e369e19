//! `sluice vault purge|stats`: erasure and counts; never values.

use clap::Subcommand;

use super::{CliError, ConfigArg, exit};
use crate::config::Config;
use crate::vault::{MasterKey, Vault};

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
    /// Erase every value, index entry and counter of a session (right to erasure).
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
    let data_dir = config.data_dir();
    let key = MasterKey::load(&data_dir).map_err(CliError::usage)?;
    let vault = Vault::open(&data_dir, &key).map_err(CliError::runtime)?;
    match args.command {
        VaultCommand::Purge { session } => {
            let erased = vault.purge_session(&session).map_err(CliError::usage)?;
            println!("purged {erased} values of session {session}");
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
