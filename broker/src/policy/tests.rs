use std::path::Path;

use super::*;

const SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");
const DEFAULTS: &str = include_str!("../../../policies/default.cedar");

fn demo_model() -> EntityModel {
    EntityModel::builder()
        .server("sheets", "internal", Vec::<String>::new())
        .tools("sheets", ["getRows"])
        .server("crm", "internal", Vec::<String>::new())
        .tools("crm", ["updateLead"])
        .server("chat", "external", ["external"])
        .tools("chat", ["postMessage"])
        .server("mail", "internal", Vec::<String>::new())
        .tools("mail", ["send_email"])
        .agent("demo-agent", ["sync-bots"])
        .build()
}

fn defaults() -> PolicyEngine {
    let engine = PolicyEngine::load(None).unwrap_or_else(|e| panic!("defaults must load: {e}"));
    engine
        .with_model(demo_model())
        .unwrap_or_else(|e| panic!("model: {e}"))
}

/// A policy directory with the real schema and the given files.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("schema.cedarschema"), SCHEMA).unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn load_dir(dir: &Path) -> PolicyEngine {
    PolicyEngine::load(Some(dir))
        .and_then(|e| e.with_model(demo_model()))
        .unwrap_or_else(|e| panic!("load {}: {e}", dir.display()))
}

fn flow<'a>(server: &'a str, tool: &'a str, kind: &'a str, source: &'a str) -> FlowRequest<'a> {
    FlowRequest {
        agent: "demo-agent",
        server,
        tool,
        kind,
        source,
        placeholder: "[EMAIL_1]",
        arg_path: "email",
        email_domain: None,
        phone_country: None,
        ..FlowRequest::default()
    }
}

#[test]
fn no_permit_means_denied_with_no_policy_ids() {
    let dir = dir_with(&[(
        "only-call.cedar",
        "@id(\"call\")\npermit (principal, action == Sluice::Action::\"call\", resource);\n",
    )]);
    let d = load_dir(dir.path()).authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"));
    assert!(!d.allowed);
    assert!(d.policy_ids.is_empty());
    assert!(d.reason.contains("no permit"), "{}", d.reason);
}

#[test]
fn sheets_email_flows_into_crm() {
    let d = defaults().authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"));
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["contact-info-internal-to-internal"]);
}

#[test]
fn anything_to_chat_is_denied_by_the_forbid() {
    let engine = defaults();
    for kind in ["EMAIL", "PHONE", "NAME", "IBAN"] {
        let d = engine.authorize_flow(&flow("chat", "postMessage", kind, "crm"));
        assert!(!d.allowed, "{kind}: {d:?}");
        assert_eq!(d.policy_ids, ["no-flow-to-external"]);
        assert_eq!(d.reason, "denied by forbid policy no-flow-to-external");
    }
}

#[test]
fn forbid_wins_over_permit() {
    let permit_all = "@id(\"permit-everything\")\npermit (principal, action, resource);\n";
    let dir = dir_with(&[("default.cedar", DEFAULTS), ("extra.cedar", permit_all)]);
    let engine = load_dir(dir.path());
    let d = engine.authorize_flow(&flow("chat", "postMessage", "EMAIL", "sheets"));
    assert!(!d.allowed);
    assert_eq!(d.policy_ids, ["no-flow-to-external"]);
    assert!(
        engine
            .authorize_flow(&flow("crm", "updateLead", "EMAIL", "chat"))
            .allowed
    );
}

#[test]
fn internal_to_external_is_denied_even_when_tagged_only() {
    let model = EntityModel::builder()
        .server("sheets", "internal", Vec::<String>::new())
        .server("wiki", "internal", ["external"])
        .tools("wiki", ["publish"])
        .build();
    let engine = defaults()
        .with_model(model)
        .unwrap_or_else(|e| panic!("{e}"));
    let d = engine.authorize_flow(&flow("wiki", "publish", "EMAIL", "sheets"));
    assert!(!d.allowed);
    assert_eq!(d.policy_ids, ["no-flow-to-external"]);
}

#[test]
fn unknown_agent_tool_and_kind_are_decided_not_errors() {
    let engine = defaults();
    let mut req = flow("nowhere", "upload", "IBAN", "sheets");
    req.agent = "stranger";
    let d = engine.authorize_flow(&req);
    assert!(!d.allowed);
    assert!(d.errors.is_empty(), "{d:?}");
    // A new tool of a known internal server still gets the server's rules.
    let d = engine.authorize_flow(&flow("crm", "brandNewTool", "EMAIL", "sheets"));
    assert!(d.allowed, "{d:?}");
    assert!(
        engine
            .authorize_call("stranger", "crm", "brandNewTool")
            .allowed
    );
}

const EMAIL_DOMAIN_POLICY: &str = r#"
// Replies may go to example.com recipients only.
@id("mail-to-example-com")
permit (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"mail/send_email")
when {
  context.kind == Sluice::Kind::"EMAIL" &&
  context.arg_path == "to" &&
  context has email_domain &&
  context.email_domain like "*example.com"
};
"#;

#[test]
fn email_domain_rule_allows_only_the_named_domain_on_that_path() {
    let dir = dir_with(&[("mail.cedar", EMAIL_DOMAIN_POLICY)]);
    let engine = load_dir(dir.path());
    let mut req = flow("mail", "send_email", "EMAIL", "chat");
    req.arg_path = "to";
    req.email_domain = Some("example.com");
    let d = engine.authorize_flow(&req);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["mail-to-example-com"]);
    // Cached per email_domain, because a policy mentions it.
    req.email_domain = Some("attacker.test");
    assert!(!engine.authorize_flow(&req).allowed);
    req.email_domain = None;
    assert!(!engine.authorize_flow(&req).allowed);
    req.email_domain = Some("example.com");
    req.arg_path = "body";
    assert!(!engine.authorize_flow(&req).allowed);
}

fn load_error(files: &[(&str, &str)]) -> String {
    let dir = dir_with(files);
    match PolicyEngine::load(Some(dir.path())) {
        Ok(_) => panic!("policy set {files:?} must be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn syntax_error_is_rejected_with_file_and_line() {
    let text = "@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"broken\")\npermit (principal, action resource);\n";
    let msg = load_error(&[("bad.cedar", text)]);
    // At the offending token, with Cedar's own words.
    assert!(msg.contains("bad.cedar:5:27"), "{msg}");
    assert!(msg.contains("unexpected token `resource`"), "{msg}");
    assert!(msg.contains("^^^^^^^^ expected"), "{msg}");
    assert!(msg.contains("syntax error"), "{msg}");
}

#[test]
fn unknown_attribute_is_rejected_with_file_and_line() {
    let text = "\n\n@id(\"typo\")\nforbid (principal, action, resource) when { resource.server.trusted == \"x\" };\n";
    let msg = load_error(&[("typo.cedar", text)]);
    assert!(msg.contains("typo.cedar:4:45"), "{msg}");
    assert!(msg.contains("help: did you mean `trust`?"), "{msg}");
    assert!(msg.contains("trusted"), "{msg}");
}

#[test]
fn wrong_type_is_rejected_with_file_and_line() {
    let text = "@id(\"wrong-type\")\npermit (principal, action == Sluice::Action::\"flow\", resource) when { context.kind == \"EMAIL\" };\n";
    let msg = load_error(&[("types.cedar", text)]);
    assert!(msg.contains("types.cedar:2:71"), "{msg}");
    assert!(msg.contains("wrong-type"), "{msg}");
}

#[test]
fn optional_context_field_without_has_is_rejected() {
    let text = "@id(\"unguarded\")\npermit (principal, action == Sluice::Action::\"flow\", resource) when { context.email_domain == \"a.com\" };\n";
    let msg = load_error(&[("opt.cedar", text)]);
    assert!(msg.contains("opt.cedar:2:71"), "{msg}");
}

#[test]
fn missing_id_is_rejected_with_file_and_line() {
    let text = "@id(\"a\")\npermit (principal, action, resource);\n  permit (principal, action, resource);\n";
    let msg = load_error(&[("noid.cedar", text)]);
    assert!(msg.contains("noid.cedar:3:3"), "{msg}");
    assert!(msg.contains("@id"), "{msg}");
}

#[test]
fn duplicate_ids_are_rejected() {
    let a = "@id(\"same\")\npermit (principal, action, resource);\n";
    let msg = load_error(&[("a.cedar", a), ("b.cedar", a)]);
    assert!(
        msg.contains("b.cedar:1:1") && msg.contains("a.cedar:1:1"),
        "{msg}"
    );
}

#[test]
fn missing_schema_is_rejected() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let msg = PolicyEngine::load(Some(dir.path()))
        .map(|_| ())
        .err()
        .map(|e| e.to_string());
    assert!(msg.is_some_and(|m| m.contains("schema.cedarschema")));
}

#[test]
fn reload_with_an_invalid_set_keeps_the_last_good_set() {
    let store = PolicyStore::new(defaults());
    let good_hash = store.policy_set_hash();
    let bad = dir_with(&[(
        "bad.cedar",
        "@id(\"x\")\npermit (principal, action, resource) when { nope };\n",
    )]);
    assert!(store.reload(Some(bad.path())).is_err());
    assert_eq!(store.reload_failures(), 1);
    assert_eq!(store.policy_set_hash(), good_hash);
    assert!(
        store
            .authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"))
            .allowed
    );
    assert!(
        !store
            .authorize_flow(&flow("chat", "postMessage", "EMAIL", "sheets"))
            .allowed
    );
}

#[test]
fn cache_repeats_decisions_and_is_dropped_on_reload() {
    let store = PolicyStore::new(defaults());
    let req = flow("crm", "updateLead", "EMAIL", "sheets");
    let first = store.authorize_flow(&req);
    // Another placeholder and path: the default set does not look at them, so one entry.
    let mut other = req;
    other.placeholder = "[EMAIL_9]";
    other.arg_path = "cc";
    assert_eq!(store.authorize_flow(&other), first);
    assert_eq!(store.engine().cached_decisions(), 1);

    let deny_all = dir_with(&[(
        "none.cedar",
        "@id(\"call\")\npermit (principal, action == Sluice::Action::\"call\", resource);\n",
    )]);
    store
        .reload(Some(deny_all.path()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.engine().cached_decisions(), 0);
    let after = store.authorize_flow(&req);
    assert!(
        !after.allowed,
        "the reloaded set has no flow permit: {after:?}"
    );
    // The model survives a reload.
    assert!(store.engine().model().has_server("crm"));
}

#[test]
fn default_policy_test_cases_pass() {
    let report = run_tests(None).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.cases.len() >= 8);
    let failures: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn repository_policy_directory_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let report = run_tests(Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.all_passed(), "{report:#?}");
    assert_eq!(
        PolicyEngine::load(Some(&dir))
            .map(|e| e.policy_set_hash().len())
            .ok(),
        Some(64)
    );
}

#[test]
fn failing_case_is_reported_not_an_error() {
    let cases = r#"{"model":{"servers":{"crm":{"trust":"internal","tools":["updateLead"]}}},
      "cases":[{"name":"wrong","agent":"a","action":"call","tool":"crm/updateLead","expect":"deny"}]}"#;
    let dir = dir_with(&[("default.cedar", DEFAULTS)]);
    std::fs::create_dir(dir.path().join("tests")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("tests/x.json"), cases).unwrap_or_else(|e| panic!("{e}"));
    let report = run_tests(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.passed(), report.failed()), (0, 1));
    assert!(
        report.cases[0].message.contains("expected deny"),
        "{report:?}"
    );
}

#[test]
fn shadow_disagreement_is_counted_and_not_enforced() {
    let store = PolicyStore::new(defaults());
    let lenient = dir_with(&[(
        "all.cedar",
        "@id(\"permit-everything\")\npermit (principal, action, resource);\n",
    )]);
    store
        .load_shadow(Some(lenient.path()))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = store.authorize_flow(&flow("chat", "postMessage", "EMAIL", "sheets"));
    assert!(!d.allowed, "the live set decides");
    assert_eq!(store.shadow_disagreements(), 1);
    assert!(
        store
            .authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"))
            .allowed
    );
    assert_eq!(store.shadow_disagreements(), 1, "agreement is not counted");
}

#[test]
fn explain_names_file_line_and_considered_policies() {
    let engine = defaults();
    let e = engine.explain(&PolicyRequest::Flow(flow(
        "chat",
        "postMessage",
        "EMAIL",
        "sheets",
    )));
    assert!(!e.decision.allowed);
    assert_eq!(e.deciding.len(), 1);
    let forbid = &e.deciding[0];
    assert_eq!(forbid.id, "no-flow-to-external");
    assert_eq!(forbid.effect, "forbid");
    assert!(
        forbid.location.to_string().contains("default.cedar:"),
        "{}",
        forbid.location
    );
    assert!(forbid.text.starts_with("@id(\"no-flow-to-external\")"));
    let ids: Vec<_> = e.considered.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["contact-info-internal-to-internal", "no-flow-to-external"]
    );
    assert_eq!(e.skipped, 1, "the call policy is not considered for a flow");
}

#[test]
fn destination_index_skips_policies_of_other_tools() {
    let mut extra = String::new();
    for i in 0..50 {
        extra.push_str(&format!(
            "@id(\"other-{i}\")\npermit (principal, action == Sluice::Action::\"flow\", resource == Sluice::Tool::\"other{i}/t\");\n"
        ));
    }
    extra.push_str("@id(\"crm-server\")\nforbid (principal, action == Sluice::Action::\"flow\", resource in Sluice::Server::\"crm\") when { context.kind == Sluice::Kind::\"PHONE\" };\n");
    let dir = dir_with(&[("default.cedar", DEFAULTS), ("extra.cedar", &extra)]);
    let engine = load_dir(dir.path());
    let e = engine.explain(&PolicyRequest::Flow(flow(
        "crm",
        "updateLead",
        "PHONE",
        "sheets",
    )));
    assert!(!e.decision.allowed);
    assert_eq!(e.decision.policy_ids, ["crm-server"]);
    assert_eq!(e.considered.len(), 3);
    let e = engine.explain(&PolicyRequest::Flow(flow("other7", "t", "EMAIL", "sheets")));
    assert!(e.decision.allowed);
    assert_eq!(e.decision.policy_ids, ["other-7"]);
}

#[test]
fn a_misspelt_kind_literal_is_an_error_at_its_token_with_a_suggestion() {
    let text = "@id(\"mail\")\npermit (principal, action == Sluice::Action::\"flow\", resource)\nwhen { context.kind == Sluice::Kind::\"EMIAL\" };\n";
    let dir = dir_with(&[("kinds.cedar", text)]);
    let engine = PolicyEngine::load(Some(dir.path())).expect("valid for the schema");
    let err = engine
        .with_model_checked(EntityModel::builder().build())
        .expect_err("EMIAL is no kind");
    let msg = err.to_string();
    assert!(msg.contains("kinds.cedar:3:24"), "{msg}");
    assert!(msg.contains("Sluice::Kind::\"EMIAL\""), "{msg}");
    assert!(msg.contains("did you mean \"EMAIL\"?"), "{msg}");
}

#[test]
fn unknown_agents_and_tools_in_policies_are_warnings_with_suggestions() {
    let text = "@id(\"sync\")\npermit (principal == Sluice::Agent::\"crm-sync-agnet\", action, resource == Sluice::Tool::\"crm/updateLaed\");\n";
    let dir = dir_with(&[("agents.cedar", text)]);
    let engine = PolicyEngine::load(Some(dir.path())).expect("valid for the schema");
    let model = EntityModel::builder()
        .agent("crm-sync-agent", Vec::<String>::new())
        .server("crm", "internal", Vec::<String>::new())
        .tools("crm", ["updateLead", "getLead"])
        .build();
    let (_, warnings) = engine.with_model_checked(model).expect("warnings only");
    let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{text:?}");
    assert!(
        text[0].contains("agents.cedar:2:22")
            && text[0].contains("did you mean \"crm-sync-agent\"?"),
        "{text:?}"
    );
    assert!(
        text[1].contains("did you mean \"crm/updateLead\"?"),
        "{text:?}"
    );
}

#[test]
fn policies_over_the_financial_and_secret_kind_groups_validate_and_decide() {
    let text = "@id(\"money-to-crm\")\npermit (principal, action == Sluice::Action::\"flow\", resource == Sluice::Tool::\"crm/updateLead\")\nwhen { context.kind in Sluice::KindGroup::\"financial\" };\n\
                @id(\"no-secrets\")\nforbid (principal, action == Sluice::Action::\"flow\", resource)\nwhen { context.kind in Sluice::KindGroup::\"secret\" };\n";
    let dir = dir_with(&[("groups.cedar", text)]);
    let engine = PolicyEngine::load(Some(dir.path())).expect("valid for the schema");
    let (engine, warnings) = engine
        .with_model_checked(demo_model())
        .expect("financial and secret are known kind groups");
    assert!(warnings.is_empty(), "{warnings:?}");
    for kind in ["IBAN", "CARD"] {
        let d = engine.authorize_flow(&flow("crm", "updateLead", kind, "sheets"));
        assert!(d.allowed, "{kind}: {d:?}");
        assert_eq!(d.policy_ids, ["money-to-crm"]);
    }
    let d = engine.authorize_flow(&flow("crm", "updateLead", "SECRET", "sheets"));
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["no-secrets"]);
    let d = engine.authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"));
    assert!(!d.allowed, "contact info is not financial: {d:?}");
}

fn payments_model() -> EntityModel {
    let mut model = demo_model();
    model.set_tool_input(
        "mail",
        "send_money",
        serde_json::json!({
            "type": "object",
            "properties": {
                "iban": {"type": "string"},
                "amount": {"type": "integer"},
                "note": {"type": ["string", "null"]}
            },
            "required": ["iban", "amount"]
        }),
    );
    model
}

const KNOWN_PAYEES: &str = r#"
@id("call-any-tool")
permit (principal, action == Sluice::Action::"call", resource);

@id("payees-only")
forbid (principal, action == Sluice::Action::"call:mail/send_money", resource)
unless { ["DE89370400440532013000"].contains(context.args.iban) };
"#;

fn pay<'a>(args: &'a serde_json::Value) -> PolicyRequest<'a> {
    PolicyRequest::Call(CallRequest {
        agent: "demo-agent",
        server: "mail",
        tool: "send_money",
        args: Some(args),
        call: None,
    })
}

#[test]
fn an_argument_rule_refuses_a_payment_to_an_unknown_iban_and_allows_a_known_one() {
    let dir = dir_with(&[("pay.cedar", KNOWN_PAYEES)]);
    let engine = PolicyEngine::load(Some(dir.path()))
        .and_then(|e| e.with_model(payments_model()))
        .unwrap_or_else(|e| panic!("{e}"));
    let unknown = serde_json::json!({"iban": "GB33BUKB20201555555555", "amount": 100});
    let d = engine.decide(&pay(&unknown));
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["payees-only"]);
    assert!(!d.reason.contains("GB33"), "{}", d.reason);
    let known = serde_json::json!({"iban": "DE89370400440532013000", "amount": 100});
    assert!(engine.decide(&pay(&known)).allowed);
    // Asked again with other arguments: never answered from the cache.
    assert!(!engine.decide(&pay(&unknown)).allowed);
    // A missing required argument cannot slip past the rule.
    let missing = serde_json::json!({"amount": 100});
    let d = engine.decide(&pay(&missing));
    assert!(!d.allowed, "{d:?}");
    assert!(d.reason.contains("could not be evaluated"), "{}", d.reason);
    // Other tools are not affected.
    assert!(
        engine
            .authorize_call("demo-agent", "crm", "updateLead")
            .allowed
    );
}

#[test]
fn a_typo_in_an_argument_name_is_a_validation_error_once_the_tool_is_known() {
    let dir = dir_with(&[(
        "pay.cedar",
        &KNOWN_PAYEES.replace("context.args.iban", "context.args.ibna"),
    )]);
    let engine = PolicyEngine::load(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    // Before the tool's input schema is known the rule waits, and the tool is refused.
    assert_eq!(
        engine.pending_rules().collect::<Vec<_>>(),
        [("mail/send_money", &["payees-only".to_owned()][..])]
    );
    let args = serde_json::json!({"iban": "DE89370400440532013000", "amount": 1});
    let waiting = engine.decide(&pay(&args));
    assert!(!waiting.allowed);
    assert!(
        waiting.reason.contains("waits for the input schema"),
        "{}",
        waiting.reason
    );
    let err = engine
        .with_model(payments_model())
        .expect_err("typo must not validate");
    let text = err.to_string();
    assert!(
        text.contains("payees-only") && text.contains("ibna"),
        "{text}"
    );
}

#[test]
fn argument_rules_can_only_forbid() {
    let dir = dir_with(&[(
        "pay.cedar",
        r#"@id("grant-pay")
permit (principal, action == Sluice::Action::"call:mail/send_money", resource);"#,
    )]);
    let err = PolicyEngine::load(Some(dir.path())).expect_err("a permit on a tool action");
    assert!(err.to_string().contains("can only forbid"), "{err}");
}

#[test]
fn the_schema_in_force_includes_the_generated_argument_types() {
    let engine = defaults()
        .with_model(payments_model())
        .unwrap_or_else(|e| panic!("{e}"));
    let schema = engine.schema_text();
    assert!(schema.contains("action call appliesTo"), "{schema}");
    assert!(
        schema.contains("action \"call:mail/send_money\"")
            && schema.contains("\"iban\": String, \"amount\": Long, \"note\"?: String"),
        "{schema}"
    );
}

const WHOLE_CALL: &str = r#"
@id("mail-contact-info")
permit (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"mail/send_email")
when { context.kind in Sluice::KindGroup::"contact_info" };

@id("contact-info-in-body-only-to-internal-recipients")
forbid (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"mail/send_email")
when {
  context.arg_path == "body" &&
  !(["example.com"].containsAll(context.call.recipient_domains))
};

@id("recipients-from-the-directory")
forbid (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"mail/send_email")
when { context.arg_path like "to*" }
unless { context has source_tool && context.source_tool == "mail/search_contacts" };
"#;

#[test]
fn a_flow_rule_sees_every_recipient_of_the_call_literal_or_placeholder() {
    let dir = dir_with(&[("mail.cedar", WHOLE_CALL)]);
    let engine = load_dir(dir.path());
    let detectors = detectors::Detectors::new();
    let restored = std::collections::HashMap::from([(
        "[PHONE_1]".to_owned(),
        Restored {
            kind: "PHONE",
            value: "+44 20 7946 0958",
        },
    )]);
    let body_flow = |facts: &CallFacts| {
        engine.decide(&PolicyRequest::Flow(FlowRequest {
            agent: "demo-agent",
            server: "mail",
            tool: "send_email",
            kind: "PHONE",
            source: "mail",
            placeholder: "[PHONE_1]",
            arg_path: "body",
            call: Some(facts),
            ..FlowRequest::default()
        }))
    };
    let outside = CallFacts::gather(
        &detectors,
        &serde_json::json!({"to": ["evil@attacker.example"], "body": "call [PHONE_1]"}),
        &restored,
    );
    let d = body_flow(&outside);
    assert!(!d.allowed);
    assert_eq!(
        d.policy_ids,
        ["contact-info-in-body-only-to-internal-recipients"]
    );
    let inside = CallFacts::gather(
        &detectors,
        &serde_json::json!({"to": ["ann@example.com"], "body": "call [PHONE_1]"}),
        &restored,
    );
    assert!(body_flow(&inside).allowed, "{:?}", body_flow(&inside));
    // The cache keeps the two calls apart.
    assert!(!body_flow(&outside).allowed);
}

#[test]
fn a_recipient_must_come_from_the_directory_tool() {
    let dir = dir_with(&[("mail.cedar", WHOLE_CALL)]);
    let engine = load_dir(dir.path());
    let to = |source_tool: Option<&'static str>| {
        engine.decide(&PolicyRequest::Flow(FlowRequest {
            agent: "demo-agent",
            server: "mail",
            tool: "send_email",
            kind: "EMAIL",
            source: "mail",
            placeholder: "[EMAIL_1]",
            arg_path: "to[0]",
            source_tool,
            source_path: Some("x"),
            ..FlowRequest::default()
        }))
    };
    assert!(to(Some("mail/search_contacts")).allowed);
    let d = to(Some("mail/search_emails"));
    assert!(!d.allowed);
    assert_eq!(d.policy_ids, ["recipients-from-the-directory"]);
    assert!(!to(None).allowed, "no recorded tool is not the directory");
}

#[test]
fn a_field_a_policy_spells_with_an_escape_is_still_in_its_context_and_its_cache_key() {
    // `"email\u{5f}domain"` is `"email_domain"`: a policy with an escape reads everything.
    let text = r#"
@id("any-flow")
permit (principal, action == Sluice::Action::"flow", resource);

@id("no-known-domains")
forbid (principal, action == Sluice::Action::"flow", resource)
when { context has "email\u{5f}domain" };
"#;
    let dir = dir_with(&[("escaped.cedar", text)]);
    let engine = load_dir(dir.path());
    let without = flow("crm", "updateLead", "EMAIL", "sheets");
    let with = FlowRequest {
        email_domain: Some("example.com"),
        ..without
    };
    assert!(engine.authorize_flow(&without).allowed);
    let d = engine.authorize_flow(&with);
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["no-known-domains"]);
    assert!(!engine.decide_uncached(&PolicyRequest::Flow(with)).allowed);
}

#[test]
fn a_forbid_that_cannot_be_evaluated_denies_whatever_characters_its_id_holds() {
    // Cedar's `Display` of a policy id escapes quotes; the fail-closed check must still
    // recognise the forbid by its `@id`.
    let text = r#"
@id("any-flow")
permit (principal, action == Sluice::Action::"flow", resource);

@id("no \"overflowing\" flows")
forbid (principal, action == Sluice::Action::"flow", resource)
when { 9223372036854775807 + 1 > 0 };
"#;
    let dir = dir_with(&[("broken.cedar", text)]);
    let engine = load_dir(dir.path());
    let d = engine.authorize_flow(&flow("crm", "updateLead", "EMAIL", "sheets"));
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["no \"overflowing\" flows"]);
    assert!(d.reason.contains("could not be evaluated"), "{}", d.reason);
}

#[test]
fn the_call_decision_is_cached_and_argument_rules_are_decided_afresh() {
    let dir = dir_with(&[("pay.cedar", KNOWN_PAYEES)]);
    let engine = PolicyEngine::load(Some(dir.path()))
        .and_then(|e| e.with_model(payments_model()))
        .unwrap_or_else(|e| panic!("{e}"));
    let known = serde_json::json!({"iban": "DE89370400440532013000", "amount": 100});
    let unknown = serde_json::json!({"iban": "GB33BUKB20201555555555", "amount": 100});
    for _ in 0..2 {
        assert!(engine.decide(&pay(&known)).allowed);
        assert!(!engine.decide(&pay(&unknown)).allowed);
    }
    // One entry: the `call` decision of demo-agent → mail/send_money; no argument in it.
    assert_eq!(engine.cached_decisions(), 1);
    // An argument no rule names is not converted, so its type cannot matter; one a rule
    // reads is still there for the rule, whatever its type.
    let odd_note = serde_json::json!({"iban": "DE89370400440532013000", "amount": 1, "note": 7});
    assert!(engine.decide(&pay(&odd_note)).allowed);
    let odd_iban = serde_json::json!({"iban": 7, "amount": 1});
    let d = engine.decide(&pay(&odd_iban));
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["payees-only"]);
}

const UNEVALUABLE: &str = r#"
@id("any-flow")
permit (principal, action == Sluice::Action::"flow", resource);

@id("overflowing-forbid")
forbid (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"crm/updateLead")
when { 9223372036854775807 + 1 > 0 };

@id("overflowing-permit")
permit (principal, action == Sluice::Action::"call", resource)
when { 9223372036854775807 + 1 > 0 };
"#;

/// Permits and forbids that are satisfied, unsatisfied or unevaluable depending on the
/// request (the agent, the tool, the kind, the argument path, the amount), side by side.
const MIXED: &str = r#"
@id("flows within crm and chat")
permit (principal, action == Sluice::Action::"flow", resource)
when { resource in Sluice::Server::"crm" || resource in Sluice::Server::"chat" };

@id("sync-bots to mail")
permit (principal in Sluice::Group::"sync-bots", action == Sluice::Action::"flow", resource in Sluice::Server::"mail")
when { context has email_domain && context.email_domain == "example.com" };

@id("emails-overflow")
permit (principal, action == Sluice::Action::"flow", resource)
when { if context.kind == Sluice::Kind::"EMAIL" then 9223372036854775807 + 1 > 0 else context.source == Sluice::Server::"sheets" };

@id("no phones to chat")
forbid (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"chat/postMessage")
when { context.kind == Sluice::Kind::"PHONE" };

@id("chat-overflow")
forbid (principal, action == Sluice::Action::"flow", resource == Sluice::Tool::"chat/postMessage")
when { context.kind != Sluice::Kind::"EMAIL" && 9223372036854775807 + 1 > 0 };

@id("mail-body-overflow")
forbid (principal, action == Sluice::Action::"flow", resource in Sluice::Server::"mail")
when { context.arg_path == "body" && 9223372036854775807 + 1 > 0 };

@id("sync-bots call")
permit (principal in Sluice::Group::"sync-bots", action == Sluice::Action::"call", resource);

@id("call-overflow")
permit (principal, action == Sluice::Action::"call", resource in Sluice::Server::"mail")
when { 9223372036854775807 + 1 > 0 };

@id("amount-overflow")
forbid (principal, action == Sluice::Action::"call:mail/send_money", resource)
when { context.args.amount * 4611686018427387904 > 0 };
"#;

#[test]
fn evaluation_without_source_locations_decides_the_same() {
    // The slices hold policies rebuilt without source locations (`engine::without_locations`);
    // every decision over every set here must equal the one Cedar's authorizer makes over
    // the policies as parsed: allowed or not, the deciding policies, the reason and the
    // error messages.
    decides_as(PolicyEngine::with_policies_as_parsed);
}

#[test]
fn evaluation_with_conditions_built_once_decides_as_cedar() {
    // A decision interprets each policy's condition built at load and applies Cedar's
    // authorization rules itself (`PolicyEngine::authorize`); every decision here must
    // equal the one Cedar's own `Authorizer::is_authorized` makes over the same policies.
    decides_as(PolicyEngine::with_cedar_authorizer);
}

/// Decides ~20,000 requests over six policy sets with the engine as loaded and with the
/// engine `reference` makes of it, and requires the same decisions.
fn decides_as(reference: fn(&PolicyEngine) -> PolicyEngine) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/examples");
    let rules = dir_with(&[("mail.cedar", WHOLE_CALL), ("pay.cedar", KNOWN_PAYEES)]);
    let broken = dir_with(&[("broken.cedar", UNEVALUABLE)]);
    let mixed = dir_with(&[("mixed.cedar", MIXED)]);
    let sets = [
        ("defaults", None),
        ("examples", Some(examples.clone())),
        ("ask", Some(examples.join("ask"))),
        ("whole-call and payees", Some(rules.path().to_owned())),
        ("unevaluable", Some(broken.path().to_owned())),
        ("mixed", Some(mixed.path().to_owned())),
    ];
    let restored = std::collections::HashMap::from([(
        "[EMAIL_2]".to_owned(),
        Restored {
            kind: "EMAIL",
            value: "sam@example.com",
        },
    )]);
    let inside_args = serde_json::json!({
        "to": ["boss@example.com", "[EMAIL_2]"], "subject": "Q4",
        "body": "Ann: [EMAIL_1], see https://docs.example.com/q4"});
    let outside_args = serde_json::json!({
        "to": ["evil@attacker.example"], "subject": "hi",
        "body": "[EMAIL_1] https://attacker.example/x"});
    let inside = CallFacts::gather_default(&inside_args, &restored);
    let outside = CallFacts::gather_default(&outside_args, &restored);
    let pay_args = [
        serde_json::json!({"iban": "DE89370400440532013000", "amount": 5}),
        serde_json::json!({"iban": "GB33BUKB20201555555555", "amount": 5, "note": "x"}),
        serde_json::json!({"iban": 7, "amount": 5}),
        serde_json::json!({"amount": 5}),
        serde_json::json!({"iban": "DE89370400440532013000", "amount": 1}),
        serde_json::json!({"iban": "DE89370400440532013000", "amount": 0}),
    ];
    let destinations = [
        ("crm", "updateLead"),
        ("chat", "postMessage"),
        ("mail", "send_email"),
        ("mail", "send_money"),
        ("nowhere", "tool"),
    ];
    let (mut allowed, mut denied, mut errors, mut compared) = (0, 0, 0, 0);
    // Outcomes of the mixed set: with errors and allowed, denied by a satisfied forbid,
    // denied by a forbid that could not be evaluated.
    let mut mixed_outcomes = std::collections::BTreeSet::new();
    for (name, dir) in &sets {
        let engine = PolicyEngine::load(dir.as_deref())
            .and_then(|e| e.with_model(payments_model()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let reference = reference(&engine);
        let mut check = |request: &PolicyRequest<'_>| {
            let got = engine.decide_uncached(request);
            let want = reference.decide_uncached(request);
            assert_eq!(got, want, "{name}: {request:?}");
            compared += 1;
            if got.allowed {
                allowed += 1;
            } else {
                denied += 1;
            }
            if !got.errors.is_empty() {
                errors += 1;
            }
            if *name == "mixed" {
                let errored = !got.errors.is_empty();
                mixed_outcomes.insert(match (got.allowed, got.reason.contains("could not")) {
                    (true, _) => ("allowed", errored),
                    (false, true) => ("unevaluable forbid", errored),
                    (false, false) => ("denied", errored),
                });
            }
        };
        for agent in ["demo-agent", "stranger"] {
            for (server, tool) in destinations {
                for call in [None, Some(&inside), Some(&outside)] {
                    check(&PolicyRequest::Call(CallRequest {
                        agent,
                        server,
                        tool,
                        args: None,
                        call,
                    }));
                    for args in &pay_args {
                        check(&PolicyRequest::Call(CallRequest {
                            agent,
                            server,
                            tool,
                            args: Some(args),
                            call,
                        }));
                    }
                    for kind in ["EMAIL", "PHONE", "SECRET"] {
                        for source in ["sheets", "mail", "chat"] {
                            for arg_path in ["to[1]", "body", "email"] {
                                for email_domain in [None, Some("example.com")] {
                                    for source_tool in [None, Some("mail/search_contacts")] {
                                        check(&PolicyRequest::Flow(FlowRequest {
                                            agent,
                                            server,
                                            tool,
                                            kind,
                                            source,
                                            placeholder: "[EMAIL_2]",
                                            arg_path,
                                            email_domain,
                                            source_tool,
                                            source_path: source_tool.map(|_| "contacts[0].email"),
                                            call,
                                            ..FlowRequest::default()
                                        }));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // The grid reaches every kind of outcome, so the comparison covers them all.
    assert!(
        allowed > 0 && denied > 0 && errors > 0,
        "{allowed} {denied} {errors}"
    );
    assert!(compared > 10_000, "{compared}");
    for outcome in [
        ("allowed", false),
        ("allowed", true),
        ("denied", false),
        ("denied", true),
        ("unevaluable forbid", true),
    ] {
        assert!(
            mixed_outcomes.contains(&outcome),
            "{outcome:?}: {mixed_outcomes:?}"
        );
    }
}
