//! A whole CRM-sync execute (`examples/agents/crm-sync.js`: read the pending leads, update
//! each in the CRM with its restored email and phone, a refused chat post) on the embedded
//! sled vault and on the shared PostgreSQL store, in one run. Each execute uses a fresh
//! session, so every value it reads is new: the mints (one durable commit per tool
//! result), the egress decisions and the audit records are all paid, as for a new agent.
//!
//! The backends are the example servers over stdio (release builds next to this bench).
//! PostgreSQL is measured when `SLUICE_TEST_PG_URL` is set
//! (`eval "$(scripts/pg-test.sh start)"`), on a fresh schema.
//!
//! `cargo build --release -p sluice-example-servers && cargo bench -p sluice --bench crm_sync`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sluice::config::Config;
use sluice::flow::{Broker, ExecuteRequest, SessionId};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROGRAM: &str = include_str!("../../examples/agents/crm-sync.js");

/// A base64 master key shared by the runs (PostgreSQL needs one supplied; sled would make
/// its own).
const MASTER_KEY: &str = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";

fn example_bins() -> PathBuf {
    // Next to this bench's own build (<target>/release/deps/crm_sync-…).
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    if !dir.join("crm-server").is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "sluice-example-servers",
                "--bins",
            ])
            .status()
            .unwrap_or_else(|e| panic!("cargo: {e}"));
        assert!(status.success(), "building the example servers failed");
    }
    dir
}

/// A fresh schema on `url` for this run, as a URL whose search path is that schema.
fn fresh_schema(url: &str) -> String {
    let schema = format!("bench_crm_{:016x}", rand::random::<u64>());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap_or_else(|e| panic!("schema: {e}"));
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn config(dir: &Path, bins: &Path, store: Option<&str>) -> Config {
    let store = store
        .map(|url| format!("[store]\npostgres = {url:?}\n"))
        .unwrap_or_default();
    let text = format!(
        "data_dir = {data:?}\n{store}\n\
         [servers.sheets]\ncommand = {sheets:?}\ntrust = \"internal\"\n\n\
         [servers.crm]\ncommand = {crm:?}\nargs = [\"--db\", {db:?}]\ntrust = \"internal\"\n\n\
         [servers.chat]\ncommand = {chat:?}\ntrust = \"external\"\n",
        data = dir.join("data").to_str().unwrap_or_default(),
        sheets = bins.join("sheets-server").to_str().unwrap_or_default(),
        crm = bins.join("crm-server").to_str().unwrap_or_default(),
        db = dir.join("crm").to_str().unwrap_or_default(),
        chat = bins.join("chat-server").to_str().unwrap_or_default(),
    );
    Config::parse(&text, Path::new("bench.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// p50 and p99 of `runs` CRM-sync executes, each in a new session.
fn measure(name: &str, config: &Config, runs: usize) -> (Duration, Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let broker = Broker::from_config(config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let execute = |n: usize| ExecuteRequest {
            agent: "bench".into(),
            session: Some(
                SessionId::parse(&format!("bench-crm-sync-{n:06}"))
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            code: PROGRAM.into(),
            timeout_ms: None,
            deadline: None,
        };
        // Warm-up: backends started, engine compiled, caches filled.
        for n in 0..3 {
            let executed = broker
                .execute(execute(1_000_000 - n - 1), None)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                executed.outcome.error.is_none(),
                "{name}: {:?}",
                executed.outcome.error
            );
        }
        let mut samples = Vec::with_capacity(runs);
        for n in 0..runs {
            let started = Instant::now();
            let executed = broker
                .execute(execute(n), None)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            samples.push(started.elapsed());
            assert!(executed.outcome.error.is_none(), "{name}");
        }
        broker.shutdown().await;
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        let (p50, p99) = (at(0.5), at(0.99));
        eprintln!(
            "{name}: CRM-sync execute p50 {:.1} ms, p99 {:.1} ms ({runs} runs)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        (p50, p99)
    })
}

fn main() {
    // SAFETY: set before any thread exists; read by the brokers built below.
    unsafe { std::env::set_var("SLUICE_MASTER_KEY", MASTER_KEY) };
    sluice::tls::install_crypto_provider();
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run briefly.
    let runs = if std::env::args().any(|a| a == "--bench") {
        50
    } else {
        2
    };
    let bins = example_bins();
    let sled_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (sled, _) = measure("sled", &config(sled_dir.path(), &bins, None), runs);
    let Ok(url) = std::env::var("SLUICE_TEST_PG_URL") else {
        eprintln!("PostgreSQL: skipped (set SLUICE_TEST_PG_URL)");
        return;
    };
    let pg_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = fresh_schema(&url);
    let (pg, _) = measure(
        "PostgreSQL",
        &config(pg_dir.path(), &bins, Some(&url)),
        runs,
    );
    eprintln!(
        "PostgreSQL / sled: {:.2}x per CRM-sync execute",
        pg.as_secs_f64() / sled.as_secs_f64()
    );
}
