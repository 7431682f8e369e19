//! `sluice bench load` against the real binary: it spawns its own `sluice serve` with the
//! example servers, drives sessions over both fronts and reports through `--json`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Server, example_bin};

/// Runs `sluice bench load ARGS --json` (through `sh` so a test can lower limits first).
fn bench(shell_prefix: &str, args: &[&str]) -> Output {
    // The bench finds the example servers next to the sluice binary; make sure they exist.
    example_bin("sheets-server");
    let script = format!("{shell_prefix} exec \"$0\" bench load --json \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_LOG", "warn")
        .output()
        .expect("sluice bench runs")
}

fn report(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}); stderr:\n{stderr}"))
}

#[test]
fn fifty_sessions_over_both_fronts_run_without_errors() {
    let output = bench(
        "",
        &[
            "--front",
            "both",
            "--sessions",
            "50",
            "--warmup",
            "8",
            "--duration",
            "4",
            "--program",
            "tool",
        ],
    );
    let report = report(&output);
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["sessions_opened"], 50, "{report:#}");
    assert!(
        report["throughput_per_sec"]
            .as_f64()
            .is_some_and(|t| t > 0.0),
        "{report:#}"
    );
    let fronts: Vec<&str> = report["fronts"]
        .as_array()
        .expect("fronts")
        .iter()
        .map(|f| {
            assert!(f["executes"].as_u64().is_some_and(|n| n > 0), "{f:#}");
            f["front"].as_str().expect("name")
        })
        .collect();
    assert_eq!(fronts, ["grpc", "mcp"]);
    let latency = &report["latency"];
    assert!(latency["p50_us"].as_u64() <= latency["p99_us"].as_u64());
    let memory = &report["memory"];
    assert!(
        memory["end_kib"].as_u64().is_some_and(|k| k > 0),
        "{report:#}"
    );
    assert!(memory["samples"].as_array().is_some_and(|s| s.len() >= 3));
}

/// 150 MCP sessions hold about 300 sockets on each side: more than a soft open-files
/// limit of 256. `sluice serve` and `sluice bench` each raise their soft limit to the hard
/// one, so both are started here under the low limit.
#[test]
fn many_sessions_survive_a_low_soft_open_files_limit() {
    let hard = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .expect("sh")
        .stdout;
    let hard = String::from_utf8_lossy(&hard).trim().to_owned();
    if hard.parse::<u64>().is_ok_and(|h| h < 2048) {
        eprintln!("the hard open-files limit ({hard}) is too low for this test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sluice.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[auth]\nanonymous = \"bench\"\n",
            data.to_str().expect("path")
        ),
    )
    .expect("write config");
    let mut serve = Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 256 && exec \"$0\" serve --config \"$1\" --http 127.0.0.1:0")
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .arg(&config)
        .env("SLUICE_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice serve starts");
    let pid = serve.id().to_string();
    let stderr = serve.stderr.take().expect("stderr");
    let server = Server(serve);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("line");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let output = bench(
        "ulimit -Sn 256 &&",
        &[
            "--target-mcp",
            &url,
            "--server-pid",
            &pid,
            "--front",
            "mcp",
            "--sessions",
            "150",
            // Sessions open during the warm-up; a debug build on a busy CI machine opened
            // only 70 in 4 s, so leave ample time (the point is descriptors, not speed).
            "--warmup",
            "20",
            "--duration",
            "5",
            "--program",
            "trivial",
        ],
    );
    drop(server);
    let report = report(&output);
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["sessions_opened"], 150, "{report:#}");
}

#[test]
fn out_of_range_options_are_usage_errors() {
    for (args, expected) in [
        (&["--sessions", "0"][..], "use 1 to 10000"),
        (&["--sessions", "20000"][..], "use 1 to 10000"),
        (&["--duration", "0"][..], "--duration 0 s is out of range"),
        (&["--front", "carrier-pigeon"][..], "unknown front"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["bench", "load"])
            .args(args)
            .output()
            .expect("sluice runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
