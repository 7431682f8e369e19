//! Per-call cost of the broker against a real backend, with a baseline measured in the
//! same run: the same backend called directly through the pool (`Backends::call`), then
//! through the whole broker pipeline (`Broker::call_tool`: call authorization, egress with
//! a `flow` decision per placeholder, the call, ingress tokenization, audit records), and
//! from agent code in the sandbox (an execute making 100 calls, minus a trivial execute).
//!
//! The backend is the example `sheets-server` over stdio (a loopback child process), so
//! the baseline includes MCP framing and the child's work; the differences are Sluice's.
//!
//! `cargo build --release -p sluice-example-servers && cargo bench -p sluice --bench call`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice::backends::Backends;
use sluice::config::Config;
use sluice::flow::{Broker, BrokerError, CallToolRequest, ExecuteRequest, SessionId, ToolRef};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SAMPLES: usize = 2_000;

fn sheets_server() -> PathBuf {
    // Next to this bench's own build (<target>/release/deps/call-…), so a custom
    // CARGO_TARGET_DIR works too.
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    let bin = dir.join("sheets-server");
    if !bin.is_file() {
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
    bin
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    eprintln!(
        "{name}: p50 {:.1} µs, p99 {:.1} µs",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
    at(0.5)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let samples = if quick { 20 } else { SAMPLES };
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config_text = format!(
        "data_dir = {:?}\n[servers.sheets]\ncommand = {:?}\ntrust = \"internal\"\n",
        data.path().to_str().unwrap_or_default(),
        sheets_server().to_str().unwrap_or_default(),
    );
    let config =
        Config::parse(&config_text, Path::new("bench.toml")).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let broker = Arc::new(Broker::from_config(&config).unwrap_or_else(|e| panic!("{e}")));
        let direct = Backends::from_config(&config.servers).unwrap_or_else(|e| panic!("{e}"));
        let session = SessionId::parse("bench").unwrap_or_else(|e| panic!("{e}"));
        let call = |arguments: serde_json::Value| CallToolRequest {
            agent: "bench".into(),
            session: Some(session.clone()),
            tool: ToolRef::new("sheets", "getRow").unwrap_or_else(|e| panic!("{e}")),
            arguments,
        };
        let execute = |code: &str| ExecuteRequest {
            agent: "bench".into(),
            session: Some(session.clone()),
            code: code.into(),
            timeout_ms: None,
            deadline: None,
        };
        // A row with a name, an email and a phone: ingress has real work.
        let args = json!({ "sheet": "q4-leads", "id": "L-001" });
        for _ in 0..50 {
            let _ = direct.call("sheets", "getRow", args.clone()).await;
            let _ = broker.call_tool(call(args.clone())).await;
        }

        let mut base = Vec::with_capacity(samples);
        let mut full = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let r = direct.call("sheets", "getRow", args.clone()).await;
            base.push(t.elapsed());
            assert!(r.is_ok());
            let t = Instant::now();
            let r = broker.call_tool(call(args.clone())).await;
            full.push(t.elapsed());
            assert!(r.is_ok());
        }
        let b = report("pool only (Backends::call, stdio sheets getRow)", base);
        let f = report("broker (call_tool: authorize+egress+call+ingress+audit)", full);
        eprintln!(
            "broker overhead per call: {:.1} µs ({:.2}x the pool alone)",
            (f.as_secs_f64() - b.as_secs_f64()) * 1e6,
            f.as_secs_f64() / b.as_secs_f64()
        );

        // Egress with a placeholder: the row's email goes back into a (read-only) call.
        let row = broker
            .call_tool(call(args.clone()))
            .await
            .and_then(|called| called.result.map_err(BrokerError::Tool))
            .unwrap_or_else(|e| panic!("{e}"));
        let email = row["email"].as_str().unwrap_or_default().to_owned();
        let with_placeholder = json!({ "sheet": "q4-leads", "id": "L-001", "note": email });
        let mut flow = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let r = broker.call_tool(call(with_placeholder.clone())).await;
            flow.push(t.elapsed());
            assert!(matches!(&r, Ok(c) if c.result.is_ok()), "{r:?}");
        }
        report("broker with one placeholder on egress (flow allowed)", flow);

        // From agent code: 100 sequential calls per execute, minus a trivial execute.
        let trivial = "return 1;";
        let hundred = r#"for (let i = 0; i < 100; i++) await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" }); return 1;"#;
        let runs = if quick { 2 } else { 30 };
        let mut t0 = Vec::new();
        let mut t100 = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let o = broker.execute(execute(trivial), None).await;
            t0.push(t.elapsed());
            assert!(matches!(&o, Ok(e) if e.outcome.error.is_none()), "{o:?}");
            let t = Instant::now();
            let o = broker.execute(execute(hundred), None).await;
            t100.push(t.elapsed());
            assert!(matches!(&o, Ok(e) if e.outcome.error.is_none()), "{o:?}");
        }
        let a = report("execute trivial", t0);
        let c = report("execute with 100 sheets calls", t100);
        eprintln!(
            "per call from agent code: {:.1} µs (end to end, backend included)",
            (c.as_secs_f64() - a.as_secs_f64()) * 1e6 / 100.0
        );
        broker.shutdown().await;
        direct.shutdown().await;
    });
}
