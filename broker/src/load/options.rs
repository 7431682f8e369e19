//! What a load run is asked to do: the fronts, sessions, program, durations and target,
//! and the bounds that keep a run finite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

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
pub(super) const SESSIONS_PER_CONNECTION: u32 = 100;
/// Sessions start spread over half the warm-up, at most this long.
pub(super) const MAX_RAMP: Duration = Duration::from_secs(10);
/// How often the server's memory is sampled.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often progress is reported.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(10);

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
    pub(super) fn split(self, sessions: u32) -> (u32, u32) {
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
