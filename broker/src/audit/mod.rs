//! The tamper-evident audit log: one record per decision (tool call, flow, detokenize,
//! policy reload) in `<data_dir>/audit.jsonl`, chained with HMAC-SHA256 so that editing,
//! deleting or reordering records without the master key is detected by [`verify`].
//! It must never record a value, a key, or anything a value could be recovered from:
//! placeholders appear by id, kind and source only ([`AuditPlaceholder`]).
//!
//! # Format
//!
//! One compact JSON object per line, fields in [`AuditRecord`]'s declaration order, `mac`
//! last:
//!
//! ```text
//! {"seq":1,"time":"2026-11-24T09:30:00.250Z","session":"sd-<32 hex>","agent":"a","event":"flow",
//!  "tool":"crm/updateLead","decision":"deny","policy_ids":["no-email-to-external"],
//!  "placeholders":[{"placeholder":"[EMAIL_1]","kind":"EMAIL","source":"sheets"}],
//!  "policy_set_hash":"…","detail":"…","prev":"<64 hex>","mac":"<64 hex>"}
//! ```
//!
//! `session` is a keyed digest of the session id ([`crate::vault::SessionDigester`], keyed
//! from the master key), never the id itself: an id is a capability, and the log is
//! meant to leave the machine. `sluice audit export --session ID` computes the digest.
//!
//! # Chain
//!
//! `mac = HMAC-SHA256(audit_key, prev || "\n" || record-without-mac)` in lowercase hex,
//! where `record-without-mac` is exactly the line's bytes minus its `,"mac":"…"` suffix
//! and `prev` is the previous record's `mac` (64 zeros for the first). `seq` counts
//! from 1 without gaps. The audit key is derived from the master key with HKDF-SHA256
//! under its own label, so it is independent of the vault's keys.
//!
//! What this detects, without the master key: a changed byte in any record, a deleted,
//! inserted or reordered record anywhere but at the end. What it cannot detect: someone
//! with the master key rewriting the chain, and truncation of the newest records (the
//! remaining prefix is a valid chain). Ship the log elsewhere ([`export`]) if that matters.
//!
//! # Several replicas (PostgreSQL)
//!
//! With `[store] postgres`, each process appends to a chain of its own in the
//! `audit_records` table ([`AuditLog::open_postgres`]); [`verify_postgres`] walks every
//! chain and [`export_postgres`] merges them by time. Per-process chains need no lock
//! across replicas (one `INSERT` per record) and detect the same tampering as the file;
//! deleting a whole chain, like truncating the file, is not detected.
//!
//! # Durability and cost
//!
//! [`AuditLog::append`] hands each line to the OS in a single `write` under a mutex and
//! does not fsync: an fsync per record would dwarf the broker's per-call overhead target
//! of 20 µs. A line therefore survives the process being killed but not a power loss
//! until [`AuditLog::sync`] (called on drop). A crash can leave a torn last line;
//! [`AuditLog::open`] cuts it off and the chain continues from the last whole record.

mod chain;
mod error;
mod log;
mod record;
#[cfg(test)]
mod tests;
mod time;
mod verify;

use std::path::{Path, PathBuf};

pub use chain::GENESIS_PREV;
pub use error::AuditError;
pub use log::AuditLog;
pub use record::{AuditEvent, AuditPlaceholder, AuditRecord, Decision, MAX_DETAIL_LEN};
pub use time::{format_rfc3339_millis, parse_rfc3339};
pub use verify::{
    ProblemKind, VerifyProblem, VerifyReport, export, export_postgres, verify, verify_postgres,
};

/// The log's file name inside the data dir.
pub const FILE_NAME: &str = "audit.jsonl";

/// `<data_dir>/audit.jsonl`.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}
