//! `sluice search`: the tools of the configured backends that match a query, as the
//! model's `search` tool would show them.

use super::{CliError, ConfigArg, exit, runtime};
use sluice::config::Config;
use sluice::flow::{Broker, Detail, SearchRequest};

/// Arguments of `sluice search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// How much of each tool to show: names, signatures or full.
    #[arg(long, value_name = "LEVEL", default_value = "signatures")]
    detail: String,
    /// Most tools to show (1 to 50; default 10).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// The principal (Cedar Agent) asking.
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
    /// What to look for, e.g. "update a lead's email".
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    query: Vec<String>,
}

pub(super) fn run(args: SearchArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let detail: Detail = args.detail.parse().map_err(CliError::usage)?;
    let request = SearchRequest {
        agent: args.agent,
        session: None,
        query: args.query.join(" "),
        detail,
        limit: args.limit,
    };
    // Bad input is refused before anything is opened.
    request.validate().map_err(CliError::usage)?;
    let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
    let text = runtime()?.block_on(async {
        let text = broker.search(request).await;
        broker.shutdown().await;
        text
    });
    let text = text.map_err(CliError::from_broker)?;
    println!("{}", text.trim_end());
    Ok(exit::OK)
}
