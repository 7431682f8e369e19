//! The shared store: PostgreSQL through `tokio-postgres`, pooled by `deadpool-postgres`,
//! TLS by rustls (ring).
//!
//! # Schema and migrations
//!
//! [`MIGRATIONS`] are applied in order, each once, inside one transaction under a
//! transaction-level advisory lock, so replicas starting together migrate once. The
//! version lives in `sluice_schema`. A database at a newer version than this build knows
//! is refused ([`StoreError::SchemaTooNew`]); commands that must not change the schema
//! (`vault stats`, `audit verify`) open with [`Migrate::Require`] and name
//! `sluice store migrate` when the schema is missing or old.
//!
//! # Concurrency
//!
//! Every mint of a session takes that session's row lock in `vault_sessions` first, then
//! looks the values up again (READ COMMITTED reads the newest commit after the lock), so
//! two replicas minting one value agree on one number and counters have no gaps. A purge
//! takes the same lock. Sessions are independent, so different sessions mint in parallel.
//!
//! # Driving an async client from blocking callers
//!
//! The vault's API is synchronous (it is called from `spawn_blocking` threads and the
//! CLI). This store owns a small tokio runtime of its own; each call spawns its future
//! there and waits on a std channel. That never panics in an async context (unlike
//! `block_on`), and cannot deadlock on the caller's runtime: the future needs only the
//! store's own threads. Every call has a deadline ([`PgOptions::timeout`]), so a hung
//! database becomes an error, not a stuck request.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::error::SqlState;

use super::{
    MintItem, Owner, Sealer, Sid, SkillVersion, Slot, StoreError, StoreStats, TAG_LEN, VaultStore,
};

mod cache;
mod ops;

pub use cache::Cache;
use cache::listen;

/// The schema, one entry per version (index 0 is version 1). Append, never edit.
pub const MIGRATIONS: &[&str] = &[
    // Version 1: vault (sessions with owner and purge epoch, counters kept as tombstones,
    // sealed records, HMAC index, key check) and audit chains.
    "CREATE TABLE vault_meta (
        name text PRIMARY KEY,
        value bytea NOT NULL
    );
    CREATE TABLE vault_sessions (
        sid bytea PRIMARY KEY,
        owner bytea,
        epoch bigint NOT NULL DEFAULT 0,
        created timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE vault_counters (
        sid bytea NOT NULL,
        kind text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (sid, kind)
    );
    CREATE TABLE vault_records (
        sid bytea NOT NULL,
        kind text NOT NULL,
        n bigint NOT NULL,
        sealed bytea NOT NULL,
        PRIMARY KEY (sid, kind, n)
    );
    CREATE TABLE vault_index (
        sid bytea NOT NULL,
        tag bytea NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (sid, tag)
    );
    CREATE TABLE audit_chains (
        chain text PRIMARY KEY,
        started timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE audit_records (
        chain text NOT NULL REFERENCES audit_chains (chain),
        seq bigint NOT NULL,
        time text NOT NULL,
        session text NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (chain, seq)
    );
    CREATE INDEX audit_records_time ON audit_records (time);",
    // Version 2: the sandbox's workspace (sealed entries per session and agent, erased
    // with the session) and saved skills (sealed, versioned, per agent or agent group).
    "CREATE TABLE workspace_entries (
        sid bytea NOT NULL,
        agent bytea NOT NULL,
        slot bytea NOT NULL,
        sealed bytea NOT NULL,
        PRIMARY KEY (sid, agent, slot)
    );
    CREATE TABLE skills (
        owner bytea NOT NULL,
        slot bytea NOT NULL,
        version bigint NOT NULL,
        sealed bytea NOT NULL,
        created timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (owner, slot, version)
    );",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Serializes migrations across replicas (any constant both sides agree on).
const MIGRATION_LOCK: i64 = 0x51_1CE0;
/// The channel purges are announced on.
pub const PURGE_CHANNEL: &str = "sluice_purge";

/// Whether opening may change the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrate {
    /// Create or upgrade the schema (serve, exec, `sluice store migrate`).
    Apply,
    /// Refuse a missing or older schema (read-only and maintenance commands).
    Require,
    /// Only connect; the caller inspects or migrates (`sluice store migrate`).
    Manual,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Pooled connections.
    pub pool_size: usize,
    /// Deadline for each operation, connecting included.
    pub timeout: Duration,
    /// TLS settings, used when the URL's `sslmode` asks for TLS.
    pub tls: rustls::ClientConfig,
    /// Whether to migrate at open.
    pub migrate: Migrate,
    /// `false` sets `synchronous_commit = off` on these connections: commits survive the
    /// Sluice process dying, not the database crashing. For the audit log only; the
    /// vault always commits synchronously.
    pub synchronous_commit: bool,
    /// Keep a per-replica cache of value → placeholder index entries, invalidated by
    /// `LISTEN`/`NOTIFY` on purge (see [`Cache`]). For the vault; the audit log needs none.
    pub cache: bool,
}

/// What [`PgStore::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The version found (0: no schema).
    pub from: i32,
    /// The version now.
    pub to: i32,
}

/// An open PostgreSQL store. Cheap to share by `Arc`.
pub struct PgStore {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

struct Shared {
    pool: Pool,
    target: String,
    timeout: Duration,
    cache: Option<Arc<Cache>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.shared.target)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside an async context.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// host:port/database for messages; never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{}/{}",
        if hosts.is_empty() {
            "localhost".to_owned()
        } else {
            hosts.join(",")
        },
        port,
        config.get_dbname().unwrap_or("(default database)")
    )
}

impl PgStore {
    /// Connects, checks the login, and migrates or checks the schema per `options.migrate`.
    pub fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| StoreError::InvalidUrl {
                reason: e.to_string(),
            })?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::InvalidUrl {
                reason: "it names no host".into(),
            });
        }
        if config.get_dbname().is_none() {
            return Err(StoreError::InvalidUrl {
                reason: "it names no database".into(),
            });
        }
        config.connect_timeout(options.timeout);
        config.application_name("sluice");
        if !options.synchronous_commit {
            config.options("-c synchronous_commit=off");
        }
        let target = describe(&config);
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(options.tls);
        let (listen_config, listen_tls) = (config.clone(), tls.clone());
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.timeout))
            .create_timeout(Some(options.timeout))
            .build()
            .map_err(|e| StoreError::InvalidUrl {
                reason: e.to_string(),
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-store")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable {
                target: target.clone(),
                reason: format!("could not start the client's threads: {e}"),
            })?;
        let cache = options.cache.then(|| {
            let cache = Arc::new(Cache::default());
            runtime.spawn(listen(listen_config, listen_tls, Arc::clone(&cache)));
            cache
        });
        let store = Self {
            shared: Arc::new(Shared {
                pool,
                target,
                timeout: options.timeout,
                cache,
            }),
            runtime: Some(runtime),
        };
        match options.migrate {
            Migrate::Apply => {
                store.migrate()?;
            }
            Migrate::Require => store.require_schema()?,
            Migrate::Manual => {
                store.schema_version()?;
            }
        }
        Ok(store)
    }

    /// Creates or upgrades the schema to [`SCHEMA_VERSION`]; refuses a newer one.
    pub fn migrate(&self) -> Result<Migrated, StoreError> {
        self.run("migrate the schema", |shared| async move {
            let mut client = shared.client().await?;
            let err = |e| shared.classify("migrate the schema", e);
            let tx = client.transaction().await.map_err(err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(err)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS sluice_schema (
                    id boolean PRIMARY KEY DEFAULT true CHECK (id),
                    version integer NOT NULL
                )",
            )
            .await
            .map_err(err)?;
            let from: i32 = tx
                .query_opt("SELECT version FROM sluice_schema", &[])
                .await
                .map_err(err)?
                .map_or(0, |row| row.get(0));
            if from > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew {
                    target: shared.target.clone(),
                    found: from,
                    supported: SCHEMA_VERSION,
                });
            }
            for sql in MIGRATIONS.iter().skip(usize::try_from(from).unwrap_or(0)) {
                tx.batch_execute(sql).await.map_err(err)?;
            }
            tx.execute(
                "INSERT INTO sluice_schema (id, version) VALUES (true, $1)
                 ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                &[&SCHEMA_VERSION],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(Migrated {
                from,
                to: SCHEMA_VERSION,
            })
        })
    }

    /// The schema version in the database (0: none).
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        self.run("read the schema version", |shared| async move {
            let client = shared.client().await?;
            let err = |e| shared.classify("read the schema version", e);
            let exists: bool = client
                .query_one("SELECT to_regclass('sluice_schema') IS NOT NULL", &[])
                .await
                .map_err(err)?
                .get(0);
            if !exists {
                return Ok(0);
            }
            Ok(client
                .query_opt("SELECT version FROM sluice_schema", &[])
                .await
                .map_err(err)?
                .map_or(0, |row| row.get(0)))
        })
    }

    fn require_schema(&self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        let target = self.shared.target.clone();
        match found {
            v if v == SCHEMA_VERSION => Ok(()),
            v if v > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
                target,
                found: v,
                supported: SCHEMA_VERSION,
            }),
            0 => Err(StoreError::SchemaMissing {
                target,
                found: "no version".into(),
                needed: SCHEMA_VERSION,
            }),
            v => Err(StoreError::SchemaMissing {
                target,
                found: format!("version {v}"),
                needed: SCHEMA_VERSION,
            }),
        }
    }

    /// Runs `op` on the store's runtime with the deadline, blocking this thread.
    fn run<T, F, Fut>(&self, action: &'static str, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let (timeout, target) = (shared.timeout, shared.target.clone());
        let future = op(shared);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let Some(runtime) = &self.runtime else {
            return Err(StoreError::Unavailable {
                target,
                reason: "the client is shut down".into(),
            });
        };
        runtime.spawn(async move {
            let outcome = tokio::time::timeout(timeout, future)
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Timeout {
                        target: target.clone(),
                        action,
                        seconds: timeout.as_secs().max(1),
                    })
                });
            let _ = tx.send(outcome);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Unavailable {
                target: self.shared.target.clone(),
                reason: "the client's task stopped".into(),
            })
        })
    }

    /// Starts a new audit chain and returns its id.
    pub fn audit_new_chain(&self) -> Result<String, StoreError> {
        let chain = format!("c-{:032x}", rand::random::<u128>());
        self.run("start an audit chain", |shared| async move {
            let client = shared.client().await?;
            client
                .execute("INSERT INTO audit_chains (chain) VALUES ($1)", &[&chain])
                .await
                .map_err(|e| shared.classify("start an audit chain", e))?;
            Ok(chain)
        })
    }

    /// Appends one signed line to `chain`.
    pub fn audit_append(
        &self,
        chain: &str,
        seq: u64,
        time: &str,
        session: &str,
        line: String,
    ) -> Result<(), StoreError> {
        let (chain, time, session) = (chain.to_owned(), time.to_owned(), session.to_owned());
        let seq = i64::try_from(seq).map_err(|_| StoreError::Corrupt {
            store: self.shared.target.clone(),
            what: "an audit sequence number exceeds the database's range",
        })?;
        self.run("append to the audit log", |shared| async move {
            let client = shared.client().await?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO audit_records (chain, seq, time, session, line)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await
                .map_err(|e| shared.classify("append to the audit log", e))?;
            client
                .execute(&statement, &[&chain, &seq, &time, &session, &line])
                .await
                .map_err(|e| shared.classify("append to the audit log", e))?;
            Ok(())
        })
    }

    /// Every chain, oldest first, with its lines in `seq` order.
    pub fn audit_chains(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.run("read the audit log", |shared| async move {
            let client = shared.client().await?;
            let err = |e| shared.classify("read the audit log", e);
            let chains = client
                .query(
                    "SELECT chain FROM audit_chains ORDER BY started, chain",
                    &[],
                )
                .await
                .map_err(err)?;
            let mut out = Vec::with_capacity(chains.len());
            for row in chains {
                let chain: String = row.get(0);
                let lines = client
                    .query(
                        "SELECT line FROM audit_records WHERE chain = $1 ORDER BY seq",
                        &[&chain],
                    )
                    .await
                    .map_err(err)?
                    .into_iter()
                    .map(|row| row.get::<_, String>(0))
                    .collect();
                out.push((chain, lines));
            }
            Ok(out)
        })
    }

    /// Lines timed at or after `since` (RFC 3339 UTC millis, compared as text) and of
    /// session digest `session`, in time order.
    pub fn audit_export(
        &self,
        since: Option<String>,
        session: Option<String>,
    ) -> Result<Vec<String>, StoreError> {
        self.run("export the audit log", |shared| async move {
            let client = shared.client().await?;
            let rows = client
                .query(
                    "SELECT line FROM audit_records
                     WHERE ($1::text IS NULL OR time >= $1) AND ($2::text IS NULL OR session = $2)
                     ORDER BY time, chain, seq",
                    &[&since, &session],
                )
                .await
                .map_err(|e| shared.classify("export the audit log", e))?;
            Ok(rows.into_iter().map(|row| row.get(0)).collect())
        })
    }

    /// host:port/database.
    pub fn target(&self) -> &str {
        &self.shared.target
    }
}

impl Shared {
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => self.classify("connect", e),
            PoolError::Timeout(_) => StoreError::Unavailable {
                target: self.target.clone(),
                reason: format!("no connection within {} s", self.timeout.as_secs().max(1)),
            },
            other => StoreError::Unavailable {
                target: self.target.clone(),
                reason: other.to_string(),
            },
        })
    }

    fn classify(&self, action: &'static str, e: tokio_postgres::Error) -> StoreError {
        let target = self.target.clone();
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            let reason = db.message().to_owned();
            return if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                StoreError::Auth { target, reason }
            } else if *code == SqlState::INVALID_CATALOG_NAME {
                StoreError::NoDatabase { target }
            } else if *code == SqlState::UNDEFINED_TABLE {
                StoreError::SchemaMissing {
                    target,
                    found: "no version".into(),
                    needed: SCHEMA_VERSION,
                }
            } else if code.code().starts_with("08")
                || code.code().starts_with("57")
                || code.code().starts_with("53")
            {
                // Connection exceptions, operator intervention (shutdown), resources.
                StoreError::Unavailable { target, reason }
            } else {
                StoreError::Query {
                    target,
                    action,
                    reason,
                }
            };
        }
        // Not a server error: I/O, a closed connection, TLS. The client's text names the
        // cause (e.g. "Connection refused") and holds no data.
        let reason = crate::errors::with_causes(&e);
        StoreError::Unavailable { target, reason }
    }

    fn number(&self, n: i64) -> Result<u64, StoreError> {
        u64::try_from(n).map_err(|_| StoreError::Corrupt {
            store: self.target.clone(),
            what: "a stored placeholder number is negative",
        })
    }
}
