//! What an operator sees when something is set up wrong, through the real binary: config
//! errors with file, line and a suggestion; `sluice config check`; warnings at `serve`
//! start (unreachable backends, a network front that would refuse everyone); `/healthz`;
//! JSON logs; plain text (no ANSI) when stderr is not a terminal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Server, example_bin, exec, run_in};

/// Words that would mean a Rust type or debug representation leaked into a message.
const TYPE_NAMES: &[&str] = &["rmcp::", "reqwest::", "hyper", "Os {", "kind: ", "Error {"];

fn assert_plain_words(text: &str) {
    for name in TYPE_NAMES {
        assert!(
            !text.contains(name),
            "a Rust type name ({name}) leaked: {text}"
        );
    }
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes in redirected output: {text:?}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("path").to_owned()
}

fn sluice(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run_in(dir, args, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_errors_name_the_file_line_and_the_likely_fix() {
    let dir = tempfile::tempdir().expect("dir");
    let bad_scheme = write(
        dir.path(),
        "scheme.toml",
        "[servers.crm]\ntrust = \"internal\"\nurl = \"htp://127.0.0.1:7001/mcp\"\n",
    );
    let (code, _, stderr) = sluice(dir.path(), &["exec", "--config", &bad_scheme, "-"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("scheme.toml:3:7:"), "{stderr}");
    assert!(
        stderr.contains("'htp://'") && stderr.contains("did you mean http://?"),
        "{stderr}"
    );

    let bad_trust = write(
        dir.path(),
        "trust.toml",
        "[servers.crm]\ncommand = \"crm-server\"\ntrust = \"intrenal\"\n",
    );
    let (code, _, stderr) = sluice(dir.path(), &["config", "check", "--config", &bad_trust]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("trust.toml:3:9:"), "{stderr}");
    assert!(stderr.contains("did you mean \"internal\"?"), "{stderr}");
    assert_plain_words(&stderr);
}

#[test]
fn config_check_starts_each_backend_and_reports_it_with_the_contract_exit_code() {
    let dir = tempfile::tempdir().expect("dir");
    let sheets = example_bin("sheets-server");
    let good = write(
        dir.path(),
        "good.toml",
        &format!(
            "data_dir = \"data\"\n[servers.sheets]\ncommand = {:?}\ntrust = \"internal\"\n",
            sheets.to_str().expect("path")
        ),
    );
    let (code, stdout, stderr) = sluice(dir.path(), &["config", "check", "--config", &good]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("ok       sheets"), "{stdout}");
    assert!(stdout.contains("getRow"), "{stdout}");
    assert!(
        !dir.path().join("data").exists(),
        "a dry run created the data dir"
    );

    let broken = write(
        dir.path(),
        "broken.toml",
        &format!(
            "[servers.sheets]\ncommand = {:?}\ntrust = \"internal\"\n\n\
             [servers.crm]\ncommand = \"no-such-crm-server\"\ntrust = \"internal\"\n\n\
             [servers.web]\nurl = \"http://127.0.0.1:9/mcp\"\n",
            sheets.to_str().expect("path")
        ),
    );
    let (code, stdout, stderr) = sluice(dir.path(), &["config", "check", "--config", &broken]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("ok       sheets"), "{stdout}");
    assert!(
        stdout.contains(
            "FAILED   crm (stdio `no-such-crm-server`): server 'crm' is unavailable: \
             cannot start `no-such-crm-server`: No such file or directory"
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("server 'web' is unreachable at http://127.0.0.1:9/mcp: connection refused"),
        "{stdout}"
    );
    // Reported once, on stdout: the log does not repeat it.
    assert!(!stderr.contains("no-such-crm-server"), "{stderr}");
    assert_plain_words(&format!("{stdout}{stderr}"));

    // An invalid policy set is a config error (exit 2) before any backend starts.
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).expect("dir");
    std::fs::write(
        policies.join("schema.cedarschema"),
        include_str!("../../policies/schema.cedarschema"),
    )
    .expect("schema");
    std::fs::write(
        policies.join("bad.cedar"),
        "@id(\"x\")\npermit (principal, action, resource) when { resource.nope };\n",
    )
    .expect("policy");
    let bad_policy = write(
        dir.path(),
        "policy.toml",
        &format!("[policy]\ndir = {:?}\n", policies.to_str().expect("path")),
    );
    let (code, _, stderr) = sluice(dir.path(), &["config", "check", "--config", &bad_policy]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bad.cedar:"), "{stderr}");
}

#[test]
fn a_command_line_error_says_each_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "sluice.toml", "data_dir = \"data\"\n");
    let (code, _, stderr) = sluice(
        dir.path(),
        &[
            "detokenize",
            "--session",
            "s-00000000000000000000000000000000",
            "--dest",
            "crm/update_lead",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("unknown server 'crm'").count(),
        1,
        "the cause is printed once: {stderr}"
    );
    assert_plain_words(&stderr);
}

#[test]
fn a_tool_call_to_a_missing_binary_says_which_command_and_why() {
    let out = exec(
        "[servers.crm]\ncommand = \"no-such-crm-server\"\ntrust = \"internal\"\n",
        "try { await tools.crm.listLeads({}); } catch (e) { return e.message; }",
    );
    assert_eq!(
        out["result"],
        "server 'crm' is unavailable: cannot start `no-such-crm-server`: No such file or directory (os error 2)",
        "{out}"
    );
}

/// `sluice serve` with its stderr collected line by line.
struct Serving {
    _child: Server,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Serving {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .env_remove("SLUICE_LOG")
            .env_remove("LOG")
            .env_remove("RUST_LOG");
        let mut child = command.spawn().expect("start sluice serve");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Serving {
            _child: Server(child),
            lines,
        }
    }

    /// Waits until some line satisfies `found` (or fails after 30 s); returns it.
    fn wait_for(&self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(line) = self.lines.lock().expect("lines").iter().find(|l| found(l)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what} on stderr: {:?}",
                self.lines.lock().expect("lines")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_warns_at_start_about_unreachable_backends_and_a_front_that_refuses_everyone() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write(
        dir.path(),
        "sluice.toml",
        "data_dir = \"data\"\n\
         [servers.crm]\ncommand = \"no-such-crm-server\"\ntrust = \"internal\"\n\n\
         [servers.web]\nurl = \"http://127.0.0.1:9/mcp\"\n",
    );
    let serving = Serving::start(
        dir.path(),
        &["--config", &config, "--http", "127.0.0.1:0"],
        &[],
    );
    let url = serving.wait_for("address", |l| l.starts_with("listening on "));
    let addr = url
        .trim_start_matches("listening on http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let refused = serving.wait_for("refusal warning", |l| l.contains("refuse every request"));
    assert!(refused.contains("[auth] anonymous"), "{refused}");
    assert!(refused.contains("api_key_env"), "{refused}");
    serving.wait_for("missing-binary warning", |l| {
        l.contains("server 'crm' is unavailable: cannot start `no-such-crm-server`: No such file or directory")
    });
    serving.wait_for("unreachable warning", |l| {
        l.contains("server 'web' is unreachable at http://127.0.0.1:9/mcp: connection refused")
    });

    // /healthz answers without a key; /mcp without one is refused.
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"), "{health}");
    let mcp = http_get(&addr, "/mcp");
    assert!(mcp.starts_with("HTTP/1.1 401"), "{mcp}");

    let text = serving.text();
    assert_eq!(
        text.matches("no-such-crm-server").count(),
        1,
        "said more than once: {text}"
    );
    assert_eq!(
        text.matches("connection refused").count(),
        1,
        "said more than once: {text}"
    );
    assert_plain_words(&text);
}

#[test]
fn log_format_json_writes_one_json_object_per_log_line() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write(
        dir.path(),
        "sluice.toml",
        "data_dir = \"data\"\n[servers.crm]\ncommand = \"no-such-crm-server\"\n",
    );
    let serving = Serving::start(
        dir.path(),
        &[
            "--config",
            &config,
            "--grpc",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ],
        &[],
    );
    let line = serving.wait_for("JSON warning", |l| l.contains("no-such-crm-server"));
    let event: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["level"], "WARN", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot start"),
        "{event}"
    );
    assert!(event["timestamp"].is_string(), "{event}");
}

#[test]
fn the_example_config_serves_mcp_over_http_to_its_agent_key() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = repo.join("examples/sluice.toml");
    let bins = example_bin("sheets-server")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bins.to_str().expect("path"),
        std::env::var("PATH").unwrap_or_default()
    );
    // The servers' relative files land in this temp dir (data_dir is relative to the file).
    let dir = tempfile::tempdir().expect("dir");
    let serving = Serving::start(
        dir.path(),
        &[
            "--config",
            config.to_str().expect("path"),
            "--http",
            "127.0.0.1:0",
        ],
        &[("PATH", &path), ("SLUICE_AGENT_KEY", "example-key")],
    );
    let url = serving.wait_for("address", |l| l.starts_with("listening on "));
    let addr = url
        .trim_start_matches("listening on http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let initialize = |key: Option<&str>| {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;
        let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
        let mut stream = TcpStream::connect(&addr).expect("connect");
        write!(
            stream,
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    };
    let ok = initialize(Some("example-key"));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("serverInfo"), "{ok}");
    let refused = initialize(None);
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let text = serving.text();
    assert!(!text.contains("refuse every request"), "{text}");
    assert!(
        !text.contains("unavailable"),
        "an example backend failed: {text}"
    );
}
