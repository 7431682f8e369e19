//! Vault and ingress benchmarks: minting (durable, fsync) and resolving placeholders, and
//! the whole ingress path (neutralize, detect, mint, replace) over realistic CRM JSON.
//!
//! `cargo bench -p sluice --bench vault`
//!
//! With `SLUICE_TEST_PG_URL` set (`eval "$(scripts/pg-test.sh start)"`), the same vault
//! benchmarks also run on PostgreSQL (`vault_postgres/…`, a fresh schema), in the same run.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use detectors::Detectors;
use serde_json::{Value, json};
use sluice::flow::ingress::Tokenizer;
use sluice::store::postgres::{Migrate, PgOptions, PgStore};
use sluice::vault::{MasterKey, Vault};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// A vault on a fresh schema of the PostgreSQL at `url`.
fn postgres_vault(url: &str, key: &MasterKey) -> Vault {
    let schema = format!("bench_{:016x}", rand::random::<u64>());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("schema");
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let store = PgStore::connect(
        &url,
        PgOptions {
            pool_size: 4,
            timeout: std::time::Duration::from_secs(10),
            tls,
            migrate: Migrate::Apply,
            synchronous_commit: true,
            cache: true,
        },
    )
    .expect("postgres store");
    let vault = Vault::with_store(std::sync::Arc::new(store), key).expect("vault");
    // Let the purge listener connect, so the cache is live as in a running replica.
    std::thread::sleep(std::time::Duration::from_millis(500));
    vault
}

/// mint (new, durable), mint (known value) and resolve on one vault.
fn vault_group(c: &mut Criterion, name: &str, vault: &Vault) {
    let mut group = c.benchmark_group(name);
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
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::generate().expect("key");
    let vault = Vault::open(dir.path(), &key).expect("vault");
    vault_group(c, "vault", &vault);
    match std::env::var("SLUICE_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => {
            vault_group(c, "vault_postgres", &postgres_vault(&url, &key));
        }
        _ => eprintln!("vault_postgres skipped: set SLUICE_TEST_PG_URL (scripts/pg-test.sh start)"),
    }

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
