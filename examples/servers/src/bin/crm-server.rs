//! `crm-server`: a CRM of sales leads in an embedded sled database, over MCP.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use sluice_example_servers::{
    Error,
    crm::{CrmServer, CrmStore},
    serve::{ServeArgs, exit_code, init_logging, serve},
};

/// Serve a CRM of sales leads as MCP tools (getLead, searchLeads, updateLead, listLeads).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Database directory; created and seeded if new. Default: a temporary directory
    /// deleted on exit.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Print every stored lead as JSON ({"leads": [...]}) to stdout and exit.
    #[arg(long, requires = "db")]
    dump: bool,
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
    // Holds the default temporary database until the server exits, then deletes it.
    let temp_dir;
    let path = match cli.db {
        Some(path) => path,
        None => {
            temp_dir = tempfile::tempdir().map_err(|source| Error::File {
                path: std::env::temp_dir(),
                source,
            })?;
            temp_dir.path().to_owned()
        }
    };
    let store = CrmStore::open(&path)?;
    if cli.dump {
        return store.dump(std::io::stdout().lock());
    }
    tracing::info!(db = %path.display(), "CRM database open");
    serve(CrmServer::new(store), &cli.serve).await
}
