//! `sluice audit verify|export` against a log written through the library: an intact log
//! verifies, an edited record is named by line, `--since` filters.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use sluice::audit::{AuditEvent, AuditLog, AuditPlaceholder, AuditRecord, Decision};
use sluice::vault::{MasterKey, Placeholder};

/// Runs `sluice` in `dir` with the key coming only from the data dir's key file.
fn sluice(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env_remove(MasterKey::ENV)
        .output()
        .expect("sluice runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn audit_verify_detects_an_edited_decision_and_export_filters_by_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let key = MasterKey::load_or_create(&data).expect("key");
    let log = AuditLog::open(&data, &key).expect("open log");
    let email = Placeholder::parse("[EMAIL_1]").expect("placeholder");
    for i in 0..3 {
        log.append(
            AuditRecord::new(AuditEvent::Flow, Decision::Allow)
                .session("s1")
                .agent("agent")
                .tool("crm", "updateLead")
                .policy_ids([format!("policy-{i}")])
                .placeholder(AuditPlaceholder::new(&email, "sheets")),
        )
        .expect("append");
        // Distinct millisecond timestamps, so --since can split the records.
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(log);

    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .expect("write config");
    let config = config.to_str().expect("utf8 path");

    let verified = sluice(dir.path(), &["audit", "verify", "--config", config]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains("audit log ok: 3 records, chain intact"),
        "{}",
        stdout(&verified)
    );

    let log_path = data.join("audit.jsonl");
    let stored = std::fs::read_to_string(&log_path).expect("read log");
    let lines: Vec<&str> = stored.lines().collect();
    assert_eq!(lines.len(), 3);

    // --since at the second record's time: records 2 and 3, verbatim.
    let second: serde_json::Value = serde_json::from_str(lines[1]).expect("record");
    let since = second["time"].as_str().expect("time");
    let exported = sluice(
        dir.path(),
        &["audit", "export", "--config", config, "--since", since],
    );
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    assert_eq!(stdout(&exported), format!("{}\n{}\n", lines[1], lines[2]));

    let all = sluice(dir.path(), &["audit", "export", "--config", config]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    assert_eq!(stdout(&all), stored);

    let malformed = sluice(
        dir.path(),
        &[
            "audit",
            "export",
            "--config",
            config,
            "--since",
            "yesterday",
        ],
    );
    assert_eq!(malformed.status.code(), Some(2));
    assert!(
        stderr(&malformed).contains("RFC 3339"),
        "{}",
        stderr(&malformed)
    );

    // Someone without the key turns the second decision from allow into deny.
    let edited = lines[1].replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    assert_ne!(edited, lines[1]);
    std::fs::write(
        &log_path,
        format!("{}\n{}\n{}\n", lines[0], edited, lines[2]),
    )
    .expect("edit log");
    let broken = sluice(dir.path(), &["audit", "verify", "--config", config]);
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    assert!(
        stderr(&broken).contains("line 2 (seq 2): altered record"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn audit_verify_without_a_log_reports_no_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sluice.toml");
    let data = dir.path().join("empty");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .expect("write config");
    let output = sluice(
        dir.path(),
        &[
            "audit",
            "verify",
            "--config",
            config.to_str().expect("utf8"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("no audit records yet"));
}
