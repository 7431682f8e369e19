//! The placeholder vault: maps detected values to session-scoped placeholders such as
//! `[EMAIL_1]`, stores the values sealed, and gives them back only to the broker's
//! egress path. It must never put a raw value, a key, or anything derived from a value
//! without a key into a log, an error, `Debug` output or a file unsealed.
//!
//! # Placeholders
//!
//! A placeholder is `[KIND_n]`: an UPPER_SNAKE kind (`EMAIL`, `PHONE`, `NAME`, or a
//! custom one like `CREDIT_CARD`) and a number counted per session and kind from 1.
//! The same normalized value minted again in the same session, by any process, before
//! or after a restart, gets the same placeholder. Sessions are independent: session
//! A's `[EMAIL_1]` resolves to nothing in session B (invariant 3).
//!
//! # What is stored, and what the files reveal
//!
//! The vault is a directory: `master.key` (unless the key comes from the environment)
//! and a sled database in `db/` with three trees.
//!
//! * `records`: key `sid ‖ kind ‖ 0x00 ‖ n` (big-endian `u64`), value
//!   `0x01 ‖ nonce ‖ AES-256-GCM(created ‖ source ‖ value)`. The 96-bit nonce is fresh
//!   from the OS CSPRNG per seal. The associated data is the record's identity (session
//!   id and placeholder), so a sealed value moved to another record or session fails to
//!   open. The source server and creation time are sealed too: they are provenance that
//!   flow policy trusts, so they must not be editable on disk.
//! * `index`: key `sid ‖ HMAC(index key, session ‖ kind ‖ value)`, value `n`. The
//!   value→placeholder lookup therefore needs the index key; without it the index is 32
//!   random-looking bytes per value and cannot be tested against guesses.
//! * `counters`: key `sid ‖ kind`, value the last number handed out.
//!
//! `sid` is the first 16 bytes of `HMAC(index key, session id)`, so session ids are not
//! on disk either. What the files do reveal: how many values of each kind each
//! (pseudonymous) session holds, and when records were written. [`Vault::stats`] reports
//! exactly that much and nothing more.
//!
//! # Keys
//!
//! A 256-bit master key comes from `SLUICE_MASTER_KEY` (base64) or from `master.key` in
//! the data dir, created on first use with mode 0600 (see [`MasterKey`]). HKDF-SHA256
//! derives the sealing key and the index key from it with distinct labels. A sealed check
//! record written at creation detects a wrong master key at [`Vault::open`]. Neither the
//! master key nor the derived keys implement a revealing `Debug`, and no error carries
//! them. Random 96-bit nonces keep AES-GCM within its safety margin up to about 2^32
//! seals per master key; rotate the key long before that.
//!
//! # Durability and concurrency
//!
//! [`Vault::mint`] returns only after the record is flushed (fsync) — also when it
//! returns an existing placeholder, since that record may have been written by a
//! concurrent call that has not flushed yet — so a placeholder any caller has seen
//! survives `kill -9`; [`Vault::mint_all`] mints a whole tool result's values under one
//! flush. Counter, record and index entry are written in one sled
//! transaction; sled serializes transactions, so concurrent mints of one value agree on
//! one placeholder, and a number is never handed out twice for a session and kind.
//! The sled database is locked to one process; share a [`Vault`] by cloning it (an
//! `Arc` inside). Calls block on disk I/O: from async code use
//! `tokio::task::spawn_blocking`.
//!
//! # Erasure
//!
//! [`Vault::purge_session`] removes a session's records, index entries and counters in
//! one transaction. Its placeholders then resolve to nothing; a later mint in the same
//! session id starts again at 1, so do not reuse a purged session id. Sled may keep the
//! old (sealed) bytes in its log until it reclaims the segment.
//!
//! # Forged placeholders (invariant 4)
//!
//! Backend text can contain placeholder-shaped text (a CRM note saying `[EMAIL_3]`).
//! Before ingress tokenization the broker passes every backend string through
//! [`neutralize`], which rewrites each `[word_digits]` (any case, ASCII letters, digits
//! and `_`, ending in `_` and digits) to `⟦word_digits⟧` with the mathematical white
//! square brackets U+27E6/U+27E7. [`find_placeholders`] and [`Placeholder::parse`] only
//! accept ASCII brackets, so neutralized text never resolves; the rewrite is visible to
//! the model, idempotent, and total over any `&str`. Placeholders minted afterwards are
//! inserted into already-neutralized text, so only minted placeholders are live.

mod error;
mod key;
mod placeholder;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use error::VaultError;
pub use key::{MASTER_KEY_LEN, MasterKey};
pub use placeholder::{NEUTRAL_CLOSE, NEUTRAL_OPEN, Placeholder, find_placeholders, neutralize};

/// Longest accepted session id, in bytes.
pub const MAX_SESSION_LEN: usize = 128;
/// Longest accepted kind, in bytes.
pub const MAX_KIND_LEN: usize = 32;
/// Longest accepted source server name, in bytes.
pub const MAX_SOURCE_LEN: usize = 128;
/// Longest accepted value, in bytes.
pub const MAX_VALUE_LEN: usize = 16 * 1024;

/// Format version byte in front of every sealed blob.
const SEALED_V1: u8 = 1;
/// Bytes of `HMAC(session)` that name a session on disk.
const SID_LEN: usize = 16;
/// The meta-tree key of the sealed check record.
const CHECK_KEY: &[u8] = b"check";
/// The plaintext of the check record.
const CHECK_PLAINTEXT: &[u8] = b"sluice vault check v1";
/// The sled database's directory inside the vault directory.
const DB_DIR: &str = "db";

/// A value given back by [`Vault::resolve`], with its provenance. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The raw value the placeholder stands for.
    pub value: String,
    /// The kind, e.g. `EMAIL`.
    pub kind: String,
    /// The backend server the value was first seen in (flow policy checks this).
    pub source: String,
    /// When it was minted, in unix seconds.
    pub created: u64,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field(
                "value",
                &format_args!("<redacted, {} bytes>", self.value.len()),
            )
            .field("kind", &self.kind)
            .field("source", &self.source)
            .field("created", &self.created)
            .finish()
    }
}

/// Counts in a vault: never values, never session ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Sessions that hold at least one placeholder.
    pub sessions: u64,
    /// Placeholders per kind, over all sessions.
    pub per_kind: BTreeMap<String, u64>,
}

impl Stats {
    /// Placeholders over all kinds and sessions.
    pub fn total(&self) -> u64 {
        self.per_kind.values().sum()
    }
}

/// An open vault; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    records: sled::Tree,
    index: sled::Tree,
    counters: sled::Tree,
    keys: key::DerivedKeys,
    rng: SystemRandom,
    /// Mints share it, a purge takes it alone: a purge must not interleave with a mint
    /// in the same session, or a counter could vanish while its record stays.
    purge_lock: RwLock<()>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens (creating if needed) the vault in `dir`; fails if it was sealed under another key.
    pub fn open(dir: &Path, key: &MasterKey) -> Result<Self, VaultError> {
        let path = dir.to_path_buf();
        let keys = key.derive()?;
        let open_err = |source| VaultError::Open {
            path: path.clone(),
            source,
        };
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            .open()
            .map_err(open_err)?;
        let tree = |name: &str| db.open_tree(name).map_err(open_err);
        let (meta, records, index, counters) = (
            tree("meta")?,
            tree("records")?,
            tree("index")?,
            tree("counters")?,
        );
        let inner = Inner {
            path,
            keys,
            rng: SystemRandom::new(),
            purge_lock: RwLock::new(()),
            records,
            index,
            counters,
            db,
        };
        inner.check_key(&meta)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The vault's directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The placeholder for `value` in `session`: the existing one, or a new durable one.
    ///
    /// `value` must already be normalized by the detector (the vault compares bytes);
    /// `source` is the backend server it came from and is recorded only on first mint.
    pub fn mint(
        &self,
        session: &str,
        kind: &str,
        value: &str,
        source: &str,
    ) -> Result<Placeholder, VaultError> {
        let placeholder = self.mint_unflushed(session, kind, value, source)?;
        self.inner.flush()?;
        Ok(placeholder)
    }

    /// [`Vault::mint`] for many `(kind, value)` pairs from one source, with one flush for all.
    ///
    /// A tool result with many new values costs one fsync instead of one per value. On
    /// error nothing is returned, so no unflushed placeholder ever reaches a caller.
    pub fn mint_all<'a>(
        &self,
        session: &str,
        source: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<Placeholder>, VaultError> {
        let placeholders = items
            .into_iter()
            .map(|(kind, value)| self.mint_unflushed(session, kind, value, source))
            .collect::<Result<Vec<_>, _>>()?;
        self.inner.flush()?;
        Ok(placeholders)
    }

    /// Mints without flushing; callers flush before handing the placeholder out.
    ///
    /// An existing placeholder needs the flush too: a concurrent mint may have committed
    /// it and not yet flushed.
    fn mint_unflushed(
        &self,
        session: &str,
        kind: &str,
        value: &str,
        source: &str,
    ) -> Result<Placeholder, VaultError> {
        validate_session(session)?;
        placeholder::validate_kind(kind)?;
        validate_value(value)?;
        validate_source(source)?;
        let inner = &*self.inner;
        let sid = inner.session_id(session);
        let index_key = inner.index_key(&sid, session, kind, value);
        let _shared = inner
            .purge_lock
            .read()
            .unwrap_or_else(PoisonError::into_inner);

        if let Some(n) = inner.index.get(&index_key).map_err(|e| inner.storage(e))? {
            return Placeholder::new(kind, inner.decode_n(&n)?);
        }

        let counter_key = [&sid[..], kind.as_bytes()].concat();
        let created = now();
        let result = (&inner.records, &inner.index, &inner.counters).transaction(
            |(records, index, counters)| {
                let abort = ConflictableTransactionError::Abort;
                if let Some(n) = index.get(&index_key)? {
                    return inner.decode_n(&n).map_err(abort);
                }
                let last = match counters.get(&counter_key)? {
                    Some(bytes) => inner.decode_n(&bytes).map_err(abort)?,
                    None => 0,
                };
                let n = last.checked_add(1).ok_or_else(|| {
                    abort(VaultError::CounterExhausted {
                        kind: kind.to_owned(),
                    })
                })?;
                let placeholder = Placeholder::new(kind, n).map_err(abort)?;
                let sealed = inner
                    .seal_record(session, &placeholder, created, source, value)
                    .map_err(abort)?;
                counters.insert(&counter_key[..], &n.to_be_bytes()[..])?;
                records.insert(record_key(&sid, &placeholder), sealed)?;
                index.insert(&index_key[..], &n.to_be_bytes()[..])?;
                Ok(n)
            },
        );
        Placeholder::new(kind, inner.transaction_result(result)?)
    }

    /// The value behind `placeholder` (text such as `[EMAIL_1]`) in `session`, if minted there.
    pub fn resolve(
        &self,
        session: &str,
        placeholder: &str,
    ) -> Result<Option<Resolved>, VaultError> {
        self.resolve_placeholder(session, &Placeholder::parse(placeholder)?)
    }

    /// The value behind an already parsed placeholder in `session`, if minted there.
    pub fn resolve_placeholder(
        &self,
        session: &str,
        placeholder: &Placeholder,
    ) -> Result<Option<Resolved>, VaultError> {
        validate_session(session)?;
        let inner = &*self.inner;
        let sid = inner.session_id(session);
        let Some(sealed) = inner
            .records
            .get(record_key(&sid, placeholder))
            .map_err(|e| inner.storage(e))?
        else {
            return Ok(None);
        };
        inner.open_record(session, placeholder, &sealed).map(Some)
    }

    /// Erases a session: values, index entries and counters. Returns how many values were erased.
    pub fn purge_session(&self, session: &str) -> Result<usize, VaultError> {
        validate_session(session)?;
        let inner = &*self.inner;
        let sid = inner.session_id(session);
        let _exclusive = inner
            .purge_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let keys_of = |tree: &sled::Tree| -> Result<Vec<sled::IVec>, VaultError> {
            tree.scan_prefix(sid)
                .keys()
                .collect::<Result<_, _>>()
                .map_err(|e| inner.storage(e))
        };
        let (records, index, counters) = (
            keys_of(&inner.records)?,
            keys_of(&inner.index)?,
            keys_of(&inner.counters)?,
        );
        if records.is_empty() && index.is_empty() && counters.is_empty() {
            return Ok(0);
        }
        let result = (&inner.records, &inner.index, &inner.counters).transaction(
            |(record_tree, index_tree, counter_tree)| {
                for key in &records {
                    record_tree.remove(key)?;
                }
                for key in &index {
                    index_tree.remove(key)?;
                }
                for key in &counters {
                    counter_tree.remove(key)?;
                }
                Ok::<_, ConflictableTransactionError<VaultError>>(())
            },
        );
        inner.transaction_result(result)?;
        inner.flush()?;
        Ok(records.len())
    }

    /// Placeholders per kind and the number of sessions — never values or session ids.
    pub fn stats(&self) -> Result<Stats, VaultError> {
        let inner = &*self.inner;
        let mut stats = Stats::default();
        let mut last_sid: Option<sled::IVec> = None;
        for entry in inner.counters.iter() {
            let (key, count) = entry.map_err(|e| inner.storage(e))?;
            let (Some(sid), Some(kind)) = (key.get(..SID_LEN), key.get(SID_LEN..)) else {
                return Err(inner.corrupt("a counter key is too short"));
            };
            let kind = std::str::from_utf8(kind)
                .ok()
                .filter(|k| placeholder::validate_kind(k).is_ok())
                .ok_or_else(|| inner.corrupt("a counter key holds an invalid kind"))?;
            *stats.per_kind.entry(kind.to_owned()).or_default() += inner.decode_n(&count)?;
            if last_sid.as_deref() != Some(sid) {
                stats.sessions += 1;
                last_sid = Some(sid.into());
            }
        }
        Ok(stats)
    }
}

impl Inner {
    fn storage(&self, source: sled::Error) -> VaultError {
        VaultError::Storage {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: &'static str) -> VaultError {
        VaultError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }

    fn flush(&self) -> Result<(), VaultError> {
        self.db.flush().map(drop).map_err(|e| self.storage(e))
    }

    fn transaction_result<T>(
        &self,
        result: Result<T, TransactionError<VaultError>>,
    ) -> Result<T, VaultError> {
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.storage(e),
        })
    }

    fn decode_n(&self, bytes: &[u8]) -> Result<u64, VaultError> {
        <[u8; 8]>::try_from(bytes)
            .map(u64::from_be_bytes)
            .map_err(|_| self.corrupt("a stored placeholder number is not 8 bytes"))
    }

    /// How a session is named on disk: a keyed hash, so ids are not stored.
    fn session_id(&self, session: &str) -> [u8; SID_LEN] {
        let tag = hmac::sign(
            &self.keys.index,
            &framed(&[b"sluice/vault/v1/session", session.as_bytes()]),
        );
        let mut sid = [0u8; SID_LEN];
        sid.copy_from_slice(&tag.as_ref()[..SID_LEN]);
        sid
    }

    /// The index key of a (session, kind, value): session prefix, then a keyed hash.
    fn index_key(&self, sid: &[u8; SID_LEN], session: &str, kind: &str, value: &str) -> Vec<u8> {
        let tag = hmac::sign(
            &self.keys.index,
            &framed(&[
                b"sluice/vault/v1/index",
                session.as_bytes(),
                kind.as_bytes(),
                value.as_bytes(),
            ]),
        );
        [&sid[..], tag.as_ref()].concat()
    }

    fn seal(&self, aad: &[u8], plaintext: Vec<u8>) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| VaultError::Crypto {
            what: "drawing a nonce",
        })?;
        let mut in_out = plaintext;
        self.keys
            .seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| VaultError::Crypto { what: "sealing" })?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// Opens a sealed blob; `None` if it is malformed or fails authentication.
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let len = self
            .keys
            .seal
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .ok()?
            .len();
        in_out.truncate(len);
        Some(in_out)
    }

    fn seal_record(
        &self,
        session: &str,
        placeholder: &Placeholder,
        created: u64,
        source: &str,
        value: &str,
    ) -> Result<Vec<u8>, VaultError> {
        let mut plaintext = Vec::with_capacity(8 + 2 + source.len() + value.len());
        plaintext.extend_from_slice(&created.to_be_bytes());
        // MAX_SOURCE_LEN keeps this in range; validate_source ran before.
        let source_len = u16::try_from(source.len()).map_err(|_| VaultError::InvalidSource {
            reason: "it is too long",
        })?;
        plaintext.extend_from_slice(&source_len.to_be_bytes());
        plaintext.extend_from_slice(source.as_bytes());
        plaintext.extend_from_slice(value.as_bytes());
        self.seal(&record_aad(session, placeholder), plaintext)
    }

    fn open_record(
        &self,
        session: &str,
        placeholder: &Placeholder,
        sealed: &[u8],
    ) -> Result<Resolved, VaultError> {
        let plaintext = self
            .open(&record_aad(session, placeholder), sealed)
            .ok_or_else(|| VaultError::Tampered {
                path: self.path.clone(),
                placeholder: placeholder.to_string(),
            })?;
        let decoded = (|| {
            let (created, rest) = plaintext.split_first_chunk::<8>()?;
            let (source_len, rest) = rest.split_first_chunk::<2>()?;
            let source_len = usize::from(u16::from_be_bytes(*source_len));
            let source = std::str::from_utf8(rest.get(..source_len)?).ok()?;
            let value = std::str::from_utf8(rest.get(source_len..)?).ok()?;
            Some(Resolved {
                value: value.to_owned(),
                kind: placeholder.kind().to_owned(),
                source: source.to_owned(),
                created: u64::from_be_bytes(*created),
            })
        })();
        decoded.ok_or_else(|| self.corrupt("a sealed record has an invalid layout"))
    }

    /// Verifies the master key against the sealed check record, writing it on first open.
    fn check_key(&self, meta: &sled::Tree) -> Result<(), VaultError> {
        let aad = b"sluice/vault/v1/check";
        match meta.get(CHECK_KEY).map_err(|e| self.storage(e))? {
            Some(sealed) => match self.open(aad, &sealed) {
                Some(plaintext) if plaintext == CHECK_PLAINTEXT => Ok(()),
                _ => Err(VaultError::WrongKey {
                    path: self.path.clone(),
                }),
            },
            None => {
                if !self.records.is_empty() || !self.counters.is_empty() {
                    return Err(self.corrupt("records exist but the key check record is missing"));
                }
                let sealed = self.seal(aad, CHECK_PLAINTEXT.to_vec())?;
                let inserted = meta
                    .compare_and_swap(CHECK_KEY, None::<&[u8]>, Some(sealed))
                    .map_err(|e| self.storage(e))?;
                if inserted.is_err() {
                    // Lost a race with another opener in this process; check theirs.
                    return self.check_key(meta);
                }
                self.flush()
            }
        }
    }
}

/// The records-tree key of a placeholder in a session.
fn record_key(sid: &[u8; SID_LEN], placeholder: &Placeholder) -> Vec<u8> {
    let mut key = Vec::with_capacity(SID_LEN + placeholder.kind().len() + 9);
    key.extend_from_slice(sid);
    key.extend_from_slice(placeholder.kind().as_bytes());
    key.push(0);
    key.extend_from_slice(&placeholder.n().to_be_bytes());
    key
}

/// The associated data binding a sealed value to its record's identity.
fn record_aad(session: &str, placeholder: &Placeholder) -> Vec<u8> {
    framed(&[
        b"sluice/vault/v1/record",
        session.as_bytes(),
        placeholder.to_string().as_bytes(),
    ])
}

/// Length-prefixed concatenation, so distinct field tuples never encode alike.
fn framed(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 8).sum());
    for field in fields {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks a session id: 1 to [`MAX_SESSION_LEN`] ASCII letters, digits and `.:_@-`.
pub fn validate_session(session: &str) -> Result<(), VaultError> {
    check_name(session, MAX_SESSION_LEN, b".:_@-")
        .map_err(|reason| VaultError::InvalidSession { reason })
}

/// Checks a source server name: 1 to [`MAX_SOURCE_LEN`] ASCII letters, digits and `._-`.
pub fn validate_source(source: &str) -> Result<(), VaultError> {
    check_name(source, MAX_SOURCE_LEN, b"._-")
        .map_err(|reason| VaultError::InvalidSource { reason })
}

/// A non-empty name of at most `max` bytes, ASCII alphanumerics plus `extra`.
fn check_name(name: &str, max: usize, extra: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > max {
        return Err("it is too long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err("it contains a character outside the allowed set");
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), VaultError> {
    if value.is_empty() {
        return Err(VaultError::InvalidValue {
            reason: "it is empty",
        });
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(VaultError::InvalidValue {
            reason: "it is longer than 16 KiB",
        });
    }
    Ok(())
}
