//! Backend faults through the real broker: a crashing, hanging, slow, garbage-speaking and
//! huge MCP server (`fault-server`), each a clear `tool` error, while the other backends
//! keep working.

use serde_json::{Value, json};

use crate::support::{example_bin, exec};

/// `fault` (with `fault_args`, short timeouts) next to a healthy `sheets` server.
fn config(fault_args: &[&str]) -> String {
    format!(
        "[servers.fault]\ncommand = {:?}\nargs = {:?}\ntimeout_ms = 1500\nconnect_timeout_ms = 1500\n\n[servers.sheets]\ncommand = {:?}\n",
        example_bin("fault-server").to_str().expect("path"),
        fault_args,
        example_bin("sheets-server").to_str().expect("path"),
    )
}

fn message(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected an error message, got {value}"))
}

#[test]
fn a_crashed_server_fails_its_call_and_is_restarted() {
    let out = exec(
        &config(&[]),
        r#"const before = await tools.fault.count({});
           let error;
           try { await tools.fault.crash({}); } catch (e) { error = e.message; }
           const after = await tools.fault.count({});
           return { error, restarted: before.pid !== after.pid, calls: after.calls };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    let error = message(&out["result"]["error"]);
    assert!(error.contains("server 'fault'"), "{error}");
    assert_eq!(out["result"]["restarted"], true, "{out}");
    assert_eq!(
        out["result"]["calls"], 1,
        "a fresh process counts from 1: {out}"
    );
}

#[test]
fn a_slow_tool_times_out_and_other_servers_keep_working() {
    let out = exec(
        &config(&[]),
        r#"const [slow, sheets] = await Promise.allSettled([
               tools.fault.sleep({ ms: 10000 }), tools.sheets.listSheets({})]);
           return { slow: slow.reason && slow.reason.message, sheets: sheets.value.sheets.length };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert!(
        message(&out["result"]["slow"]).contains("timed out after 1500 ms"),
        "{out}"
    );
    assert_eq!(out["result"]["sheets"], 1);
}

#[test]
fn a_server_that_never_answers_initialize_is_reported() {
    let out = exec(
        &config(&["--never-init"]),
        r#"let error;
           try { await tools.fault.echo({}); } catch (e) { error = e.message; }
           const s = await tools.sheets.listSheets({});
           return { error, sheets: s.sheets.length };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    let error = message(&out["result"]["error"]);
    assert!(error.contains("server 'fault' is unavailable"), "{error}");
    assert!(error.contains("handshake"), "{error}");
    assert_eq!(out["result"]["sheets"], 1);
}

#[test]
fn garbage_output_is_a_clear_error_and_the_server_recovers() {
    let out = exec(
        &config(&[]),
        r#"let error;
           try { await tools.fault.garbage({}); } catch (e) { error = e.message; }
           const echo = await tools.fault.echo({ ok: 1 });
           return { error, echo };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert!(
        message(&out["result"]["error"]).contains("tools.fault.garbage"),
        "{out}"
    );
    assert_eq!(out["result"]["echo"], json!({ "ok": 1 }));
}

#[test]
fn five_thousand_tools_are_listed_across_pages() {
    let out = exec(
        &config(&["--tools", "5000"]),
        r#"const last = await tools.fault.tool4999({});
           let error;
           try { await tools.fault.tool5000({}); } catch (e) { error = e.message; }
           return { last, error };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert_eq!(out["result"]["last"], "ran tool4999");
    let error = message(&out["result"]["error"]);
    assert!(error.contains("has no tool 'tool5000'"), "{error}");
    assert!(error.contains("more (use search)"), "{error}");
}

#[test]
fn a_huge_result_reaches_the_program_tokenized() {
    let out = exec(
        &config(&[]),
        r#"const text = await tools.fault.huge({ bytes: 3000000 });
           return text.length;"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert_eq!(out["result"], 3_000_000);
}

#[test]
fn tools_list_changed_refreshes_the_tool_list() {
    let out = exec(
        &config(&[]),
        r#"let before;
           try { await tools.fault.grown10({}); } catch (e) { before = e.message; }
           const { added } = await tools.fault.grow({});
           // Give the notification a moment to arrive, as a real agent's next step would.
           await tools.fault.sleep({ ms: 50 });
           const ran = await tools.fault[added]({});
           return { before, added, ran };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert!(
        message(&out["result"]["before"]).contains("has no tool 'grown10'"),
        "{out}"
    );
    // grow names the new tool after the count of tools (ten before it).
    assert_eq!(out["result"]["added"], "grown10", "{out}");
    assert_eq!(out["result"]["ran"], "ran grown10", "{out}");
}

/// Whether process `pid` is gone (or a zombie nobody waits for).
fn gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn wait_gone(pid: u64, within: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    gone(pid)
}

/// A config whose fault server may take a whole minute over one call.
fn patient_config() -> String {
    format!(
        "[servers.fault]\ncommand = {:?}\ntimeout_ms = 120000\n",
        example_bin("fault-server").to_str().expect("path"),
    )
}

#[test]
fn a_backend_stuck_in_a_call_does_not_outlive_a_timed_out_exec() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, patient_config()).expect("config");
    let output = crate::support::run_in(
        dir.path(),
        &[
            "exec",
            "--config",
            config.to_str().expect("path"),
            "--timeout-ms",
            "1500",
            "-",
        ],
        br#"const c = await tools.fault.count({}); console.log(String(c.pid));
            await tools.fault.sleep({ ms: 60000 }); return 1;"#,
    );
    let out: Value = serde_json::from_slice(&output.stdout).expect("outcome");
    assert_eq!(out["error"]["kind"], "timeout", "{out}");
    let pid: u64 = out["logs"][0]["message"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the program logged the backend's pid: {out}"));
    assert!(
        wait_gone(pid, std::time::Duration::from_secs(5)),
        "fault-server {pid} outlived sluice exec"
    );
}

#[test]
fn backends_die_with_a_killed_sluice() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, patient_config()).expect("config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["exec", "--config", config.to_str().expect("path"), "-"])
        .current_dir(dir.path())
        .env("SLUICE_LOG", "info")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start sluice exec");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"await tools.fault.sleep({ ms: 60000 }); return 1;")
            .expect("program");
    }
    // Find the fault server among sluice's children once it runs.
    let sluice = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let backend = loop {
        let found = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()))
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    stat.contains("(fault-server)")
                        && stat
                            .rsplit_once(") ")
                            .and_then(|(_, rest)| rest.split(' ').nth(1))
                            .is_some_and(|ppid| ppid == sluice.to_string())
                })
            });
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the backend never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().expect("kill -9 sluice");
    let _ = child.wait();
    assert!(
        wait_gone(backend, std::time::Duration::from_secs(5)),
        "fault-server {backend} outlived a killed sluice"
    );
}
