//! Prometheus metrics: counters and latency histograms for executes, tool calls, policy
//! decisions and tokenized values, and the process's own (CPU seconds, resident memory,
//! open file descriptors, threads, start time: the `process_*` family), served as text at
//! `GET /metrics` by `sluice serve --metrics ADDR`. Built on the `prometheus` crate's
//! registry, encoder and process collector.
//!
//! Labels are closed sets chosen by Sluice (outcome kinds, actions, decisions, detector
//! kinds), never names or values chosen by agent code or backends: no raw value can reach
//! a label, and cardinality stays fixed. Recording is an atomic add on the call path.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{Encoder as _, HistogramOpts, Opts, Registry, TextEncoder};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    inner: prometheus::Histogram,
}

impl Histogram {
    /// A histogram named `name` (constant definitions: they are valid by construction).
    fn new(name: &str, help: &str) -> Self {
        let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
        #[allow(clippy::expect_used)]
        let inner = prometheus::Histogram::with_opts(opts).expect("a valid histogram definition");
        Histogram { inner }
    }

    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        self.inner.observe(elapsed.as_secs_f64());
    }
}

/// Counters over a fixed set of label names.
#[derive(Debug, Clone)]
pub struct CounterVec {
    inner: prometheus::IntCounterVec,
    labels: &'static [&'static str],
}

impl CounterVec {
    /// Counters named `name` with these label names (constant definitions).
    fn new(name: &str, help: &str, labels: &'static [&'static str]) -> Self {
        #[allow(clippy::expect_used)]
        let inner = prometheus::IntCounterVec::new(Opts::new(name, help), labels)
            .expect("a valid counter definition");
        CounterVec { inner, labels }
    }

    /// The label values in declared order; a label not given is empty.
    fn values<'a>(&self, labels: &[(&'static str, &'a str)]) -> Vec<&'a str> {
        self.labels
            .iter()
            .map(|name| {
                labels
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("", |(_, v)| *v)
            })
            .collect()
    }

    /// Adds `n` to the counter with these labels.
    pub fn add(&self, labels: &[(&'static str, &str)], n: u64) {
        if let Ok(counter) = self
            .inner
            .get_metric_with_label_values(&self.values(labels))
        {
            counter.inc_by(n);
        }
    }

    /// The current value for exactly these labels (0 if never set).
    pub fn get(&self, labels: &[(&'static str, &str)]) -> u64 {
        self.inner
            .get_metric_with_label_values(&self.values(labels))
            .map_or(0, |c| c.get())
    }
}

/// Every metric Sluice exports, in one registry.
#[derive(Debug)]
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
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The process-wide registry.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    /// A fresh registry with every metric (and, on Linux, the process collector).
    pub fn new() -> Self {
        let metrics = Metrics {
            executes: CounterVec::new(
                "sluice_executes_total",
                "Programs executed, by outcome (ok or the error kind).",
                &["outcome"],
            ),
            execute_seconds: Histogram::new(
                "sluice_execute_seconds",
                "Execute latency, sandbox and tool calls included.",
            ),
            tool_calls: CounterVec::new(
                "sluice_tool_calls_total",
                "Tool calls through the broker, by outcome.",
                &["outcome"],
            ),
            tool_call_seconds: Histogram::new(
                "sluice_tool_call_seconds",
                "Tool call latency through the broker (policy, egress, backend, ingress, audit).",
            ),
            decisions: CounterVec::new(
                "sluice_policy_decisions_total",
                "Cedar decisions by action and decision.",
                &["action", "decision"],
            ),
            tokenized: CounterVec::new(
                "sluice_tokenized_values_total",
                "Values replaced by placeholders at ingress, by kind.",
                &["kind"],
            ),
            reloads: CounterVec::new(
                "sluice_policy_reloads_total",
                "Policy reload attempts by result.",
                &["result"],
            ),
            registry: Registry::new(),
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(metrics.executes.inner.clone()),
            Box::new(metrics.execute_seconds.inner.clone()),
            Box::new(metrics.tool_calls.inner.clone()),
            Box::new(metrics.tool_call_seconds.inner.clone()),
            Box::new(metrics.decisions.inner.clone()),
            Box::new(metrics.tokenized.inner.clone()),
            Box::new(metrics.reloads.inner.clone()),
            #[cfg(target_os = "linux")]
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for collector in collectors {
            // Distinct constant names: registering cannot clash.
            let _ = metrics.registry.register(collector);
        }
        metrics
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(4096);
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
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
        // The process's own metrics come with it.
        #[cfg(target_os = "linux")]
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
    }
}
