//! Sandbox benchmarks (DESIGN §7): a trivial execute on a fresh instance, the cost of one
//! tool call across the bridge, and a 10,000-object build-and-filter program. When `node`
//! is on PATH, the same trivial program run as a `node -e` subprocess is measured in the
//! same run as the baseline (the subprocess-per-execute design Sluice replaces).
//!
//! `cargo bench -p sandbox-host --bench execute`

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sandbox_host::{BridgeFuture, HostBridge, Limits, Sandbox, SandboxConfig};
use serde_json::Value;

/// Answers every call immediately: measures the bridge, not a backend.
struct NoopBridge;

impl HostBridge for NoopBridge {
    fn call<'a>(&'a self, _: &'a str, _: &'a str, _: Value) -> BridgeFuture<'a> {
        Box::pin(async { Ok(Value::Null) })
    }
}

const CALLS: u64 = 1_000;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let bridge: Arc<dyn HostBridge> = Arc::new(NoopBridge);
    let limits = Limits::default();
    let run = |code: &str| {
        let outcome = runtime.block_on(sandbox.execute_with(code, Arc::clone(&bridge), &limits));
        assert!(outcome.is_ok(), "{outcome:?}");
        black_box(outcome)
    };

    let mut group = c.benchmark_group("execute");
    group.bench_function("trivial", |b| b.iter(|| run("return 1;")));
    let calls =
        format!("for (let i = 0; i < {CALLS}; i++) await tools.noop.x({{ i }}); return {CALLS};");
    group.throughput(Throughput::Elements(CALLS));
    group.bench_function("tool_calls_x1000", |b| b.iter(|| run(&calls)));
    group.throughput(Throughput::Elements(1));
    let filter = "const rows = [];
        for (let i = 0; i < 10000; i++) rows.push({ id: i, name: 'row' + i, score: (i * 7919) % 100, tags: ['a', 'b'] });
        const hot = rows.filter(r => r.score > 90).map(r => r.id);
        return hot.length;";
    group.bench_function("build_and_filter_10k", |b| b.iter(|| run(filter)));
    if node_available() {
        group.bench_function("baseline_node_subprocess_trivial", |b| {
            b.iter(|| {
                let status = Command::new("node")
                    .args(["-e", "console.log(JSON.stringify(1))"])
                    .output()
                    .expect("node runs");
                black_box(status)
            })
        });
    }
    group.finish();
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

criterion_group! {
    name = execute;
    config = Criterion::default().sample_size(50);
    targets = benches
}
criterion_main!(execute);
