//! Cedar flow-decision cost: uncached (default set, and with 1,000 unrelated policies) and cached;
//! and with call contexts (issue 18): a `flow` with whole-call facts and provenance, and a
//! `call` held against an argument rule typed from the tool's input schema, both with the
//! example policies of `policies/examples/`.
//!
//! `CARGO_TARGET_DIR=/work/target-policy cargo bench -p sluice --bench policy`
//! Criterion reports means; each case also prints p50/p99 of 20,000 individually timed calls.
//!
//! `POLICY_BENCH_ONLY=<case>` runs only that case's timed calls and skips criterion, so
//! `valgrind --tool=callgrind --toggle-collect='*decide_uncached*'` counts the instructions
//! of one case (`POLICY_BENCH_SAMPLES=<n>` sets the number of calls, default 20,000).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::policy::{
    CallFacts, CallRequest, EntityModel, FlowRequest, PolicyEngine, PolicyRequest, Restored,
};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn model() -> EntityModel {
    EntityModel::builder()
        .server("sheets", "internal", Vec::<String>::new())
        .tools("sheets", ["getRows"])
        .server("crm", "internal", Vec::<String>::new())
        .tools("crm", ["updateLead"])
        .server("chat", "external", ["external"])
        .tools("chat", ["postMessage"])
        .agent("demo-agent", ["sync-bots"])
        .build()
}

fn request() -> FlowRequest<'static> {
    FlowRequest {
        agent: "demo-agent",
        server: "crm",
        tool: "updateLead",
        kind: "EMAIL",
        source: "sheets",
        placeholder: "[EMAIL_1]",
        arg_path: "email",
        email_domain: Some("example.com"),
        phone_country: None,
        ..FlowRequest::default()
    }
}

fn engine_with_unrelated(n: usize, dir: &Path) -> PolicyEngine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let copy = |name: &str| {
        std::fs::copy(root.join(name), dir.join(name))
            .unwrap_or_else(|e| panic!("copy {name}: {e}"));
    };
    copy("schema.cedarschema");
    copy("default.cedar");
    let mut extra = String::new();
    for i in 0..n {
        extra.push_str(&format!(
            "@id(\"unrelated-{i}\")\npermit (principal, action == Sluice::Action::\"flow\", resource == Sluice::Tool::\"srv{i}/tool\")\nwhen {{ context.kind in Sluice::KindGroup::\"contact_info\" && context.source.trust == \"internal\" }};\n"
        ));
    }
    std::fs::write(dir.join("unrelated.cedar"), extra).unwrap_or_else(|e| panic!("{e}"));
    PolicyEngine::load(Some(dir))
        .and_then(|e| e.with_model(model()))
        .unwrap_or_else(|e| panic!("load: {e}"))
}

/// This process's involuntary context switches so far (Linux), if known.
fn preempted() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The case `POLICY_BENCH_ONLY` selects, if any.
fn only() -> Option<String> {
    std::env::var("POLICY_BENCH_ONLY").ok()
}

fn percentiles(name: &str, mut f: impl FnMut()) {
    if only().is_some_and(|o| o != name) {
        return;
    }
    let n = std::env::var("POLICY_BENCH_SAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    // Untimed warm-up, as criterion does: the first calls after set-up fault in pages
    // and fill caches, which is not the steady state p99 speaks about.
    for _ in 0..n / 20 {
        f();
    }
    let switches = preempted();
    let mut samples: Vec<u128> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos()
        })
        .collect();
    let switches = preempted()
        .zip(switches)
        .map(|(after, before)| after - before);
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<u128>() / samples.len().max(1) as u128;
    // How often another process took the CPU while the samples were timed: each such
    // sample (and the cold-cache ones after it) lands in the tail.
    let switches = switches.map_or("?".to_owned(), |n| n.to_string());
    eprintln!(
        "{name}: p50 {} ns, p99 {} ns, p99.9 {} ns, mean {mean} ns; {switches} involuntary context switches in {n} samples",
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

fn bench(c: &mut Criterion) {
    let req = PolicyRequest::Flow(request());
    let defaults = PolicyEngine::load(None)
        .and_then(|e| e.with_model(model()))
        .unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // 1,000 policies take long to validate under valgrind: only when measured.
    let big = engine_with_unrelated(
        if only().is_none_or(|o| o.contains("1000")) {
            1_000
        } else {
            0
        },
        tmp.path(),
    );

    let uncached = |engine: &PolicyEngine| {
        black_box(engine.decide_uncached(black_box(&req)));
    };
    // The timer alone: what every sample below includes besides the decision.
    percentiles("timer/empty", || {
        black_box(());
    });
    percentiles("uncached/defaults", || uncached(&defaults));
    percentiles("uncached/defaults+1000-unrelated", || uncached(&big));
    percentiles("cached/defaults", || {
        black_box(defaults.decide(black_box(&req)));
    });

    // Call contexts: the example policies (whole-call, payees, URL hosts, directory).
    let mail = {
        let mut m = EntityModel::builder()
            .server("mail", "internal", Vec::<String>::new())
            .tools("mail", ["send_email", "search_contacts", "search_emails"])
            .agent("demo-agent", ["sync-bots"])
            .build();
        let _ = m.set_tool_input(
            "mail",
            "send_money",
            serde_json::json!({"type": "object", "properties": {
                "iban": {"type": "string"}, "amount": {"type": "integer"},
                "note": {"type": ["string", "null"]}}, "required": ["iban", "amount"]}),
        );
        m
    };
    let examples = PolicyEngine::load(Some(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/examples"),
    ))
    .and_then(|e| e.with_model(mail))
    .unwrap_or_else(|e| panic!("examples: {e}"));
    let mail_args = serde_json::json!({
        "to": ["boss@example.com", "[EMAIL_2]"],
        "subject": "Q4",
        "body": "Ann: [EMAIL_1], see https://docs.example.com/q4",
    });
    let restored = std::collections::HashMap::from([
        (
            "[EMAIL_1]".to_owned(),
            Restored {
                kind: "EMAIL",
                value: "ann.lee@example.com",
            },
        ),
        (
            "[EMAIL_2]".to_owned(),
            Restored {
                kind: "EMAIL",
                value: "sam@example.com",
            },
        ),
    ]);
    let facts = CallFacts::gather_default(&mail_args, &restored);
    let flow_call = PolicyRequest::Flow(FlowRequest {
        agent: "demo-agent",
        server: "mail",
        tool: "send_email",
        kind: "EMAIL",
        source: "mail",
        placeholder: "[EMAIL_2]",
        arg_path: "to[1]",
        email_domain: Some("example.com"),
        source_tool: Some("mail/search_contacts"),
        source_path: Some("contacts[1].email"),
        call: Some(&facts),
        ..FlowRequest::default()
    });
    let pay_args =
        serde_json::json!({"iban": "DE89370400440532013000", "amount": 5000, "note": "invoice 7"});
    let pay_facts = CallFacts::gather_default(&pay_args, &std::collections::HashMap::new());
    let pay = PolicyRequest::Call(CallRequest {
        agent: "demo-agent",
        server: "mail",
        tool: "send_money",
        args: Some(&pay_args),
        call: Some(&pay_facts),
    });
    assert!(examples.decide_uncached(&flow_call).allowed);
    assert!(examples.decide_uncached(&pay).allowed);
    percentiles("uncached/flow-with-call-context", || {
        black_box(examples.decide_uncached(black_box(&flow_call)));
    });
    percentiles("uncached/call-with-argument-rule", || {
        black_box(examples.decide_uncached(black_box(&pay)));
    });
    percentiles("call-facts/gather-mail-args", || {
        black_box(CallFacts::gather_default(black_box(&mail_args), &restored));
    });
    if only().is_some() {
        return;
    }

    c.bench_function("flow/uncached/defaults", |b| b.iter(|| uncached(&defaults)));
    c.bench_function("flow/uncached/call-context", |b| {
        b.iter(|| black_box(examples.decide_uncached(black_box(&flow_call))))
    });
    c.bench_function("call/uncached/argument-rule", |b| {
        b.iter(|| black_box(examples.decide_uncached(black_box(&pay))))
    });
    c.bench_function("flow/uncached/defaults+1000-unrelated", |b| {
        b.iter(|| uncached(&big))
    });
    c.bench_function("flow/cached/defaults", |b| {
        b.iter(|| black_box(defaults.decide(black_box(&req))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
