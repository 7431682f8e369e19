//! Catalog build and search over a synthetic 5,000-tool catalog.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-catalog cargo bench -p sluice --bench search`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::catalog::{Catalog, Detail};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../src/catalog/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

const TOOLS: usize = 5_000;

fn bench(c: &mut Criterion) {
    let servers = synthetic::servers(TOOLS);
    c.bench_function("catalog_build_5000", |b| {
        b.iter(|| Catalog::from_servers(black_box(servers.clone())))
    });
    let catalog = Catalog::from_servers(servers);
    assert!(catalog.tool_count() >= TOOLS);
    for query in [
        "update a lead's email",
        "post a message to chat",
        "read rows from a spreadsheet",
        "create github issue",
        "list",
    ] {
        c.bench_function(&format!("search_5000_signatures/{query}"), |b| {
            b.iter(|| catalog.search(black_box(query), Detail::Signatures, 10))
        });
    }
    c.bench_function("search_5000_names/update a lead's email", |b| {
        b.iter(|| catalog.search(black_box("update a lead's email"), Detail::Names, 10))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
