//! Cedar flow-decision cost: uncached (default set, and with 1,000 unrelated policies) and cached.
//!
//! `CARGO_TARGET_DIR=/work/target-policy cargo bench -p sluice --bench policy`
//! Criterion reports means; each case also prints p50/p99 of 20,000 individually timed calls.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::policy::{EntityModel, FlowRequest, PolicyEngine, PolicyRequest};

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

fn percentiles(name: &str, mut f: impl FnMut()) {
    let mut samples: Vec<u128> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos()
        })
        .collect();
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    eprintln!("{name}: p50 {} ns, p99 {} ns", at(0.50), at(0.99));
}

fn bench(c: &mut Criterion) {
    let req = PolicyRequest::Flow(request());
    let defaults = PolicyEngine::load(None)
        .and_then(|e| e.with_model(model()))
        .unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let big = engine_with_unrelated(1_000, tmp.path());

    let uncached = |engine: &PolicyEngine| {
        black_box(engine.decide_uncached(black_box(&req)));
    };
    percentiles("uncached/defaults", || uncached(&defaults));
    percentiles("uncached/defaults+1000-unrelated", || uncached(&big));
    percentiles("cached/defaults", || {
        black_box(defaults.decide(black_box(&req)));
    });

    c.bench_function("flow/uncached/defaults", |b| b.iter(|| uncached(&defaults)));
    c.bench_function("flow/uncached/defaults+1000-unrelated", |b| {
        b.iter(|| uncached(&big))
    });
    c.bench_function("flow/cached/defaults", |b| {
        b.iter(|| black_box(defaults.decide(black_box(&req))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
