//! What operators tell the detectors, end to end through the real `sluice` binary and the
//! example servers: `[servers.NAME.fields]` declarations (checked against the tools'
//! output schemas) and `[detectors] enable` for the optional kinds, with Cedar policies
//! over their kind groups deciding where the values may go.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{example_bin, outcome, run_in};

/// A lowercase name no dictionary or rule finds without a cue.
const MISSED_NAME: &str = "xiadani quispe";
/// A valid IBAN (mod-97) as a person would write it.
const IBAN: &str = "DE89 3704 0044 0532 0130 00";

/// A one-row sheet `team` in `dir` whose notes hold `notes`.
fn sheet(dir: &Path, notes: &str) -> PathBuf {
    let path = dir.join("team.csv");
    std::fs::write(
        &path,
        format!(
            "id,name,email,phone,company,country,status,crm_id,notes\n\
             T-001,Dana Ruiz,dana.ruiz@example.com,,Acme,US,pending,CRM-1001,{notes}\n"
        ),
    )
    .expect("write sheet");
    path
}

/// A config with the sheets server over `csv` and `extra` TOML after it.
fn config(dir: &Path, csv: &Path, extra: &str) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n\
         [servers.sheets]\ncommand = {sheets:?}\nargs = [\"--data\", {csv:?}]\ntrust = \"internal\"\n\n{extra}\n",
        data = dir.join("data").to_str().expect("path"),
        sheets = example_bin("sheets-server").to_str().expect("path"),
        csv = csv.to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

fn exec(dir: &Path, config: &str, program: &str) -> Value {
    outcome(run_in(
        dir,
        &["exec", "--config", config],
        program.as_bytes(),
    ))
}

const READ_NOTES: &str =
    "const r = await tools.sheets.getRows({ sheet: 'team' }); return r.rows[0].notes;";

#[test]
fn declared_field_tokenizes_a_name_the_detectors_miss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = sheet(dir.path(), MISSED_NAME);

    // Without a declaration the name comes back as written: the detectors miss it.
    let plain = config(dir.path(), &csv, "");
    let out = exec(dir.path(), &plain, READ_NOTES);
    assert_eq!(out["result"], MISSED_NAME, "{out}");

    let declared = config(
        dir.path(),
        &csv,
        "[servers.sheets.fields.getRows]\n\"rows[].notes\" = \"NAME\"\n",
    );
    let out = exec(dir.path(), &declared, READ_NOTES);
    let result = out["result"].as_str().expect("a string result");
    assert!(
        result.starts_with("[NAME_") && result.ends_with(']'),
        "{out}"
    );
    assert!(!out.to_string().contains("quispe"), "{out}");

    // Server-wide (every tool of the server) works the same way.
    let wide = config(
        dir.path(),
        &csv,
        "[servers.sheets.fields]\n\"rows[].notes\" = \"NAME\"\n",
    );
    let out = exec(dir.path(), &wide, READ_NOTES);
    assert!(!out.to_string().contains("quispe"), "{out}");
}

/// `sluice tokenize --source S --tool T --json` treats the input as that tool's result:
/// the same declarations apply as when a program calls the tool.
#[test]
fn tokenize_with_a_tool_applies_its_field_declarations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = sheet(dir.path(), "x");
    let declared = config(
        dir.path(),
        &csv,
        "[servers.sheets.fields.getRows]\n\"rows[].notes\" = \"NAME\"\n",
    );
    let input = format!(r#"{{"rows":[{{"id":"T-9","notes":"{MISSED_NAME}"}}]}}"#);
    let tokenize = |extra: &[&str]| {
        let mut args = vec![
            "tokenize", "--config", &declared, "--source", "sheets", "--json",
        ];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args, input.as_bytes())
    };

    // Without the tool the input is anonymous JSON: the name is missed.
    let out = tokenize(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(MISSED_NAME));

    // As getRows' result, the declaration makes it a NAME.
    let out = tokenize(&["--tool", "getRows"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).expect("JSON out");
    let notes = value["rows"][0]["notes"].as_str().expect("notes");
    assert!(notes.starts_with("[NAME_"), "{value}");
    assert_eq!(value["rows"][0]["id"], "T-9", "{value}");

    // A tool of a server that is not configured, and a tool on text input, are refused
    // before anything is minted.
    let out = run_in(
        dir.path(),
        &[
            "tokenize", "--config", &declared, "--source", "nowhere", "--json", "--tool", "getRows",
        ],
        input.as_bytes(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("nowhere"), "{err}");
    assert!(!err.contains(MISSED_NAME), "{err}");
    let out = run_in(
        dir.path(),
        &[
            "tokenize", "--config", &declared, "--source", "sheets", "--tool", "getRows",
        ],
        MISSED_NAME.as_bytes(),
    );
    assert!(!out.status.success(), "text input with --tool was accepted");
}

#[test]
fn declaration_the_output_schema_lacks_fails_the_call_and_config_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = sheet(dir.path(), MISSED_NAME);
    let typo = config(
        dir.path(),
        &csv,
        "[servers.sheets.fields.getRows]\n\"rows[].nots\" = \"NAME\"\n",
    );
    let out = exec(dir.path(), &typo, READ_NOTES);
    assert_eq!(out["error"]["kind"], "tool", "{out}");
    let message = out["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("[servers.sheets.fields.getRows] \"rows[].nots\"")
            && message.contains("outputSchema of tools.sheets.getRows has no field"),
        "{message}"
    );
    assert!(!out.to_string().contains("quispe"), "{out}");

    let check = run_in(dir.path(), &["config", "check", "--config", &typo], b"");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("INVALID  [servers.sheets.fields.getRows] \"rows[].nots\""),
        "{stdout}"
    );

    let unknown_kind = config(
        dir.path(),
        &csv,
        "[servers.sheets.fields.getRows]\n\"rows[].notes\" = \"PERSON\"\n",
    );
    let check = run_in(
        dir.path(),
        &["config", "check", "--config", &unknown_kind],
        b"",
    );
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sluice.toml:8:"), "{stderr}");
    assert!(stderr.contains("\"PERSON\": unknown kind"), "{stderr}");
}

/// Reads the IBAN from the sheet, writes it to the CRM note, then tries to post it to chat.
const IBAN_FLOWS: &str = "
const r = await tools.sheets.getRows({ sheet: 'team' });
const notes = r.rows[0].notes;
await tools.crm.updateLead({ id: 'CRM-1001', note: notes });
let chat = 'sent';
try { await tools.chat.postMessage({ channel: 'general', text: notes }); }
catch (e) { chat = e.message; }
return { notes, chat };
";

#[test]
fn enabled_iban_is_tokenized_and_restored_only_where_a_policy_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = sheet(dir.path(), &format!("Pay to {IBAN} by Friday"));
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    for file in ["schema.cedarschema", "default.cedar"] {
        std::fs::copy(root.join(file), policies.join(file)).expect("copy policy");
    }
    std::fs::write(
        policies.join("financial.cedar"),
        "@id(\"financial-to-crm-only\")\n\
         permit (principal, action == Sluice::Action::\"flow\", resource == Sluice::Tool::\"crm/updateLead\")\n\
         when { context.kind in Sluice::KindGroup::\"financial\" };\n",
    )
    .expect("write policy");
    let db = dir.path().join("crm-db");
    let chat_log = dir.path().join("chat.jsonl");
    let backends = format!(
        "[servers.crm]\ncommand = {crm:?}\nargs = [\"--db\", {db:?}]\ntrust = \"internal\"\n\n\
         [servers.chat]\ncommand = {chat:?}\nargs = [\"--log\", {log:?}]\ntrust = \"internal\"\n\n\
         [policy]\ndir = {policies:?}\n",
        crm = example_bin("crm-server").to_str().expect("path"),
        db = db.to_str().expect("path"),
        chat = example_bin("chat-server").to_str().expect("path"),
        log = chat_log.to_str().expect("path"),
        policies = policies.to_str().expect("path"),
    );
    let on = config(
        dir.path(),
        &csv,
        &format!("[detectors]\nenable = [\"IBAN\"]\n\n{backends}"),
    );
    let out = exec(dir.path(), &on, IBAN_FLOWS);
    assert_eq!(out["error"], Value::Null, "{out}");
    let notes = out["result"]["notes"].as_str().expect("notes");
    assert!(
        notes.starts_with("Pay to [IBAN_") && notes.ends_with("] by Friday"),
        "{out}"
    );
    let chat = out["result"]["chat"].as_str().expect("chat outcome");
    assert!(
        chat.contains("IBAN") && chat.contains("chat/postMessage") && chat.contains("no permit"),
        "{chat}"
    );
    assert!(!out.to_string().contains("3704"), "{out}");
    let posted = std::fs::read_to_string(&chat_log).unwrap_or_default();
    assert!(!posted.contains("3704"), "chat received the IBAN: {posted}");
    let dump = Command::new(example_bin("crm-server"))
        .args(["--db", db.to_str().expect("path"), "--dump"])
        .output()
        .expect("dump");
    let stored = String::from_utf8_lossy(&dump.stdout);
    let compact = IBAN.replace(' ', "");
    assert!(
        stored.contains(IBAN) || stored.contains(&compact),
        "the CRM did not receive the IBAN: {stored}"
    );

    // Off (the default), the IBAN is not a kind: it reaches the program as written.
    let off = config(dir.path(), &csv, &backends);
    let out = exec(
        dir.path(),
        &off,
        "const r = await tools.sheets.getRows({ sheet: 'team' }); return r.rows[0].notes;",
    );
    assert_eq!(out["result"], format!("Pay to {IBAN} by Friday"), "{out}");
}
