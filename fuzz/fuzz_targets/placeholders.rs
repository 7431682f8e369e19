//! Placeholder parsing, finding, neutralizing, and egress substitution through the real
//! vault and the embedded default Cedar policies.
//!
//! The input is tool-call arguments: JSON when it parses, else one string (lossy UTF-8).
//! Pure properties, on the raw text and on every string and key of the arguments:
//! - `find_placeholders` returns sorted, disjoint ranges on char boundaries, each of which
//!   parses and prints back as exactly that slice, and it finds every exact placeholder (an
//!   independent oracle: a `[` up to the next `]` that `Placeholder::parse` accepts);
//! - `Placeholder::parse` accepts only text that prints back identically;
//! - `neutralize` leaves no placeholder, is idempotent, borrows when it changes nothing, and
//!   changes nothing but brackets;
//! - `Vault::resolve` gives a value for exactly the minted placeholders of its session.
//!
//! Egress (invariants 2, 3, 4), with values minted once into session A and session B as
//! marker strings that cannot occur in the input:
//! - toward an internal tool (contact info allowed, `EMPLOYEE_ID` not): the call is denied
//!   iff a minted A `[EMPLOYEE_ID_n]` is present; otherwise every minted A placeholder,
//!   and nothing else, is replaced by its value (mapping the values back gives the input
//!   exactly; no minted A placeholder is left; B's values never appear);
//! - toward an external tool: denied iff any minted A placeholder is present, the message
//!   names each one and contains no value; otherwise the arguments pass unchanged.
#![no_main]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use detectors::Detectors;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sluice::audit::AuditEvent;
use sluice::flow::egress::Destination;
use sluice::flow::ingress::Tokenizer;
use sluice::flow::pipeline::release;
use sluice::flow::{BrokerError, CallContext};
use sluice::policy::{EntityModel, PolicyEngine, PolicyStore};
use sluice::vault::{
    MasterKey, NEUTRAL_CLOSE, NEUTRAL_OPEN, Placeholder, Vault, find_placeholders, neutralize,
};

const SESSION_A: &str = "fuzz-a";
const SESSION_B: &str = "fuzz-b";
const SOURCE: &str = "sheets";
/// Every value starts and ends with this; inputs holding it are not used for egress.
const MARK: char = '\u{1}';

struct World {
    tokenizer: Tokenizer,
    policy: PolicyStore,
    /// Session A's minted placeholders (text) and their values.
    minted_a: Vec<(String, String)>,
    /// Session B's values.
    values_b: Vec<String>,
    /// Keeps the vault directory alive for the process.
    _dir: tempfile::TempDir,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let dir = tempfile::Builder::new()
        .prefix("sluice-fuzz-vault-")
        .tempdir()
        .expect("tempdir");
    let vault = Vault::open(dir.path(), &MasterKey::from_bytes([7; 32])).expect("vault");
    let mint = |session: &str, kind: &str, n: usize| {
        (1..=n)
            .map(|i| {
                let value = format!("{MARK}{session}-{kind}-{i}{MARK}");
                let p = vault.mint(session, kind, &value, SOURCE).expect("mint");
                assert_eq!(p.n(), i as u64);
                (p.to_string(), value)
            })
            .collect::<Vec<_>>()
    };
    let mut minted_a = Vec::new();
    for (kind, n) in [("EMAIL", 2), ("PHONE", 1), ("NAME", 2), ("EMPLOYEE_ID", 1)] {
        minted_a.extend(mint(SESSION_A, kind, n));
    }
    let mut values_b = Vec::new();
    for (kind, n) in [("EMAIL", 3), ("NAME", 1), ("PHONE", 2)] {
        values_b.extend(mint(SESSION_B, kind, n).into_iter().map(|(_, v)| v));
    }
    let model: EntityModel = EntityModel::builder()
        .server(SOURCE, "internal", Vec::<String>::new())
        .server("crm", "internal", Vec::<String>::new())
        .server("ext", "external", Vec::<String>::new())
        .tools("crm", ["updateLead"])
        .tools("ext", ["post"])
        .agent("fuzz", Vec::<String>::new())
        .kind("EMPLOYEE_ID", Vec::<String>::new())
        .build();
    let engine = PolicyEngine::load(None)
        .and_then(|e| e.with_model(model))
        .expect("default policies");
    World {
        tokenizer: Tokenizer::new(Detectors::new(), vault),
        policy: PolicyStore::new(engine),
        minted_a,
        values_b,
        _dir: dir,
    }
});

/// Every string and key of `value`, iteratively.
fn texts(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, item) in map {
                    out.push(k.as_str());
                    stack.push(item);
                }
            }
            _ => {}
        }
    }
    out
}

/// `value` with `f` applied to every string and key.
fn map_texts(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_texts(v, f)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (f(k), map_texts(v, f))).collect())
        }
        other => other.clone(),
    }
}

fn check_text(text: &str) {
    // find_placeholders: well-formed, exact ranges.
    let found: Vec<_> = find_placeholders(text).collect();
    let mut prev_end = 0;
    for (range, p) in &found {
        assert!(range.start >= prev_end, "unsorted/overlapping {found:?}");
        prev_end = range.end;
        assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        assert_eq!(p.to_string(), &text[range.clone()]);
        assert_eq!(
            Placeholder::parse(&text[range.clone()]).ok().as_ref(),
            Some(p)
        );
    }
    // Oracle: each `[` up to the first `]` after it.
    let starts: BTreeSet<usize> = found.iter().map(|(r, _)| r.start).collect();
    for (i, _) in text.match_indices('[') {
        if let Some(j) = text[i..].find(']') {
            let candidate = &text[i..=i + j];
            if Placeholder::parse(candidate).is_ok() {
                assert!(
                    starts.contains(&i),
                    "missed {candidate:?} at {i} in {text:?}"
                );
            }
        }
    }
    // parse: exact round trip only.
    if let Ok(p) = Placeholder::parse(text) {
        assert_eq!(p.to_string(), text);
        assert_eq!(Placeholder::new(p.kind(), p.n()).ok(), Some(p));
    }
    // neutralize.
    let once = neutralize(text);
    assert!(
        find_placeholders(&once).next().is_none(),
        "{text:?} -> {once:?}"
    );
    assert_eq!(neutralize(&once), once, "not idempotent on {text:?}");
    let plain = |s: &str| s.replace(NEUTRAL_OPEN, "[").replace(NEUTRAL_CLOSE, "]");
    assert_eq!(
        plain(&once),
        plain(text),
        "neutralize changed more than brackets"
    );
    if found.is_empty() && once.len() == text.len() {
        assert!(matches!(once, std::borrow::Cow::Borrowed(_)));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
    let args =
        serde_json::from_slice::<Value>(data).unwrap_or_else(|_| Value::String(text.to_string()));
    let strings = texts(&args);
    for s in &strings {
        check_text(s);
    }

    let world = &*WORLD;
    let vault = world.tokenizer.vault();
    match vault.resolve(SESSION_A, &text) {
        Ok(Some(r)) => assert!(
            world
                .minted_a
                .iter()
                .any(|(p, v)| *p == text && *v == r.value),
            "resolved {text:?}, which was not minted in A"
        ),
        Ok(None) => assert!(world.minted_a.iter().all(|(p, _)| *p != text)),
        Err(_) => assert!(Placeholder::parse(&text).is_err()),
    }

    if strings.iter().any(|s| s.contains(MARK)) {
        return;
    }
    let present: BTreeSet<&str> = strings
        .iter()
        .flat_map(|s| find_placeholders(s))
        .filter_map(|(_, p)| {
            world
                .minted_a
                .iter()
                .find(|(m, _)| *m == p.to_string())
                .map(|(m, _)| m.as_str())
        })
        .collect();
    let context = CallContext {
        session: SESSION_A.into(),
        agent: "fuzz".into(),
        approver: Default::default(),
    };

    let internal = release(
        &world.tokenizer,
        &world.policy,
        None,
        AuditEvent::Detokenize,
        &context,
        Destination {
            agent: "fuzz",
            server: "crm",
            tool: "updateLead",
        },
        args.clone(),
    );
    let employee_id = present.iter().any(|p| p.starts_with("[EMPLOYEE_ID_"));
    match internal {
        Ok(out) => {
            assert!(!employee_id, "EMPLOYEE_ID flowed without a permit");
            let back = map_texts(&out, &|s| {
                let mut s = s.to_owned();
                for (p, v) in &world.minted_a {
                    s = s.replace(v.as_str(), p);
                }
                s
            });
            assert_eq!(
                back, args,
                "substitution changed more than minted placeholders"
            );
            for s in texts(&out) {
                for v in &world.values_b {
                    assert!(!s.contains(v.as_str()), "session B's value leaked into A");
                }
                for (_, p) in find_placeholders(s) {
                    let p = p.to_string();
                    assert!(
                        world.minted_a.iter().all(|(m, _)| *m != p),
                        "minted {p} left unresolved in {out:?}"
                    );
                }
            }
        }
        Err(BrokerError::FlowDenied(denial)) => {
            let message = denial.to_string();
            assert!(employee_id, "denied without an EMPLOYEE_ID: {message}");
            assert!(message.contains("EMPLOYEE_ID"), "{message}");
            assert!(
                !message.contains(MARK),
                "a value in the denial: {message:?}"
            );
        }
        Err(e) => panic!("unexpected error {e}"),
    }

    let external = release(
        &world.tokenizer,
        &world.policy,
        None,
        AuditEvent::Detokenize,
        &context,
        Destination {
            agent: "fuzz",
            server: "ext",
            tool: "post",
        },
        args.clone(),
    );
    match external {
        Ok(out) => {
            assert!(
                present.is_empty(),
                "{present:?} flowed to an external server"
            );
            assert_eq!(out, args);
        }
        Err(BrokerError::FlowDenied(denial)) => {
            let message = denial.to_string();
            assert!(
                !present.is_empty(),
                "denied with nothing to deny: {message}"
            );
            for p in &present {
                assert!(message.contains(p), "{p} not named in {message}");
            }
            assert!(
                !message.contains(MARK),
                "a value in the denial: {message:?}"
            );
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
