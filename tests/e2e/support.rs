//! Shared plumbing for end-to-end tests: the example server binaries, running `sluice
//! exec` with a config, starting `sluice serve`, and gRPC clients that send an agent key.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;

use serde_json::Value;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::Request;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The example server binaries, built on demand (cargo only builds this package's bins for
/// its own tests).
pub fn example_bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let dir = std::env::current_exe()
        .expect("test exe")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .to_path_buf();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "sluice-example-servers", "--bins"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example servers failed");
    });
    dir.join(name)
}

/// A child process killed on drop.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_http(bin: &str, args: &[&str]) -> (Server, String) {
    let mut child = Command::new(example_bin(bin))
        .args(args)
        .args(["--http", "127.0.0.1:0"])
        .env("LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("line");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

/// Runs the `sluice` binary with `args` in `dir`, feeding `stdin`, and waits for it.
pub fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // sluice may refuse its input before reading all of it; that is fine.
        let _ = input.write_all(&data);
    });
    let output = child.wait_with_output().expect("sluice runs");
    writer.join().expect("writer");
    output
}

/// Runs `program` through `sluice exec` with `config`; returns the outcome JSON.
pub fn exec(config: &str, program: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("sluice.toml");
    std::fs::write(&config_path, config).expect("write config");
    outcome(run_in(
        dir.path(),
        &["exec", "--config", config_path.to_str().expect("path")],
        program.as_bytes(),
    ))
}

/// The outcome JSON of a `sluice exec` that must have exited 0 (else its stderr is shown).
pub fn outcome(output: Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("outcome JSON")
}

/// Fails if any file under `dir` holds any of `raws` (a raw value at rest), and if there
/// are no files at all (nothing was written, so nothing was tested).
pub fn assert_no_raw_values_under(dir: &Path, raws: &[&str]) {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let entry = entry.expect("entry");
            if entry.file_type().expect("type").is_dir() {
                stack.push(entry.path());
                continue;
            }
            files += 1;
            let bytes = std::fs::read(entry.path()).expect("read");
            for raw in raws {
                assert!(
                    !bytes.windows(raw.len()).any(|w| w == raw.as_bytes()),
                    "{raw} found in {}",
                    entry.path().display()
                );
            }
        }
    }
    assert!(files > 0, "no files were written under {}", dir.display());
}

/// A `sluice serve` started by [`serve`], with the addresses its fronts printed.
pub struct Serve {
    /// The process (killed on drop).
    pub server: Server,
    /// The gRPC front as `http://host:port`, if `--grpc` was given.
    pub grpc: Option<String>,
    /// The MCP front's URL as printed (`http://host:port/mcp`), if `--http` was given.
    pub mcp: Option<String>,
}

/// Starts `sluice serve --config CONFIG ARGS…` in `dir` with `env` added, and waits until
/// every front `args` asks for (`--grpc`, `--http`) printed its address. Panics with what
/// the process printed if it exits first.
pub fn serve(dir: &Path, config: &str, args: &[&str], env: &[(&str, &str)]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config", config])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice serve");
    let want_grpc = args.contains(&"--grpc");
    let want_mcp = args.contains(&"--http");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut grpc, mut mcp, mut seen) = (None, None, Vec::new());
    while (want_grpc && grpc.is_none()) || (want_mcp && mcp.is_none()) {
        let Some(Ok(line)) = lines.next() else {
            panic!("sluice serve exited before listening: {seen:#?}");
        };
        if let Some(addr) = line.strip_prefix("grpc listening on ") {
            grpc = Some(format!("http://{addr}"));
        } else if let Some(url) = line.strip_prefix("listening on ") {
            mcp = Some(url.to_owned());
        } else {
            seen.push(line);
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Serve {
        server: Server(child),
        grpc,
        mcp,
    }
}

/// [`serve`] with only the gRPC front on a free port: the process and `http://host:port`.
pub fn serve_grpc(dir: &Path, config: &str, env: &[(&str, &str)]) -> (Server, String) {
    let started = serve(dir, config, &["--grpc", "127.0.0.1:0"], env);
    (started.server, started.grpc.expect("grpc address"))
}

/// A gRPC interceptor that sends `Authorization: Bearer KEY` on every request.
#[derive(Clone, Copy)]
pub struct Bearer(pub &'static str);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.0).parse().expect("header value");
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// A Broker client that authenticates every call with one agent key.
pub type KeyedClient = BrokerClient<InterceptedService<Channel, Bearer>>;

/// A connected channel to a gRPC URL.
pub async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// A Broker client at `url` sending agent key `key`.
pub async fn keyed_client(url: &str, key: &'static str) -> KeyedClient {
    BrokerClient::with_interceptor(channel(url).await, Bearer(key))
}

/// `message` as a request carrying agent key `key` (for clients without an interceptor).
pub fn bearer<T>(message: T, key: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {key}").parse().expect("header value");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A multi-threaded runtime for a test's async part.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}
