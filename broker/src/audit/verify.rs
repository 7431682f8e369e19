//! Reading a log back: walking and checking the whole chain, and exporting records.
//! Neither takes the writer's lock; a line still being written shows as a torn tail.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use super::chain::{self, GENESIS_PREV, LineFault};
use super::{AuditError, log_path, parse_rfc3339};
use crate::store::postgres::PgStore;
use crate::vault::MasterKey;

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The log file.
    pub path: PathBuf,
    /// Records checked and intact (all of them when there is no problem).
    pub records: u64,
    /// The first line that breaks the chain, if any.
    pub problem: Option<VerifyProblem>,
    /// The last line had no newline (a crash or a write in progress); it was not checked.
    pub torn_tail: bool,
}

impl VerifyReport {
    /// Whether every complete line is a record and the chain from the first one is intact.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first bad line of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyProblem {
    /// The line number, from 1.
    pub line: u64,
    /// The `seq` the line claims, when it parses.
    pub seq: Option<u64>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The line is not a JSON audit record.
    Unparsable {
        /// The parser's complaint.
        reason: String,
    },
    /// The record's content no longer matches its MAC (or its bytes differ from how it
    /// was written).
    Altered,
    /// The `seq` is not the one after the previous record's: records were deleted,
    /// reordered or inserted before this line.
    SeqGap {
        /// The `seq` that should be here.
        expected: u64,
    },
    /// The `prev` does not match the previous record's `mac`: the record before this
    /// one was replaced or this record comes from elsewhere.
    BrokenLink,
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        match &self.kind {
            ProblemKind::Unparsable { reason } => {
                write!(f, ": not an audit record ({reason})")
            }
            ProblemKind::Altered => write!(
                f,
                ": altered record: its MAC does not match its content (edited after it was written, or the log was written under another master key)"
            ),
            ProblemKind::SeqGap { expected } => write!(
                f,
                ": expected seq {expected}: records were deleted, reordered or inserted before this line"
            ),
            ProblemKind::BrokenLink => write!(
                f,
                ": its prev does not match the previous record's mac: a record was replaced or spliced in from elsewhere"
            ),
        }
    }
}

/// Re-walks the chain of `<data_dir>/audit.jsonl` and reports the first bad line.
///
/// A missing log is an intact log of 0 records. `Err` means the file could not be read
/// or the key derived, never that the log is bad: that is [`VerifyReport::problem`].
pub fn verify(data_dir: &Path, key: &MasterKey) -> Result<VerifyReport, AuditError> {
    let key = key.audit_key().map_err(AuditError::Key)?;
    let path = log_path(data_dir);
    let mut report = VerifyReport {
        path: path.clone(),
        records: 0,
        problem: None,
        torn_tail: false,
    };
    let Some(mut lines) = Lines::open(&path)? else {
        return Ok(report);
    };
    let mut walk = Walk::new(&key);
    while let Some((number, line)) = lines.next_line()? {
        if let Some(problem) = walk.step(number, line) {
            report.problem = Some(problem);
            break;
        }
    }
    report.records = walk.records;
    report.torn_tail = report.problem.is_none() && lines.torn;
    Ok(report)
}

/// One chain being walked: what the next record must look like.
struct Walk<'k> {
    key: &'k ring::hmac::Key,
    expected_seq: u64,
    prev: String,
    records: u64,
}

impl<'k> Walk<'k> {
    fn new(key: &'k ring::hmac::Key) -> Self {
        Self {
            key,
            expected_seq: 1,
            prev: GENESIS_PREV.to_owned(),
            records: 0,
        }
    }

    /// Checks the next line; the problem if it breaks the chain.
    fn step(&mut self, number: u64, line: &[u8]) -> Option<VerifyProblem> {
        let problem = |seq, kind| VerifyProblem {
            line: number,
            seq,
            kind,
        };
        let record = match chain::authenticate(self.key, line) {
            Ok(record) => record,
            Err(LineFault::Unparsable(reason)) => {
                return Some(problem(None, ProblemKind::Unparsable { reason }));
            }
            Err(LineFault::NotCanonical { seq } | LineFault::BadMac { seq }) => {
                return Some(problem(Some(seq), ProblemKind::Altered));
            }
        };
        if record.seq != self.expected_seq {
            let kind = ProblemKind::SeqGap {
                expected: self.expected_seq,
            };
            return Some(problem(Some(record.seq), kind));
        }
        if record.prev != self.prev {
            return Some(problem(Some(record.seq), ProblemKind::BrokenLink));
        }
        self.records += 1;
        self.expected_seq = self.expected_seq.saturating_add(1);
        self.prev = record.mac;
        None
    }
}

/// Re-walks every per-process chain in a PostgreSQL store and reports the first bad
/// record. `path` in the report names the store and, on a problem, the chain; `line`
/// counts records within that chain from 1.
pub fn verify_postgres(store: &PgStore, key: &MasterKey) -> Result<VerifyReport, AuditError> {
    let key = key.audit_key().map_err(AuditError::Key)?;
    let mut report = VerifyReport {
        path: PathBuf::from(format!("postgres://{}", store.target())),
        records: 0,
        problem: None,
        torn_tail: false,
    };
    for (chain, lines) in store.audit_chains().map_err(AuditError::Store)? {
        let mut walk = Walk::new(&key);
        for (number, line) in (1u64..).zip(&lines) {
            if let Some(problem) = walk.step(number, line.as_bytes()) {
                report.records += walk.records;
                report.path = PathBuf::from(format!("postgres://{}#{chain}", store.target()));
                report.problem = Some(problem);
                return Ok(report);
            }
        }
        report.records += walk.records;
    }
    Ok(report)
}

/// [`export`] from a PostgreSQL store: every chain's records merged by time.
pub fn export_postgres(
    store: &PgStore,
    since: Option<SystemTime>,
    session_digest: Option<&str>,
    out: &mut dyn Write,
) -> Result<u64, AuditError> {
    let since = since.map(super::format_rfc3339_millis);
    let lines = store
        .audit_export(since, session_digest.map(str::to_owned))
        .map_err(AuditError::Store)?;
    let mut written = 0u64;
    for line in lines {
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| AuditError::Io {
                action: "export",
                path: PathBuf::from(format!("postgres://{}", store.target())),
                source,
            })?;
        written += 1;
    }
    Ok(written)
}

/// Writes the records of `<data_dir>/audit.jsonl` timed at or after `since` (all when
/// `None`) and, when `session_digest` is given, of that session only, to `out`,
/// byte-for-byte as stored, one per line; returns how many.
///
/// This does not verify the chain (run [`verify`] for that) and needs no key. A torn
/// last line is skipped; any other line that is not a record is an error, since its
/// time is unknown. A missing log exports nothing.
pub fn export(
    data_dir: &Path,
    since: Option<SystemTime>,
    session_digest: Option<&str>,
    out: &mut dyn Write,
) -> Result<u64, AuditError> {
    /// The fields export reads.
    #[derive(Deserialize)]
    struct Timed<'a> {
        #[serde(borrow)]
        time: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        session: std::borrow::Cow<'a, str>,
    }

    let path = log_path(data_dir);
    let Some(mut lines) = Lines::open(&path)? else {
        return Ok(0);
    };
    let mut written = 0u64;
    while let Some((number, line)) = lines.next_line()? {
        if since.is_some() || session_digest.is_some() {
            let unparsable = |reason: String| AuditError::Unparsable {
                path: path.clone(),
                line: number,
                reason,
            };
            let timed: Timed<'_> =
                serde_json::from_slice(line).map_err(|e| unparsable(e.to_string()))?;
            if let Some(since) = since {
                let time = parse_rfc3339(&timed.time).map_err(|e| unparsable(e.to_string()))?;
                if time < since {
                    continue;
                }
            }
            if session_digest.is_some_and(|digest| digest != timed.session) {
                continue;
            }
        }
        out.write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| AuditError::Io {
                action: "export",
                path: path.clone(),
                source,
            })?;
        written += 1;
    }
    Ok(written)
}

/// Complete lines of a log, numbered from 1; an unterminated last line sets `torn`.
struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    number: u64,
    torn: bool,
}

impl Lines {
    /// `None` when the log does not exist.
    fn open(path: &Path) -> Result<Option<Lines>, AuditError> {
        match File::open(path) {
            Ok(file) => Ok(Some(Lines {
                path: path.to_path_buf(),
                reader: BufReader::with_capacity(64 * 1024, file),
                buf: Vec::new(),
                number: 0,
                torn: false,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AuditError::Io {
                action: "open",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The next complete line's number and bytes without its newline.
    fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, AuditError> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| AuditError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            })?;
        match self.buf.split_last() {
            Some((b'\n', line)) => {
                self.number += 1;
                Ok(Some((self.number, line)))
            }
            _ => {
                self.torn = read > 0;
                Ok(None)
            }
        }
    }
}
