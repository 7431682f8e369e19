//! The one error type of the vault.
//!
//! Messages say what happened, to what, and what to do. They never contain a key, a
//! stored value, or untrusted input echoed back verbatim (input could be PII or a key).

use std::path::PathBuf;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A session id was empty, too long, or had characters outside the allowed set.
    #[error(
        "invalid session id: {reason}; a session id is 1-{max} characters from A-Z a-z 0-9 and . _ : @ -",
        max = super::MAX_SESSION_LEN
    )]
    InvalidSession {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// A placeholder kind was not UPPER_SNAKE (`EMAIL`, `PHONE`, `CREDIT_CARD`).
    #[error(
        "invalid placeholder kind: {reason}; a kind is 1-{max} characters of A-Z and 0-9 in '_'-separated words starting with a letter, e.g. EMAIL or CREDIT_CARD",
        max = super::MAX_KIND_LEN
    )]
    InvalidKind {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// A value to mint was empty or too long (the value itself is never shown).
    #[error("invalid value to tokenize: {reason}")]
    InvalidValue {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// A source server name was empty, too long, or had characters outside the allowed set.
    #[error(
        "invalid source server name: {reason}; a server name is 1-{max} characters from A-Z a-z 0-9 and . _ -",
        max = super::MAX_SOURCE_LEN
    )]
    InvalidSource {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// Text that was expected to be exactly one placeholder was not.
    #[error(
        "invalid placeholder: {reason}; a placeholder looks exactly like [EMAIL_1]: '[', an UPPER_SNAKE kind, '_', a number from 1 without leading zeros, ']'"
    )]
    InvalidPlaceholder {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// The master key (from the environment or the key file) is not base64 of 32 bytes.
    #[error(
        "the master key in {origin} is malformed: {reason}; it must be the base64 encoding of exactly 32 bytes (create one with `head -c 32 /dev/urandom | base64`)"
    )]
    MalformedKey {
        /// Where the key came from: the environment variable or the key file's path.
        origin: String,
        /// What was wrong with it (never the key itself).
        reason: &'static str,
    },

    /// The key file can be read by other users.
    #[error(
        "the master key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The key file could not be read or created.
    #[error(
        "could not read or create the master key file {path}: {source}; check that the directory exists and is writable, or set SLUICE_MASTER_KEY"
    )]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The vault was created under another master key.
    #[error(
        "the vault at {store} was sealed with a different master key; set SLUICE_MASTER_KEY to the original key (or restore the original master.key file) — every replica must use the same key"
    )]
    WrongKey {
        /// Where the vault is stored.
        store: String,
    },

    /// The store failed (unreachable database, disk error, corrupt data).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

    /// A sealed record failed authentication: it was modified or moved in the store.
    #[error(
        "the record for {placeholder} in the vault at {store} failed authentication (modified or moved in storage); restore the vault from a backup"
    )]
    Tampered {
        /// Where the vault is stored.
        store: String,
        /// The placeholder whose record failed.
        placeholder: String,
    },

    /// The session does not exist for this agent: unknown, or owned by another agent
    /// (deliberately one error, so a session id's use cannot be probed).
    #[error("unknown session; start a new session or use one this agent created")]
    UnknownSession,

    /// An agent name was empty or too long.
    #[error(
        "invalid agent name: {reason}; an agent name is 1-{max} bytes",
        max = super::MAX_AGENT_LEN
    )]
    InvalidAgent {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// The operating system's random number generator or a key derivation failed.
    #[error("a cryptographic operation failed ({what}); check the system's random number source")]
    Crypto {
        /// Which operation.
        what: &'static str,
    },
}

impl VaultError {
    /// Whether the store could not be reached (the request may succeed later; nothing was stored).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            VaultError::Store(
                crate::store::StoreError::Unavailable { .. }
                    | crate::store::StoreError::Timeout { .. }
            )
        )
    }
}
