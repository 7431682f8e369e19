//! `sluice store migrate`: create or upgrade the shared PostgreSQL schema, and bind the
//! database to the master key when one is given.

use anyhow::anyhow;
use clap::Subcommand;

use super::{CliError, ConfigArg, exit};
use sluice::config::Config;
use sluice::setup;
use sluice::store::postgres::{Migrate, SCHEMA_VERSION};
use sluice::vault::{MasterKey, Vault};

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

/// Binds the database to the master key when the operator gave one: the first key a
/// database sees is the only one it accepts, so binding it here (rather than at the first
/// replica's start) means a replica started with an old key during a key cut-over is
/// refused instead of claiming the new database. Migrating needs no key (a schema owner
/// need not hold it); then the first replica to start binds its key.
fn bind_key(
    config: &Config,
    store: sluice::store::postgres::PgStore,
    target: &str,
) -> Result<(), CliError> {
    let given = MasterKey::from_env().map_err(CliError::usage)?.is_some()
        || config.data_dir().join(MasterKey::FILE_NAME).exists();
    if !given {
        println!(
            "no master key given ({} unset): the first replica to start binds the database to its key; set {} here to bind it now",
            MasterKey::ENV,
            MasterKey::ENV
        );
        return Ok(());
    }
    let key = setup::master_key(config).map_err(CliError::usage)?;
    Vault::with_store(std::sync::Arc::new(store), &key)
        .map_err(|e| CliError::runtime(anyhow!(e)))?;
    println!(
        "PostgreSQL at {target}: bound to the given master key (replicas must use the same key)"
    );
    Ok(())
}
