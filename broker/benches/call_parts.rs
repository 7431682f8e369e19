//! Where the broker's per-call overhead goes (see `benches/call.rs` for the whole): each
//! step of `Core::call` measured on its own, on the same lead row the call bench fetches.
//!
//! `cargo bench -p sluice --bench call_parts`

use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice::audit::{AuditEvent, AuditLog, AuditRecord, Decision};
use sluice::config::Config;
use sluice::flow::egress::{self, Destination};
use sluice::setup;
use sluice::vault::MasterKey;

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What `sheets.getRow` returns for L-001: a name, an email and a phone among other fields.
fn lead() -> Value {
    json!({
        "id": "L-001", "name": "Amelia Hartley", "company": "Northwind Logistics",
        "email": "amelia.hartley@northwind-logistics.co.uk", "phone": "+44 20 7946 0958",
        "status": "pending", "crmId": "CRM-1001", "notes": "Asked for a call back on Tuesday."
    })
}

fn parts(c: &mut Criterion) {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "data_dir = {:?}\n",
        data.path().to_str().unwrap_or_default()
    );
    let config = Config::parse(&text, Path::new("bench.toml")).unwrap_or_else(|e| panic!("{e}"));
    let tokenizer = setup::tokenizer(&config).unwrap_or_else(|e| panic!("{e}"));
    let policy = setup::policy_store(&config).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("call_parts");

    // 0. The task hop that keeps Cedar and serde off the sandbox's fiber stack.
    group.bench_function("spawn_and_join", |b| {
        b.iter(|| runtime.block_on(async { tokio::spawn(async { 1u32 }).await }))
    });
    group.bench_function("block_on_only (baseline for spawn_and_join)", |b| {
        b.iter(|| runtime.block_on(async { 1u32 }))
    });

    // 1. Call authorization (cached after the first decision, as in steady state).
    let _ = policy.authorize_call("bench", "sheets", "getRow");
    group.bench_function("authorize_call_cached", |b| {
        b.iter(|| policy.authorize_call("bench", "sheets", "getRow"))
    });

    // 2. Egress on placeholder-free arguments (the getRow call).
    let args = json!({ "sheet": "q4-leads", "id": "L-001" });
    let dest = Destination {
        agent: "bench",
        server: "sheets",
        tool: "getRow",
    };
    group.bench_function("egress_check_no_placeholders", |b| {
        b.iter(|| {
            egress::check(
                tokenizer.vault(),
                tokenizer.detectors(),
                &policy,
                "bench",
                dest,
                &args,
            )
        })
    });

    // 3. Ingress of the row: values already minted (steady state of the call bench)…
    let _ = tokenizer.ingest_json("bench", "sheets", lead());
    group.bench_function("ingest_row_values_known", |b| {
        b.iter_batched(
            lead,
            |row| tokenizer.ingest_json("bench", "sheets", row),
            BatchSize::SmallInput,
        )
    });
    // …and new values every time (each row mints three placeholders under one fsync).
    let mut n = 0u64;
    group.sample_size(20);
    group.bench_function("ingest_row_values_new (fsync)", |b| {
        b.iter_batched(
            || {
                n += 1;
                let mut row = lead();
                row["email"] = json!(format!("lead{n}@northwind-logistics.co.uk"));
                row["phone"] = json!(format!("+44 20 7946 {:04}", n % 10_000));
                row
            },
            |row| tokenizer.ingest_json("bench", "sheets", row),
            BatchSize::SmallInput,
        )
    });
    group.sample_size(100);

    // 4. One audit record (the call bench appends two per call: call and flow/none).
    let audit_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = MasterKey::load_or_create(audit_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let log = AuditLog::open(audit_dir.path(), &key).unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("audit_append", |b| {
        b.iter(|| {
            log.append(
                AuditRecord::new(AuditEvent::Call, Decision::Allow)
                    .session("bench")
                    .agent("bench")
                    .tool("sheets", "getRow")
                    .policy_ids(["allow-internal-calls".to_owned()])
                    .policy_set_hash(policy.policy_set_hash())
                    .detail("allowed"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, parts);
criterion_main!(benches);
