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
//! # What is stored, and what the store reveals
//!
//! The vault seals and hashes; a [`crate::store`] keeps the bytes: by default a sled
//! database in `<data_dir>/db/` (one process), or PostgreSQL shared by replicas
//! (`[store] postgres`). Either way the store holds exactly this, and nothing else:
//!
//! * records: `(sid, kind, n)` → `0x02 ‖ nonce ‖ AES-256-GCM(created ‖ source ‖ tool ‖ path ‖ value)`
//!   (format 2; records of format 1, `0x01 ‖ nonce ‖ AES-256-GCM(created ‖ source ‖ value)`,
//!   are still read, with no tool or path). The 96-bit nonce is fresh
//!   from the OS CSPRNG per seal. The associated data is the record's identity (session
//!   id and placeholder), so a sealed value moved to another record or session fails to
//!   open; format 2's associated data also names the format, so a record cannot be
//!   downgraded. The source server, tool, field path and creation time are sealed too:
//!   they are provenance that flow policy trusts, so they must not be editable on disk.
//!   Provenance is the value's *first sighting* in the session: minting a value again
//!   returns its placeholder and does not rewrite the record.
//! * index: `(sid, HMAC(index key, session ‖ kind ‖ value))` → `n`. The
//!   value→placeholder lookup therefore needs the index key; without it the index is 32
//!   random-looking bytes per value and cannot be tested against guesses.
//! * counters: `(sid, kind)` → the last number handed out.
//! * sessions: `sid` → `HMAC(index key, agent)` of the agent that owns it.
//!
//! `sid` is the first 16 bytes of `HMAC(index key, session id)`, so session ids are not
//! stored either. What the store does reveal: how many values of each kind each
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
//! [`Vault::mint`] returns only after the record is durable (an fsync, or a synchronous
//! PostgreSQL commit) — also when it returns an existing placeholder that a concurrent
//! call may not have made durable yet — so a placeholder any caller has seen survives
//! `kill -9`; [`Vault::mint_all`] mints a whole tool result's values under one commit.
//! The store serializes the mints of a session (see [`crate::store`]), so concurrent
//! mints of one value, in one process or on several replicas, agree on one placeholder,
//! and a number is never handed out twice for a session and kind. Share a [`Vault`] by
//! cloning it (an `Arc` inside). Calls block on I/O: from async code use
//! `tokio::task::spawn_blocking`.
//!
//! # Session owners
//!
//! A session belongs to the agent that first claims it ([`Vault::claim_session`]):
//! first claimant wins, atomically, across replicas. Another agent gets
//! [`VaultError::UnknownSession`] — the very error a session that does not exist gives,
//! so a caller cannot even learn that the id is in use.
//!
//! # Erasure
//!
//! [`Vault::purge_session`] removes a session's records and index entries in one
//! transaction, on every replica at once (they share the store). Its placeholders then
//! resolve to nothing. The session's counters and owner stay as a tombstone: numbering
//! continues after a purge (a value minted again gets a new, higher number), so an old
//! placeholder can never come to mean a different value, and the session stays bound to
//! its agent. Sled may keep the old (sealed) bytes in its log until it reclaims the
//! segment; PostgreSQL keeps dead tuples until `VACUUM`.
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
mod workspace;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::store::sled::SledStore;
use crate::store::{MintItem, SID_LEN, SealFailed, Sid, TAG_LEN, VaultStore};

pub use error::VaultError;
pub use key::{MASTER_KEY_LEN, MasterKey, SessionDigester};
pub use placeholder::{NEUTRAL_CLOSE, NEUTRAL_OPEN, Placeholder, find_placeholders, neutralize};
pub use workspace::MAX_WORKSPACE_KEY_LEN;

/// Longest accepted session id, in bytes.
pub const MAX_SESSION_LEN: usize = 128;
/// Longest accepted kind, in bytes.
pub const MAX_KIND_LEN: usize = 32;
/// Longest accepted source server name, in bytes.
pub const MAX_SOURCE_LEN: usize = 128;
/// Longest accepted value, in bytes.
pub const MAX_VALUE_LEN: usize = 16 * 1024;
/// Longest accepted agent name, in bytes.
pub const MAX_AGENT_LEN: usize = 128;

/// Format version byte in front of the check record and of value records written before
/// provenance held a tool and a path.
const SEALED_V1: u8 = 1;
/// Format version byte of value records with tool and field path.
const SEALED_V2: u8 = 2;
/// Longest recorded source tool name, in bytes (longer ones are cut).
pub const MAX_SOURCE_TOOL_LEN: usize = 256;
/// Longest recorded field path, in bytes (longer ones are cut, ending in `…`).
pub const MAX_SOURCE_PATH_LEN: usize = 512;
/// The plaintext of the check record.
const CHECK_PLAINTEXT: &[u8] = b"sluice vault check v1";

/// A value given back by [`Vault::resolve`], with its provenance. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The raw value the placeholder stands for.
    pub value: String,
    /// The kind, e.g. `EMAIL`.
    pub kind: String,
    /// The backend server the value was first seen in (flow policy checks this).
    pub source: String,
    /// The tool of that server it was first read from, `server/tool`, if recorded.
    pub source_tool: Option<String>,
    /// Where in that tool's result, e.g. `contacts[0].email`, if recorded.
    pub source_path: Option<String>,
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
            .field("source_tool", &self.source_tool)
            .field("source_path", &self.source_path)
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
    store: Arc<dyn VaultStore>,
    crypto: Arc<Crypto>,
}

/// The keys and the nonce source; shared with the sealers handed to the store.
struct Crypto {
    keys: key::DerivedKeys,
    rng: SystemRandom,
    digester: SessionDigester,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.inner.store.describe())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens (creating if needed) the embedded vault in `dir`; fails if it was sealed under another key.
    pub fn open(dir: &Path, key: &MasterKey) -> Result<Self, VaultError> {
        Self::with_store(Arc::new(SledStore::open(dir)?), key)
    }

    /// Whether this process wrote nothing to the store (see [`VaultStore::untouched`]).
    pub fn untouched(&self) -> bool {
        self.inner.store.untouched()
    }

    /// A vault over any store (e.g. [`crate::store::postgres::PgStore`]); fails if the
    /// store holds values sealed under another master key.
    pub fn with_store(store: Arc<dyn VaultStore>, key: &MasterKey) -> Result<Self, VaultError> {
        let inner = Inner {
            store,
            crypto: Arc::new(Crypto {
                keys: key.derive()?,
                rng: SystemRandom::new(),
                digester: key.session_digester()?,
            }),
        };
        inner.check_key()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Changes whenever another replica's purge may have taken effect (see
    /// [`crate::store::VaultStore::purge_epoch`]).
    pub fn purge_epoch(&self) -> u64 {
        self.inner.store.purge_epoch()
    }

    /// Where the values are stored: a directory, or PostgreSQL host:port/database.
    pub fn location(&self) -> &str {
        self.inner.store.describe()
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
        let mut placeholders = self.mint_all(session, source, [(kind, value)])?;
        placeholders.pop().ok_or(VaultError::Crypto {
            what: "minting (the store returned no number)",
        })
    }

    /// [`Vault::mint`] for many `(kind, value)` pairs from one source, under one commit.
    ///
    /// A tool result with many new values costs one flush (or database commit) instead of
    /// one per value. On error nothing is returned, so no undurable placeholder ever
    /// reaches a caller.
    pub fn mint_all<'a>(
        &self,
        session: &str,
        source: &str,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<Placeholder>, VaultError> {
        self.mint_all_from(
            session,
            Origin {
                server: source,
                tool: None,
            },
            items.into_iter().map(|(k, v)| (k, v, None)),
        )
    }

    /// [`Vault::mint_all`] with full provenance: the tool the values were read from and,
    /// per `(kind, value, path)`, the field path in its result. Recorded on first mint only.
    pub fn mint_all_from<'a>(
        &self,
        session: &str,
        origin: Origin<'_>,
        items: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    ) -> Result<Vec<Placeholder>, VaultError> {
        let source = origin.server;
        validate_session(session)?;
        validate_source(source)?;
        let inner = &*self.inner;
        let sid = inner.crypto.session_id(session);
        let mut kinds = Vec::new();
        let mut batch = Vec::new();
        let tool = origin
            .tool
            .map(|t| cut(&format!("{source}/{t}"), MAX_SOURCE_TOOL_LEN));
        for (kind, value, path) in items {
            placeholder::validate_kind(kind)?;
            validate_value(value)?;
            let provenance = Provenance {
                tool: tool.clone(),
                path: path.map(|p| cut(p, MAX_SOURCE_PATH_LEN)),
            };
            let tag = inner.crypto.index_tag(session, kind, value);
            let crypto = Arc::clone(&inner.crypto);
            let (owned_session, owned_kind, owned_source, owned_value) = (
                session.to_owned(),
                kind.to_owned(),
                source.to_owned(),
                value.to_owned(),
            );
            let created = now();
            batch.push(MintItem {
                kind: kind.to_owned(),
                tag,
                seal: Box::new(move |n| {
                    let placeholder = Placeholder::new(&owned_kind, n)
                        .map_err(|_| SealFailed("building a placeholder"))?;
                    crypto.seal_record(
                        &owned_session,
                        &placeholder,
                        created,
                        &owned_source,
                        &provenance,
                        &owned_value,
                    )
                }),
            });
            kinds.push(kind);
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let numbers = inner.store.mint(&sid, batch)?;
        kinds
            .into_iter()
            .zip(numbers)
            .map(|(kind, n)| Placeholder::new(kind, n))
            .collect()
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
        let sid = inner.crypto.session_id(session);
        let Some(sealed) = inner
            .store
            .record(&sid, placeholder.kind(), placeholder.n())?
        else {
            return Ok(None);
        };
        inner.open_record(session, placeholder, &sealed).map(Some)
    }

    /// Erases a session's values and index entries on every replica; returns how many
    /// values were erased. Its counters and owner stay, so numbering never restarts.
    pub fn purge_session(&self, session: &str) -> Result<usize, VaultError> {
        validate_session(session)?;
        let sid = self.inner.crypto.session_id(session);
        let erased = self.inner.store.purge(&sid)?;
        Ok(usize::try_from(erased).unwrap_or(usize::MAX))
    }

    /// Binds `session` to `agent` if nobody owns it yet; `Ok` when `agent` owns it.
    ///
    /// First claimant wins, atomically across replicas. Another agent gets
    /// [`VaultError::UnknownSession`], exactly as for a session that does not exist.
    pub fn claim_session(&self, session: &str, agent: &str) -> Result<(), VaultError> {
        validate_session(session)?;
        validate_agent(agent)?;
        let sid = self.inner.crypto.session_id(session);
        let owner = self.inner.crypto.owner_tag(agent);
        if self.inner.store.claim(&sid, &owner)? {
            Ok(())
        } else {
            Err(VaultError::UnknownSession)
        }
    }

    /// `Ok` only if `session` exists and belongs to `agent`; never binds it.
    ///
    /// A session nobody claimed and a session another agent owns give the same
    /// [`VaultError::UnknownSession`].
    pub fn check_session_owner(&self, session: &str, agent: &str) -> Result<(), VaultError> {
        validate_session(session)?;
        validate_agent(agent)?;
        let sid = self.inner.crypto.session_id(session);
        let owner = self.inner.crypto.owner_tag(agent);
        match self.inner.store.owner(&sid)? {
            Some(stored) if stored == owner => Ok(()),
            _ => Err(VaultError::UnknownSession),
        }
    }

    /// The keyed digest of `session` to put in logs and metrics instead of the id.
    pub fn session_digest(&self, session: &str) -> String {
        self.inner.crypto.digester.digest(session)
    }

    /// Placeholders per kind and the number of sessions — never values or session ids.
    pub fn stats(&self) -> Result<Stats, VaultError> {
        let stats = self.inner.store.stats()?;
        Ok(Stats {
            sessions: stats.sessions,
            per_kind: stats.per_kind,
        })
    }
}

impl Inner {
    /// Verifies the master key against the sealed check record, writing it on first open.
    fn check_key(&self) -> Result<(), VaultError> {
        let aad = b"sluice/vault/v1/check";
        let fresh = self
            .crypto
            .seal(aad, CHECK_PLAINTEXT.to_vec())
            .map_err(|e| VaultError::Crypto { what: e.0 })?;
        let stored = self.store.key_check(fresh)?;
        match self.crypto.open(aad, &stored) {
            Some(plaintext) if plaintext == CHECK_PLAINTEXT => Ok(()),
            _ => Err(VaultError::WrongKey {
                store: self.store.describe().to_owned(),
            }),
        }
    }

    fn open_record(
        &self,
        session: &str,
        placeholder: &Placeholder,
        sealed: &[u8],
    ) -> Result<Resolved, VaultError> {
        let version = sealed.first().copied();
        let aad = match version {
            Some(SEALED_V2) => record_aad_v2(session, placeholder),
            _ => record_aad(session, placeholder),
        };
        let plaintext = self
            .crypto
            .open(&aad, sealed)
            .ok_or_else(|| VaultError::Tampered {
                store: self.store.describe().to_owned(),
                placeholder: placeholder.to_string(),
            })?;
        // A length-prefixed (u16) UTF-8 field.
        fn field(rest: &[u8]) -> Option<(&str, &[u8])> {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len));
            Some((
                std::str::from_utf8(rest.get(..len)?).ok()?,
                rest.get(len..)?,
            ))
        }
        let decoded = (|| {
            let (created, rest) = plaintext.split_first_chunk::<8>()?;
            let (source, rest) = field(rest)?;
            let (source_tool, source_path, rest) = if version == Some(SEALED_V2) {
                let (tool, rest) = field(rest)?;
                let (path, rest) = field(rest)?;
                let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
                (some(tool), some(path), rest)
            } else {
                (None, None, rest)
            };
            let value = std::str::from_utf8(rest).ok()?;
            Some(Resolved {
                value: value.to_owned(),
                kind: placeholder.kind().to_owned(),
                source: source.to_owned(),
                source_tool,
                source_path,
                created: u64::from_be_bytes(*created),
            })
        })();
        decoded.ok_or_else(|| {
            VaultError::Store(crate::store::StoreError::Corrupt {
                store: self.store.describe().to_owned(),
                what: "a sealed record has an invalid layout",
            })
        })
    }
}

impl Crypto {
    /// How a session is named in the store: a keyed hash, so ids are not stored.
    fn session_id(&self, session: &str) -> Sid {
        let tag = hmac::sign(
            &self.keys.index,
            &framed(&[b"sluice/vault/v1/session", session.as_bytes()]),
        );
        let mut sid = [0u8; SID_LEN];
        sid.copy_from_slice(&tag.as_ref()[..SID_LEN]);
        sid
    }

    /// The index tag of a (session, kind, value): a keyed hash.
    fn index_tag(&self, session: &str, kind: &str, value: &str) -> [u8; TAG_LEN] {
        let tag = hmac::sign(
            &self.keys.index,
            &framed(&[
                b"sluice/vault/v1/index",
                session.as_bytes(),
                kind.as_bytes(),
                value.as_bytes(),
            ]),
        );
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        out
    }

    /// How an owning agent is named in the store: a keyed hash.
    fn owner_tag(&self, agent: &str) -> Vec<u8> {
        hmac::sign(
            &self.keys.index,
            &framed(&[b"sluice/vault/v1/owner", agent.as_bytes()]),
        )
        .as_ref()
        .to_vec()
    }

    fn seal(&self, aad: &[u8], plaintext: Vec<u8>) -> Result<Vec<u8>, SealFailed> {
        self.seal_as(SEALED_V1, aad, plaintext)
    }

    fn seal_as(&self, version: u8, aad: &[u8], plaintext: Vec<u8>) -> Result<Vec<u8>, SealFailed> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SealFailed("drawing a nonce"))?;
        let mut in_out = plaintext;
        self.keys
            .seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| SealFailed("sealing"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(version);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// Opens a sealed blob; `None` if it is malformed or fails authentication.
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if !matches!(version, SEALED_V1 | SEALED_V2) || rest.len() < NONCE_LEN {
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
        provenance: &Provenance,
        value: &str,
    ) -> Result<Vec<u8>, SealFailed> {
        let tool = provenance.tool.as_deref().unwrap_or("");
        let path = provenance.path.as_deref().unwrap_or("");
        let mut plaintext =
            Vec::with_capacity(8 + 6 + source.len() + tool.len() + path.len() + value.len());
        plaintext.extend_from_slice(&created.to_be_bytes());
        // MAX_SOURCE_LEN, MAX_SOURCE_TOOL_LEN and MAX_SOURCE_PATH_LEN keep these in range.
        for f in [source, tool, path] {
            let len = u16::try_from(f.len()).map_err(|_| SealFailed("encoding provenance"))?;
            plaintext.extend_from_slice(&len.to_be_bytes());
            plaintext.extend_from_slice(f.as_bytes());
        }
        plaintext.extend_from_slice(value.as_bytes());
        self.seal_as(SEALED_V2, &record_aad_v2(session, placeholder), plaintext)
    }
}

/// The associated data binding a sealed value to its record's identity.
fn record_aad(session: &str, placeholder: &Placeholder) -> Vec<u8> {
    framed(&[
        b"sluice/vault/v1/record",
        session.as_bytes(),
        placeholder.to_string().as_bytes(),
    ])
}

/// The associated data of a format-2 record: it names the format, so a record cannot be
/// presented as format 1 (whose layout has no tool and path).
fn record_aad_v2(session: &str, placeholder: &Placeholder) -> Vec<u8> {
    framed(&[
        b"sluice/vault/v2/record",
        session.as_bytes(),
        placeholder.to_string().as_bytes(),
    ])
}

/// Where a batch of values was read: the server and, when known, its tool.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The backend server (or a pseudo-source such as `sandbox`).
    pub server: &'a str,
    /// The tool of that server, recorded as `server/tool`.
    pub tool: Option<&'a str>,
}

/// The tool and field path sealed with a value.
#[derive(Debug, Clone, Default)]
struct Provenance {
    tool: Option<String>,
    path: Option<String>,
}

/// `s` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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

/// Checks an agent name: 1 to [`MAX_AGENT_LEN`] bytes.
pub fn validate_agent(agent: &str) -> Result<(), VaultError> {
    if agent.is_empty() {
        return Err(VaultError::InvalidAgent {
            reason: "it is empty",
        });
    }
    if agent.len() > MAX_AGENT_LEN {
        return Err(VaultError::InvalidAgent {
            reason: "it is too long",
        });
    }
    Ok(())
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
