//! `sluice exec` as a user runs it: the real binary, real stdin/stdout, exit codes.

use std::process::Output;

use serde_json::{Value, json};

use crate::support::run_in;

fn sluice(args: &[&str], stdin: &[u8]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    run_in(dir.path(), args, stdin)
}

fn outcome(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf-8 stdout");
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

#[test]
fn prints_the_contract_outcome_for_a_program_on_stdin() {
    let out = outcome(&sluice(
        &["exec"],
        b"console.info('hi'); return { n: [1,2,3].length };",
    ));
    assert_eq!(
        out,
        json!({
            "result": { "n": 3 },
            "logs": [{ "level": "info", "message": "hi" }],
            "calls": 0,
            "error": null
        })
    );
}

#[test]
fn reads_a_program_file_and_keeps_key_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.ts");
    std::fs::write(&file, "const z: number = 1; return { z, a: 2 };").expect("write");
    let out = outcome(&sluice(&["exec", file.to_str().expect("path")], b""));
    assert_eq!(
        serde_json::to_string(&out["result"]).expect("json"),
        r#"{"z":1,"a":2}"#
    );
}

#[test]
fn unknown_server_is_a_tool_error_naming_what_exists() {
    let out = outcome(&sluice(
        &["exec", "-"],
        b"await tools.crm.getLead({ id: 1 });",
    ));
    assert_eq!(out["error"]["kind"], "tool");
    assert!(
        out["error"]["message"]
            .as_str()
            .expect("message")
            .contains("no servers are configured"),
        "{out}"
    );
    assert_eq!(out["calls"], 1);
}

#[test]
fn unknown_server_error_lists_configured_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "[servers.sheets]\ncommand = \"sheets-server\"\n[servers.crm]\nurl = \"http://127.0.0.1:9/mcp\"\n",
    )
    .expect("write");
    let out = outcome(&sluice(
        &["exec", "--config", config.to_str().expect("path")],
        b"await tools.chat.post({});",
    ));
    assert_eq!(out["error"]["kind"], "tool");
    let message = out["error"]["message"].as_str().expect("message");
    assert!(message.contains("crm, sheets"), "{message}");
}

#[test]
fn timeout_flag_stops_an_infinite_loop() {
    let out = outcome(&sluice(&["exec", "--timeout-ms", "150"], b"for(;;){}"));
    assert_eq!(out["error"]["kind"], "timeout");
}

#[test]
fn memory_flag_caps_the_heap() {
    let out = outcome(&sluice(
        &["exec", "--memory-mb", "8"],
        b"const a = []; for (;;) a.push('y'.repeat(65536) + a.length);",
    ));
    assert_eq!(out["error"]["kind"], "memory");
}

#[test]
fn syntax_errors_report_line_and_column() {
    let out = outcome(&sluice(&["exec"], b"let ok = 1;\nlet = = 2;\n"));
    assert_eq!(out["error"]["kind"], "syntax");
    assert!(
        out["error"]["message"]
            .as_str()
            .expect("message")
            .contains("line 2"),
        "{out}"
    );
}

#[test]
fn invalid_utf8_is_a_clear_error_not_a_crash() {
    let out = outcome(&sluice(&["exec"], b"return '\xff\xfe';"));
    assert_eq!(out["error"]["kind"], "syntax");
    assert!(
        out["error"]["message"]
            .as_str()
            .expect("message")
            .contains("UTF-8")
    );
}

#[test]
fn huge_program_is_refused_without_reading_it_all() {
    let big = vec![b' '; 8 << 20];
    let out = outcome(&sluice(&["exec"], &big));
    assert_eq!(out["error"]["kind"], "syntax");
    assert!(
        out["error"]["message"]
            .as_str()
            .expect("message")
            .contains("maximum")
    );
}

#[test]
fn empty_program_returns_null() {
    let out = outcome(&sluice(&["exec"], b""));
    assert_eq!(
        out,
        json!({ "result": null, "logs": [], "calls": 0, "error": null })
    );
}

#[test]
fn bad_config_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[sandbox]\ntimeout_ms = 10\nbogus = 1\n").expect("write");
    let output = sluice(&["exec", "--config", config.to_str().expect("path")], b"1");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:3"), "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
}

#[test]
fn bad_flags_exit_2() {
    let output = sluice(&["exec", "--memory-mb", "0"], b"");
    assert_eq!(output.status.code(), Some(2));
}

/// Runs `sluice exec` in `dir` (so its data dir, `./.sluice`, persists across runs).
fn sluice_in(dir: &std::path::Path, args: &[&str], program: &str) -> Value {
    outcome(&run_in(dir, args, program.as_bytes()))
}

#[test]
fn pii_the_program_writes_itself_is_tokenized_in_the_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sluice_in(
        dir.path(),
        &["exec"],
        r#"console.log("call +44 20 7946 0958"); return { to: "bob.smith" + "@example.com", who: "Dear Maria Gonzalez" };"#,
    );
    let text = out.to_string();
    for raw in ["bob.smith@example.com", "7946 0958", "Maria Gonzalez"] {
        assert!(!text.contains(raw), "{raw} reached the model: {text}");
    }
    assert_eq!(out["result"]["to"], "[EMAIL_1]");
    assert!(
        out["logs"][0]["message"]
            .as_str()
            .expect("log")
            .contains("[PHONE_1]")
    );
}

#[test]
fn a_session_keeps_its_placeholders_across_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = r#"return ["ada@example.org", "zed@example.org"];"#;
    let first = sluice_in(dir.path(), &["exec", "--session", "s1"], program);
    let again = sluice_in(
        dir.path(),
        &["exec", "--session", "s1"],
        r#"return ["zed@example.org"];"#,
    );
    let other = sluice_in(
        dir.path(),
        &["exec", "--session", "s2"],
        r#"return ["zed@example.org"];"#,
    );
    assert_eq!(first["result"], json!(["[EMAIL_1]", "[EMAIL_2]"]));
    assert_eq!(
        again["result"],
        json!(["[EMAIL_2]"]),
        "same session, same placeholder"
    );
    assert_eq!(
        other["result"],
        json!(["[EMAIL_1]"]),
        "sessions count independently"
    );
}
