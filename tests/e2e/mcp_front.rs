//! Sluice as an MCP server: the real `sluice serve` binary over stdio and streamable HTTP,
//! a real rmcp client in front, and the example servers (sheets over stdio, crm over
//! HTTP, chat over stdio) behind it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{example_bin, start_http};

type Client = RunningService<RoleClient, ()>;

const AMELIA_EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";
const KEY_ENV: &str = "SLUICE_E2E_MCP_KEY";
const KEY: &str = "e2e-key-7f3a9c";
const READ_ROW: &str = r#"return await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });"#;

/// sheets (stdio, internal), crm (HTTP, internal), chat (stdio, external, logging what it
/// receives to `dir/chat.jsonl`) and an agent `bot` whose key is in `KEY_ENV`.
fn write_config(dir: &Path, crm_url: &str) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n\
         [agents.bot]\napi_key_env = {KEY_ENV:?}\n\n\
         [servers.sheets]\ncommand = {sheets:?}\ntrust = \"internal\"\n\n\
         [servers.crm]\nurl = {crm_url:?}\ntrust = \"internal\"\n\n\
         [servers.chat]\ncommand = {chat:?}\nargs = [\"--log\", {log:?}]\ntrust = \"external\"\n",
        data = dir.join("data").to_str().expect("path"),
        sheets = example_bin("sheets-server").to_str().expect("path"),
        chat = example_bin("chat-server").to_str().expect("path"),
        log = dir.join("chat.jsonl").to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

fn crm_dump(db: &str) -> String {
    let dump = Command::new(example_bin("crm-server"))
        .args(["--db", db, "--dump"])
        .output()
        .expect("dump");
    String::from_utf8_lossy(&dump.stdout).into_owned()
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .expect("tools/call")
}

/// Runs `code` with `execute` and returns the outcome (`structuredContent`).
async fn execute(client: &Client, code: &str) -> Value {
    let result = call(client, "execute", json!({ "code": code })).await;
    let outcome = result
        .structured_content
        .clone()
        .expect("structuredContent");
    assert_eq!(
        result.is_error,
        Some(!outcome["error"].is_null()),
        "isError must mirror outcome.error: {result:?}"
    );
    outcome
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sluice serve --http 127.0.0.1:0` with the test key; killed on drop.
struct HttpSluice {
    url: String,
    child: tokio::process::Child,
}

impl HttpSluice {
    async fn start(dir: &Path, config: &str) -> Self {
        Self::start_with(dir, config, &[]).await.0
    }

    /// Also passes `extra` and returns the metrics URL if `--metrics` printed one.
    async fn start_with(dir: &Path, config: &str, extra: &[&str]) -> (Self, Option<String>) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--http", "127.0.0.1:0", "--config", config])
            .args(extra)
            .current_dir(dir)
            .env(KEY_ENV, KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start sluice serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut metrics = None;
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("stderr line") {
                if let Some(url) = line.strip_prefix("metrics listening on ") {
                    metrics = Some(url.to_owned());
                    continue;
                }
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_owned();
                }
                eprintln!("{line}");
            }
            panic!("sluice serve exited before listening");
        })
        .await
        .expect("sluice serve listens in time");
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "{url}"
        );
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
            }
        });
        (HttpSluice { url, child }, metrics)
    }

    async fn client(&self, token: Option<&str>) -> Result<Client, String> {
        self.client_with(token, ()).await
    }

    /// A client session whose notifications go to `handler`.
    async fn client_with<H: rmcp::ClientHandler>(
        &self,
        token: Option<&str>,
        handler: H,
    ) -> Result<RunningService<RoleClient, H>, String> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str());
        if let Some(token) = token {
            config = config.auth_header(token.to_owned());
        }
        sluice::tls::install_crypto_provider();
        let transport = StreamableHttpClientTransport::from_config(config);
        handler.serve(transport).await.map_err(|e| e.to_string())
    }

    /// A bare HTTP/1.1 POST to the endpoint: (status code, body).
    fn raw_post(&self, authorization: Option<&str>) -> (u16, String) {
        let authority = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp");
        let mut stream = std::net::TcpStream::connect(authority).expect("connect");
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n{auth}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_session_searches_executes_and_resolves_its_own_placeholders_toward_the_crm() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("crm");
    let db = db.to_str().expect("path").to_owned();
    let (crm, crm_url) = start_http("crm-server", &["--db", &db]);
    let config = write_config(dir.path(), &crm_url);

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args(["serve", "--stdio", "--config", &config])
        .current_dir(dir.path());
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sluice serve --stdio");
    let client: Client = ().serve(transport).await.expect("MCP handshake");

    let instructions = client
        .peer_info()
        .and_then(|info| info.instructions.clone())
        .unwrap_or_default();
    for part in ["sheets", "crm", "chat", "search"] {
        assert!(instructions.contains(part), "{part}: {instructions}");
    }
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["execute", "search"]);

    let found = call(
        &client,
        "search",
        json!({ "query": "update a lead's email" }),
    )
    .await;
    assert_ne!(found.is_error, Some(true), "{found:?}");
    assert!(
        text_of(&found).contains("updateLead"),
        "{}",
        text_of(&found)
    );

    let read = execute(&client, READ_ROW).await;
    assert_eq!(read["error"], Value::Null, "{read}");
    let seen = read.to_string();
    assert!(seen.contains("[EMAIL_"), "{seen}");
    assert!(
        !seen.contains(AMELIA_EMAIL),
        "raw email reached the model: {seen}"
    );
    let placeholder = read["result"]["email"].as_str().expect("email").to_owned();

    // A later execute in the same session passes the placeholder on: the CRM gets the value.
    let update = execute(
        &client,
        &format!(
            r#"await tools.crm.updateLead({{ id: "CRM-1001", email: "{placeholder}" }}); return "ok";"#
        ),
    )
    .await;
    assert_eq!(update["error"], Value::Null, "{update}");
    assert_eq!(update["result"], "ok");

    client.cancel().await.expect("close the session");
    drop(crm);
    let stored: Value = serde_json::from_str(&crm_dump(&db)).expect("dump JSON");
    let lead = stored["leads"]
        .as_array()
        .and_then(|leads| leads.iter().find(|l| l["id"] == "CRM-1001"))
        .expect("CRM-1001");
    assert_eq!(
        lead["email"], AMELIA_EMAIL,
        "the CRM did not get the real email: {lead}"
    );
}

#[test]
fn stdio_serve_exits_cleanly_when_stdin_closes_and_prints_nothing_on_stdout() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--stdio", "--config", &config])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "sluice serve --stdio did not exit after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read");
    assert_eq!(status.code(), Some(0));
    assert_eq!(stdout, "", "stdout is reserved for MCP");
}

/// Pids of the live processes whose parent is `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_http_serve_and_its_backend_processes() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let mut sluice = HttpSluice::start(dir.path(), &config).await;
    let client = sluice.client(Some(KEY)).await.expect("session");
    let read = execute(&client, READ_ROW).await;
    assert_eq!(read["error"], Value::Null, "{read}");
    let pid = sluice.child.id().expect("pid");
    let backends = children_of(pid);
    assert!(!backends.is_empty(), "sheets-server should be running");
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(20), sluice.child.wait())
        .await
        .expect("sluice serve stops after SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    while backends.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left: Vec<u32> = backends.into_iter().filter(|&p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "backend processes outlived sluice: {left:?}"
    );
}

#[test]
fn serve_needs_a_front() {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requires_a_valid_key_and_keeps_sessions_and_hostile_programs_apart() {
    let dir = tempfile::tempdir().expect("dir");
    let (_crm, crm_url) = start_http(
        "crm-server",
        &["--db", dir.path().join("crm").to_str().expect("path")],
    );
    let config = write_config(dir.path(), &crm_url);
    let sluice = HttpSluice::start(dir.path(), &config).await;

    // No key, a wrong key, a non-bearer scheme: 401 with a JSON body before any MCP.
    for auth in [None, Some("Bearer wrong-key"), Some("Basic Ym90OmtleQ==")] {
        let (status, body) = sluice.raw_post(auth);
        assert_eq!(status, 401, "{auth:?}: {body}");
        let body: Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(body["error"], "unauthorized", "{body}");
    }
    assert!(sluice.client(None).await.is_err());
    assert!(sluice.client(Some("wrong-key")).await.is_err());

    let a = sluice.client(Some(KEY)).await.expect("session A");
    let b = sluice.client(Some(KEY)).await.expect("session B");
    let tools = a.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 2);

    let read = execute(&a, READ_ROW).await;
    assert_eq!(read["error"], Value::Null, "{read}");
    let placeholder = read["result"]["email"].as_str().expect("email").to_owned();
    assert!(placeholder.starts_with("[EMAIL_"), "{read}");

    // Session B sends A's placeholder to chat: not B's, so it arrives as literal text.
    let post = execute(
        &b,
        &format!(
            r##"await tools.chat.postMessage({{ channel: "#x", text: "cross {placeholder}" }}); return 1;"##
        ),
    )
    .await;
    assert_eq!(post["error"], Value::Null, "{post}");
    let log = std::fs::read_to_string(dir.path().join("chat.jsonl")).unwrap_or_default();
    assert!(log.contains(&placeholder), "{log}");
    assert!(
        !log.contains(AMELIA_EMAIL),
        "another session's placeholder resolved: {log}"
    );

    // Hostile programs come back as errors with their kind, and the server keeps serving.
    let syntax = call(&a, "execute", json!({ "code": "return (" })).await;
    assert_eq!(syntax.is_error, Some(true), "{syntax:?}");
    assert!(text_of(&syntax).contains("syntax"), "{}", text_of(&syntax));
    let structured = syntax.structured_content.expect("structured");
    assert_eq!(structured["error"]["kind"], "syntax");

    let started = Instant::now();
    let spin = call(
        &a,
        "execute",
        json!({ "code": "while (true) {}", "timeout_ms": 200 }),
    )
    .await;
    assert_eq!(spin.is_error, Some(true), "{spin:?}");
    assert!(text_of(&spin).contains("timeout"), "{}", text_of(&spin));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeout_ms was not honoured: {:?}",
        started.elapsed()
    );

    let fine = execute(&a, "return 1 + 1;").await;
    assert_eq!(fine["result"], 2, "{fine}");

    // An unknown detail level is an invalid-params protocol error.
    let bad = a
        .call_tool(
            CallToolRequestParams::new("search").with_arguments(
                json!({ "query": "lead", "detail": "everything" })
                    .as_object()
                    .cloned()
                    .expect("object"),
            ),
        )
        .await;
    let message = bad.expect_err("invalid detail").to_string();
    assert!(message.contains("detail"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_executes_across_fifty_concurrent_http_sessions() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    let started = Instant::now();
    let sessions = (0..50).map(|n| {
        let sluice = &sluice;
        async move {
            let client = sluice.client(Some(KEY)).await.expect("session");
            let mut seen = Vec::new();
            for i in 0..4 {
                let code = if i == 0 {
                    READ_ROW.replace("return await", "const r = await") + " return r.email;"
                } else {
                    format!("return {n} * 10 + {i};")
                };
                let outcome = execute(&client, &code).await;
                assert_eq!(outcome["error"], Value::Null, "{outcome}");
                seen.push(outcome["result"].clone());
            }
            client.cancel().await.expect("close");
            (n, seen)
        }
    });
    let results = futures::future::join_all(sessions).await;
    for (n, seen) in &results {
        assert!(
            seen[0].as_str().is_some_and(|e| e.starts_with("[EMAIL_")),
            "{seen:?}"
        );
        assert_eq!(seen[1], json!(n * 10 + 1));
    }
    assert_eq!(results.len(), 50);
    eprintln!("200 executes in 50 sessions: {:?}", started.elapsed());
}

/// A bare HTTP GET: the response body.
fn http_get(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_once('/').expect("path");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_executes_calls_decisions_and_tokenized_kinds_without_values() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let (sluice, metrics) =
        HttpSluice::start_with(dir.path(), &config, &["--metrics", "127.0.0.1:0"]).await;
    let metrics = metrics.expect("metrics URL printed before the MCP one");
    let client = sluice.client(Some(KEY)).await.expect("session");
    let read = execute(&client, READ_ROW).await;
    assert_eq!(read["error"], Value::Null, "{read}");
    let failed = call(
        &client,
        "execute",
        json!({ "code": "while (true) {}", "timeout_ms": 200 }),
    )
    .await;
    assert_eq!(failed.is_error, Some(true));
    let text = http_get(&metrics);
    for line in [
        "sluice_executes_total{outcome=\"ok\"} 1",
        "sluice_executes_total{outcome=\"timeout\"} 1",
        "sluice_tool_calls_total{outcome=\"ok\"} 1",
        "sluice_policy_decisions_total{action=\"call\",decision=\"allow\"} 1",
        "sluice_tokenized_values_total{kind=\"EMAIL\"}",
        "sluice_execute_seconds_count 2",
        // The process's own, from the Prometheus client's process collector.
        "process_resident_memory_bytes ",
        "process_open_fds ",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(text.contains("sluice_executes_total{outcome=\""), "{text}");
    assert!(
        !text.contains("northwind"),
        "a value reached the metrics:\n{text}"
    );
    client.cancel().await.expect("close");
}

/// One JSON-RPC POST to the MCP endpoint: (status, `mcp-session-id` header, body).
async fn rpc(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    session: Option<&str>,
    body: Value,
) -> (u16, Option<String>, String) {
    let mut request = http
        .post(url)
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let response = request.send().await.expect("POST /mcp");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, id, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_session_belongs_to_the_agent_that_opened_it() {
    const OTHER_KEY: &str = "e2e-other-agent-key";
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let digest = ring::digest::digest(&ring::digest::SHA256, OTHER_KEY.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let text = std::fs::read_to_string(&config).expect("config")
        + &format!("\n[agents.intruder]\napi_key_sha256 = {hex:?}\n");
    std::fs::write(&config, text).expect("config");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    sluice::tls::install_crypto_provider();
    let http = reqwest::Client::new();

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}});
    let (status, session, body) = rpc(&http, &sluice.url, KEY, None, init).await;
    assert_eq!(status, 200, "{body}");
    let session = session.expect("a session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, body) = rpc(&http, &sluice.url, KEY, Some(&session), initialized).await;
    assert!(status < 300, "{status}: {body}");

    let call = |id: u32| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "execute", "arguments": {"code": "return 40 + 2;"}}})
    };
    // The owner can use its session…
    let (status, _, body) = rpc(&http, &sluice.url, KEY, Some(&session), call(2)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""structuredContent":{"result":42"#),
        "{body}"
    );
    // …another authenticated agent presenting the same session id cannot, and gets
    // exactly what an unknown session gets: it cannot tell the session exists.
    let (status, _, body) = rpc(&http, &sluice.url, OTHER_KEY, Some(&session), call(3)).await;
    let (unknown_status, _, unknown_body) = rpc(
        &http,
        &sluice.url,
        OTHER_KEY,
        Some("no-such-session"),
        call(4),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (404, "Not Found: Session not found")
    );
    assert_eq!(
        (unknown_status, unknown_body.as_str()),
        (status, body.as_str())
    );
    // Nor can it end the session: its DELETE is refused the same way…
    let deleted = http
        .delete(&sluice.url)
        .header("Authorization", format!("Bearer {OTHER_KEY}"))
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status().as_u16(), 404);
    // …and the owner's session still works.
    let (status, _, body) = rpc(&http, &sluice.url, KEY, Some(&session), call(5)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":42"#), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_open_more_sessions_than_its_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let text = std::fs::read_to_string(&config).expect("config")
        + "\n[serve]\nmax_sessions_per_agent = 3\n";
    std::fs::write(&config, text).expect("config");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    sluice::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}});
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let (status, session, body) = rpc(&http, &sluice.url, KEY, None, init.clone()).await;
        assert_eq!(status, 200, "{body}");
        sessions.push(session.expect("a session id"));
    }
    let (status, session, body) = rpc(&http, &sluice.url, KEY, None, init.clone()).await;
    assert_eq!(status, 429, "{body}");
    assert!(session.is_none());
    assert!(body.contains("max_sessions_per_agent"), "{body}");
    // Closing one makes room.
    let deleted = http
        .delete(&sluice.url)
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Mcp-Session-Id", &sessions[0])
        .send()
        .await
        .expect("DELETE");
    assert!(deleted.status().is_success(), "{:?}", deleted.status());
    let (status, session, body) = rpc(&http, &sluice.url, KEY, None, init).await;
    assert_eq!(status, 200, "{body}");
    assert!(session.is_some());
}

/// A client that keeps every progress notification with the time it arrived.
#[derive(Clone, Default)]
struct ProgressRecorder {
    seen: std::sync::Arc<std::sync::Mutex<Vec<(Instant, rmcp::model::ProgressNotificationParam)>>>,
}

impl rmcp::ClientHandler for ProgressRecorder {
    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((Instant::now(), params));
        }
    }
}

/// Console lines reach an MCP client live, as progress notifications on the execute's
/// own stream: in order, tokenized, while the program still runs; the result still holds
/// every line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_lines_reach_an_mcp_client_live_as_tokenized_progress_notifications() {
    let dir = tempfile::tempdir().expect("dir");
    // Only sheets is called; the CRM URL is never dialled.
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    let recorder = ProgressRecorder::default();
    let client = sluice
        .client_with(Some(KEY), recorder.clone())
        .await
        .expect("MCP handshake");

    let code = r#"console.log("before", "grace" + ".hopper@" + "navy.example");
                  const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-002" });
                  console.warn("read", row.email);
                  const t = Date.now(); while (Date.now() - t < 1500) {}
                  return "done";"#;
    let Value::Object(args) = json!({ "code": code }) else {
        unreachable!()
    };
    let result = client
        .call_tool(CallToolRequestParams::new("execute").with_arguments(args))
        .await
        .expect("tools/call");
    let answered = Instant::now();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let outcome = result
        .structured_content
        .clone()
        .expect("structuredContent");
    assert_eq!(outcome["result"], "done", "{outcome}");

    let seen = recorder.seen.lock().expect("lock").clone();
    let messages: Vec<String> = seen
        .iter()
        .map(|(_, p)| p.message.clone().unwrap_or_default())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("before [EMAIL_"), "{messages:?}");
    assert!(
        messages[1].starts_with("warn: read [EMAIL_"),
        "{messages:?}"
    );
    let progress: Vec<f64> = seen.iter().map(|(_, p)| p.progress).collect();
    assert_eq!(progress, [1.0, 2.0]);
    let all = format!("{messages:?} {outcome}");
    assert!(!all.contains("grace.hopper@navy.example"), "{all}");
    assert!(
        !all.contains("@"),
        "a raw address reached the client: {all}"
    );
    // Live: the second line arrived while the program was still busy for 1.5 s.
    let (last_at, _) = seen[1];
    assert!(
        answered - last_at >= Duration::from_millis(1000),
        "the lines arrived only with the result: {:?}",
        answered - last_at
    );
    // The result still carries the same lines for clients that ignore progress.
    let logs = outcome["logs"].as_array().expect("logs");
    assert_eq!(logs.len(), 2, "{outcome}");
    assert_eq!(
        format!("warn: {}", logs[1]["message"].as_str().expect("message")),
        messages[1]
    );
    client.cancel().await.expect("close the session");
}

/// A client that cancels an execute stops it: with one sandbox slot, the next execute runs
/// at once instead of waiting out the cancelled program's 20-second limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_execute_stops_and_frees_its_sandbox_slot() {
    use rmcp::model::{ClientRequest, Request};
    use rmcp::service::PeerRequestOptions;

    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let text = std::fs::read_to_string(&config).expect("config")
        + "\n[sandbox]\nmax_concurrent = 1\ntimeout_ms = 20000\n";
    std::fs::write(&config, text).expect("config");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    let client = sluice.client(Some(KEY)).await.expect("session");
    let warm = execute(&client, "return 1;").await;
    assert_eq!(warm["result"], 1, "{warm}");

    // rmcp sends `notifications/cancelled` when a request's own timeout passes.
    let Value::Object(args) = json!({ "code": "while (true) {}" }) else {
        unreachable!()
    };
    let spin = ClientRequest::CallToolRequest(Request::new(
        CallToolRequestParams::new("execute").with_arguments(args),
    ));
    let handle = client
        .send_cancellable_request(
            spin,
            PeerRequestOptions::with_timeout(Duration::from_millis(500)),
        )
        .await
        .expect("send");
    let cancelled = handle.await_response().await;
    assert!(
        matches!(cancelled, Err(rmcp::ServiceError::Timeout { .. })),
        "{cancelled:?}"
    );

    let started = Instant::now();
    let next = execute(&client, "return 6 * 7;").await;
    let waited = started.elapsed();
    assert_eq!(next["result"], 42, "{next}");
    assert!(
        waited < Duration::from_secs(8),
        "the cancelled program kept its slot: the next execute waited {waited:?}"
    );
    client.cancel().await.expect("close the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    let authority = sluice
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let mut slow = Vec::new();
    for i in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connect");
        if i % 2 == 0 {
            // Half the headers, then silence (no key needed to hold a connection).
            stream
                .write_all(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n")
                .await
                .expect("write");
        }
        slow.push(stream);
    }
    let started = Instant::now();
    for mut stream in slow {
        let mut buf = [0u8; 256];
        // The server must end each one (EOF or a 408 then EOF) well before this.
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "a slow connection was still open after 30 s");
    }
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    // The server still serves.
    let (status, _) = sluice.raw_post(Some(&format!("Bearer {KEY}")));
    assert_ne!(status, 0);
}

/// A stateless (2026-07-28) `tools/call` of `execute`, optionally naming a vault session
/// in `_meta`: (HTTP status, the JSON-RPC message answered).
async fn stateless_execute(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    session: Option<&str>,
    code: &str,
) -> (u16, Value) {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    if let Some(session) = session {
        meta["sluice/session"] = json!(session);
    }
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "execute", "arguments": {"code": code}, "_meta": meta}});
    let response = http
        .post(url)
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "execute")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /mcp");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    // A JSON body, or the one `data:` line of an SSE stream.
    let json_text = text
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(text.trim());
    let message = serde_json::from_str(json_text).unwrap_or(Value::String(text.clone()));
    (status, message)
}

/// Issue 15.3: a vault session outlives its MCP session. Every result names its session in
/// `_meta["sluice/session"]`; a new MCP session (after a reconnect, or on another replica)
/// and a session-less 2026-07-28 request continue it by naming it — only for its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_continues_its_vault_session_by_naming_it_and_no_other_agent_can() {
    const OTHER_KEY: &str = "e2e-other-agent-key";
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("crm");
    let db = db.to_str().expect("path").to_owned();
    let (crm, crm_url) = start_http("crm-server", &["--db", &db]);
    let config = write_config(dir.path(), &crm_url);
    let digest = ring::digest::digest(&ring::digest::SHA256, OTHER_KEY.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let text = std::fs::read_to_string(&config).expect("config")
        + &format!("\n[agents.intruder]\napi_key_sha256 = {hex:?}\n");
    std::fs::write(&config, text).expect("config");
    let sluice = HttpSluice::start(dir.path(), &config).await;
    sluice::tls::install_crypto_provider();
    let http = reqwest::Client::new();

    // First connection: read a row; the result names the session.
    let first = sluice.client(Some(KEY)).await.expect("connect");
    let read = call(&first, "execute", json!({ "code": READ_ROW })).await;
    let session = read
        .meta
        .as_ref()
        .and_then(|m| m.0.get("sluice/session"))
        .and_then(Value::as_str)
        .expect("the result names its session")
        .to_owned();
    let outcome = read.structured_content.expect("outcome");
    let placeholder = outcome["result"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    assert!(placeholder.starts_with("[EMAIL_"), "{outcome}");
    first.cancel().await.expect("close the first MCP session");

    let update = format!(
        r#"await tools.crm.updateLead({{ id: "CRM-1001", email: "{placeholder}" }}); return "ok";"#
    );
    // Another agent naming the session is refused as for an unknown one; nothing reaches
    // the CRM.
    let (status, refused) =
        stateless_execute(&http, &sluice.url, OTHER_KEY, Some(&session), &update).await;
    let unknown = refused.to_string();
    assert!(
        unknown.contains("unknown session") && !unknown.contains("\"ok\""),
        "{status}: {unknown}"
    );
    // A new MCP session that names it continues it: its placeholder resolves toward the CRM.
    let second = sluice.client(Some(KEY)).await.expect("reconnect");
    let Value::Object(args) = json!({ "code": update }) else {
        unreachable!()
    };
    let mut meta = rmcp::model::MetaObject::default();
    meta.0.insert("sluice/session".into(), json!(session));
    let mut params = CallToolRequestParams::new("execute").with_arguments(args);
    params.meta = Some(meta.into());
    let continued = second.call_tool(params).await.expect("tools/call");
    assert_eq!(
        continued.structured_content.as_ref().map(|o| &o["result"]),
        Some(&json!("ok")),
        "{continued:?}"
    );
    second.cancel().await.expect("close");

    // Session-less requests: one naming the session works in it; one naming none gets a
    // fresh session, named in its result.
    let (status, named) =
        stateless_execute(&http, &sluice.url, KEY, Some(&session), "return 6 * 7;").await;
    assert_eq!(status, 200, "{named}");
    assert_eq!(
        named["result"]["structuredContent"]["result"], 42,
        "{named}"
    );
    assert_eq!(named["result"]["_meta"]["sluice/session"], json!(session));
    let (status, fresh) = stateless_execute(&http, &sluice.url, KEY, None, "return 1;").await;
    assert_eq!(status, 200, "{fresh}");
    let fresh_id = fresh["result"]["_meta"]["sluice/session"]
        .as_str()
        .expect("a fresh session is named");
    assert_ne!(fresh_id, session);

    drop(sluice);
    drop(crm);
    let stored: Value = serde_json::from_str(&crm_dump(&db)).expect("dump JSON");
    let lead = stored["leads"]
        .as_array()
        .and_then(|leads| leads.iter().find(|l| l["id"] == "CRM-1001"))
        .expect("CRM-1001");
    assert_eq!(
        lead["email"], AMELIA_EMAIL,
        "the continued session did not restore its placeholder: {lead}"
    );
}
