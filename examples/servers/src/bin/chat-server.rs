//! `chat-server`: a team-chat message sink over MCP.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use sluice_example_servers::{
    Error,
    chat::ChatServer,
    serve::{ServeArgs, exit_code, init_logging, serve},
};

/// Serve a team chat as MCP tools (postMessage, listMessages).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Also append every posted message to this file, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
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
    let server = match &cli.log {
        Some(path) => ChatServer::with_log(path)?,
        None => ChatServer::new(),
    };
    serve(server, &cli.serve).await
}
