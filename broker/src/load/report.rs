//! What a load run measured, as one serializable value, and its human-readable table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::histogram::Histogram;

/// Latency of the executes that completed in the measured window, in microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest (exact).
    pub max_us: u64,
    /// Mean (exact).
    pub mean_us: f64,
}

impl Latency {
    /// The summary of `histogram`.
    pub fn of(histogram: &Histogram) -> Self {
        Latency {
            p50_us: histogram.quantile(0.50),
            p90_us: histogram.quantile(0.90),
            p99_us: histogram.quantile(0.99),
            max_us: histogram.max(),
            mean_us: histogram.mean(),
        }
    }
}

/// One front's share of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrontReport {
    /// `grpc` or `mcp`.
    pub front: String,
    /// Concurrent sessions on it.
    pub sessions: u32,
    /// Successful executes completed in the measured window.
    pub executes: u64,
    /// Executes per second over the measured window.
    pub throughput_per_sec: f64,
    /// Their round-trip latency.
    pub latency: Latency,
}

/// A class of failure, how often it happened, and one message as an example.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorClass {
    /// Occurrences over the whole run (warm-up included).
    pub count: u64,
    /// The first message seen.
    pub example: String,
}

/// The server's resident memory over the run (KiB), sampled every second.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryReport {
    /// Before any session started.
    pub start_kib: u64,
    /// When the warm-up ended.
    pub after_warmup_kib: u64,
    /// When the measured window ended.
    pub end_kib: u64,
    /// The largest sample.
    pub max_kib: u64,
    /// Least-squares slope of the samples in the measured window, KiB per minute: "flat"
    /// is this figure against the level.
    pub growth_kib_per_min: f64,
    /// Every sample: seconds since the server was ready, KiB.
    pub samples: Vec<(f64, u64)>,
}

/// Everything one `sluice bench load` run measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadReport {
    /// `grpc`, `mcp` or `both`.
    pub front: String,
    /// `trivial` or `tool`.
    pub program: String,
    /// Concurrent sessions (all fronts).
    pub sessions: u32,
    /// Mean pause between a session's executes, milliseconds (0: back to back).
    pub think_ms: u64,
    /// gRPC connections the gRPC sessions shared (0 without gRPC).
    pub grpc_connections: u32,
    /// Sessions opened over the run (more than `sessions` when they are recycled).
    pub sessions_opened: u64,
    /// Unmeasured seconds before the window.
    pub warmup_secs: f64,
    /// Length of the measured window, seconds.
    pub duration_secs: f64,
    /// Successful executes completed in the measured window (all fronts).
    pub executes: u64,
    /// Executes per second over the measured window.
    pub throughput_per_sec: f64,
    /// Round-trip latency over all fronts.
    pub latency: Latency,
    /// Per front.
    pub fronts: Vec<FrontReport>,
    /// Failures over the whole run (warm-up and drain included).
    pub errors: u64,
    /// Failures by class.
    pub errors_by_class: BTreeMap<String, ErrorClass>,
    /// The server's memory, when it could be read.
    pub memory: Option<MemoryReport>,
    /// CPU cores the server used on average over the measured window.
    pub server_cpu_cores: Option<f64>,
    /// CPU cores the server's child processes (stdio backends) used on average over the
    /// measured window (children that exited during it are not counted).
    pub backend_cpu_cores: Option<f64>,
    /// CPU cores this load generator used on average over the measured window.
    pub client_cpu_cores: Option<f64>,
    /// Machine load averages (1, 5, 15 min) at the end of the window.
    pub load_average: Option<[f64; 3]>,
}

/// Least-squares slope of `points` (x seconds, y KiB), in KiB per minute; 0 with fewer
/// than two distinct x.
pub fn slope_per_minute(points: &[(f64, u64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(x, y) in points {
        sxy += (x - mean_x) * (y as f64 - mean_y);
        sxx += (x - mean_x) * (x - mean_x);
    }
    if sxx == 0.0 { 0.0 } else { sxy / sxx * 60.0 }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl LoadReport {
    /// The report as a table for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sluice bench load: {} sessions over {} (program {}, think {} ms), {:.0} s warm-up + {:.0} s measured",
            self.sessions,
            self.front,
            self.program,
            self.think_ms,
            self.warmup_secs,
            self.duration_secs
        );
        let _ = writeln!(
            out,
            "\n{:<6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "front", "sessions", "executes", "exec/s", "p50", "p90", "p99", "max"
        );
        let rows = self.fronts.iter().map(|f| {
            (
                f.front.as_str(),
                f.sessions,
                f.executes,
                f.throughput_per_sec,
                &f.latency,
            )
        });
        let total = (
            "all",
            self.sessions,
            self.executes,
            self.throughput_per_sec,
            &self.latency,
        );
        let rows: Vec<_> = if self.fronts.len() > 1 {
            rows.chain(std::iter::once(total)).collect()
        } else {
            rows.collect()
        };
        for (front, sessions, executes, rate, l) in rows {
            let _ = writeln!(
                out,
                "{front:<6} {sessions:>8} {executes:>10} {rate:>10.0} {:>10} {:>10} {:>10} {:>10}",
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.max_us)
            );
        }
        let _ = writeln!(
            out,
            "\nsessions opened: {}   grpc connections: {}",
            self.sessions_opened, self.grpc_connections
        );
        let _ = writeln!(out, "errors: {}", self.errors);
        for (class, e) in &self.errors_by_class {
            let _ = writeln!(out, "  {:>8}  {class}  (e.g. {})", e.count, e.example);
        }
        match &self.memory {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "server RSS: start {}, after warm-up {}, end {}, max {}; growth {:+.1} MiB/min over the window",
                    mib(m.start_kib),
                    mib(m.after_warmup_kib),
                    mib(m.end_kib),
                    mib(m.max_kib),
                    m.growth_kib_per_min / 1024.0
                );
            }
            None => {
                let _ = writeln!(out, "server RSS: not available");
            }
        }
        let cores = |c: Option<f64>| c.map_or("?".to_owned(), |c| format!("{c:.2}"));
        let _ = writeln!(
            out,
            "CPU cores used: server {}, its backends {}, load generator {}; load average at end {}",
            cores(self.server_cpu_cores),
            cores(self.backend_cpu_cores),
            cores(self.client_cpu_cores),
            self.load_average.map_or("?".to_owned(), |l| format!(
                "{:.2} {:.2} {:.2}",
                l[0], l[1], l[2]
            ))
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_is_per_minute_and_zero_when_flat() {
        let rising: Vec<(f64, u64)> = (0..10).map(|s| (s as f64, 1000 + 2 * s)).collect();
        assert!((slope_per_minute(&rising) - 120.0).abs() < 1e-9);
        let flat: Vec<(f64, u64)> = (0..10).map(|s| (s as f64, 5000)).collect();
        assert_eq!(slope_per_minute(&flat), 0.0);
        assert_eq!(slope_per_minute(&[(1.0, 5)]), 0.0);
    }
}
