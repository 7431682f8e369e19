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
mod probe;
mod report;
mod server;
mod session;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub use histogram::Histogram;
pub use report::{ErrorClass, FrontReport, Latency, LoadReport, MemoryReport, slope_per_minute};
use server::Server;
use session::{Endpoint, Failure};

/// The most concurrent sessions one run may drive.
pub const MAX_SESSIONS: u32 = 10_000;
/// The longest measured window.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The longest warm-up.
pub const MAX_WARMUP: Duration = Duration::from_secs(600);
/// The longest a single request may be waited for.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest pause between a session's executes.
pub const MAX_THINK: Duration = Duration::from_secs(60);
/// gRPC sessions per shared connection when `--connections` is not given (under the
/// HTTP/2 server's 200 concurrent streams).
const SESSIONS_PER_CONNECTION: u32 = 100;
/// Sessions start spread over half the warm-up, at most this long.
const MAX_RAMP: Duration = Duration::from_secs(10);
/// How often the server's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Which fronts carry the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontMix {
    /// All sessions over gRPC.
    Grpc,
    /// All sessions over MCP streamable HTTP.
    Mcp,
    /// Half over each (gRPC gets the odd one).
    Both,
}

impl FrontMix {
    /// Whether gRPC carries sessions.
    pub fn grpc(self) -> bool {
        matches!(self, FrontMix::Grpc | FrontMix::Both)
    }

    /// Whether MCP over HTTP carries sessions.
    pub fn mcp(self) -> bool {
        matches!(self, FrontMix::Mcp | FrontMix::Both)
    }

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            FrontMix::Grpc => "grpc",
            FrontMix::Mcp => "mcp",
            FrontMix::Both => "both",
        }
    }

    /// (gRPC sessions, MCP sessions) out of `sessions`.
    fn split(self, sessions: u32) -> (u32, u32) {
        match self {
            FrontMix::Grpc => (sessions, 0),
            FrontMix::Mcp => (0, sessions),
            FrontMix::Both => (sessions - sessions / 2, sessions / 2),
        }
    }
}

impl FromStr for FrontMix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grpc" => Ok(FrontMix::Grpc),
            "mcp" => Ok(FrontMix::Mcp),
            "both" => Ok(FrontMix::Both),
            other => Err(format!("unknown front '{other}': use grpc, mcp or both")),
        }
    }
}

/// What each session executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `return 1;`: the fronts, sessions and sandbox alone.
    Trivial,
    /// One backend call per execute, alternating: read a sheet row (names and emails are
    /// tokenized at ingress into the vault) and pass the name's placeholder to the CRM in
    /// the next execute (egress policy resolves it; the CRM's answer must come back as
    /// the same placeholder). Needs the example `sheets` and `crm` servers.
    Tool,
}

impl Program {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Program::Trivial => "trivial",
            Program::Tool => "tool",
        }
    }
}

impl FromStr for Program {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trivial" => Ok(Program::Trivial),
            "tool" => Ok(Program::Tool),
            other => Err(format!("unknown program '{other}': use trivial or tool")),
        }
    }
}

/// The server to load.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start `exe serve` (this binary) on loopback; with `config`, use that config instead
    /// of the generated one (its backends must include the example sheets and crm for
    /// the `tool` program, and it must let the bench authenticate).
    Spawn {
        /// The `sluice` executable.
        exe: PathBuf,
        /// A config for the server instead of the generated one.
        config: Option<PathBuf>,
    },
    /// A server that is already running; memory and CPU are read only if `pid` is given.
    Running {
        /// Its gRPC address.
        grpc: Option<SocketAddr>,
        /// Its MCP endpoint, e.g. `http://127.0.0.1:7100/mcp`.
        mcp: Option<String>,
        /// Its process id.
        pid: Option<u32>,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The server.
    pub target: Target,
    /// Which fronts carry the sessions.
    pub fronts: FrontMix,
    /// Concurrent sessions, 1..=[`MAX_SESSIONS`].
    pub sessions: u32,
    /// Time before measuring (sessions start, backends and caches warm up).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// What each execute runs.
    pub program: Program,
    /// gRPC connections shared by the gRPC sessions (default: one per 100 sessions).
    pub connections: Option<u32>,
    /// Executes per session before it is closed and a new one opened (0: one session for
    /// the whole run).
    pub session_executes: u32,
    /// How long one request (open session or execute) may take before it counts as a
    /// `client timeout` error.
    pub request_timeout: Duration,
    /// Pause between a session's executes, as an agent thinking (each pause is drawn
    /// uniformly from half to one and a half times this); zero: back to back, which
    /// measures the most the server can do, with latency then set by queueing.
    pub think: Duration,
    /// The API key to present (`Authorization: Bearer`), if the server wants one.
    pub api_key: Option<String>,
}

impl LoadOptions {
    /// The defaults: both fronts, 100 sessions, the `tool` program, 5 s warm-up, 30 s
    /// measured.
    #[cfg(test)]
    pub fn new(target: Target) -> Self {
        LoadOptions {
            target,
            fronts: FrontMix::Both,
            sessions: 100,
            warmup: Duration::from_secs(5),
            duration: Duration::from_secs(30),
            program: Program::Tool,
            connections: None,
            session_executes: 0,
            request_timeout: Duration::from_secs(30),
            think: Duration::ZERO,
            api_key: None,
        }
    }

    /// Refuses values that would make the run unbounded or meaningless.
    pub fn validate(&self) -> Result<(), LoadError> {
        let invalid = |m: String| Err(LoadError::Invalid(m));
        if self.sessions == 0 || self.sessions > MAX_SESSIONS {
            return invalid(format!(
                "--sessions {} is out of range: use 1 to {MAX_SESSIONS}",
                self.sessions
            ));
        }
        if self.fronts == FrontMix::Both && self.sessions < 2 {
            return invalid("--front both needs at least 2 sessions".into());
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return invalid(format!(
                "--duration {} s is out of range: use 1 to {} s",
                self.duration.as_secs(),
                MAX_DURATION.as_secs()
            ));
        }
        if self.warmup > MAX_WARMUP {
            return invalid(format!(
                "--warmup {} s is too long: at most {} s",
                self.warmup.as_secs(),
                MAX_WARMUP.as_secs()
            ));
        }
        if self.think > MAX_THINK {
            return invalid(format!(
                "--think-ms {} is too long: at most {} ms",
                self.think.as_millis(),
                MAX_THINK.as_millis()
            ));
        }
        if self.request_timeout.is_zero() || self.request_timeout > MAX_REQUEST_TIMEOUT {
            return invalid(format!(
                "the request timeout of {} ms is out of range: use 1 ms to {} s",
                self.request_timeout.as_millis(),
                MAX_REQUEST_TIMEOUT.as_secs()
            ));
        }
        let (grpc_sessions, _) = self.fronts.split(self.sessions);
        if let Some(n) = self.connections
            && (n == 0 || n > grpc_sessions.max(1))
        {
            return invalid(format!(
                "--connections {n} is out of range: use 1 to the number of gRPC sessions ({grpc_sessions})"
            ));
        }
        if let Target::Running { grpc, mcp, .. } = &self.target {
            if self.fronts.grpc() && grpc.is_none() {
                return invalid("load over gRPC needs the server's gRPC address".into());
            }
            if self.fronts.mcp() && mcp.is_none() {
                return invalid("load over MCP needs the server's MCP URL".into());
            }
        }
        Ok(())
    }
}

/// Why a run could not happen (failures during a run are counted in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The options are out of range or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// The server could not be started or reached.
    #[error("{0}")]
    Server(String),
}

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
            exe: PathBuf::from("sluice"),
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
