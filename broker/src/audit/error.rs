//! The one error type of the audit log. Messages never carry a key.

use std::path::PathBuf;

use crate::vault::VaultError;

/// Everything that can go wrong writing, reading or verifying the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The audit key could not be derived from the master key.
    #[error("could not derive the audit key: {0}")]
    Key(#[source] VaultError),

    /// Reading or writing the log file failed.
    #[error("could not {action} the audit log {path}: {source}; check disk space and permissions")]
    Io {
        /// What was being done: "open", "read", "append to", ...
        action: &'static str,
        /// The log file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// Another open [`AuditLog`](super::AuditLog) holds the log's lock.
    #[error(
        "the audit log {path} is already open for writing (another sluice process uses this data dir); stop it or point this one at another data_dir"
    )]
    Busy {
        /// The log file.
        path: PathBuf,
    },

    /// The last complete line is not a record, so the chain cannot be continued.
    #[error(
        "the last record of the audit log {path} cannot be read ({reason}); run `sluice audit verify`, keep the file as evidence and move it aside to start a new log"
    )]
    CorruptTail {
        /// The log file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The last record's MAC does not match: it was altered, or the key is not the log's.
    #[error(
        "the last record of the audit log {path} failed authentication (it was altered, or the log was written under another master key); run `sluice audit verify`, keep the file as evidence and move it aside to start a new log"
    )]
    TailMismatch {
        /// The log file.
        path: PathBuf,
    },

    /// A record handed to `append` was refused.
    #[error("refusing to write an audit record: {reason}")]
    InvalidRecord {
        /// Why (never the offending text: it could be a value).
        reason: &'static str,
    },

    /// A record could not be encoded as JSON.
    #[error("could not encode an audit record: {0}")]
    Encode(#[source] serde_json::Error),

    /// A line of the log is not a record (export needs each record's time).
    #[error(
        "line {line} of the audit log {path} is not an audit record ({reason}); run `sluice audit verify`"
    )]
    Unparsable {
        /// The log file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },

    /// The shared store failed.
    #[error("audit log: {0}")]
    Store(#[source] crate::store::StoreError),

    /// A timestamp is not in a supported RFC 3339 form.
    #[error(
        "{text:?} is not an RFC 3339 time: {reason}; use e.g. 2026-11-24T00:00:00Z or 2026-11-24T01:00:00+01:00"
    )]
    InvalidTime {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
