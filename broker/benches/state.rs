//! What the workspace and saved skills cost a program: executes of the full broker (no
//! backends) that do 100 `workspace.set` + `workspace.get` pairs, or call a saved skill,
//! against a trivial execute measured in the same run. The per-operation figures are the
//! differences (see docs/BENCHMARKS.md); a set includes the scan, the seal and sled's fsync.
//!
//! `CARGO_TARGET_DIR=bench-target cargo bench -p sluice --bench state`

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::config::Config;
use sluice::flow::{Broker, ExecuteRequest, SessionId};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = Config::parse(
        &format!(
            "data_dir = {:?}\n",
            data.path().to_str().unwrap_or_default()
        ),
        Path::new("bench.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::from_config(&config).unwrap_or_else(|e| panic!("{e}"));
    let session = SessionId::parse("bench-state").unwrap_or_else(|e| panic!("{e}"));
    let run = |code: &str| {
        let request = ExecuteRequest {
            agent: "bench".into(),
            session: Some(session.clone()),
            code: code.into(),
            timeout_ms: None,
            deadline: None,
        };
        let executed = runtime
            .block_on(broker.execute(request, None))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(executed.outcome.error.is_none(), "{:?}", executed.outcome);
    };
    run(
        r#"return await skills.save({ name: "inc", description: "Adds one",
        code: "export default async function inc(args: { n: number }) { return args.n + 1; }" });"#,
    );

    let mut group = c.benchmark_group("state");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("execute_trivial", |b| b.iter(|| run("return 1;")));
    group.bench_function("workspace_set_get_x100", |b| {
        b.iter(|| {
            run(r#"for (let i = 0; i < 100; i++) { await workspace.set("k" + (i % 10), { i, note: "row " + i }); await workspace.get("k" + (i % 10)); } return 1;"#)
        })
    });
    group.bench_function("workspace_get_x100", |b| {
        b.iter(|| {
            run(r#"for (let i = 0; i < 100; i++) await workspace.get("k" + (i % 10)); return 1;"#)
        })
    });
    group.bench_function("skill_first_call", |b| {
        b.iter(|| run("return await skills.inc({ n: 1 });"))
    });
    group.bench_function("skill_calls_x100", |b| {
        b.iter(|| {
            run("let n = 0; for (let i = 0; i < 100; i++) n = await skills.inc({ n }); return n;")
        })
    });
    group.finish();
    runtime.block_on(broker.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
