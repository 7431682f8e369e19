//! `mail-server`: a mailbox, contacts directory and payments outbox over MCP.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use sluice_example_servers::{
    Error,
    mail::MailServer,
    serve::{ServeArgs, exit_code, init_logging, serve},
};

/// Serve a mailbox as MCP tools (search_emails, search_contacts, send_email, send_money).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Also append every sent mail and payment to this file, one JSON object per line.
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
        Some(path) => MailServer::with_log(path)?,
        None => MailServer::new(),
    };
    serve(server, &cli.serve).await
}
