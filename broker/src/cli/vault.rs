//! `sluice vault purge|stats`: erasure and counts; never values.

use clap::Subcommand;

use super::{CliError, ConfigArg, exit, runtime};
use sluice::config::Config;
use sluice::flow::{Broker, SessionId};
use sluice::vault::MasterKey;

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
    // Nothing to inspect or erase without a key: say so rather than create one.
    MasterKey::load(&config.data_dir()).map_err(CliError::usage)?;
    let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::runtime)?;
    let runtime = runtime()?;
    match args.command {
        VaultCommand::Purge { session } => {
            let session = SessionId::parse(&session).map_err(CliError::usage)?;
            let erased = runtime
                .block_on(broker.purge_session(None, &session))
                .map_err(CliError::from_broker)?;
            println!("purged {erased} values of session {session}");
        }
        VaultCommand::Stats => {
            let stats = runtime
                .block_on(broker.vault_stats())
                .map_err(CliError::from_broker)?;
            println!(
                "{}",
                serde_json::to_string(&stats).map_err(CliError::runtime)?
            );
        }
    }
    Ok(exit::OK)
}
