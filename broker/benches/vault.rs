//! Vault and ingress benchmarks: minting (durable, fsync) and resolving placeholders, and
//! the whole ingress path (neutralize, detect, mint, replace) over realistic CRM JSON.
//!
//! `cargo bench -p sluice --bench vault`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use detectors::Detectors;
use serde_json::{Value, json};
use sluice::flow::ingress::Tokenizer;
use sluice::vault::{MasterKey, Vault};

fn crm_rows(n: usize) -> Value {
    let first = [
        "Amelia", "Jonas", "Camille", "Priya", "Lucas", "Sofia", "Haruto", "Chinedu",
    ];
    let last = [
        "Hartley", "Weber", "Durand", "Sharma", "Oliveira", "Rossi", "Sato", "Okafor",
    ];
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            let (f, l) = (first[i % first.len()], last[(i / 3) % last.len()]);
            json!({
                "id": format!("L-{i:05}"),
                "name": format!("{f} {l}"),
                "email": format!("{}.{}{i}@example-{}.com", f.to_lowercase(), l.to_lowercase(), i % 7),
                "phone": format!("+44 20 7946 {:04}", i % 10_000),
                "company": "Northwind Logistics",
                "status": if i % 2 == 0 { "pending" } else { "synced" },
                "notes": format!("Call back after the Q{} review; prefers email.", i % 4 + 1),
                "score": i % 100,
            })
        })
        .collect();
    json!({ "rows": rows })
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::generate().expect("key");
    let vault = Vault::open(dir.path(), &key).expect("vault");

    let mut group = c.benchmark_group("vault");
    let mut n = 0u64;
    group.bench_function("mint_new_durable", |b| {
        b.iter(|| {
            n += 1;
            black_box(
                vault
                    .mint("bench", "EMAIL", &format!("user{n}@example.com"), "crm")
                    .expect("mint"),
            )
        })
    });
    vault
        .mint("bench", "EMAIL", "known@example.com", "crm")
        .expect("mint");
    group.bench_function("mint_existing", |b| {
        b.iter(|| {
            black_box(
                vault
                    .mint("bench", "EMAIL", "known@example.com", "crm")
                    .expect("mint"),
            )
        })
    });
    group.bench_function("resolve", |b| {
        b.iter(|| black_box(vault.resolve("bench", "[EMAIL_1]").expect("resolve")))
    });
    group.finish();

    let tokenizer = Tokenizer::new(
        Detectors::builder().build().expect("detectors"),
        vault.clone(),
    );
    let rows = crm_rows(200);
    let bytes = serde_json::to_vec(&rows).expect("json").len() as u64;
    // Warm: every value already has its placeholder, as in a session that re-reads data.
    tokenizer
        .ingest_json("ingress", "sheets", rows.clone())
        .expect("ingest");
    let mut group = c.benchmark_group("ingress");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("crm_rows_200_known_values", |b| {
        b.iter_batched(
            || rows.clone(),
            |v| {
                black_box(
                    tokenizer
                        .ingest_json("ingress", "sheets", v)
                        .expect("ingest"),
                )
            },
            BatchSize::SmallInput,
        )
    });
    // Known-value matching (issue 13.1): the same warm ingest in sessions that also hold
    // 10, 1,000 and 10,000 other values, and today's figure without the matcher.
    let baseline = tokenizer.clone().match_known(false);
    group.bench_function("crm_rows_200_without_known_matching", |b| {
        b.iter_batched(
            || rows.clone(),
            |v| {
                black_box(
                    baseline
                        .ingest_json("ingress", "sheets", v)
                        .expect("ingest"),
                )
            },
            BatchSize::SmallInput,
        )
    });
    for extra in [10usize, 1_000, 10_000] {
        let session = format!("known-{extra}");
        for i in 0..extra {
            let (kind, value) = match i % 3 {
                0 => ("EMAIL", format!("other.person{i}@elsewhere.example")),
                1 => ("PHONE", format!("+1 415 555 {:04}", i % 10_000)),
                _ => ("NAME", format!("Otherperson Number{i}")),
            };
            tokenizer.remember(&session, kind, &value, &format!("[{kind}_{}]", i + 1000));
        }
        tokenizer
            .ingest_json(&session, "sheets", rows.clone())
            .expect("ingest");
        group.bench_function(format!("crm_rows_200_plus_{extra}_known_values"), |b| {
            b.iter_batched(
                || rows.clone(),
                |v| {
                    black_box(
                        tokenizer
                            .ingest_json(&session, "sheets", v)
                            .expect("ingest"),
                    )
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("detect_only_crm_rows_200", |b| {
        let detectors = Detectors::builder().build().expect("detectors");
        b.iter(|| black_box(detectors.find_json(&rows)))
    });
    group.finish();
}

criterion_group! {
    name = vault;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(vault);
