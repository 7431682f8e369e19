//! `sheets-server`: serves CSV files as read-only sheets of sales leads over MCP.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use sluice_example_servers::{
    Error,
    serve::{ServeArgs, exit_code, init_logging, serve},
    sheets::SheetsServer,
};

/// Serve CSV files of sales leads as MCP tools (listSheets, getRows, getRow).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// CSV file to serve as a sheet named after the file; repeat for more sheets.
    /// Default: the embedded sheet "q4-leads".
    #[arg(long, value_name = "FILE.csv")]
    data: Vec<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    exit_code(run(cli).await)
}

async fn run(cli: Cli) -> Result<(), Error> {
    let server = if cli.data.is_empty() {
        SheetsServer::embedded()?
    } else {
        SheetsServer::from_files(&cli.data)?
    };
    serve(server, &cli.serve).await
}
