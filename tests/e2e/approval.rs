//! `ask` end to end: a forbid marked `@on_deny("ask")` refuses a flow of contact data to an
//! external chat unless a human approves — asked by MCP elicitation of a real MCP client
//! (the official Python SDK), by the gRPC approval round trip, or by `sluice exec
//! --approve`. Accepted → the backend receives the real value; declined or nobody to ask →
//! refused, and the backend is never called.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use crate::support::{Server, bearer, channel, example_bin, outcome, run_in, serve_grpc};

const AMELIA_EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";

/// Contact data may go anywhere, except that a human must approve it leaving for an
/// external server.
const ASK_POLICY: &str = r#"@id("call-any-tool")
permit (principal, action == Sluice::Action::"call", resource);

@id("contact-info-anywhere")
permit (principal, action == Sluice::Action::"flow", resource)
when { context.kind in Sluice::KindGroup::"contact_info" };

@id("ask-before-contact-info-leaves")
@on_deny("ask")
forbid (principal, action == Sluice::Action::"flow", resource)
when { resource.server.trust == "external" };
"#;

/// Reads a lead (its email becomes `[EMAIL_n]`) and posts it to the external chat.
pub const POST_LEAD: &str = r##"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
try {
  await tools.chat.postMessage({ channel: "#sales", text: "lead " + row.email });
  return "posted";
} catch (e) { return "refused: " + e.message; }"##;

/// sheets (internal) and chat (external, logging what it receives) with the ask policy.
pub fn ask_config(dir: &Path) -> PathBuf {
    ask_config_with(dir, "")
}

/// [`ask_config`] with `extra` top-level config (e.g. agents).
pub fn ask_config_with(dir: &Path, extra: &str) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    std::fs::copy(
        root.join("schema.cedarschema"),
        policies.join("schema.cedarschema"),
    )
    .expect("copy schema");
    std::fs::write(policies.join("ask.cedar"), ASK_POLICY).expect("write policy");
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n{extra}\n[policy]\ndir = {policies:?}\n\n\
         [servers.sheets]\ncommand = {sheets:?}\ntrust = \"internal\"\n\n\
         [servers.chat]\ncommand = {chat:?}\nargs = [\"--log\", {log:?}]\ntrust = \"external\"\n",
        data = dir.join("data").to_str().expect("path"),
        policies = policies.to_str().expect("path"),
        sheets = example_bin("sheets-server").to_str().expect("path"),
        chat = example_bin("chat-server").to_str().expect("path"),
        log = dir.join("chat.jsonl").to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// What the chat backend received (empty: never called).
pub fn chat_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("chat.jsonl")).unwrap_or_default()
}

/// The audit log's approval records, after checking the chain.
pub fn approval_records(dir: &Path, config: &Path) -> Vec<Value> {
    let config = config.to_str().expect("path");
    let verify = run_in(dir, &["audit", "verify", "--config", config], b"");
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let export = run_in(dir, &["audit", "export", "--config", config], b"");
    String::from_utf8_lossy(&export.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "approval")
        .collect()
}

/// The Python interpreter of the venv with the official MCP SDK
/// (`scripts/mcp-sdk-venv.sh`), or `None` outside CI when it is missing.
fn mcp_python() -> Option<PathBuf> {
    let python = std::env::var_os("SLUICE_MCP_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mcp-sdk-venv/bin/python"),
        PathBuf::from,
    );
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var("CI").is_err(),
        "{} is missing: run scripts/mcp-sdk-venv.sh (CI must)",
        python.display()
    );
    eprintln!(
        "skipped: no MCP SDK venv at {} (run scripts/mcp-sdk-venv.sh)",
        python.display()
    );
    None
}

/// Runs the Python MCP client answering `answer` to every elicitation.
fn mcp_client(python: &Path, answer: &str, config: &Path, programs: &[&str]) -> Value {
    mcp_client_in(python, None, answer, config, programs)
}

/// [`mcp_client`] speaking protocol revision `mode` session-less when given.
fn mcp_client_in(
    python: &Path,
    mode: Option<&str>,
    answer: &str,
    config: &Path,
    programs: &[&str],
) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/clients/mcp_elicit.py");
    let mut command = Command::new(python);
    if let Some(mode) = mode {
        command.env("SLUICE_MCP_MODE", mode);
    }
    let output = command
        .arg(script)
        .arg(answer)
        .arg(config)
        .args(programs)
        .env("SLUICE_BIN", env!("CARGO_BIN_EXE_sluice"))
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "the MCP client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("client JSON")
}

#[test]
fn an_ask_refusal_accepted_by_mcp_elicitation_reaches_the_backend() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let out = mcp_client(&python, "accept", &config, &[POST_LEAD]);
    assert_eq!(out["results"][0]["result"], "posted", "{out}");
    let asked = out["elicitations"].as_array().expect("elicitations");
    assert_eq!(asked.len(), 1, "{out}");
    let message = asked[0]["message"].as_str().expect("message");
    assert!(message.contains("chat/postMessage"), "{message}");
    assert!(message.contains("EMAIL from server 'sheets'"), "{message}");
    assert!(
        message.contains("ask-before-contact-info-leaves"),
        "{message}"
    );
    assert!(!message.contains(AMELIA_EMAIL), "no raw value: {message}");
    assert!(
        chat_log(dir.path()).contains(AMELIA_EMAIL),
        "backend called"
    );
    let records = approval_records(dir.path(), &config);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["decision"], "allow");
    let detail = records[0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("approved once by MCP client 'e2e-approver'"),
        "{detail}"
    );
}

#[test]
fn an_ask_refusal_declined_by_mcp_elicitation_never_calls_the_backend() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    // The second program writes a raw address of its own as an argument key: the
    // question shows it tokenized, like everything else that leaves Sluice.
    let keyed = r##"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
try { await tools.chat.postMessage({ channel: "#x", text: "hi", ["grace" + ".hopper@navy.example"]: row.email }); }
catch (e) { return "refused"; }"##;
    let out = mcp_client(&python, "decline", &config, &[POST_LEAD, keyed]);
    let result = out["results"][0]["result"].as_str().expect("result");
    assert!(result.starts_with("refused: flow denied"), "{out}");
    assert!(result.contains("declined by MCP client"), "{result}");
    assert_eq!(out["results"][1]["result"], "refused", "{out}");
    assert_eq!(out["elicitations"].as_array().map(Vec::len), Some(2));
    let second = out["elicitations"][1]["message"].as_str().expect("message");
    assert!(second.contains("into argument `[EMAIL_"), "{second}");
    assert!(!second.contains("grace.hopper"), "{second}");
    assert_eq!(chat_log(dir.path()), "", "the backend was never called");
    let records = approval_records(dir.path(), &config);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["decision"], "deny");
}

#[test]
fn an_mcp_session_answer_is_remembered_and_a_client_without_elicitation_is_refused() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let out = mcp_client(&python, "accept-session", &config, &[POST_LEAD, POST_LEAD]);
    assert_eq!(out["results"][0]["result"], "posted", "{out}");
    assert_eq!(out["results"][1]["result"], "posted", "{out}");
    assert_eq!(
        out["elicitations"].as_array().map(Vec::len),
        Some(1),
        "asked once for the session: {out}"
    );

    let other = tempfile::tempdir().expect("dir");
    let config = ask_config(other.path());
    let out = mcp_client(&python, "none", &config, &[POST_LEAD]);
    let result = out["results"][0]["result"].as_str().expect("result");
    assert!(result.contains("no one could be asked"), "{out}");
    assert_eq!(chat_log(other.path()), "");
}

#[test]
fn an_ask_refusal_is_elicited_over_streamable_http_too() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config_with(dir.path(), "[auth]\nanonymous = \"guest\"\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config", config.to_str().expect("path")])
        .args(["--http", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice serve");
    let stderr = child.stderr.take().expect("stderr");
    let _server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("address line").expect("line");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let url = Path::new(&url);
    let out = mcp_client(&python, "decline", url, &[POST_LEAD]);
    assert_eq!(
        out["elicitations"].as_array().map(Vec::len),
        Some(1),
        "{out}"
    );
    let result = out["results"][0]["result"].as_str().expect("result");
    assert!(
        result.contains("declined by MCP client 'e2e-approver' of agent 'guest'"),
        "{out}"
    );
    assert_eq!(chat_log(dir.path()), "");
    let out = mcp_client(&python, "accept", url, &[POST_LEAD]);
    assert_eq!(out["results"][0]["result"], "posted", "{out}");
    assert!(chat_log(dir.path()).contains(AMELIA_EMAIL));
}

/// Session-less (2026-07-28): no server-initiated request exists, so the question comes back
/// as an InputRequiredResult with an elicitation form, the official SDK answers it and
/// retries with the answer, and the suspended program goes on (accept) or is refused
/// (decline) — the backend never called.
#[test]
fn a_session_less_ask_is_a_multi_round_trip_answered_by_a_real_mcp_client() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config_with(dir.path(), "[auth]\nanonymous = \"guest\"\n");
    let started = crate::support::serve(
        dir.path(),
        config.to_str().expect("path"),
        &["--http", "127.0.0.1:0"],
        &[],
    );
    let url = started.mcp.clone().expect("mcp url");
    let url = Path::new(&url);
    let mode = Some("2026-07-28");

    let out = mcp_client_in(&python, mode, "decline", url, &[POST_LEAD]);
    let asked = out["elicitations"].as_array().expect("elicitations");
    assert_eq!(asked.len(), 1, "{out}");
    let message = asked[0]["message"].as_str().expect("message");
    assert!(
        message.contains("chat/postMessage") && message.contains("ask-before-contact-info-leaves"),
        "{out}"
    );
    assert!(
        !message.contains(AMELIA_EMAIL),
        "raw value in the question: {out}"
    );
    let result = out["results"][0]["result"].as_str().expect("result");
    assert!(result.starts_with("refused: flow denied"), "{out}");
    assert!(result.contains("multi round-trip"), "{out}");
    assert_eq!(
        chat_log(dir.path()),
        "",
        "declined, yet the backend was called"
    );

    let out = mcp_client_in(&python, mode, "accept", url, &[POST_LEAD]);
    assert_eq!(out["results"][0]["result"], "posted", "{out}");
    assert!(chat_log(dir.path()).contains(AMELIA_EMAIL));

    // A client that cannot answer a form is refused as when nobody can be asked.
    std::fs::write(dir.path().join("chat.jsonl"), "").expect("reset log");
    let out = mcp_client_in(&python, mode, "none", url, &[POST_LEAD]);
    let result = out["results"][0]["result"].as_str().expect("result");
    assert!(result.starts_with("refused: flow denied"), "{out}");
    assert_eq!(chat_log(dir.path()), "");

    let records = approval_records(dir.path(), &config);
    let decisions: Vec<&str> = records
        .iter()
        .filter_map(|r| r["decision"].as_str())
        .collect();
    assert_eq!(decisions, ["deny", "allow", "deny"], "{records:?}");
}

fn exec_approve(dir: &Path, config: &Path, approve: Option<&str>) -> Value {
    let mut args = vec!["exec", "--config", config.to_str().expect("path")];
    if let Some(a) = approve {
        args.extend(["--approve", a]);
    }
    outcome(run_in(dir, &args, POST_LEAD.as_bytes()))
}

#[test]
fn sluice_exec_approve_always_lets_an_ask_refusal_through_and_audits_the_operator() {
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let out = exec_approve(dir.path(), &config, Some("always"));
    assert_eq!(out["result"], "posted", "{out}");
    assert!(chat_log(dir.path()).contains(AMELIA_EMAIL));
    let records = approval_records(dir.path(), &config);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["decision"], "allow");
    assert!(
        records[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("by cli operator")),
        "{records:?}"
    );
}

#[test]
fn sluice_exec_approves_nothing_by_default_or_with_never() {
    for approve in [None, Some("never")] {
        let dir = tempfile::tempdir().expect("dir");
        let config = ask_config(dir.path());
        let out = exec_approve(dir.path(), &config, approve);
        let result = out["result"].as_str().expect("result");
        assert!(result.starts_with("refused: flow denied"), "{out}");
        assert_eq!(chat_log(dir.path()), "", "{approve:?}: backend not called");
        let records = approval_records(dir.path(), &config);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["decision"], "deny");
    }
}

/// Runs `sluice exec --approve prompt` on a real pseudo-terminal (util-linux `script`,
/// since the prompt reads `/dev/tty`), answers `answer` once the question is shown, and
/// returns the outcome and everything the terminal showed.
fn exec_prompt(dir: &Path, config: &Path, answer: &str) -> (Value, String) {
    use std::io::{Read, Write};
    let program = dir.join("post-lead.js");
    std::fs::write(&program, POST_LEAD).expect("write program");
    let outcome = dir.join("outcome.json");
    let command = format!(
        "exec {sluice:?} exec --config {config:?} --approve prompt {program:?} > {outcome:?}",
        sluice = env!("CARGO_BIN_EXE_sluice"),
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs a command on a pseudo-terminal (Debian: bsdutils)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !String::from_utf8_lossy(&shown).contains("Approve?") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => shown.extend(chunk),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no approval prompt; the terminal showed: {}",
                    String::from_utf8_lossy(&shown)
                );
            }
        }
    }
    stdin
        .write_all(format!("{answer}\n").as_bytes())
        .expect("answer");
    let status = child.wait().expect("script exits");
    drop(stdin);
    reader.join().expect("reader");
    shown.extend(rx.try_iter().flatten());
    assert!(
        status.success(),
        "{status:?}: {}",
        String::from_utf8_lossy(&shown)
    );
    let outcome = std::fs::read(&outcome).expect("outcome written");
    (
        serde_json::from_slice(&outcome).expect("outcome JSON"),
        String::from_utf8_lossy(&shown).into_owned(),
    )
}

#[test]
fn sluice_exec_approve_prompt_asks_on_the_terminal_and_follows_the_answer() {
    // Yes: the call proceeds with the real value, the operator is audited.
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let (out, shown) = exec_prompt(dir.path(), &config, "y");
    assert_eq!(out["result"], "posted", "{out}");
    assert!(chat_log(dir.path()).contains(AMELIA_EMAIL));
    // The question names the call, the data's kind and source and the deciding policy,
    // and shows the placeholder, not the value.
    for part in [
        "chat/postMessage",
        "EMAIL from server 'sheets'",
        "ask-before-contact-info-leaves",
    ] {
        assert!(
            shown.contains(part),
            "{part:?} missing from the prompt: {shown}"
        );
    }
    assert!(
        !shown.contains(AMELIA_EMAIL),
        "raw value on the terminal: {shown}"
    );
    let records = approval_records(dir.path(), &config);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["decision"], "allow", "{records:?}");

    // No (anything but y/s): refused, the backend never called, the refusal audited.
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let (out, _) = exec_prompt(dir.path(), &config, "n");
    let result = out["result"].as_str().expect("result");
    assert!(result.starts_with("refused: flow denied"), "{out}");
    assert_eq!(chat_log(dir.path()), "", "backend called after a no");
    let records = approval_records(dir.path(), &config);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["decision"], "deny", "{records:?}");
}

#[test]
fn sluice_exec_rejects_an_unknown_approve_mode() {
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config(dir.path());
    let output = run_in(
        dir.path(),
        &[
            "exec",
            "--config",
            config.to_str().expect("path"),
            "--approve",
            "sometimes",
        ],
        POST_LEAD.as_bytes(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(chat_log(dir.path()), "");
}

const AGENTS: &str = "[agents.platform]\napi_key_env = \"SLUICE_E2E_ASK_KEY\"\n\n\
[agents.intruder]\napi_key_env = \"SLUICE_E2E_ASK_OTHER\"\n";

/// Starts `sluice serve --grpc 127.0.0.1:0`; returns it with its `http://` address.
fn start_grpc(dir: &Path, config: &Path) -> (Server, String) {
    serve_grpc(
        dir,
        config.to_str().expect("path"),
        &[
            ("SLUICE_E2E_ASK_KEY", "platform-key"),
            ("SLUICE_E2E_ASK_OTHER", "intruder-key"),
        ],
    )
}

async fn connect(addr: &str) -> BrokerClient<Channel> {
    BrokerClient::new(channel(addr).await)
}

fn as_agent<T>(message: T, key: &str) -> Request<T> {
    bearer(message, key)
}

fn program(code: &str) -> pb::ExecuteRequest {
    pb::ExecuteRequest {
        code: code.into(),
        session: String::new(),
        timeout_ms: None,
    }
}

fn approve(id: &str, answer: pb::ApprovalAnswer) -> pb::ApproveRequest {
    pb::ApproveRequest {
        approval_id: id.into(),
        answer: answer.into(),
    }
}

/// Runs POST_LEAD with ExecuteStream as the platform agent, answers its approval with
/// `answer` (after checking that the other agent cannot), and returns the result JSON.
async fn stream_and_answer(
    client: &mut BrokerClient<Channel>,
    answer: pb::ApprovalAnswer,
) -> (pb::ApprovalRequested, String) {
    use pb::execute_event::Event;
    let mut stream = client
        .execute_stream(as_agent(program(POST_LEAD), "platform-key"))
        .await
        .expect("ExecuteStream")
        .into_inner();
    let mut asked = None;
    while let Some(event) = stream.message().await.expect("event") {
        match event.event.expect("event set") {
            Event::ApprovalRequested(request) => {
                let intruder = client
                    .approve(as_agent(
                        approve(&request.approval_id, pb::ApprovalAnswer::Once),
                        "intruder-key",
                    ))
                    .await
                    .expect_err("another agent cannot answer");
                assert_eq!(intruder.code(), Code::NotFound, "{intruder:?}");
                let unspecified = client
                    .approve(as_agent(
                        approve(&request.approval_id, pb::ApprovalAnswer::Unspecified),
                        "platform-key",
                    ))
                    .await
                    .expect_err("an answer is required");
                assert_eq!(unspecified.code(), Code::InvalidArgument);
                client
                    .approve(as_agent(
                        approve(&request.approval_id, answer),
                        "platform-key",
                    ))
                    .await
                    .expect("Approve");
                asked = Some(request);
            }
            Event::Outcome(outcome) => {
                return (
                    asked.expect("an approval was requested"),
                    outcome.result_json,
                );
            }
            _ => {}
        }
    }
    panic!("the stream ended without an outcome");
}

#[test]
fn a_grpc_approval_round_trip_lets_the_call_through_or_refuses_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config_with(dir.path(), AGENTS);
    let (_server, addr) = start_grpc(dir.path(), &config);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut client = connect(&addr).await;

        let (asked, result) = stream_and_answer(&mut client, pb::ApprovalAnswer::Once).await;
        assert_eq!(result, "\"posted\"");
        assert_eq!(asked.destination, "chat/postMessage");
        assert_eq!(asked.action, "flow");
        assert_eq!(asked.policy_ids, ["ask-before-contact-info-leaves"]);
        assert_eq!(asked.flows.len(), 1, "{asked:?}");
        assert_eq!(asked.flows[0].kind, "EMAIL");
        assert_eq!(asked.flows[0].source, "sheets");
        assert_eq!(asked.flows[0].arg_path, "text");
        assert!(!format!("{asked:?}").contains(AMELIA_EMAIL), "{asked:?}");
        assert_eq!(
            chat_log(dir.path()).lines().count(),
            1,
            "the backend was called"
        );
        // Answered: the id is gone.
        let again = client
            .approve(as_agent(
                approve(&asked.approval_id, pb::ApprovalAnswer::Once),
                "platform-key",
            ))
            .await
            .expect_err("answered once");
        assert_eq!(again.code(), Code::NotFound);

        let (_, result) = stream_and_answer(&mut client, pb::ApprovalAnswer::Decline).await;
        assert!(result.contains("refused: flow denied"), "{result}");
        assert!(
            result.contains("declined by agent 'platform' over gRPC"),
            "{result}"
        );
        assert_eq!(chat_log(dir.path()).lines().count(), 1, "not called again");

        // A unary Execute cannot ask: a distinct status, and the backend is not called.
        let status = client
            .execute(as_agent(program(POST_LEAD), "platform-key"))
            .await
            .expect_err("approval required");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "APPROVAL_REQUIRED");
        assert_eq!(info.metadata["policies"], "ask-before-contact-info-leaves");
        assert_eq!(chat_log(dir.path()).lines().count(), 1, "not called again");
    });
    let records = approval_records(dir.path(), &config);
    let decisions: Vec<&str> = records
        .iter()
        .filter_map(|r| r["decision"].as_str())
        .collect();
    assert_eq!(decisions, ["allow", "deny", "deny"], "{records:?}");
    assert!(
        records[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("approved once by agent 'platform' over gRPC")),
        "{records:?}"
    );
}

#[test]
fn the_ask_example_policies_pass_their_cases_and_a_bad_on_deny_is_refused_at_load() {
    let dir = tempfile::tempdir().expect("dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/examples/ask");
    let test = run_in(
        dir.path(),
        &["policy", "test", example.to_str().expect("path")],
        b"",
    );
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert_eq!(
        test.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(stdout.contains("5 passed"), "{stdout}");
    let explain = run_in(
        dir.path(),
        &[
            "policy",
            "explain",
            "--dir",
            example.to_str().expect("path"),
            "--action",
            "call",
            "--tool",
            "bank/send_money",
        ],
        b"",
    );
    let explained = String::from_utf8_lossy(&explain.stdout);
    assert_eq!(explain.status.code(), Some(3), "{explained}");
    assert!(
        explained.contains("ask: every deciding policy is @on_deny(\"ask\")"),
        "{explained}"
    );

    let policies = dir.path().join("bad");
    std::fs::create_dir_all(&policies).expect("mkdir");
    std::fs::copy(
        example.join("schema.cedarschema"),
        policies.join("schema.cedarschema"),
    )
    .expect("copy");
    std::fs::write(
        policies.join("p.cedar"),
        "@id(\"confirm\")\n@on_deny(\"prompt\")\nforbid (principal, action, resource);\n",
    )
    .expect("write");
    let validate = run_in(
        dir.path(),
        &["policy", "validate", policies.to_str().expect("path")],
        b"",
    );
    let stderr = String::from_utf8_lossy(&validate.stderr);
    assert_eq!(validate.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("policy \"confirm\""), "{stderr}");
    assert!(stderr.contains("unknown @on_deny(\"prompt\")"), "{stderr}");
}

#[test]
fn an_unanswered_grpc_approval_waits_within_the_execute_timeout_and_the_stream_ends() {
    let dir = tempfile::tempdir().expect("dir");
    let config = ask_config_with(dir.path(), AGENTS);
    let (_server, addr) = start_grpc(dir.path(), &config);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use pb::execute_event::Event;
        let mut client = connect(&addr).await;
        let mut request = program(POST_LEAD);
        // Long enough for both backends to start on a loaded machine before the question.
        request.timeout_ms = Some(4000);
        let started = std::time::Instant::now();
        let mut stream = client
            .execute_stream(as_agent(request, "platform-key"))
            .await
            .expect("ExecuteStream")
            .into_inner();
        let mut asked = None;
        let mut outcome = None;
        // The stream must end by itself (no answer is ever sent).
        let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Some(event) = stream.message().await.expect("event") {
                match event.event.expect("event set") {
                    Event::ApprovalRequested(r) => asked = Some(r),
                    Event::Outcome(o) => outcome = Some(o),
                    _ => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream did not end after the timeout");
        let asked = asked.expect("an approval was requested");
        let outcome = outcome.expect("outcome");
        let error = outcome.error.expect("the program timed out");
        assert_eq!(error.kind, pb::ErrorKind::Timeout as i32, "{error:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(12));
        assert_eq!(chat_log(dir.path()), "", "the backend was never called");
        // The question was withdrawn with its execute.
        let late = client
            .approve(as_agent(
                approve(&asked.approval_id, pb::ApprovalAnswer::Once),
                "platform-key",
            ))
            .await
            .expect_err("withdrawn");
        assert_eq!(late.code(), Code::NotFound);
        assert_eq!(chat_log(dir.path()), "");
    });
}
