//! Where the vault and the audit log keep their bytes: an embedded sled database (the
//! default, one process) or a shared PostgreSQL database (several replicas).
//!
//! A store only ever sees what the vault hands it: a session as a 16-byte keyed hash
//! ([`Sid`]), a value as a 32-byte keyed hash (its index tag), a kind name, a number, and
//! sealed bytes. It must never receive a raw value, a raw session id, or a key, so neither
//! its files, its tables, nor its error messages can hold one. Crypto stays in
//! [`crate::vault`]; ordering, atomicity and durability are the store's.
//!
//! # What every store guarantees
//!
//! * **Mint is one durable commit.** [`VaultStore::mint`] assigns the numbers for a whole
//!   batch and returns only when they are durable (an fsync for sled, a synchronous
//!   commit for PostgreSQL). A value already indexed costs no write.
//! * **One placeholder per value.** Mints of one session are serialized (sled: one
//!   process and a transaction; PostgreSQL: the session's row lock), so concurrent mints
//!   of one value, from one or many processes, get one number, and numbers have no gaps.
//! * **Tombstones.** A purge deletes records and index entries but keeps the session's
//!   counters and owner, so numbering never restarts: an old placeholder can never come
//!   to mean a different value, and the session stays bound to its agent.
//! * **First claimant owns a session** ([`VaultStore::claim`]), atomically across
//!   processes.

pub mod postgres;
pub mod sled;

use std::collections::BTreeMap;
use std::fmt;

/// Bytes of the keyed hash that names a session in a store.
pub const SID_LEN: usize = 16;
/// Bytes of the keyed hash of a (session, kind, value) that indexes a placeholder.
pub const TAG_LEN: usize = 32;
/// Bytes of the keyed hash that names an agent (or agent group) in a store.
pub const OWNER_LEN: usize = 16;

/// An agent or agent group as the store knows it: a keyed hash of its name.
pub type Owner = [u8; OWNER_LEN];
/// A workspace key or skill name as the store knows it: a keyed hash.
pub type Slot = [u8; TAG_LEN];

/// One saved version of a skill: its number and its sealed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillVersion {
    /// The skill's name as a keyed hash.
    pub slot: Slot,
    /// Counted per (owner, skill) from 1.
    pub version: u64,
    /// The sealed record (name, description, code, …).
    pub sealed: Vec<u8>,
}

/// A session as the store knows it: a keyed hash of its id.
pub type Sid = [u8; SID_LEN];

/// Seals the value of one item once its number is known. It may be called more than once
/// (a store may retry a transaction) and must then give an equally valid record.
pub type Sealer = Box<dyn Fn(u64) -> Result<Vec<u8>, SealFailed> + Send + Sync>;

/// Why a [`Sealer`] failed: the cryptographic operation, never data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealFailed(pub &'static str);

/// One value to mint or reuse.
pub struct MintItem {
    /// Its kind, e.g. `EMAIL` (already validated).
    pub kind: String,
    /// `HMAC(index key, session ‖ kind ‖ value)`.
    pub tag: [u8; TAG_LEN],
    /// Seals the value for the number it gets, if it is new.
    pub seal: Sealer,
}

impl fmt::Debug for MintItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintItem")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Counts in a store: placeholders per kind and sessions holding any. Never ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Sessions that hold at least one record.
    pub sessions: u64,
    /// Records per kind.
    pub per_kind: BTreeMap<String, u64>,
}

/// What the vault needs from a store. Calls block the calling thread.
pub trait VaultStore: Send + Sync + fmt::Debug {
    /// Where the data lives, for messages: a path, or PostgreSQL host/port/database (never a password).
    fn describe(&self) -> &str;

    /// Whether this handle wrote nothing since it was opened (after flushing anything
    /// pending). A one-shot process may then exit without the store's closing sync
    /// ([`crate::flow::Broker::finish_one_shot`]). `false` when unsure.
    fn untouched(&self) -> bool {
        false
    }

    /// The numbers for `items`, in order: existing ones reused, new ones assigned from the
    /// session's per-kind counters, all durable before this returns.
    fn mint(&self, sid: &Sid, items: Vec<MintItem>) -> Result<Vec<u64>, StoreError>;

    /// The sealed record of placeholder `kind`/`n` in the session, if it exists.
    fn record(&self, sid: &Sid, kind: &str, n: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes the session's records, index entries and workspace entries (keeping
    /// counters and owner); returns how many records were deleted. Durable before it returns.
    fn purge(&self, sid: &Sid) -> Result<u64, StoreError>;

    /// Binds the session to `owner` if it has none yet; `true` when `owner` owns it now.
    fn claim(&self, sid: &Sid, owner: &[u8]) -> Result<bool, StoreError>;

    /// The session's owner, if bound.
    fn owner(&self, sid: &Sid) -> Result<Option<Vec<u8>>, StoreError>;

    /// Record counts.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// The stored key check record; stores `fresh` first if there is none.
    fn key_check(&self, fresh: Vec<u8>) -> Result<Vec<u8>, StoreError>;

    /// Stores one sealed workspace entry of (`sid`, `agent`) under `slot`, replacing the
    /// entry there. A new slot is refused (`Ok(false)`, nothing written) when the scope
    /// already holds `max_entries`. Durable before it returns. A purge of `sid` erases it.
    fn workspace_put(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
        sealed: Vec<u8>,
        max_entries: usize,
    ) -> Result<bool, StoreError>;

    /// The sealed workspace entry of (`sid`, `agent`) at `slot`, if any.
    fn workspace_get(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every sealed workspace entry of (`sid`, `agent`), with its slot.
    fn workspace_entries(
        &self,
        sid: &Sid,
        agent: &Owner,
    ) -> Result<Vec<(Slot, Vec<u8>)>, StoreError>;

    /// Deletes the workspace entry at `slot`; `true` if there was one. Durable before it returns.
    fn workspace_delete(&self, sid: &Sid, agent: &Owner, slot: &Slot) -> Result<bool, StoreError>;

    /// Saves a new version of skill `slot` of `owner`; `seal` seals the record for the
    /// version number it gets (the previous version + 1). A new skill is refused
    /// (`Ok(None)`, nothing written) when `owner` already has `max_skills`; the count and
    /// the write are one atomic step, also across replicas. Durable before it returns.
    fn skill_save(
        &self,
        owner: &Owner,
        slot: &Slot,
        seal: Sealer,
        max_skills: usize,
    ) -> Result<Option<u64>, StoreError>;

    /// The newest version of every skill of `owner`.
    fn skills(&self, owner: &Owner) -> Result<Vec<SkillVersion>, StoreError>;

    /// Deletes every version of skill `slot` of `owner`; returns how many there were.
    fn skill_delete(&self, owner: &Owner, slot: &Slot) -> Result<u64, StoreError>;

    /// A number that changes whenever a purge elsewhere (another replica) may have taken
    /// effect; what this process remembers about sessions must be dropped when it changes.
    /// A store only this process writes never changes it (its purges go through here).
    fn purge_epoch(&self) -> u64 {
        0
    }
}

/// Everything that can go wrong in a store. Messages name the store and what to do; they
/// never carry a password, a key or a value (stores never see values).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The embedded sled database could not be opened.
    #[error(
        "could not open the vault at {path}: {source}; if another sluice process is using this data dir, stop it or point this one at another dir"
    )]
    SledOpen {
        /// The vault directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: ::sled::Error,
    },

    /// Reading or writing the embedded sled database failed.
    #[error("vault storage error at {path}: {source}; check disk space and permissions")]
    Sled {
        /// The vault directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: ::sled::Error,
    },

    /// The `[store] postgres` setting is not a usable connection URL.
    #[error(
        "the [store] postgres connection string is invalid: {reason}; write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]"
    )]
    InvalidUrl {
        /// What is wrong (never the password).
        reason: String,
    },

    /// PostgreSQL could not be reached, or the connection broke.
    #[error(
        "the PostgreSQL store at {target} is unavailable ({reason}); check that the database is running and reachable from this host, then retry — nothing was stored"
    )]
    Unavailable {
        /// host:port/database.
        target: String,
        /// What the client saw.
        reason: String,
    },

    /// PostgreSQL refused the login.
    #[error(
        "PostgreSQL at {target} refused the login ({reason}); check the user and password in [store] postgres (or the variable [store] postgres_env names)"
    )]
    Auth {
        /// host:port/database.
        target: String,
        /// The server's message.
        reason: String,
    },

    /// The database named in the URL does not exist.
    #[error(
        "PostgreSQL at {target}: the database does not exist; create it (e.g. `createdb -O USER DATABASE`) and run `sluice store migrate`"
    )]
    NoDatabase {
        /// host:port/database.
        target: String,
    },

    /// The database has no Sluice schema (or an older one) and this command does not migrate.
    #[error(
        "PostgreSQL at {target} has {found} of the Sluice schema, this sluice needs version {needed}; run `sluice store --config FILE migrate` (or start `sluice serve`, which migrates)"
    )]
    SchemaMissing {
        /// host:port/database.
        target: String,
        /// "no version" or "version N".
        found: String,
        /// The version this build uses.
        needed: i32,
    },

    /// The database was migrated by a newer Sluice.
    #[error(
        "PostgreSQL at {target} holds schema version {found}, newer than this sluice understands (version {supported}); upgrade sluice on this replica to the version the other replicas run"
    )]
    SchemaTooNew {
        /// host:port/database.
        target: String,
        /// The version found.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },

    /// A query failed for another reason.
    #[error("the PostgreSQL store at {target} failed to {action}: {reason}")]
    Query {
        /// host:port/database.
        target: String,
        /// What was being done.
        action: &'static str,
        /// The server's or client's message.
        reason: String,
    },

    /// An operation did not finish in time.
    #[error(
        "the PostgreSQL store at {target} did not answer within {seconds} s while trying to {action}; check the database's load and the network — nothing was stored"
    )]
    Timeout {
        /// host:port/database.
        target: String,
        /// What was being done.
        action: &'static str,
        /// The limit.
        seconds: u64,
    },

    /// Stored data did not have the expected shape.
    #[error("the vault at {store} is corrupt ({what}); restore it from a backup")]
    Corrupt {
        /// The store's description.
        store: String,
        /// What was malformed.
        what: &'static str,
    },

    /// A session used up every number for one kind.
    #[error("session has minted the maximum number of {kind} placeholders; start a new session")]
    CounterExhausted {
        /// The kind whose counter ran out.
        kind: String,
    },

    /// Sealing a new value failed.
    #[error("a cryptographic operation failed ({0}); check the system's random number source")]
    Seal(&'static str),
}

impl From<SealFailed> for StoreError {
    fn from(e: SealFailed) -> Self {
        StoreError::Seal(e.0)
    }
}

/// Test support: a fresh, isolated PostgreSQL schema per test.
#[cfg(test)]
pub(crate) mod testing {
    /// The variable that points tests at a PostgreSQL database (`scripts/pg-test.sh start` prints it).
    pub const PG_URL_ENV: &str = "SLUICE_TEST_PG_URL";

    /// The test database's URL; `None` (after saying so loudly) when it is not set
    /// outside CI. In CI (`CI=true`) a missing URL fails the test: CI must run them.
    pub fn pg_url(test: &str) -> Option<String> {
        match std::env::var(PG_URL_ENV) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{PG_URL_ENV} is unset in CI: .ci/run must start PostgreSQL (scripts/pg-test.sh start)"
                );
                eprintln!(
                    "SKIPPED {test}: PostgreSQL tests need {PG_URL_ENV}; run `eval $(scripts/pg-test.sh start)` first"
                );
                None
            }
        }
    }

    /// Creates an empty schema and returns `url` with its `search_path` set to it.
    pub fn fresh_schema(url: &str) -> String {
        let name = format!("t_{:016x}", rand::random::<u64>());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test database");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .await
                .expect("create a test schema");
        });
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{name}")
    }

    /// Options for tests: small pool, short deadline, no TLS roots, migrate.
    pub fn options() -> super::postgres::PgOptions {
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        super::postgres::PgOptions {
            pool_size: 4,
            timeout: std::time::Duration::from_secs(10),
            tls,
            migrate: super::postgres::Migrate::Apply,
            synchronous_commit: true,
            cache: true,
        }
    }
}
