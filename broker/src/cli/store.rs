//! `sluice store migrate`: create or upgrade the shared PostgreSQL schema, and bind the
//! database to the master key when one is given.

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
    /// Create or upgrade the schema of `[store] postgres` (replicas also do this at start);
    /// with a master key given (`SLUICE_MASTER_KEY`), also bind the database to that key.
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
            let target = store.target().to_owned();
            if migrated.from == migrated.to {
                println!("PostgreSQL at {target}: schema already at version {SCHEMA_VERSION}");
            } else {
                println!(
                    "PostgreSQL at {target}: schema migrated from version {} to {}",
                    migrated.from, migrated.to
                );
            }
            bind_key(&config, store, &target)?;
        }
    }
    Ok(exit::OK)
}

/// Binds the database to the master key when the operator gave one (see
/// [`setup::bind_master_key`]); says what happened.
fn bind_key(
    config: &Config,
    store: sluice::store::postgres::PgStore,
    target: &str,
) -> Result<(), CliError> {
    if setup::bind_master_key(config, store).map_err(CliError::runtime)? {
        println!(
            "PostgreSQL at {target}: bound to the given master key (replicas must use the same key)"
        );
    } else {
        println!(
            "no master key given (SLUICE_MASTER_KEY unset): the first replica to start binds the database to its key; set SLUICE_MASTER_KEY here to bind it now"
        );
    }
    Ok(())
}
