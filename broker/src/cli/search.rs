//! `sluice search`: the tools of the configured backends that match a query, as the
//! model's `search` tool would show them.

use anyhow::Context;

use super::{CliError, ConfigArg, exit, runtime};
use crate::backends::Backends;
use crate::catalog::{self, Catalog, Detail};
use crate::config::Config;

/// Arguments of `sluice search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// How much of each tool to show: names, signatures or full.
    #[arg(long, value_name = "LEVEL", default_value = "signatures")]
    detail: String,
    /// Most tools to show.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    limit: u32,
    /// What to look for, e.g. "update a lead's email".
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    query: Vec<String>,
}

pub(super) fn run(args: SearchArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let detail: Detail = args.detail.parse().map_err(CliError::usage)?;
    let query = args.query.join(" ");
    let backends = Backends::from_config(&config.servers)
        .context("invalid [servers]")
        .map_err(CliError::usage)?;
    let text = runtime()?.block_on(async {
        let lists = backends.all_tools().await;
        backends.shutdown().await;
        let catalog = Catalog::from_servers(
            lists
                .into_iter()
                .map(|(server, tools)| (server, tools.as_ref().clone())),
        );
        catalog::search_text(&catalog, &query, detail, args.limit as usize)
    });
    println!("{}", text.trim_end());
    Ok(exit::OK)
}
