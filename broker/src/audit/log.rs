//! The writer: the chain state after the last record, and where lines go — one open,
//! locked, append-only `audit.jsonl`, or this process's own chain in PostgreSQL.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use ring::hmac;

use super::chain::{self, GENESIS_PREV, LineFault};
use super::{AuditError, AuditRecord, format_rfc3339_millis, log_path};
use crate::store::postgres::PgStore;
use crate::vault::{MasterKey, Placeholder, SessionDigester};

/// Bytes read per step when searching backwards for the last line.
const TAIL_CHUNK: u64 = 8192;

/// An open audit log. Share it by reference or `Arc`; [`AuditLog::append`] takes `&self`.
///
/// The file is locked (advisory, exclusive) while open, so two writers never interleave
/// chains. Dropping the log syncs it to disk.
pub struct AuditLog {
    path: PathBuf,
    key: hmac::Key,
    digester: SessionDigester,
    chain: Mutex<Chain>,
    torn_bytes: u64,
}

/// Where lines go.
enum Sink {
    /// The data dir's `audit.jsonl`.
    File(File),
    /// A chain of its own in a shared database (see [`AuditLog::open_postgres`]).
    Postgres { store: Arc<PgStore>, chain: String },
}

/// Everything `append` changes, behind one lock.
struct Chain {
    sink: Sink,
    /// The `seq` the next record gets.
    next_seq: u64,
    /// The last record's `mac`.
    prev: String,
    /// The file's length after the last complete record.
    len: u64,
    /// `len` at the last successful sync: nothing to sync while they are equal, so a
    /// process that audited nothing (a one-shot `exec` with no call) pays no fsync.
    synced: u64,
    /// How many times the file was synced (for the tests of the rule above).
    syncs: u64,
}

impl AuditLog {
    /// Opens (creating, mode 0600) `<data_dir>/audit.jsonl` and continues its chain.
    ///
    /// A torn last line (a crash mid-append) is cut off and reported by
    /// [`AuditLog::torn_bytes`] and a warning; the last complete record must parse and
    /// authenticate, otherwise the log is refused ([`AuditError::CorruptTail`],
    /// [`AuditError::TailMismatch`]) rather than extended from a broken link.
    pub fn open(data_dir: &Path, master: &MasterKey) -> Result<AuditLog, AuditError> {
        let key = master.audit_key().map_err(AuditError::Key)?;
        let path = log_path(data_dir);
        let io_err = |action| {
            let path = path.clone();
            move |source| AuditError::Io {
                action,
                path,
                source,
            }
        };
        fs::create_dir_all(data_dir).map_err(io_err("create the directory of"))?;
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io_err("open"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(AuditError::Busy { path: path.clone() });
            }
            Err(fs::TryLockError::Error(source)) => return Err(io_err("lock")(source)),
        }

        let mut len = file.metadata().map_err(io_err("read"))?.len();
        let torn_bytes = match last_byte(&mut file, len).map_err(io_err("read"))? {
            Some(b'\n') | None => 0,
            Some(_) => {
                let keep = match rfind_newline(&mut file, len).map_err(io_err("read"))? {
                    Some(newline) => newline + 1,
                    None => 0,
                };
                file.set_len(keep)
                    .map_err(io_err("truncate the torn last line of"))?;
                file.sync_data().map_err(io_err("sync"))?;
                tracing::warn!(
                    path = %path.display(),
                    bytes = len - keep,
                    "audit log ended in a torn line (a crash during append); cut it off"
                );
                let torn = len - keep;
                len = keep;
                torn
            }
        };

        let (next_seq, prev) = if len == 0 {
            (1, GENESIS_PREV.to_owned())
        } else {
            let line = last_line(&mut file, len).map_err(io_err("read"))?;
            let last = chain::authenticate(&key, &line).map_err(|fault| match fault {
                LineFault::Unparsable(reason) => AuditError::CorruptTail {
                    path: path.clone(),
                    reason,
                },
                LineFault::NotCanonical { .. } => AuditError::CorruptTail {
                    path: path.clone(),
                    reason: "it is not byte-for-byte a record as Sluice writes it".into(),
                },
                LineFault::BadMac { .. } => AuditError::TailMismatch { path: path.clone() },
            })?;
            let next = last.seq.checked_add(1).ok_or(AuditError::CorruptTail {
                path: path.clone(),
                reason: "its sequence number is the largest possible".into(),
            })?;
            (next, last.mac)
        };

        Ok(AuditLog {
            path,
            digester: master.session_digester().map_err(AuditError::Key)?,
            key,
            chain: Mutex::new(Chain {
                sink: Sink::File(file),
                next_seq,
                prev,
                len,
                synced: len,
                syncs: 0,
            }),
            torn_bytes,
        })
    }

    /// Appends `record`, setting its `seq`, `time`, `prev` and `mac`.
    ///
    /// The line reaches the operating system in one `write` before this returns, so it
    /// survives the process being killed, but it is not fsynced: a per-record fsync
    /// costs far more than the broker's per-call budget (about 20 µs). Call
    /// [`AuditLog::sync`] where power-loss durability matters; drop syncs too. If the
    /// write fails part-way, the partial line is cut off again so the chain stays whole.
    pub fn append(&self, mut record: AuditRecord) -> Result<(), AuditError> {
        for entry in &record.placeholders {
            if Placeholder::parse(&entry.placeholder).is_err() {
                return Err(AuditError::InvalidRecord {
                    reason: "a placeholder entry does not hold a placeholder such as [EMAIL_1]",
                });
            }
        }
        if !record.session.is_empty() {
            record.session = self.digester.digest(&record.session);
        }
        let mut chain = self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        record.seq = chain.next_seq;
        record.time = format_rfc3339_millis(SystemTime::now());
        record.prev.clone_from(&chain.prev);
        record.mac.clear();
        let body = chain::body(&record).map_err(AuditError::Encode)?;
        let mac = chain::mac(&self.key, &record.prev, &body);
        let mut line = chain::signed(&body, &mac).ok_or(AuditError::InvalidRecord {
            reason: "it did not encode as a JSON object",
        })?;
        let len = chain.len;
        match &mut chain.sink {
            Sink::File(file) => {
                line.push(b'\n');
                if let Err(source) = file.write_all(&line) {
                    // Best effort: without it the next record would follow a torn line.
                    let _ = file.set_len(len);
                    return Err(AuditError::Io {
                        action: "append to",
                        path: self.path.clone(),
                        source,
                    });
                }
            }
            Sink::Postgres { store, chain: id } => {
                let text =
                    String::from_utf8(line.clone()).map_err(|_| AuditError::InvalidRecord {
                        reason: "it did not encode as UTF-8",
                    })?;
                store
                    .audit_append(id, record.seq, &record.time, &record.session, text)
                    .map_err(AuditError::Store)?;
            }
        }
        chain.len += line.len() as u64;
        chain.next_seq += 1;
        chain.prev = mac;
        Ok(())
    }

    /// Flushes every appended record to stable storage (fsync).
    pub fn sync(&self) -> Result<(), AuditError> {
        let mut chain = self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        let chain = &mut *chain;
        match &chain.sink {
            Sink::File(_) if chain.synced == chain.len => Ok(()),
            Sink::File(file) => {
                file.sync_data().map_err(|source| AuditError::Io {
                    action: "sync",
                    path: self.path.clone(),
                    source,
                })?;
                chain.synced = chain.len;
                chain.syncs += 1;
                Ok(())
            }
            // Each append is its own commit; the database's settings decide the rest.
            Sink::Postgres { .. } => Ok(()),
        }
    }

    /// Starts this process's own chain in a shared PostgreSQL store.
    ///
    /// Replicas append concurrently, so each process writes its own chain (a fresh random
    /// id, `seq` from 1) instead of contending for one tail: an append is one `INSERT`
    /// with no cross-replica lock, and a chain is exactly as tamper-evident as
    /// `audit.jsonl`. [`super::verify_postgres`] walks every chain.
    pub fn open_postgres(store: Arc<PgStore>, master: &MasterKey) -> Result<AuditLog, AuditError> {
        let key = master.audit_key().map_err(AuditError::Key)?;
        let chain = store.audit_new_chain().map_err(AuditError::Store)?;
        Ok(AuditLog {
            path: PathBuf::from(format!("postgres://{}#{chain}", store.target())),
            digester: master.session_digester().map_err(AuditError::Key)?,
            key,
            chain: Mutex::new(Chain {
                sink: Sink::Postgres { store, chain },
                next_seq: 1,
                prev: GENESIS_PREV.to_owned(),
                len: 0,
                synced: 0,
                syncs: 0,
            }),
            torn_bytes: 0,
        })
    }

    /// The log file's path (for PostgreSQL: `postgres://host:port/db#chain`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times [`AuditLog::sync`] reached the disk (a sync with nothing new is free).
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.chain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .syncs
    }

    /// How many bytes of a torn last line [`AuditLog::open`] cut off (0 if none).
    pub fn torn_bytes(&self) -> u64 {
        self.torn_bytes
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::warn!("{e}");
        }
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn last_byte(file: &mut File, len: u64) -> io::Result<Option<u8>> {
    if len == 0 {
        return Ok(None);
    }
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut byte)?;
    Ok(Some(byte[0]))
}

/// The offset of the last `\n` before `end`, searching backwards in chunks.
fn rfind_newline(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; TAIL_CHUNK as usize];
    let mut end = end;
    while end > 0 {
        let start = end.saturating_sub(TAIL_CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + at as u64));
        }
        end = start;
    }
    Ok(None)
}

/// The last line of a non-empty file that ends in `\n`, without that newline.
fn last_line(file: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let end = len - 1;
    let start = rfind_newline(file, end)?.map_or(0, |newline| newline + 1);
    let mut line = vec![0u8; (end - start) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut line)?;
    Ok(line)
}
