//! The embedded store: a sled database in `<data_dir>/db`, locked to one process.
//!
//! Trees: `records` (`sid ‖ kind ‖ 0x00 ‖ n` → sealed), `index` (`sid ‖ tag` → `n`),
//! `counters` (`sid ‖ kind` → last `n`), `sessions` (`sid` → owner hash), `meta`
//! (the key check record), `workspace` (`sid ‖ agent ‖ slot` → sealed) and `skills`
//! (`owner ‖ slot ‖ version` → sealed). Numbers are big-endian `u64`.
//!
//! # Durability without a flusher thread
//!
//! sled's background flusher (every 500 ms by default) is off: every call that changes
//! something flushes itself before it returns (sled writes its log and waits for it with
//! `sync_file_range`; it `fsync`s the file when the database is closed), which is what
//! the vault promises anyway. Without the thread a one-shot CLI process exits at once instead of waiting
//! for the flusher's next tick. A mint that only reuses existing numbers flushes only if
//! some other thread's commit may still be unflushed (tracked by two counters), so a
//! one-shot command that mints nothing new pays no fsync.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{
    MintItem, OWNER_LEN, Owner, SID_LEN, Sealer, Sid, SkillVersion, Slot, StoreError, StoreStats,
    TAG_LEN, VaultStore,
};

/// The sled database's directory inside the vault directory.
const DB_DIR: &str = "db";
/// The meta-tree key of the sealed check record.
const CHECK_KEY: &[u8] = b"check";

/// The embedded sled store.
pub struct SledStore {
    path: PathBuf,
    describe: String,
    db: sled::Db,
    meta: sled::Tree,
    records: sled::Tree,
    index: sled::Tree,
    counters: sled::Tree,
    sessions: sled::Tree,
    workspace: sled::Tree,
    skills: sled::Tree,
    /// Serializes workspace puts and skill saves: a count check (or a version number) and
    /// the write it guards must not interleave with another.
    write_lock: Mutex<()>,
    /// Mints share it, a purge takes it alone: a purge must not interleave with a mint
    /// in the same session, or an index entry could outlive its record.
    purge_lock: RwLock<()>,
    /// Commits started (incremented before each write transaction).
    started: AtomicU64,
    /// Writes finished (incremented after each write): a flush covers at most this many,
    /// read before it starts. `started` counted alone let a concurrent flush claim a write
    /// it had not seen, and the mint behind that write then skipped its own flush.
    done: AtomicU64,
    /// `done` as it was before the last completed flush: every write up to it is durable.
    durable: AtomicU64,
    /// Bytes this handle's flushes wrote: 0 while it has written nothing.
    flushed: AtomicU64,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir/db`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.to_path_buf();
        let open_err = |source| StoreError::SledOpen {
            path: path.clone(),
            source,
        };
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            // Every write flushes itself (see the module doc); the thread only delays exit.
            .flush_every_ms(None)
            .open()
            .map_err(open_err)?;
        let tree = |name: &str| db.open_tree(name).map_err(open_err);
        Ok(Self {
            describe: path.display().to_string(),
            meta: tree("meta")?,
            records: tree("records")?,
            index: tree("index")?,
            counters: tree("counters")?,
            sessions: tree("sessions")?,
            workspace: tree("workspace")?,
            skills: tree("skills")?,
            write_lock: Mutex::new(()),
            purge_lock: RwLock::new(()),
            started: AtomicU64::new(0),
            done: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            db,
            path,
        })
    }

    fn storage(&self, source: sled::Error) -> StoreError {
        StoreError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: &'static str) -> StoreError {
        StoreError::Corrupt {
            store: self.describe.clone(),
            what,
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        let upto = self.done.load(Ordering::SeqCst);
        let bytes = self.db.flush().map_err(|e| self.storage(e))?;
        self.flushed
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::SeqCst);
        self.durable.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }

    /// Flushes only if a commit may be unflushed.
    fn flush_if_pending(&self) -> Result<(), StoreError> {
        if self.durable.load(Ordering::SeqCst) < self.started.load(Ordering::SeqCst) {
            self.flush()?;
        }
        Ok(())
    }

    fn decode_n(&self, bytes: &[u8]) -> Result<u64, StoreError> {
        <[u8; 8]>::try_from(bytes)
            .map(u64::from_be_bytes)
            .map_err(|_| self.corrupt("a stored placeholder number is not 8 bytes"))
    }

    fn transaction_result<T>(
        &self,
        result: Result<T, TransactionError<StoreError>>,
    ) -> Result<T, StoreError> {
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.storage(e),
        })
    }

    fn mint_one(&self, sid: &Sid, item: &MintItem) -> Result<u64, StoreError> {
        let index_key = [&sid[..], &item.tag[..]].concat();
        if let Some(n) = self.index.get(&index_key).map_err(|e| self.storage(e))? {
            return self.decode_n(&n);
        }
        let counter_key = [&sid[..], item.kind.as_bytes()].concat();
        self.started.fetch_add(1, Ordering::SeqCst);
        let result = (&self.records, &self.index, &self.counters).transaction(
            |(records, index, counters)| {
                let abort = ConflictableTransactionError::Abort;
                if let Some(n) = index.get(&index_key)? {
                    return self.decode_n(&n).map_err(abort);
                }
                let last = match counters.get(&counter_key)? {
                    Some(bytes) => self.decode_n(&bytes).map_err(abort)?,
                    None => 0,
                };
                let n = last.checked_add(1).ok_or_else(|| {
                    abort(StoreError::CounterExhausted {
                        kind: item.kind.clone(),
                    })
                })?;
                let sealed = (item.seal)(n).map_err(|e| abort(e.into()))?;
                counters.insert(&counter_key[..], &n.to_be_bytes()[..])?;
                records.insert(record_key(sid, &item.kind, n), sealed)?;
                index.insert(&index_key[..], &n.to_be_bytes()[..])?;
                Ok(n)
            },
        );
        self.done.fetch_add(1, Ordering::SeqCst);
        self.transaction_result(result)
    }
}

impl VaultStore for SledStore {
    fn describe(&self) -> &str {
        &self.describe
    }

    fn untouched(&self) -> bool {
        // Every write flushes itself, so the bytes those flushes wrote say whether this
        // handle wrote anything; a last flush that still finds bytes means it did.
        self.flushed.load(Ordering::SeqCst) == 0 && matches!(self.db.flush(), Ok(0))
    }

    fn mint(&self, sid: &Sid, items: Vec<MintItem>) -> Result<Vec<u64>, StoreError> {
        let numbers = {
            let _shared = self
                .purge_lock
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            items
                .iter()
                .map(|item| self.mint_one(sid, item))
                .collect::<Result<Vec<_>, _>>()?
        };
        // Also when every number existed: a concurrent mint may have committed one of
        // them and not flushed yet.
        self.flush_if_pending()?;
        Ok(numbers)
    }

    fn record(&self, sid: &Sid, kind: &str, n: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .records
            .get(record_key(sid, kind, n))
            .map_err(|e| self.storage(e))?
            .map(|v| v.to_vec()))
    }

    fn purge(&self, sid: &Sid) -> Result<u64, StoreError> {
        let _exclusive = self
            .purge_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let keys_of = |tree: &sled::Tree| -> Result<Vec<sled::IVec>, StoreError> {
            tree.scan_prefix(sid)
                .keys()
                .collect::<Result<_, _>>()
                .map_err(|e| self.storage(e))
        };
        let (records, index) = (keys_of(&self.records)?, keys_of(&self.index)?);
        let workspace = keys_of(&self.workspace)?;
        if records.is_empty() && index.is_empty() && workspace.is_empty() {
            return Ok(0);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        let result = (&self.records, &self.index, &self.workspace).transaction(
            |(record_tree, index_tree, workspace_tree)| {
                for key in &records {
                    record_tree.remove(key)?;
                }
                for key in &index {
                    index_tree.remove(key)?;
                }
                for key in &workspace {
                    workspace_tree.remove(key)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            },
        );
        self.done.fetch_add(1, Ordering::SeqCst);
        self.transaction_result(result)?;
        self.flush()?;
        Ok(records.len() as u64)
    }

    fn claim(&self, sid: &Sid, owner: &[u8]) -> Result<bool, StoreError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let swapped = self
            .sessions
            .compare_and_swap(sid, None::<&[u8]>, Some(owner))
            .map_err(|e| self.storage(e));
        self.done.fetch_add(1, Ordering::SeqCst);
        let swapped = swapped?;
        match swapped {
            Ok(()) => {
                self.flush()?;
                Ok(true)
            }
            Err(current) => {
                self.flush_if_pending()?;
                Ok(current.current.as_deref() == Some(owner))
            }
        }
    }

    fn owner(&self, sid: &Sid) -> Result<Option<Vec<u8>>, StoreError> {
        let owner = self.sessions.get(sid).map_err(|e| self.storage(e))?;
        if owner.is_some() {
            self.flush_if_pending()?;
        }
        Ok(owner.map(|v| v.to_vec()))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut stats = StoreStats::default();
        let mut last_sid: Option<Vec<u8>> = None;
        for key in self.records.iter().keys() {
            let key = key.map_err(|e| self.storage(e))?;
            let kind = key
                .len()
                .checked_sub(9)
                .filter(|&end| end > SID_LEN)
                .and_then(|end| std::str::from_utf8(&key[SID_LEN..end]).ok())
                .ok_or_else(|| self.corrupt("a record key has an invalid layout"))?;
            *stats.per_kind.entry(kind.to_owned()).or_default() += 1;
            if last_sid.as_deref() != Some(&key[..SID_LEN]) {
                stats.sessions += 1;
                last_sid = Some(key[..SID_LEN].to_vec());
            }
        }
        Ok(stats)
    }

    fn workspace_put(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
        sealed: Vec<u8>,
        max_entries: usize,
    ) -> Result<bool, StoreError> {
        self.ws_put(sid, agent, slot, sealed, max_entries)
    }

    fn workspace_get(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .workspace
            .get(Self::workspace_key(sid, agent, slot))
            .map_err(|e| self.storage(e))?
            .map(|v| v.to_vec()))
    }

    fn workspace_entries(
        &self,
        sid: &Sid,
        agent: &Owner,
    ) -> Result<Vec<(Slot, Vec<u8>)>, StoreError> {
        let scope = [&sid[..], &agent[..]].concat();
        self.workspace
            .scan_prefix(&scope)
            .map(|entry| {
                let (key, sealed) = entry.map_err(|e| self.storage(e))?;
                let slot: Slot = key
                    .get(scope.len()..)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| self.corrupt("a workspace key has an invalid layout"))?;
                Ok((slot, sealed.to_vec()))
            })
            .collect()
    }

    fn workspace_delete(&self, sid: &Sid, agent: &Owner, slot: &Slot) -> Result<bool, StoreError> {
        self.ws_delete(sid, agent, slot)
    }

    fn skill_save(
        &self,
        owner: &Owner,
        slot: &Slot,
        seal: Sealer,
        max_skills: usize,
    ) -> Result<Option<u64>, StoreError> {
        self.save_skill(owner, slot, seal, max_skills)
    }

    fn skills(&self, owner: &Owner) -> Result<Vec<SkillVersion>, StoreError> {
        self.latest_skills(owner)
    }

    fn skill_delete(&self, owner: &Owner, slot: &Slot) -> Result<u64, StoreError> {
        self.delete_skill(owner, slot)
    }

    fn key_check(&self, fresh: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        if let Some(stored) = self.meta.get(CHECK_KEY).map_err(|e| self.storage(e))? {
            return Ok(stored.to_vec());
        }
        if !self.records.is_empty() || !self.counters.is_empty() {
            return Err(self.corrupt("records exist but the key check record is missing"));
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        let inserted = self
            .meta
            .compare_and_swap(CHECK_KEY, None::<&[u8]>, Some(fresh.as_slice()))
            .map_err(|e| self.storage(e));
        self.done.fetch_add(1, Ordering::SeqCst);
        let inserted = inserted?;
        self.flush()?;
        match inserted {
            Ok(()) => Ok(fresh),
            // Lost a race with another opener in this process: theirs counts.
            Err(current) => current
                .current
                .map(|v| v.to_vec())
                .ok_or_else(|| self.corrupt("the key check record vanished")),
        }
    }
}

impl SledStore {
    /// Runs one write under the write lock, counted for [`SledStore::flush`], then flushes.
    fn write<T>(&self, op: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let result = op();
        self.done.fetch_add(1, Ordering::SeqCst);
        let value = result?;
        self.flush()?;
        Ok(value)
    }

    fn decode_version(&self, key: &[u8]) -> Result<u64, StoreError> {
        key.get(OWNER_LEN + TAG_LEN..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| self.corrupt("a skill key has an invalid layout"))
    }

    fn workspace_key(sid: &Sid, agent: &Owner, slot: &Slot) -> Vec<u8> {
        [&sid[..], &agent[..], &slot[..]].concat()
    }
}

impl SledStore {
    fn ws_put(
        &self,
        sid: &Sid,
        agent: &Owner,
        slot: &Slot,
        sealed: Vec<u8>,
        max_entries: usize,
    ) -> Result<bool, StoreError> {
        let _shared = self
            .purge_lock
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let _write = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = Self::workspace_key(sid, agent, slot);
        let exists = self
            .workspace
            .contains_key(&key)
            .map_err(|e| self.storage(e))?;
        if !exists {
            let scope = [&sid[..], &agent[..]].concat();
            let mut held = 0usize;
            for entry in self.workspace.scan_prefix(&scope).keys() {
                entry.map_err(|e| self.storage(e))?;
                held += 1;
                if held >= max_entries {
                    return Ok(false);
                }
            }
        }
        self.write(|| {
            self.workspace
                .insert(key, sealed)
                .map(|_| true)
                .map_err(|e| self.storage(e))
        })
    }

    fn ws_delete(&self, sid: &Sid, agent: &Owner, slot: &Slot) -> Result<bool, StoreError> {
        let _write = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = Self::workspace_key(sid, agent, slot);
        self.write(|| {
            self.workspace
                .remove(key)
                .map(|old| old.is_some())
                .map_err(|e| self.storage(e))
        })
    }

    fn save_skill(
        &self,
        owner: &Owner,
        slot: &Slot,
        seal: Sealer,
        max_skills: usize,
    ) -> Result<Option<u64>, StoreError> {
        let _write = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Under the write lock, so the count cannot change before the insert.
        let mut slots = std::collections::BTreeSet::new();
        for key in self.skills.scan_prefix(owner).keys() {
            let key = key.map_err(|e| self.storage(e))?;
            if let Some(other) = key.get(OWNER_LEN..OWNER_LEN + TAG_LEN) {
                slots.insert(other.to_vec());
            }
        }
        if !slots.contains(&slot[..]) && slots.len() >= max_skills {
            return Ok(None);
        }
        let prefix = [&owner[..], &slot[..]].concat();
        let last = match self
            .skills
            .scan_prefix(&prefix)
            .keys()
            .next_back()
            .transpose()
            .map_err(|e| self.storage(e))?
        {
            Some(key) => self.decode_version(&key)?,
            None => 0,
        };
        let version = last.checked_add(1).ok_or(StoreError::CounterExhausted {
            kind: "skill version".into(),
        })?;
        let sealed = seal(version)?;
        let key = [&prefix[..], &version.to_be_bytes()[..]].concat();
        self.write(|| {
            self.skills
                .insert(key, sealed)
                .map(|_| Some(version))
                .map_err(|e| self.storage(e))
        })
    }

    fn latest_skills(&self, owner: &Owner) -> Result<Vec<SkillVersion>, StoreError> {
        let mut out: Vec<SkillVersion> = Vec::new();
        for entry in self.skills.scan_prefix(owner) {
            let (key, sealed) = entry.map_err(|e| self.storage(e))?;
            let slot: Slot = key
                .get(OWNER_LEN..OWNER_LEN + TAG_LEN)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| self.corrupt("a skill key has an invalid layout"))?;
            let version = self.decode_version(&key)?;
            let skill = SkillVersion {
                slot,
                version,
                sealed: sealed.to_vec(),
            };
            // Keys sort by slot, then version: the last of a run is the newest.
            match out.last_mut() {
                Some(last) if last.slot == slot => *last = skill,
                _ => out.push(skill),
            }
        }
        Ok(out)
    }

    fn delete_skill(&self, owner: &Owner, slot: &Slot) -> Result<u64, StoreError> {
        let _write = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let prefix = [&owner[..], &slot[..]].concat();
        let keys: Vec<sled::IVec> = self
            .skills
            .scan_prefix(&prefix)
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| self.storage(e))?;
        if keys.is_empty() {
            return Ok(0);
        }
        self.write(|| {
            for key in &keys {
                self.skills.remove(key).map_err(|e| self.storage(e))?;
            }
            Ok(keys.len() as u64)
        })
    }
}

/// The records-tree key of a placeholder in a session.
fn record_key(sid: &Sid, kind: &str, n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(SID_LEN + kind.len() + 9);
    key.extend_from_slice(sid);
    key.extend_from_slice(kind.as_bytes());
    key.push(0);
    key.extend_from_slice(&n.to_be_bytes());
    key
}
