//! The server under load: by default a `sluice serve` child of this very binary, on
//! loopback ports it picks itself, with a temporary data dir and the example MCP servers
//! as backends; or one that is already running.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{FrontMix, LoadError};

/// How long `sluice serve` may take to print its addresses (the first start compiles the
/// sandbox engine).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a stopped server gets to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The server the load is sent to.
pub(super) struct Server {
    /// Where gRPC is served, if it is.
    pub grpc: Option<SocketAddr>,
    /// The MCP endpoint URL, if MCP over HTTP is served.
    pub mcp: Option<String>,
    /// Its process id, for memory and CPU readings.
    pub pid: Option<u32>,
    child: Option<Child>,
    /// Holds the config, data dir and CRM database of a spawned server.
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server that is already running.
    pub fn running(grpc: Option<SocketAddr>, mcp: Option<String>, pid: Option<u32>) -> Self {
        Server {
            grpc,
            mcp,
            pid,
            child: None,
            _dir: None,
        }
    }

    /// Starts `exe serve` with `config` (or a generated config with the example servers)
    /// and the fronts `mix` needs, and waits for it to print where it listens.
    pub async fn spawn(
        exe: &Path,
        config: Option<&Path>,
        mix: FrontMix,
    ) -> Result<Self, LoadError> {
        let dir = tempfile::tempdir()
            .map_err(|e| LoadError::Server(format!("cannot create a temporary directory: {e}")))?;
        let config = match config {
            Some(path) => path.to_path_buf(),
            None => write_default_config(dir.path())?,
        };
        let mut command = Command::new(exe);
        command.arg("serve").arg("--config").arg(&config);
        if mix.grpc() {
            command.args(["--grpc", "127.0.0.1:0"]);
        }
        if mix.mcp() {
            command.args(["--http", "127.0.0.1:0"]);
        }
        let mut child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| LoadError::Server(format!("cannot start {} serve: {e}", exe.display())))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| LoadError::Server("the server's stderr is not captured".into()))?;
        let mut lines = BufReader::new(stderr).lines();
        let (mut grpc, mut mcp) = (None, None);
        let mut seen = Vec::new();
        let found = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("grpc listening on ") {
                    grpc = addr.trim().parse::<SocketAddr>().ok();
                } else if let Some(url) = line.strip_prefix("listening on ") {
                    mcp = Some(url.trim().to_owned());
                } else {
                    seen.push(line);
                }
                if grpc.is_some() == mix.grpc() && mcp.is_some() == mix.mcp() {
                    return true;
                }
            }
            false
        })
        .await;
        if found != Ok(true) {
            let _ = child.start_kill();
            let why = match found {
                Err(_) => format!(
                    "it did not report its addresses within {} s",
                    START_TIMEOUT.as_secs()
                ),
                Ok(_) => "it exited".to_owned(),
            };
            return Err(LoadError::Server(format!(
                "sluice serve failed to start: {why}; its stderr:\n{}",
                seen.join("\n")
            )));
        }
        // Keep draining (and showing) what it logs, so it never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("serve: {line}");
            }
        });
        Ok(Server {
            grpc,
            mcp,
            pid: child.id(),
            child: Some(child),
            _dir: Some(dir),
        })
    }

    /// Stops a spawned server gracefully (SIGTERM, then a kill after a grace period);
    /// leaves a server that was already running alone.
    pub async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) {
            // SAFETY: kill(2) with a pid this process spawned and has not yet reaped, so
            // the pid cannot have been reused; a failure only means it already exited.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(STOP_TIMEOUT, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// The bench's own `sluice.toml`: the example sheets (stdio), crm (stdio, its own sled
/// database) and chat (stdio, external) servers, a data dir under `dir`, and every
/// request running as agent `bench`.
fn write_default_config(dir: &Path) -> Result<PathBuf, LoadError> {
    let bin = |name: &str| -> Result<String, LoadError> {
        let path = crate::demo::example_bin(name).map_err(|e| LoadError::Server(e.to_string()))?;
        path_text(&path)
    };
    let server = |command: String, args: Vec<String>, trust: &str| {
        let mut table = toml::Table::new();
        table.insert("command".into(), command.into());
        table.insert("args".into(), args.into());
        table.insert("trust".into(), trust.into());
        let mut env = toml::Table::new();
        env.insert("LOG".into(), "warn".into());
        table.insert("env".into(), env.into());
        toml::Value::Table(table)
    };
    let mut servers = toml::Table::new();
    servers.insert(
        "sheets".into(),
        server(bin("sheets-server")?, Vec::new(), "internal"),
    );
    servers.insert(
        "crm".into(),
        server(
            bin("crm-server")?,
            vec!["--db".into(), path_text(&dir.join("crm"))?],
            "internal",
        ),
    );
    servers.insert(
        "chat".into(),
        server(
            bin("chat-server")?,
            vec!["--log".into(), path_text(&dir.join("chat.jsonl"))?],
            "external",
        ),
    );
    let mut auth = toml::Table::new();
    auth.insert("anonymous".into(), "bench".into());
    let mut config = toml::Table::new();
    config.insert("data_dir".into(), path_text(&dir.join("sluice"))?.into());
    config.insert("servers".into(), servers.into());
    config.insert("auth".into(), auth.into());
    // Every bench session is the one `bench` agent: let it open as many as a run may ask.
    let mut serve = toml::Table::new();
    serve.insert(
        "max_sessions_per_agent".into(),
        i64::from(super::MAX_SESSIONS).into(),
    );
    config.insert("serve".into(), serve.into());
    let path = dir.join("sluice.toml");
    std::fs::write(&path, config.to_string())
        .map_err(|e| LoadError::Server(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn path_text(path: &Path) -> Result<String, LoadError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| LoadError::Server(format!("path is not UTF-8: {}", path.display())))
}
