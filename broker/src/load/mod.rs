//! `sluice bench load`: a load and soak generator for the fronts. It drives many
//! concurrent agent sessions against a real `sluice serve` over gRPC and/or MCP
//! streamable HTTP on loopback and measures throughput, round-trip latency, errors and the
//! server's resident memory over time, so "memory stays flat" is a measured slope.
//!
//! By default it starts its own server: this binary's `serve` on ports it picks, with a
//! temporary data dir and the example `sheets`, `crm` and `chat` MCP servers behind it.
//! Each session is an independent task that opens a session, executes programs back to
//! back and checks every answer (see `session`); any failure is counted by class.
//!
//! A run is always bounded: in sessions ([`MAX_SESSIONS`]), in time ([`MAX_DURATION`] plus
//! [`MAX_WARMUP`], then at most the request timeout to drain) and in what it spawns (one
//! server, stopped at the end). It never retries a failed execute, so every error shows.

mod histogram;
mod options;
mod probe;
mod report;
mod server;
mod session;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub use histogram::Histogram;
pub use report::{ErrorClass, FrontReport, Latency, LoadReport, MemoryReport, slope_per_minute};
use server::Server;
use session::{Endpoint, Failure};

pub use options::*;

/// A progress line's facts, reported every 10 s.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Time since the sessions started.
    pub elapsed: Duration,
    /// `warm-up`, `measuring` or `draining`.
    pub phase: &'static str,
    /// Successful executes so far (warm-up included).
    pub executes: u64,
    /// Failures so far.
    pub errors: u64,
    /// The server's RSS now, KiB.
    pub rss_kib: Option<u64>,
}

/// State every session of a run shares.
struct Run {
    program: Program,
    request_timeout: Duration,
    session_executes: u32,
    think: Duration,
    measure_from: Instant,
    stop_at: Instant,
    /// Per front (index into `fronts`), executes completed in the measured window.
    latency: Vec<Mutex<Histogram>>,
    completed: AtomicU64,
    sessions_opened: AtomicU64,
    error_count: AtomicU64,
    errors: Mutex<BTreeMap<String, ErrorClass>>,
}

impl Run {
    /// A successful execute that took from `started` to `finished`.
    fn record(&self, front: usize, started: Instant, finished: Instant) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if finished >= self.measure_from && finished <= self.stop_at {
            let micros = u64::try_from((finished - started).as_micros()).unwrap_or(u64::MAX);
            if let Some(h) = self.latency.get(front) {
                h.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .record(micros);
            }
        }
    }

    /// A failure, counted by class.
    fn fail(&self, failure: Failure) {
        self.error_count.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        errors
            .entry(failure.class)
            .or_insert_with(|| ErrorClass {
                count: 0,
                example: failure.message,
            })
            .count += 1;
    }
}

/// Samples a process's RSS every second into a shared series.
struct Sampler {
    samples: Arc<Mutex<Vec<(f64, u64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32, t0: Instant) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&samples);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Some(kib) = probe::rss_kib(pid) {
                    into.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((t0.elapsed().as_secs_f64(), kib));
                }
            }
        });
        Sampler { samples, task }
    }

    fn stop(self) -> Vec<(f64, u64)> {
        self.task.abort();
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Runs the load described by `options`, calling `progress` every 10 s; stops a server
/// it started before returning.
pub async fn run(
    options: LoadOptions,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<LoadReport, LoadError> {
    options.validate()?;
    let server = match &options.target {
        Target::Spawn { exe, config } => {
            Server::spawn(exe, config.as_deref(), options.fronts).await?
        }
        Target::Running { grpc, mcp, pid } => Server::running(*grpc, mcp.clone(), *pid),
    };
    let result = drive(&options, &server, progress).await;
    server.stop().await;
    result
}

/// The load itself, against a server that is up.
async fn drive(
    options: &LoadOptions,
    server: &Server,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<LoadReport, LoadError> {
    let (grpc_sessions, mcp_sessions) = options.fronts.split(options.sessions);
    let mut fronts: Vec<(&'static str, u32, Vec<Endpoint>)> = Vec::new();
    let mut grpc_connections = 0;
    if grpc_sessions > 0 {
        let addr = server
            .grpc
            .ok_or_else(|| LoadError::Server("the server serves no gRPC".into()))?;
        grpc_connections = options
            .connections
            .unwrap_or(grpc_sessions.div_ceil(SESSIONS_PER_CONNECTION));
        let auth =
            match &options.api_key {
                None => None,
                Some(key) => Some(format!("Bearer {key}").parse().map_err(|_| {
                    LoadError::Invalid("the API key is not valid header text".into())
                })?),
            };
        let mut endpoints = Vec::new();
        for _ in 0..grpc_connections {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .map_err(|e| LoadError::Server(format!("bad gRPC address {addr}: {e}")))?
                .tcp_nodelay(true)
                .connect()
                .await
                .map_err(|e| LoadError::Server(format!("cannot connect to gRPC at {addr}: {e}")))?;
            endpoints.push(Endpoint::Grpc {
                channel,
                auth: auth.clone(),
            });
        }
        fronts.push(("grpc", grpc_sessions, endpoints));
    }
    if mcp_sessions > 0 {
        let url = server
            .mcp
            .clone()
            .ok_or_else(|| LoadError::Server("the server serves no MCP over HTTP".into()))?;
        let endpoint = Endpoint::Mcp {
            url,
            auth: options.api_key.clone(),
        };
        fronts.push(("mcp", mcp_sessions, vec![endpoint]));
    }

    let t0 = Instant::now();
    let sampler = server.pid.map(|pid| Sampler::start(pid, t0));
    let start_rss = server.pid.and_then(probe::rss_kib);
    let measure_from = t0 + options.warmup;
    let stop_at = measure_from + options.duration;
    let run = Arc::new(Run {
        program: options.program,
        request_timeout: options.request_timeout,
        session_executes: options.session_executes,
        think: options.think,
        measure_from,
        stop_at,
        latency: fronts
            .iter()
            .map(|_| Mutex::new(Histogram::new()))
            .collect(),
        completed: AtomicU64::new(0),
        sessions_opened: AtomicU64::new(0),
        error_count: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
    });

    let ramp = (options.warmup / 2).min(MAX_RAMP);
    let mut sessions = JoinSet::new();
    let mut index = 0u32;
    for (front, (_, count, endpoints)) in fronts.iter().enumerate() {
        for i in 0..*count {
            let endpoint = endpoints[i as usize % endpoints.len()].clone();
            let start_at = t0 + ramp.mul_f64(f64::from(index) / f64::from(options.sessions));
            sessions.spawn(session::drive(Arc::clone(&run), endpoint, front, start_at));
            index += 1;
        }
    }

    let report_progress = |phase| {
        progress(&Progress {
            elapsed: t0.elapsed(),
            phase,
            executes: run.completed.load(Ordering::Relaxed),
            errors: run.error_count.load(Ordering::Relaxed),
            rss_kib: server.pid.and_then(probe::rss_kib),
        })
    };
    let mut next_progress = t0 + PROGRESS_EVERY;
    wait_until(measure_from, &mut next_progress, &|| {
        report_progress("warm-up")
    })
    .await;
    let cpu_from = CpuReading::now(server.pid);
    wait_until(stop_at, &mut next_progress, &|| {
        report_progress("measuring")
    })
    .await;
    let cpu_to = CpuReading::now(server.pid);
    let end_rss = server.pid.and_then(probe::rss_kib);
    let load_average = probe::load_average();
    report_progress("draining");

    // Sessions finish their request in flight and close; a session stuck past the
    // request timeout is abandoned and counted.
    let drained = tokio::time::timeout(options.request_timeout + Duration::from_secs(10), async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        let stuck = sessions.len();
        sessions.abort_all();
        for _ in 0..stuck {
            run.fail(Failure {
                class: "session did not finish after the run".into(),
                message: format!("abandoned {stuck} sessions"),
            });
        }
    }
    let samples = sampler.map(Sampler::stop).unwrap_or_default();

    let window = options.duration.as_secs_f64();
    let mut all = Histogram::new();
    let mut front_reports = Vec::new();
    for ((name, count, _), histogram) in fronts.iter().zip(&run.latency) {
        let histogram = histogram.lock().unwrap_or_else(PoisonError::into_inner);
        all.merge(&histogram);
        front_reports.push(FrontReport {
            front: (*name).to_owned(),
            sessions: *count,
            executes: histogram.count(),
            throughput_per_sec: histogram.count() as f64 / window,
            latency: Latency::of(&histogram),
        });
    }
    let span = (cpu_to.at - cpu_from.at).as_secs_f64();
    let cores = |from: Option<f64>, to: Option<f64>| match (from, to) {
        (Some(a), Some(b)) if span > 0.0 => Some((b - a).max(0.0) / span),
        _ => None,
    };
    let memory = match (start_rss, end_rss) {
        (Some(start), Some(end)) => Some(memory_report(start, end, samples, options)),
        _ => None,
    };
    let errors = run
        .errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(LoadReport {
        front: options.fronts.as_str().to_owned(),
        program: options.program.as_str().to_owned(),
        sessions: options.sessions,
        think_ms: u64::try_from(options.think.as_millis()).unwrap_or(u64::MAX),
        grpc_connections,
        sessions_opened: run.sessions_opened.load(Ordering::Relaxed),
        warmup_secs: options.warmup.as_secs_f64(),
        duration_secs: window,
        executes: all.count(),
        throughput_per_sec: all.count() as f64 / window,
        latency: Latency::of(&all),
        fronts: front_reports,
        errors: run.error_count.load(Ordering::Relaxed),
        errors_by_class: errors,
        memory,
        server_cpu_cores: cores(cpu_from.server, cpu_to.server),
        backend_cpu_cores: cores(cpu_from.backends, cpu_to.backends),
        client_cpu_cores: cores(cpu_from.client, cpu_to.client),
        load_average,
    })
}

/// CPU seconds used so far by the server, its backend children and this process.
struct CpuReading {
    server: Option<f64>,
    backends: Option<f64>,
    client: Option<f64>,
    at: Instant,
}

impl CpuReading {
    fn now(server: Option<u32>) -> Self {
        CpuReading {
            server: server.and_then(probe::cpu_seconds),
            backends: server.and_then(probe::children_cpu_seconds),
            client: probe::cpu_seconds(std::process::id()),
            at: Instant::now(),
        }
    }
}

/// Sleeps until `until`, calling `report` at each progress time (`next`) on the way.
async fn wait_until(until: Instant, next: &mut Instant, report: &(dyn Fn() + Sync)) {
    while *next < until {
        tokio::time::sleep_until((*next).into()).await;
        report();
        *next += PROGRESS_EVERY;
    }
    tokio::time::sleep_until(until.into()).await;
}

fn memory_report(
    start: u64,
    end: u64,
    samples: Vec<(f64, u64)>,
    options: &LoadOptions,
) -> MemoryReport {
    let from = options.warmup.as_secs_f64();
    let to = from + options.duration.as_secs_f64();
    let window: Vec<(f64, u64)> = samples
        .iter()
        .copied()
        .filter(|&(t, _)| t >= from && t <= to)
        .collect();
    let after_warmup = window.first().map_or(start, |s| s.1);
    let max = samples
        .iter()
        .map(|s| s.1)
        .chain([start, end])
        .max()
        .unwrap_or(end);
    MemoryReport {
        start_kib: start,
        after_warmup_kib: after_warmup,
        end_kib: end,
        max_kib: max,
        growth_kib_per_min: slope_per_minute(&window),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LoadOptions {
        LoadOptions::new(Target::Spawn {
            exe: std::path::PathBuf::from("sluice"),
            config: None,
        })
    }

    #[test]
    fn silly_values_are_refused_with_the_allowed_range() {
        type Change = Box<dyn Fn(&mut LoadOptions)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|o| o.sessions = 0), "use 1 to 10000"),
            (
                Box::new(|o| o.sessions = MAX_SESSIONS + 1),
                "use 1 to 10000",
            ),
            (Box::new(|o| o.duration = Duration::ZERO), "--duration 0 s"),
            (
                Box::new(|o| o.duration = MAX_DURATION * 2),
                "use 1 to 3600 s",
            ),
            (Box::new(|o| o.warmup = MAX_WARMUP * 2), "at most 600 s"),
            (Box::new(|o| o.connections = Some(0)), "--connections 0"),
            (Box::new(|o| o.connections = Some(51)), "gRPC sessions (50)"),
            (
                Box::new(|o| o.request_timeout = Duration::ZERO),
                "request timeout",
            ),
            (
                Box::new(|o| {
                    o.target = Target::Running {
                        grpc: None,
                        mcp: Some("http://127.0.0.1:1/mcp".into()),
                        pid: None,
                    }
                }),
                "gRPC address",
            ),
        ];
        for (change, expected) in cases {
            let mut o = options();
            change(&mut o);
            let error = o
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(expected),
                "{error:?} should contain {expected:?}"
            );
        }
        assert!(options().validate().is_ok());
    }

    #[test]
    fn both_fronts_split_the_sessions() {
        assert_eq!(FrontMix::Both.split(1001), (501, 500));
        assert_eq!(FrontMix::Grpc.split(7), (7, 0));
        assert_eq!("mcp".parse::<FrontMix>(), Ok(FrontMix::Mcp));
        assert!("http".parse::<FrontMix>().is_err());
        assert_eq!("trivial".parse::<Program>(), Ok(Program::Trivial));
    }

    #[test]
    fn memory_growth_is_fitted_over_the_measured_window_only() {
        let mut o = options();
        o.warmup = Duration::from_secs(10);
        o.duration = Duration::from_secs(60);
        // Warm-up climbs steeply; the window is flat.
        let samples: Vec<(f64, u64)> = (0..=70)
            .map(|t| (t as f64, if t < 10 { 1000 * t } else { 10_000 }))
            .collect();
        let m = memory_report(500, 10_000, samples, &o);
        assert_eq!(m.after_warmup_kib, 10_000);
        assert_eq!(m.max_kib, 10_000);
        assert_eq!(m.growth_kib_per_min, 0.0);
    }
}
