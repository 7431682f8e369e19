//! Example MCP servers for the Sluice demo: `sheets` (CSV files read as spreadsheets),
//! `crm` (leads in an embedded `sled` database), `chat` (a message sink) and `mail` (an
//! inbox, a contacts directory and payments on one server).
//!
//! Each server is a plain struct whose tools are methods marked `#[tool]` inside a
//! `#[tool_router]` impl. Arguments are typed structs (`Parameters<T>`) and results are
//! typed structs wrapped in `Json<T>`, so rmcp derives every tool's input *and* output JSON
//! Schema from the types and returns results as `structuredContent`. A tool that fails on
//! bad input returns `Err(String)`, which reaches the client as a tool error (`isError`),
//! not as a protocol failure. [`serve`] runs any of the servers over stdio or streamable
//! HTTP.
//!
//! The servers are deliberately small so that they can be read as a tutorial. They know
//! nothing about Sluice: the broker talks to them exactly as it would to third-party
//! servers, which is what makes them honest test backends. They hold realistic personal
//! data (names, emails, phone numbers from several countries) and, on purpose, one
//! prompt-injection note, because that is what Sluice must protect against.

pub mod chat;
pub mod crm;
pub mod mail;
pub mod serve;
pub mod sheets;

use std::{net::SocketAddr, path::PathBuf};

/// Everything that can stop one of the example servers from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A sheet's CSV file could not be read or parsed.
    #[error("cannot read sheet file {}: {source}", path.display())]
    Sheet {
        /// The CSV file.
        path: PathBuf,
        /// What the CSV reader reported.
        source: csv::Error,
    },
    /// A sheet file's name is not valid UTF-8, so it gives no sheet name.
    #[error("sheet file {} needs a UTF-8 name, like q4-leads.csv", path.display())]
    SheetName {
        /// The CSV file.
        path: PathBuf,
    },
    /// Two sheet files have the same name.
    #[error("two sheet files are named {name:?}; rename one of them")]
    DuplicateSheet {
        /// The shared sheet name.
        name: String,
    },
    /// The CRM database could not be opened, read or written.
    #[error(
        "CRM database at {}: {source} (is another crm-server using this --db directory?)",
        path.display()
    )]
    Database {
        /// The database directory.
        path: PathBuf,
        /// What sled reported.
        source: sled::Error,
    },
    /// A record in the CRM database is not a valid lead.
    #[error("CRM database at {} holds a record {key:?} that is not a lead: {source}", path.display())]
    CorruptLead {
        /// The database directory.
        path: PathBuf,
        /// The record's key.
        key: String,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// A file or directory the server needs could not be created or written.
    #[error("cannot use {}: {source}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--dump` output could not be written.
    #[error("cannot write the dump to stdout: {0}")]
    Dump(serde_json::Error),
    /// The HTTP listener could not be bound or stopped serving.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The MCP client on stdio did not complete the MCP handshake.
    #[error("MCP handshake on stdio failed: {0}")]
    Handshake(Box<rmcp::service::ServerInitializeError>),
    /// The MCP session task on stdio crashed.
    #[error("MCP session on stdio ended abnormally: {0}")]
    Session(#[from] tokio::task::JoinError),
}

/// Opens `path` for appending JSON lines (the chat and mail servers' logs), creating it
/// and its directory as the CRM creates its database directory.
pub fn open_log(path: &std::path::Path) -> Result<std::fs::File, Error> {
    let failed = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)
}
