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
           try { await tools.fault.grown7({}); } catch (e) { before = e.message; }
           const { added } = await tools.fault.grow({});
           // Give the notification a moment to arrive, as a real agent's next step would.
           await tools.fault.sleep({ ms: 50 });
           const ran = await tools.fault[added]({});
           return { before, added, ran };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert!(
        message(&out["result"]["before"]).contains("has no tool 'grown7'"),
        "{out}"
    );
    assert_eq!(out["result"]["added"], "grown7", "{out}");
    assert_eq!(out["result"]["ran"], "ran grown7", "{out}");
}
