//! `sluice exec` with real backends: the example servers as a stdio child process and over
//! streamable HTTP on loopback, reached through the broker.

use std::process::Command;

use serde_json::Value;

use crate::support::{example_bin, exec, start_http};

fn config(crm_url: &str) -> String {
    config_with(crm_url, "internal")
}

fn config_with(crm_url: &str, crm_trust: &str) -> String {
    format!(
        "[servers.sheets]\ncommand = {:?}\ntrust = \"internal\"\n\n[servers.crm]\nurl = {:?}\ntrust = {:?}\n",
        example_bin("sheets-server").to_str().expect("path"),
        crm_url,
        crm_trust
    )
}

#[test]
fn program_reaches_stdio_and_http_backends_through_the_broker() {
    let db = tempfile::tempdir().expect("db dir");
    let (_crm, url) = start_http("crm-server", &["--db", db.path().to_str().expect("path")]);
    let out = exec(
        &config(&url),
        r#"const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", status: "pending", limit: 3 });
           const lead = await tools.crm.getLead({ id: rows[0].crmId });
           const [s, l] = await Promise.all([tools.sheets.listSheets({}), tools.crm.listLeads({})]);
           return { n: rows.length, same: lead.id === rows[0].crmId, sheets: s.sheets.length, leads: l.leads.length > 0 };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert_eq!(
        out["result"],
        serde_json::json!({ "n": 3, "same": true, "sheets": 1, "leads": true })
    );
    assert_eq!(out["calls"], 4);
}

#[test]
fn backend_tool_errors_become_catchable_js_errors() {
    let db = tempfile::tempdir().expect("db dir");
    let (_crm, url) = start_http("crm-server", &["--db", db.path().to_str().expect("path")]);
    let out = exec(
        &config(&url),
        r#"try { await tools.crm.getLead({ id: "CRM-NOPE" }); } catch (e) { return e.name + ": " + e.message; }"#,
    );
    let text = out["result"].as_str().expect("caught message");
    assert!(text.starts_with("ToolError: tools.crm.getLead"), "{text}");
}

#[test]
fn unknown_tool_names_the_tools_that_exist() {
    let out = exec(
        &config("http://127.0.0.1:9/mcp"),
        "await tools.sheets.deleteEverything({});",
    );
    assert_eq!(out["error"]["kind"], "tool");
    let message = out["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("has no tool 'deleteEverything'"),
        "{message}"
    );
    assert!(message.contains("getRows"), "{message}");
}

#[test]
fn an_unreachable_server_fails_its_calls_but_not_the_others() {
    // Port 9 (discard) on loopback: nothing listens there.
    let out = exec(
        &config("http://127.0.0.1:9/mcp"),
        r#"let crm;
           try { await tools.crm.listLeads({}); } catch (e) { crm = e.message; }
           const s = await tools.sheets.listSheets({});
           return { crm, sheets: s.sheets.length };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    // Where and why, in words: no Rust type names, the OS error once.
    let crm = out["result"]["crm"].as_str().expect("error text");
    assert_eq!(
        crm, "server 'crm' is unreachable at http://127.0.0.1:9/mcp: connection refused",
        "{out}"
    );
    assert_eq!(out["result"]["sheets"], 1);
}

/// Every name, email and phone in the sheets server's embedded CSV.
fn csv_pii() -> Vec<String> {
    let csv = include_str!("../../examples/servers/data/leads.csv");
    let mut values = Vec::new();
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        values.extend([cols[1], cols[2], cols[3]].iter().map(|s| s.to_string()));
    }
    assert!(values.len() >= 30, "{values:?}");
    values
}

#[test]
fn no_raw_pii_from_a_backend_reaches_the_outcome() {
    let db = tempfile::tempdir().expect("db dir");
    let (_crm, url) = start_http("crm-server", &["--db", db.path().to_str().expect("path")]);
    let out = exec(
        &config(&url),
        r#"const { rows } = await tools.sheets.getRows({ sheet: "q4-leads" });
           for (const r of rows) console.log(r.name, r.email, r.phone);
           const leads = await tools.crm.listLeads({});
           return { rows, leads, joined: rows.map(r => `${r.name} <${r.email}>`).join("; ") };"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    let text = out.to_string();
    for value in csv_pii() {
        assert!(
            !text.contains(&value),
            "raw value {value:?} reached the model: {text}"
        );
    }
    let first = &out["result"]["rows"][0];
    for key in ["name", "email", "phone"] {
        let v = first[key].as_str().expect("string");
        assert!(v.starts_with('[') && v.ends_with(']'), "{key} = {v}");
    }
    assert!(text.contains("[EMAIL_1]"), "{text}");
}

#[test]
fn the_same_value_gets_the_same_placeholder_within_an_execute() {
    let db = tempfile::tempdir().expect("db dir");
    let (_crm, url) = start_http("crm-server", &["--db", db.path().to_str().expect("path")]);
    let out = exec(
        &config(&url),
        r#"const a = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
           const b = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
           return [a.email, b.email, a.name === b.name];"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    assert_eq!(out["result"][0], out["result"][1]);
    assert_eq!(out["result"][2], true);
}

#[test]
fn placeholder_egress_is_denied_by_default_and_the_backend_is_not_called() {
    let db = tempfile::tempdir().expect("db dir");
    let db_path = db.path().to_str().expect("path").to_string();
    let (crm, url) = start_http("crm-server", &["--db", &db_path]);
    // No default policy permits a flow into a server of trust "partner".
    let out = exec(
        &config_with(&url, "partner"),
        r#"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
           await tools.crm.updateLead({ id: row.crmId, email: row.email, note: "synced " + row.name });"#,
    );
    assert_eq!(out["error"]["kind"], "policy_denied", "{out}");
    let message = out["error"]["message"].as_str().expect("message");
    for part in [
        "[EMAIL_",
        "EMAIL from server 'sheets'",
        "crm/updateLead",
        "no permit",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
    drop(crm);
    let dump = Command::new(example_bin("crm-server"))
        .args(["--db", &db_path, "--dump"])
        .output()
        .expect("dump");
    let stored = String::from_utf8_lossy(&dump.stdout);
    assert!(stored.contains("CRM-1001"), "{stored}");
    assert!(!stored.contains("synced"), "the CRM was called: {stored}");
    assert!(!stored.contains("amelia.hartley@northwind"), "{stored}");
}

#[test]
fn forged_placeholders_from_a_backend_are_neutralized() {
    let db = tempfile::tempdir().expect("db dir");
    let (_crm, url) = start_http("crm-server", &["--db", db.path().to_str().expect("path")]);
    let out = exec(
        &config(&url),
        r#"// Mint [EMAIL_1..3] first, so a resolvable [EMAIL_3] exists in this session.
           const { rows } = await tools.sheets.getRows({ sheet: "q4-leads", limit: 3 });
           const lead = await tools.crm.getLead({ id: "CRM-1008" });
           return lead.notes.join(" ");"#,
    );
    assert_eq!(out["error"], Value::Null, "{out}");
    let notes = out["result"].as_str().expect("notes");
    assert!(notes.contains("⟦EMAIL_3⟧"), "{notes}");
    assert!(!notes.contains("[EMAIL_3]"), "{notes}");
}

#[test]
fn search_ranks_the_obvious_tool_first_at_each_detail_level() {
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "[servers.sheets]\ncommand = {:?}\n\n[servers.crm]\ncommand = {:?}\nargs = [\"--db\", {:?}]\n",
        example_bin("sheets-server").to_str().expect("path"),
        example_bin("crm-server").to_str().expect("path"),
        dir.path().join("crm").to_str().expect("path"),
    );
    let path = dir.path().join("sluice.toml");
    std::fs::write(&path, config).expect("config");
    let path = path.to_str().expect("path");
    let search = |args: &[&str]| {
        let mut all = vec!["search", "--config", path];
        all.extend_from_slice(args);
        crate::support::run_in(dir.path(), &all, b"")
    };
    let names = search(&["--detail", "names", "update a lead's email"]);
    assert_eq!(
        names.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&names.stderr)
    );
    let text = String::from_utf8_lossy(&names.stdout);
    assert_eq!(text.lines().next(), Some("tools.crm.updateLead"), "{text}");

    let signatures = search(&["--limit", "2", "read rows from a spreadsheet"]);
    let text = String::from_utf8_lossy(&signatures.stdout);
    assert!(text.contains("declare namespace tools.sheets"), "{text}");
    assert!(text.contains("getRows("), "{text}");
    assert!(text.contains("Promise<"), "{text}");

    let bad = search(&["--detail", "everything", "x"]);
    assert_eq!(bad.status.code(), Some(2));
}
