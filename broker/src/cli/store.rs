//! `sluice store migrate`: create or upgrade the shared PostgreSQL schema.

use anyhow::anyhow;
use clap::Subcommand;

use super::{CliError, ConfigArg, exit};
use sluice::config::Config;
use sluice::setup;
use sluice::store::postgres::{Migrate, SCHEMA_VERSION};

/// Arguments of `sluice store`.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    command: StoreCommand,
}

/// The store subcommands.
#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Create or upgrade the schema of `[store] postgres` (replicas also do this at start).
    Migrate,
}

pub(super) fn run(args: StoreArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    match args.command {
        StoreCommand::Migrate => {
            let store = setup::postgres(&config, Migrate::Manual, true)
                .map_err(CliError::usage)?
                .ok_or_else(|| {
                    CliError::usage(anyhow!(
                        "no shared store is configured: set [store] postgres (or postgres_env) in the config; the embedded sled store needs no migration"
                    ))
                })?;
            let migrated = store.migrate().map_err(CliError::runtime)?;
            if migrated.from == migrated.to {
                println!(
                    "PostgreSQL at {}: schema already at version {SCHEMA_VERSION}",
                    store.target()
                );
            } else {
                println!(
                    "PostgreSQL at {}: schema migrated from version {} to {}",
                    store.target(),
                    migrated.from,
                    migrated.to
                );
            }
        }
    }
    Ok(exit::OK)
}
