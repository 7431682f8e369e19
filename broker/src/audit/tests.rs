use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::vault::{MasterKey, Placeholder};

fn key() -> MasterKey {
    MasterKey::from_bytes([7; 32])
}

fn record(i: usize) -> AuditRecord {
    let placeholder = Placeholder::new("EMAIL", i as u64 + 1).expect("placeholder");
    AuditRecord::new(AuditEvent::Flow, Decision::Allow)
        .session(format!("s{i}"))
        .agent("agent-1")
        .tool("crm", "updateLead")
        .policy_ids(["crm-may-receive-emails"])
        .placeholder(AuditPlaceholder::new(&placeholder, "sheets"))
        .policy_set_hash("ab".repeat(32))
        .detail("permitted")
}

/// A log of `n` records in `dir`, closed again.
fn write_log(dir: &Path, n: usize) {
    let log = AuditLog::open(dir, &key()).expect("open");
    for i in 0..n {
        log.append(record(i)).expect("append");
    }
}

fn lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(log_path(dir))
        .expect("read log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(log_path(dir), text).expect("write log");
}

fn problem(dir: &Path) -> VerifyProblem {
    let report = verify(dir, &key()).expect("verify");
    report.problem.expect("a problem is reported")
}

#[test]
fn append_then_verify_round_trips_and_chains_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 5);
    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 5);
    assert!(!report.torn_tail);

    let records: Vec<AuditRecord> = lines(dir.path())
        .iter()
        .map(|line| serde_json::from_str(line).expect("record"))
        .collect();
    let mut prev = GENESIS_PREV.to_owned();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.seq, i as u64 + 1);
        assert_eq!(record.prev, prev);
        assert_eq!(record.mac.len(), 64);
        assert!(parse_rfc3339(&record.time).is_ok(), "{}", record.time);
        // Session ids are capabilities: only their keyed digest is written.
        let digest = key()
            .session_digester()
            .expect("digester")
            .digest(&format!("s{i}"));
        assert_eq!(record.session, digest);
        assert!(record.session.starts_with("sd-") && record.session.len() == 35);
        assert_eq!(record.tool, "crm/updateLead");
        prev.clone_from(&record.mac);
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(log_path(dir.path()))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 2);
    write_log(dir.path(), 3);
    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 5);
}

#[test]
fn a_missing_log_verifies_as_empty_and_exports_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact());
    assert_eq!(report.records, 0);
    let mut out = Vec::new();
    assert_eq!(export(dir.path(), None, None, &mut out).expect("export"), 0);
    assert!(out.is_empty());
}

#[test]
fn altering_any_byte_of_a_record_is_detected_at_that_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 5);
    let original = lines(dir.path());
    let target = 2; // line 3
    for at in 0..original[target].len() {
        let mut edited = original.clone();
        let mut bytes = edited[target].clone().into_bytes();
        bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
        edited[target] = String::from_utf8(bytes).expect("ascii line");
        write_lines(dir.path(), &edited);
        let problem = problem(dir.path());
        assert_eq!(problem.line, 3, "byte {at}: {problem}");
    }
}

#[test]
fn changing_a_decision_is_reported_as_an_altered_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 3);
    let mut edited = lines(dir.path());
    edited[1] = edited[1].replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    write_lines(dir.path(), &edited);
    let problem = problem(dir.path());
    assert_eq!(problem.line, 2);
    assert_eq!(problem.seq, Some(2));
    assert_eq!(problem.kind, ProblemKind::Altered);
    assert!(
        problem
            .to_string()
            .starts_with("line 2 (seq 2): altered record")
    );
}

#[test]
fn deleting_a_middle_record_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 5);
    let mut edited = lines(dir.path());
    edited.remove(2);
    write_lines(dir.path(), &edited);
    let problem = problem(dir.path());
    assert_eq!(problem.line, 3);
    assert_eq!(problem.seq, Some(4));
    assert_eq!(problem.kind, ProblemKind::SeqGap { expected: 3 });
}

#[test]
fn deleting_the_first_record_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 3);
    let mut edited = lines(dir.path());
    edited.remove(0);
    write_lines(dir.path(), &edited);
    let problem = problem(dir.path());
    assert_eq!(problem.line, 1);
    assert_eq!(problem.kind, ProblemKind::SeqGap { expected: 1 });
}

#[test]
fn reordering_records_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 5);
    let mut edited = lines(dir.path());
    edited.swap(1, 2);
    write_lines(dir.path(), &edited);
    let problem = problem(dir.path());
    assert_eq!(problem.line, 2);
    assert_eq!(problem.seq, Some(3));
    assert_eq!(problem.kind, ProblemKind::SeqGap { expected: 2 });
}

#[test]
fn a_record_spliced_in_from_another_log_breaks_the_link() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    write_log(a.path(), 3);
    // Log b differs from its first record on (a different session), so its second record
    // chains to a MAC that log a never had, even when both were written in the same ms.
    {
        let log = AuditLog::open(b.path(), &key()).expect("open");
        log.append(record(0).session("another-session"))
            .expect("append");
        log.append(record(1)).expect("append");
        log.append(record(2)).expect("append");
    }
    let mut edited = lines(a.path());
    edited[1] = lines(b.path())[1].clone();
    write_lines(a.path(), &edited);
    let problem = problem(a.path());
    assert_eq!(problem.line, 2);
    assert_eq!(problem.kind, ProblemKind::BrokenLink);
}

#[test]
fn an_unparsable_line_is_reported_with_its_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 3);
    let mut edited = lines(dir.path());
    edited.insert(1, "not json".into());
    write_lines(dir.path(), &edited);
    let problem = problem(dir.path());
    assert_eq!(problem.line, 2);
    assert_eq!(problem.seq, None);
    assert!(matches!(problem.kind, ProblemKind::Unparsable { .. }));
}

#[test]
fn a_different_master_key_fails_at_the_first_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 2);
    let other = MasterKey::from_bytes([8; 32]);
    let report = verify(dir.path(), &other).expect("verify");
    let problem = report.problem.expect("problem");
    assert_eq!((problem.line, problem.kind), (1, ProblemKind::Altered));
    assert!(matches!(
        AuditLog::open(dir.path(), &other),
        Err(AuditError::TailMismatch { .. })
    ));
}

#[test]
fn a_torn_last_line_is_cut_on_reopen_and_the_chain_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 3);
    let torn = b"{\"seq\":4,\"time\":\"2026-11-";
    let mut bytes = fs::read(log_path(dir.path())).expect("read");
    bytes.extend_from_slice(torn);
    fs::write(log_path(dir.path()), &bytes).expect("write");

    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 3);
    assert!(report.torn_tail);

    let log = AuditLog::open(dir.path(), &key()).expect("reopen");
    assert_eq!(log.torn_bytes(), torn.len() as u64);
    log.append(record(3)).expect("append");
    log.append(record(4)).expect("append");
    drop(log);

    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 5);
    assert!(!report.torn_tail);
}

#[test]
fn a_log_that_is_only_a_torn_line_starts_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(log_path(dir.path()), b"{\"seq\":1,").expect("write");
    let log = AuditLog::open(dir.path(), &key()).expect("open");
    assert_eq!(log.torn_bytes(), 9);
    log.append(record(0)).expect("append");
    drop(log);
    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 1);
}

#[test]
fn open_refuses_to_extend_an_altered_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 2);
    let mut edited = lines(dir.path());
    let digest = key().session_digester().expect("digester").digest("s1");
    edited[1] = edited[1].replace(&digest, "sd-00000000000000000000000000000000");
    assert_ne!(
        edited[1],
        lines(dir.path())[1],
        "the edit must change the record"
    );
    write_lines(dir.path(), &edited);
    assert!(matches!(
        AuditLog::open(dir.path(), &key()),
        Err(AuditError::TailMismatch { .. })
    ));

    edited[1] = "garbage".into();
    write_lines(dir.path(), &edited);
    assert!(matches!(
        AuditLog::open(dir.path(), &key()),
        Err(AuditError::CorruptTail { .. })
    ));
}

#[test]
fn a_second_writer_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = AuditLog::open(dir.path(), &key()).expect("open");
    assert!(matches!(
        AuditLog::open(dir.path(), &key()),
        Err(AuditError::Busy { .. })
    ));
    drop(first);
    AuditLog::open(dir.path(), &key()).expect("open after the first closed");
}

#[test]
fn concurrent_appends_form_one_intact_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(AuditLog::open(dir.path(), &key()).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..50 {
                    log.append(record(t * 100 + i)).expect("append");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    log.sync().expect("sync");
    drop(log);
    let report = verify(dir.path(), &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 200);
}

#[test]
fn a_sync_with_nothing_new_appended_does_not_reach_the_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), &key()).expect("open");
    log.sync().expect("sync");
    assert_eq!(log.syncs(), 0, "nothing appended: no fsync");
    log.append(record(1)).expect("append");
    log.sync().expect("sync");
    assert_eq!(log.syncs(), 1, "an append is synced");
    log.sync().expect("sync");
    assert_eq!(log.syncs(), 1, "and only once");
    drop(log);
    // Reopened, the records already on disk are not synced again by a log that adds none.
    let log = AuditLog::open(dir.path(), &key()).expect("reopen");
    log.sync().expect("sync");
    assert_eq!(log.syncs(), 0);
    log.append(record(2)).expect("append");
    log.sync().expect("sync");
    assert_eq!(log.syncs(), 1);
}

#[test]
fn records_hold_placeholder_ids_and_never_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), &key()).expect("open");

    // The only way to name a placeholder is by id, kind and source.
    let entry = AuditPlaceholder::new(&Placeholder::parse("[EMAIL_1]").expect("parse"), "crm");
    let json = serde_json::to_value(&entry).expect("json");
    let fields: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["placeholder", "kind", "source"]);
    assert!(
        serde_json::from_str::<AuditPlaceholder>(
            r#"{"placeholder":"[EMAIL_1]","kind":"EMAIL","source":"crm","value":"ada@example.org"}"#
        )
        .is_err()
    );

    // A value smuggled into the placeholder slot is refused, not written.
    let smuggled =
        AuditRecord::new(AuditEvent::Flow, Decision::Deny).placeholder(AuditPlaceholder {
            placeholder: "ada@example.org".into(),
            kind: "EMAIL".into(),
            source: "crm".into(),
        });
    assert!(matches!(
        log.append(smuggled),
        Err(AuditError::InvalidRecord { .. })
    ));
    log.append(AuditRecord::new(AuditEvent::Flow, Decision::Allow).placeholder(entry))
        .expect("append");
    drop(log);

    let text = fs::read_to_string(log_path(dir.path())).expect("read");
    assert!(!text.contains("ada@example.org"));
    assert!(text.contains("[EMAIL_1]"));
    assert_eq!(verify(dir.path(), &key()).expect("verify").records, 1);
}

#[test]
fn detail_is_cut_at_a_character_boundary() {
    let long = "é".repeat(MAX_DETAIL_LEN);
    let record = AuditRecord::new(AuditEvent::Call, Decision::Error).detail(long);
    let detail = record.detail.expect("detail");
    assert!(detail.len() <= MAX_DETAIL_LEN);
    assert!(detail.chars().all(|c| c == 'é'));
}

#[test]
fn export_writes_stored_lines_at_or_after_since() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), &key()).expect("open");
    for i in 0..3 {
        log.append(record(i)).expect("append");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(log);
    let stored = lines(dir.path());

    let mut all = Vec::new();
    assert_eq!(export(dir.path(), None, None, &mut all).expect("export"), 3);
    assert_eq!(
        all,
        fs::read(log_path(dir.path())).expect("read"),
        "verbatim"
    );

    let second: AuditRecord = serde_json::from_str(&stored[1]).expect("record");
    let since = parse_rfc3339(&second.time).expect("time");
    let mut recent = Vec::new();
    assert_eq!(
        export(dir.path(), Some(since), None, &mut recent).expect("export"),
        2
    );
    assert_eq!(
        String::from_utf8(recent).expect("utf8"),
        format!("{}\n{}\n", stored[1], stored[2])
    );

    let future = SystemTime::now() + Duration::from_secs(3600);
    let mut none = Vec::new();
    assert_eq!(
        export(dir.path(), Some(future), None, &mut none).expect("export"),
        0
    );
    assert!(none.is_empty());
}

#[test]
fn the_log_never_contains_the_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path(), 3);
    let text = fs::read_to_string(log_path(dir.path())).expect("read");
    let hex: String = [7u8; 32].iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&hex));
    assert!(!format!("{:?}", AuditLog::open(dir.path(), &key())).contains(&hex));
}

#[test]
fn session_ids_never_reach_the_log_and_export_filters_by_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), &key()).expect("open");
    let secret = "s-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";
    log.append(record(0).session(secret)).expect("append");
    log.append(record(1).session("other-session"))
        .expect("append");
    drop(log);
    let text = fs::read_to_string(log_path(dir.path())).expect("read");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains("other-session"), "{text}");
    let digest = key().session_digester().expect("digester").digest(secret);
    let mut out = Vec::new();
    assert_eq!(
        export(dir.path(), None, Some(&digest), &mut out).expect("export"),
        1
    );
    assert!(String::from_utf8(out).expect("utf8").contains(&digest));
    // Another master key gives another digest: the digest is keyed.
    let other = MasterKey::from_bytes([8; 32])
        .session_digester()
        .expect("digester");
    assert_ne!(other.digest(secret), digest);
}

#[test]
fn postgres_chains_of_concurrent_writers_verify_and_detect_edits() {
    let Some(url) = crate::store::testing::pg_url(
        "postgres_chains_of_concurrent_writers_verify_and_detect_edits",
    ) else {
        return;
    };
    let url = crate::store::testing::fresh_schema(&url);
    let connect = || {
        Arc::new(
            crate::store::postgres::PgStore::connect(&url, crate::store::testing::options())
                .expect("connect"),
        )
    };
    // Two "replicas" write interleaved, each its own chain.
    let (a, b) = (
        AuditLog::open_postgres(connect(), &key()).expect("open a"),
        AuditLog::open_postgres(connect(), &key()).expect("open b"),
    );
    for i in 0..4 {
        a.append(record(i)).expect("append a");
        b.append(record(i).session("s-secret-b")).expect("append b");
    }
    let store = connect();
    let report = verify_postgres(&store, &key()).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problem);
    assert_eq!(report.records, 8);
    let digest = key()
        .session_digester()
        .expect("digester")
        .digest("s-secret-b");
    let mut out = Vec::new();
    assert_eq!(
        export_postgres(&store, None, Some(&digest), &mut out).expect("export"),
        4
    );
    assert!(!String::from_utf8(out).expect("utf8").contains("s-secret-b"));
    // Tamper with one stored record: verify names it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .execute(
                "UPDATE audit_records SET line = replace(line, 'agent-1', 'agent-2') WHERE seq = 2",
                &[],
            )
            .await
            .expect("tamper");
    });
    let report = verify_postgres(&store, &key()).expect("verify");
    let problem = report.problem.expect("the edit is detected");
    assert_eq!(problem.seq, Some(2));
    assert_eq!(problem.kind, ProblemKind::Altered);
}
