//! Prometheus metrics: counters and latency histograms for executes, tool calls, policy
//! decisions and tokenized values, served as text at `GET /metrics` by
//! `sluice serve --metrics ADDR`.
//!
//! Labels are closed sets chosen by Sluice (outcome kinds, actions, decisions, detector
//! kinds), never names or values chosen by agent code or backends: no raw value can reach
//! a label, and cardinality stays fixed. Everything is lock-free atomics in one process-wide
//! registry, so recording costs a few nanoseconds on the call path.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Counters keyed by a fixed label set (created on first use).
#[derive(Debug, Default)]
pub struct CounterVec {
    values: Mutex<BTreeMap<Vec<(&'static str, String)>, u64>>,
}

impl CounterVec {
    /// Adds `n` to the counter with these labels.
    pub fn add(&self, labels: &[(&'static str, &str)], n: u64) {
        let key: Vec<(&'static str, String)> =
            labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut values = match self.values.lock() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        *values.entry(key).or_default() += n;
    }

    /// The current value for exactly these labels (0 if never set).
    pub fn get(&self, labels: &[(&'static str, &str)]) -> u64 {
        let key: Vec<(&'static str, String)> =
            labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let values = match self.values.lock() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        values.get(&key).copied().unwrap_or(0)
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let values = match self.values.lock() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (labels, value) in values.iter() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Every metric Sluice exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Executes by outcome (`ok` or the error kind).
    pub executes: CounterVec,
    /// Execute latency.
    pub execute_seconds: Histogram,
    /// Tool calls by outcome (`ok`, `tool`, `policy_denied`).
    pub tool_calls: CounterVec,
    /// Tool call latency through the broker, backend included.
    pub tool_call_seconds: Histogram,
    /// Policy decisions by action (`call`, `flow`, `detokenize`) and decision.
    pub decisions: CounterVec,
    /// Values tokenized at ingress, by detector kind.
    pub tokenized: CounterVec,
    /// Policy reloads by result (`applied`, `rejected`).
    pub reloads: CounterVec,
}

/// The process-wide registry.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

impl Metrics {
    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.executes.render(
            "sluice_executes_total",
            "Programs executed, by outcome (ok or the error kind).",
            &mut out,
        );
        self.execute_seconds.render(
            "sluice_execute_seconds",
            "Execute latency, sandbox and tool calls included.",
            &mut out,
        );
        self.tool_calls.render(
            "sluice_tool_calls_total",
            "Tool calls through the broker, by outcome.",
            &mut out,
        );
        self.tool_call_seconds.render(
            "sluice_tool_call_seconds",
            "Tool call latency through the broker (policy, egress, backend, ingress, audit).",
            &mut out,
        );
        self.decisions.render(
            "sluice_policy_decisions_total",
            "Cedar decisions by action and decision.",
            &mut out,
        );
        self.tokenized.render(
            "sluice_tokenized_values_total",
            "Values replaced by placeholders at ingress, by kind.",
            &mut out,
        );
        self.reloads.render(
            "sluice_policy_reloads_total",
            "Policy reload attempts by result.",
            &mut out,
        );
        out
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                METRICS.render(),
            )
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` for [`serve`]; returns the listener and its real address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.executes.add(&[("outcome", "ok")], 2);
        m.executes.add(&[("outcome", "timeout")], 1);
        m.execute_seconds.observe(Duration::from_micros(300));
        m.execute_seconds.observe(Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains("sluice_executes_total{outcome=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("sluice_executes_total{outcome=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("sluice_execute_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("sluice_execute_seconds_bucket{le=\"0.05\"} 2"),
            "{text}"
        );
        assert!(text.contains("sluice_execute_seconds_count 2"), "{text}");
        assert_eq!(m.executes.get(&[("outcome", "ok")]), 2);
    }
}
