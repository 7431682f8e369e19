//! The policy author's tools through the real binary: errors at the offending token with
//! Cedar's help, literal entities that name nothing ("did you mean …"), `policy format`,
//! and plain text output when not on a terminal.

use std::path::Path;

use crate::support::run_in;

const SCHEMA: &str = include_str!("../../policies/schema.cedarschema");

fn policy_dir(root: &Path, files: &[(&str, &str)]) -> String {
    let dir = root.join("policies");
    std::fs::create_dir_all(dir.join("tests")).expect("dir");
    std::fs::write(dir.join("schema.cedarschema"), SCHEMA).expect("schema");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    dir.to_str().expect("path").to_owned()
}

fn sluice(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run_in(dir, args, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validation_errors_point_at_the_token_with_cedars_help_in_plain_text() {
    let root = tempfile::tempdir().expect("dir");
    let dir = policy_dir(
        root.path(),
        &[(
            "typo.cedar",
            "// servers we trust\n@id(\"typo\")\nforbid (principal, action, resource)\nwhen { resource.server.trusted == \"x\" };\n",
        )],
    );
    let (code, _, stderr) = sluice(root.path(), &["policy", "validate", &dir]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("typo.cedar:4:8:"), "{stderr}");
    assert!(
        stderr.contains(" 4 | when { resource.server.trusted == \"x\" };"),
        "{stderr}"
    );
    assert!(
        stderr.contains("|        ^^^^^^^^^^^^^^^^^^^^^^^"),
        "{stderr}"
    );
    assert!(stderr.contains("help: did you mean `trust`?"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI colour in redirected output: {stderr:?}"
    );
}

#[test]
fn a_misspelt_kind_is_an_error_and_an_unknown_agent_a_warning_with_suggestions() {
    let root = tempfile::tempdir().expect("dir");
    let dir = policy_dir(
        root.path(),
        &[(
            "flows.cedar",
            "@id(\"mail\")\npermit (principal, action == Sluice::Action::\"flow\", resource)\nwhen { context.kind == Sluice::Kind::\"EMIAL\" };\n",
        )],
    );
    let config = root.path().join("sluice.toml");
    std::fs::write(
        &config,
        format!("[agents.crm-sync-agent]\n[policy]\ndir = {dir:?}\n"),
    )
    .expect("config");
    let config = config.to_str().expect("path");
    let (code, _, stderr) = sluice(root.path(), &["policy", "validate", "--config", config]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("flows.cedar:3:24:"), "{stderr}");
    assert!(
        stderr.contains("Sluice::Kind::\"EMIAL\" is not a known kind; did you mean \"EMAIL\"?"),
        "{stderr}"
    );
    // The same set is refused by everything that loads it.
    let (code, _, stderr) = sluice(root.path(), &["exec", "--config", config, "-"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("did you mean \"EMAIL\"?"), "{stderr}");

    std::fs::write(
        Path::new(&dir).join("flows.cedar"),
        "@id(\"mail\")\npermit (principal == Sluice::Agent::\"crm-sync-agnet\", action, resource);\n",
    )
    .expect("write");
    let (code, stdout, stderr) = sluice(root.path(), &["policy", "validate", "--config", config]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("1 policies valid"), "{stdout}");
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("flows.cedar:2:22:")
            && stderr.contains("did you mean \"crm-sync-agent\"?"),
        "{stderr}"
    );

    // `policy explain` says when a request names something the config does not know.
    let (_, stdout, _) = sluice(
        root.path(),
        &[
            "policy",
            "explain",
            "--config",
            config,
            "--agent",
            "crm-sync-agnet",
            "--tool",
            "crm/updateLead",
        ],
    );
    assert!(
        stdout.contains(
            "note: agent \"crm-sync-agnet\" is not in the model; did you mean \"crm-sync-agent\"?"
        ),
        "{stdout}"
    );
}

#[test]
fn a_test_case_with_a_misspelt_kind_fails_instead_of_testing_nothing() {
    let root = tempfile::tempdir().expect("dir");
    let dir = policy_dir(
        root.path(),
        &[("p.cedar", include_str!("../../policies/default.cedar"))],
    );
    std::fs::write(
        Path::new(&dir).join("tests/typo.json"),
        r#"{"model": {"servers": {"chat": {"trust": "external", "tools": ["postMessage"]},
                                 "sheets": {"trust": "internal", "tools": ["getRows"]}},
                     "agents": {"bot": []}},
            "cases": [{"name": "no email to chat", "agent": "bot", "action": "flow",
                       "tool": "chat/postMessage", "kind": "EMIAL", "source": "sheets",
                       "expect": "deny"}]}"#,
    )
    .expect("cases");
    let (code, stdout, _) = sluice(root.path(), &["policy", "test", &dir]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("kind \"EMIAL\" is not in the model; did you mean \"EMAIL\"?"),
        "{stdout}"
    );
}

#[test]
fn policy_format_rewrites_with_cedars_formatter_and_check_reports_unformatted_files() {
    let root = tempfile::tempdir().expect("dir");
    let messy = "@id(\"x\")   permit(principal,action==Sluice::Action::\"call\",resource)   when{true};\n// keep this comment\n";
    let dir = policy_dir(root.path(), &[("x.cedar", messy)]);
    let (code, stdout, _) = sluice(root.path(), &["policy", "format", "--check", &dir]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("not formatted:") && stdout.contains("x.cedar"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(&dir).join("x.cedar")).expect("read"),
        messy,
        "--check changed the file"
    );

    let (code, stdout, stderr) = sluice(root.path(), &["policy", "format", &dir]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let formatted = std::fs::read_to_string(Path::new(&dir).join("x.cedar")).expect("read");
    assert!(
        formatted.contains("permit (\n  principal,\n"),
        "{formatted}"
    );
    assert!(formatted.contains("// keep this comment"), "{formatted}");
    let (code, _, _) = sluice(root.path(), &["policy", "format", "--check", &dir]);
    assert_eq!(code, Some(0));
    let (code, _, stderr) = sluice(root.path(), &["policy", "validate", &dir]);
    assert_eq!(code, Some(0), "{stderr}");
}
