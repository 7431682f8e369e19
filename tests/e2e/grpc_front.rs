//! The gRPC front end to end: the real `sluice serve --grpc 127.0.0.1:0` binary with the
//! example servers as backends (sheets stdio internal, crm HTTP internal, chat stdio
//! external), and a tonic client built from the same proto.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use crate::support::{
    KeyedClient, Server, example_bin, keyed_client, runtime, serve_grpc, start_http,
};

const AMELIA_EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";
const KEY_VAR: &str = "SLUICE_E2E_GRPC_KEY";
const KEY: &str = "e2e-platform-key";

/// sheets, crm (HTTP at `crm_url`) and chat (logging to `chat.jsonl`) in `dir`, with one
/// agent whose key comes from [`KEY_VAR`] and no anonymous principal.
fn write_config(dir: &Path, crm_url: &str) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n\
         [agents.platform]\napi_key_env = {KEY_VAR:?}\n\n\
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

/// Starts `sluice serve --grpc 127.0.0.1:0` and returns it with its `http://` address.
fn start_sluice(dir: &Path, config: &str) -> (Server, String) {
    serve_grpc(dir, config, &[(KEY_VAR, KEY)])
}

type Client = KeyedClient;

async fn client(addr: &str) -> Client {
    keyed_client(addr, KEY).await
}

async fn execute(client: &mut Client, session: &str, code: &str) -> pb::ExecuteResponse {
    client
        .execute(pb::ExecuteRequest {
            code: code.into(),
            session: session.into(),
            timeout_ms: None,
        })
        .await
        .expect("Execute")
        .into_inner()
}

/// Runs `code` with `ExecuteStream`: every event, with the time it arrived.
async fn execute_stream(
    client: &mut Client,
    session: &str,
    code: &str,
) -> Vec<(Instant, pb::execute_event::Event)> {
    let mut stream = client
        .execute_stream(pb::ExecuteRequest {
            code: code.into(),
            session: session.into(),
            timeout_ms: None,
        })
        .await
        .expect("ExecuteStream")
        .into_inner();
    let mut timed = Vec::new();
    while let Some(event) = stream.message().await.expect("event") {
        timed.push((Instant::now(), event.event.expect("event set")));
    }
    timed
}

fn crm_dump(db: &str) -> String {
    let dump = Command::new(example_bin("crm-server"))
        .args(["--db", db, "--dump"])
        .output()
        .expect("dump");
    String::from_utf8_lossy(&dump.stdout).into_owned()
}

#[test]
fn executes_return_placeholders_and_a_later_execute_delivers_the_real_value() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("crm");
    let db = db.to_str().expect("path");
    let (crm, url) = start_http("crm-server", &["--db", db]);
    let config = write_config(dir.path(), &url);
    let (sluice, addr) = start_sluice(dir.path(), &config);
    runtime().block_on(async {
        let mut client = client(&addr).await;
        let session = client
            .create_session(pb::CreateSessionRequest {})
            .await
            .expect("CreateSession")
            .into_inner()
            .session;
        let first = execute(
            &mut client,
            &session,
            r#"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
               console.log(`read ${row.email}`);
               return { crmId: row.crmId, email: row.email };"#,
        )
        .await;
        assert_eq!(first.session, session);
        let outcome = first.outcome.expect("outcome");
        assert_eq!(outcome.error, None, "{outcome:?}");
        let seen = format!("{outcome:?}");
        assert!(!seen.contains(AMELIA_EMAIL), "raw email reached the model: {seen}");
        let result: serde_json::Value =
            serde_json::from_str(&outcome.result_json).expect("result JSON");
        let placeholder = result["email"].as_str().expect("email").to_owned();
        assert!(placeholder.starts_with("[EMAIL_"), "{result}");
        assert_eq!(outcome.logs.len(), 1, "{outcome:?}");
        assert!(outcome.logs[0].message.contains(&placeholder));

        // The same session, later: the placeholder still resolves on its way to the CRM.
        let second = execute(
            &mut client,
            &session,
            &format!(
                r#"const lead = await tools.crm.updateLead({{ id: "CRM-1001", email: "{placeholder}" }});
                   return lead.email;"#
            ),
        )
        .await;
        let outcome = second.outcome.expect("outcome");
        assert_eq!(outcome.error, None, "{outcome:?}");
        assert_eq!(outcome.calls, 1);
        assert!(!outcome.result_json.contains(AMELIA_EMAIL), "{outcome:?}");

        // ExecuteStream: started, a tool-call event, the log, then the outcome.
        let events: Vec<_> = execute_stream(
            &mut client,
            &session,
            r#"const r = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-002" });
               console.log("got", r.email); return r.email;"#,
        )
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect();
        use pb::execute_event::Event;
        assert!(matches!(&events[0], Event::Started(s) if s.session == session), "{events:?}");
        assert!(
            events.iter().any(|e| matches!(e, Event::ToolCall(c)
                if c.ok && c.server == "sheets" && c.tool == "getRow")),
            "{events:?}"
        );
        assert!(events.iter().any(|e| matches!(e, Event::Log(_))), "{events:?}");
        let Some(Event::Outcome(last)) = events.last() else {
            panic!("the last event is not the outcome: {events:?}");
        };
        assert_eq!(last.error, None, "{last:?}");
        assert!(!format!("{events:?}").contains("brandt-maschinenbau"), "{events:?}");

        // Live and in program order: a log line arrives while the program still runs,
        // before the tool call it precedes; a raw email the program builds is tokenized.
        let timed = execute_stream(
            &mut client,
            &session,
            r#"console.log("before", "grace" + ".hopper@" + "navy.example");
               await tools.sheets.getRow({ sheet: "q4-leads", id: "L-002" });
               console.log("after");
               const t = Date.now(); while (Date.now() - t < 1500) {}
               return "done";"#,
        )
        .await;
        let order: Vec<&str> = timed
            .iter()
            .map(|(_, e)| match e {
                Event::Started(_) => "started",
                Event::Log(l) if l.message.starts_with("before") => "before",
                Event::Log(l) if l.message == "after" => "after",
                Event::Log(_) => "other log",
                Event::ToolCall(_) => "call",
                Event::Outcome(_) => "outcome",
                Event::ApprovalRequested(_) => "approval",
            })
            .collect();
        assert_eq!(order, ["started", "before", "call", "after", "outcome"], "{timed:?}");
        let (after_at, _) = timed[3];
        let (outcome_at, _) = timed[4];
        assert!(
            outcome_at - after_at >= Duration::from_millis(1000),
            "the log arrived only with the outcome: {:?}",
            outcome_at - after_at
        );
        let seen = format!("{timed:?}");
        assert!(!seen.contains("grace.hopper@navy.example"), "{seen}");
        assert!(seen.contains("[EMAIL_"), "{seen}");
    });
    drop(sluice);
    drop(crm);
    let stored = crm_dump(db);
    assert!(
        stored.contains(AMELIA_EMAIL),
        "the CRM did not get the real email: {stored}"
    );
}

#[test]
fn detokenize_follows_flow_policy_and_bad_requests_get_the_right_status() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let (_sluice, addr) = start_sluice(dir.path(), &config);
    runtime().block_on(async {
        let mut client = client(&addr).await;
        let tokenized = client
            .tokenize(pb::TokenizeRequest {
                session: String::new(),
                source: "sheets".into(),
                input: Some(pb::tokenize_request::Input::Text(format!(
                    "Contact {AMELIA_EMAIL} today"
                ))),
                tool: String::new(),
            })
            .await
            .expect("Tokenize")
            .into_inner();
        let session = tokenized.session.clone();
        assert!(!session.is_empty());
        let Some(pb::tokenize_response::Output::Text(text)) = tokenized.output else {
            panic!("no text");
        };
        assert!(!text.contains(AMELIA_EMAIL), "{text}");
        assert!(text.contains("[EMAIL_1]"), "{text}");

        let detokenize = |session: &str, destination: &str| pb::DetokenizeRequest {
            session: session.into(),
            destination: destination.into(),
            input: Some(pb::detokenize_request::Input::Text(text.clone())),
        };
        let allowed = client
            .detokenize(detokenize(&session, "crm/updateLead"))
            .await
            .expect("allowed Detokenize")
            .into_inner();
        assert_eq!(
            allowed.output,
            Some(pb::detokenize_response::Output::Text(format!(
                "Contact {AMELIA_EMAIL} today"
            )))
        );

        let denied = client
            .detokenize(detokenize(&session, "chat/postMessage"))
            .await
            .expect_err("denied Detokenize");
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        assert!(
            denied.message().contains("no-flow-to-external"),
            "{denied:?}"
        );
        assert!(!denied.message().contains(AMELIA_EMAIL), "{denied:?}");
        // Machine-readable details: google.rpc.ErrorInfo and PreconditionFailure.
        let info = denied.get_details_error_info().expect("ErrorInfo details");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("FLOW_DENIED", "sluice.v1")
        );
        let meta = |key: &str| info.metadata.get(key).cloned().unwrap_or_default();
        assert_eq!(meta("destination"), "chat/postMessage");
        assert_eq!(meta("placeholders"), "[EMAIL_1]");
        assert_eq!(meta("kinds"), "EMAIL");
        assert_eq!(meta("sources"), "sheets");
        assert_eq!(meta("policies"), "no-flow-to-external");
        let failure = denied
            .get_details_precondition_failure()
            .expect("PreconditionFailure details");
        assert_eq!(failure.violations.len(), 1, "{failure:?}");
        assert_eq!(failure.violations[0].subject, "[EMAIL_1] at .");
        assert!(!format!("{info:?}{failure:?}").contains(AMELIA_EMAIL));

        // JSON keeps its structure.
        let json = client
            .detokenize(pb::DetokenizeRequest {
                session: session.clone(),
                destination: "crm/updateLead".into(),
                input: Some(pb::detokenize_request::Input::Json(
                    r#"{"id":"CRM-1001","email":"[EMAIL_1]"}"#.into(),
                )),
            })
            .await
            .expect("JSON Detokenize")
            .into_inner();
        assert_eq!(
            json.output,
            Some(pb::detokenize_response::Output::Json(format!(
                r#"{{"id":"CRM-1001","email":"{AMELIA_EMAIL}"}}"#
            )))
        );

        // Another session (nobody's): refused as unknown, nothing resolved.
        let other = client
            .detokenize(detokenize("s-someone-else", "crm/updateLead"))
            .await
            .expect_err("an unknown session is refused");
        assert_eq!(other.code(), Code::NotFound, "{other:?}");
        assert!(!other.message().contains(AMELIA_EMAIL));

        // CheckFlow explains without resolving.
        let check = client
            .check_flow(pb::CheckFlowRequest {
                session: session.clone(),
                placeholder: "[EMAIL_1]".into(),
                destination: "chat/postMessage".into(),
                arg_path: "text".into(),
            })
            .await
            .expect("CheckFlow")
            .into_inner();
        assert!(!check.allowed);
        assert_eq!(check.policy_ids, vec!["no-flow-to-external".to_owned()]);
        assert_eq!(
            (check.kind.as_str(), check.source.as_str()),
            ("EMAIL", "sheets")
        );

        // Malformed JSON arguments to CallTool.
        let bad = client
            .call_tool(pb::CallToolRequest {
                session: session.clone(),
                server: "crm".into(),
                tool: "updateLead".into(),
                arguments_json: r#"{"id": "CRM-1001", "email": "#.into(),
            })
            .await
            .expect_err("malformed JSON");
        assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
        // A message over the 4 MiB limit is refused before it is decoded.
        let huge = client
            .tokenize(pb::TokenizeRequest {
                session: session.clone(),
                source: "sheets".into(),
                input: Some(pb::tokenize_request::Input::Text("x".repeat(5 << 20))),
                tool: String::new(),
            })
            .await
            .expect_err("too large");
        assert_eq!(huge.code(), Code::OutOfRange, "{huge:?}");
        // An unreachable backend is UNAVAILABLE.
        let down = client
            .call_tool(pb::CallToolRequest {
                session: session.clone(),
                server: "crm".into(),
                tool: "getLead".into(),
                arguments_json: r#"{"id": "CRM-1001"}"#.into(),
            })
            .await
            .expect_err("crm is down");
        assert_eq!(down.code(), Code::Unavailable, "{down:?}");
        // A flow denied on CallTool: PERMISSION_DENIED with ErrorInfo, chat never called.
        let refused = client
            .call_tool(pb::CallToolRequest {
                session: session.clone(),
                server: "chat".into(),
                tool: "postMessage".into(),
                arguments_json: r#"{"channel": "sales", "text": "[EMAIL_1]"}"#.into(),
            })
            .await
            .expect_err("flow to chat");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let info = refused.get_details_error_info().expect("ErrorInfo details");
        assert_eq!(info.reason, "FLOW_DENIED");
        assert_eq!(
            info.metadata.get("destination").map(String::as_str),
            Some("chat/postMessage")
        );
        assert!(!refused.message().contains(AMELIA_EMAIL), "{refused:?}");
        let chat = std::fs::read_to_string(dir.path().join("chat.jsonl")).unwrap_or_default();
        assert!(
            chat.trim().is_empty(),
            "the chat backend was called: {chat}"
        );

        // Erasure: after PurgeSession nothing resolves.
        let purged = client
            .purge_session(pb::PurgeSessionRequest {
                session: session.clone(),
            })
            .await
            .expect("PurgeSession")
            .into_inner();
        assert!(purged.purged >= 1, "{purged:?}");
        let after = client
            .detokenize(detokenize(&session, "crm/updateLead"))
            .await
            .expect("after purge")
            .into_inner();
        assert_eq!(
            after.output,
            Some(pb::detokenize_response::Output::Text(text.clone()))
        );

        let servers = client
            .list_servers(pb::ListServersRequest {})
            .await
            .expect("ListServers")
            .into_inner()
            .servers;
        let names: Vec<_> = servers
            .iter()
            .map(|s| (s.name.as_str(), s.trust.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("chat", "external"),
                ("crm", "internal"),
                ("sheets", "internal")
            ]
        );
        let sheets = &servers[2];
        assert!(sheets.reachable && sheets.tool_count == 3, "{sheets:?}");
        assert!(!servers[1].reachable, "{:?}", servers[1]);

        // Without credentials, or with a wrong key: UNAUTHENTICATED.
        let channel = Channel::from_shared(addr.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut anonymous = BrokerClient::new(channel.clone());
        let refused = anonymous
            .create_session(pb::CreateSessionRequest {})
            .await
            .expect_err("no credentials");
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        let mut request = Request::new(pb::CreateSessionRequest {});
        request
            .metadata_mut()
            .insert("authorization", "Bearer wrong".parse().expect("value"));
        let wrong = anonymous
            .create_session(request)
            .await
            .expect_err("wrong key");
        assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");

        // Health needs no credentials and reports the service as serving.
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        for service in ["", "sluice.v1.Broker"] {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .expect("health check")
                .into_inner()
                .status;
            assert_eq!(
                status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                "{service:?}"
            );
        }
    });
}

#[test]
fn an_infinite_loop_stops_at_the_deadline_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let (_sluice, addr) = start_sluice(dir.path(), &config);
    runtime().block_on(async {
        let mut client = client(&addr).await;
        let mut request = Request::new(pb::ExecuteRequest {
            code: "while (true) {}".into(),
            session: String::new(),
            timeout_ms: None,
        });
        request.set_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let answer = client.execute(request).await;
        let elapsed = started.elapsed();
        match answer {
            Err(status) => assert!(
                status.code() == Code::DeadlineExceeded
                    // tonic's client gives up on its own deadline with CANCELLED.
                    || (status.code() == Code::Cancelled && status.message().contains("Timeout")),
                "{status:?}"
            ),
            Ok(response) => {
                let outcome = response.into_inner().outcome.expect("outcome");
                assert_eq!(
                    outcome.error.map(|e| e.kind),
                    Some(pb::ErrorKind::Timeout as i32)
                );
            }
        }
        assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");

        // The server is still serving, and the sandbox budget is free again.
        let started = Instant::now();
        let next = execute(&mut client, "", "return 6 * 7;").await;
        let outcome = next.outcome.expect("outcome");
        assert_eq!(outcome.error, None, "{outcome:?}");
        assert_eq!(outcome.result_json, "42");
        assert!(started.elapsed() < Duration::from_secs(3));

        // timeout_ms lowers the budget without a deadline: a program error, not a status.
        let limited = client
            .execute(pb::ExecuteRequest {
                code: "while (true) {}".into(),
                session: String::new(),
                timeout_ms: Some(100),
            })
            .await
            .expect("a timeout is an outcome")
            .into_inner();
        let error = limited.outcome.and_then(|o| o.error).expect("error");
        assert_eq!(error.kind, pb::ErrorKind::Timeout as i32, "{error:?}");
    });
}

/// Invariant 5 under a live server: SIGKILL `sluice serve` in the middle of a stream of
/// tokenizations; after a restart on the same data dir, every placeholder a client had
/// already received resolves to its value.
#[test]
fn every_returned_placeholder_survives_kill_9_of_serve() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let (mut sluice, addr) = start_sluice(dir.path(), &config);
    let rt = runtime();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let stream = {
        let (addr, received) = (addr.clone(), std::sync::Arc::clone(&received));
        rt.spawn(async move {
            let mut client = client(&addr).await;
            for i in 0.. {
                let value = format!("user{i}.crash@example.com");
                let Ok(response) = client
                    .tokenize(pb::TokenizeRequest {
                        session: "s-crash".into(),
                        source: "sheets".into(),
                        input: Some(pb::tokenize_request::Input::Text(value.clone())),
                        tool: String::new(),
                    })
                    .await
                else {
                    break; // the server is gone
                };
                if let Some(pb::tokenize_response::Output::Text(p)) = response.into_inner().output {
                    received.lock().expect("lock").push((p, value));
                }
            }
        })
    };
    // Let the stream run, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().expect("lock").len() < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    sluice.0.kill().expect("SIGKILL");
    let _ = sluice.0.wait();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), stream).await })
        .expect("the stream ends when the server dies")
        .expect("stream task");
    let received = received.lock().expect("lock").clone();
    assert!(
        received.len() >= 150,
        "only {} tokenizations before the kill",
        received.len()
    );

    let (_sluice, addr) = start_sluice(dir.path(), &config);
    rt.block_on(async {
        let mut client = client(&addr).await;
        let placeholders: Vec<&str> = received.iter().map(|(p, _)| p.as_str()).collect();
        let response = client
            .detokenize(pb::DetokenizeRequest {
                session: "s-crash".into(),
                destination: "crm/updateLead".into(),
                input: Some(pb::detokenize_request::Input::Json(
                    serde_json::json!({ "emails": placeholders }).to_string(),
                )),
            })
            .await
            .expect("Detokenize after restart")
            .into_inner();
        let Some(pb::detokenize_response::Output::Json(json)) = response.output else {
            panic!("no JSON output: {response:?}");
        };
        let values: serde_json::Value = serde_json::from_str(&json).expect("json");
        for (i, (placeholder, value)) in received.iter().enumerate() {
            assert_eq!(
                values["emails"][i], *value,
                "{placeholder} did not survive the crash"
            );
        }
    });
}

/// The resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Invariant 6: a catalogue of hostile programs through a running `sluice serve`, each
/// stopped with the right error kind; the server keeps serving and its memory comes back.
#[test]
fn hostile_programs_are_stopped_with_the_right_kind_and_the_server_keeps_serving() {
    use pb::ErrorKind as K;
    let catalogue: &[(&str, K)] = &[
        // CPU
        ("while (true) {}", K::Timeout),
        ("for (;;) { Math.random(); }", K::Timeout),
        ("let x = 0; while (x >= 0) x++;", K::Timeout),
        ("await new Promise(() => { while (true) {} });", K::Timeout),
        (
            "const t = Date.now(); while (Date.now() - t < 60000) {}",
            K::Timeout,
        ),
        (
            "let s = 'a'; for (;;) s = JSON.parse(JSON.stringify(s));",
            K::Timeout,
        ),
        ("return /(a+)+$/.test('a'.repeat(40) + '!');", K::Timeout),
        ("eval('while (true) {}');", K::Timeout),
        ("return { toJSON() { while (true) {} } };", K::Timeout),
        (
            "Object.prototype.toJSON = () => { for (;;) {} }; return {};",
            K::Timeout,
        ),
        // memory
        (
            "const a = []; while (true) a.push(new Array(1e6).fill(1));",
            K::Memory,
        ),
        (
            "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: 'x'.repeat(10000) + i });",
            K::Memory,
        ),
        ("return new Array(1e8).fill(0).length;", K::Memory),
        (
            "const b = []; for (;;) b.push(new ArrayBuffer(1 << 20));",
            K::Memory,
        ),
        // stack
        ("function f() { return f() + 1; } return f();", K::Runtime),
        (
            "const p = new Proxy({}, { get: (t, k) => p[k] }); return p.x;",
            K::Runtime,
        ),
        (
            "const o = {}; o.toString = () => `${o}`; return `${o}`;",
            K::Runtime,
        ),
        // output
        ("for (;;) console.log('x'.repeat(1000));", K::OutputLimit),
        (
            "for (let i = 0; i < 1e6; i++) console.error(i);",
            K::OutputLimit,
        ),
        ("return 'x'.repeat(5000000);", K::OutputLimit),
        // tool calls
        ("for (;;) await tools.sheets.listSheets({});", K::CallLimit),
        (
            "await Promise.all(Array.from({ length: 100 }, () => tools.sheets.listSheets({})));",
            K::CallLimit,
        ),
        ("await tools.nope.anything({});", K::Tool),
        // capabilities that do not exist
        ("require('fs');", K::Runtime),
        ("process.exit(1);", K::Runtime),
        ("await fetch('http://example.com/');", K::Runtime),
        ("setTimeout(() => {}, 10);", K::Runtime),
        ("os.exec(['ls']);", K::Runtime),
        (
            "await WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));",
            K::Runtime,
        ),
        ("await new Promise(() => {});", K::Runtime),
        // bad results and programs
        ("const a = {}; a.self = a; return a;", K::Runtime),
        ("return 10n;", K::Runtime),
        ("throw new Error('boom');", K::Runtime),
        ("function (", K::Syntax),
    ];
    assert!(catalogue.len() >= 30);
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    // The wall-clock limit leaves room for a memory bomb to hit its cap first even on a
    // machine busy with other builds.
    let limits = "\n[sandbox]\ntimeout_ms = 1500\nmemory_mb = 32\nmax_output_bytes = 65536\nmax_calls = 20\n";
    let text = std::fs::read_to_string(&config).expect("config") + limits;
    std::fs::write(&config, text).expect("config");
    let (sluice, addr) = start_sluice(dir.path(), &config);
    let pid = sluice.0.id();
    runtime().block_on(async {
        let mut client = client(&addr).await;
        let warm = execute(
            &mut client,
            "s-hostile",
            "return [1, 2, 3].map((x) => x * 2);",
        )
        .await;
        assert!(warm.outcome.and_then(|o| o.error).is_none());
        let baseline = rss_kib(pid);
        let mut wrong = Vec::new();
        for (code, want) in catalogue {
            let outcome = execute(&mut client, "s-hostile", code)
                .await
                .outcome
                .expect("outcome");
            let got = outcome.error.as_ref().map(|e| e.kind());
            if got != Some(*want) {
                wrong.push(format!(
                    "{code}\n  want {want:?}, got {got:?}: {:?}",
                    outcome.error.map(|e| e.message)
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} wrong:\n{}",
            wrong.len(),
            catalogue.len(),
            wrong.join("\n")
        );
        // Still serving, and memory back near where it started.
        let after = execute(&mut client, "s-hostile", "return 40 + 2;").await;
        assert_eq!(after.outcome.expect("outcome").result_json, "42");
        let rss = rss_kib(pid);
        assert!(
            rss < baseline + 64 * 1024,
            "RSS grew from {baseline} KiB to {rss} KiB after the hostile programs"
        );
        eprintln!(
            "RSS: {baseline} KiB before, {rss} KiB after {} hostile programs",
            catalogue.len()
        );
    });
}

#[test]
fn a_bad_request_is_refused_before_the_program_runs() {
    let dir = tempfile::tempdir().expect("dir");
    let (_crm, crm_url) = start_http(
        "crm-server",
        &["--db", dir.path().join("crm.json").to_str().expect("path")],
    );
    let config = write_config(dir.path(), &crm_url);
    let (_sluice, addr) = start_sluice(dir.path(), &config);
    let post = r#"await tools.chat.postMessage({ channel: "general", text: "the program ran" }); return 1;"#;
    runtime().block_on(async {
        let mut client = client(&addr).await;
        for (session, timeout_ms) in [
            ("not a session id!", None),
            ("", Some(0)),
            ("ok-session", Some(3_600_001)),
        ] {
            let status = client
                .execute(pb::ExecuteRequest {
                    code: post.into(),
                    session: session.into(),
                    timeout_ms,
                })
                .await
                .expect_err("refused");
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{session:?}: {status:?}"
            );
        }
    });
    let log = std::fs::read_to_string(dir.path().join("chat.jsonl")).unwrap_or_default();
    assert!(
        !log.contains("the program ran"),
        "the backend was called: {log}"
    );
}

#[test]
fn a_huge_thrown_error_is_held_to_the_output_limit_and_the_outcome_arrives() {
    let dir = tempfile::tempdir().expect("dir");
    let (_crm, crm_url) = start_http(
        "crm-server",
        &["--db", dir.path().join("crm.json").to_str().expect("path")],
    );
    let config = write_config(dir.path(), &crm_url);
    let (_sluice, addr) = start_sluice(dir.path(), &config);
    runtime().block_on(async {
        let mut client = client(&addr).await;
        let response = execute(
            &mut client,
            "",
            r#"throw new Error("x".repeat(8 * 1024 * 1024));"#,
        )
        .await;
        let error = response.outcome.expect("outcome").error.expect("error");
        assert_eq!(
            error.kind,
            pb::ErrorKind::Runtime as i32,
            "{}",
            &error.message[..200.min(error.message.len())]
        );
        assert!(
            error.message.len() <= 1 << 20,
            "{} bytes",
            error.message.len()
        );
        assert!(
            error.message.contains("over the output limit"),
            "{}",
            &error.message[error.message.len().saturating_sub(200)..]
        );
    });
}

const OTHER_KEY_VAR: &str = "SLUICE_E2E_GRPC_OTHER_KEY";
const OTHER_KEY: &str = "e2e-intruder-key";

#[test]
fn a_session_belongs_to_its_agent_on_every_rpc() {
    let dir = tempfile::tempdir().expect("dir");
    let (_crm, crm_url) = start_http(
        "crm-server",
        &["--db", dir.path().join("crm.json").to_str().expect("path")],
    );
    let config = write_config(dir.path(), &crm_url);
    let text = std::fs::read_to_string(&config).expect("config")
        + &format!("\n[agents.intruder]\napi_key_env = {OTHER_KEY_VAR:?}\n");
    std::fs::write(&config, text).expect("config");
    let (_server, addr) = serve_grpc(
        dir.path(),
        &config,
        &[(KEY_VAR, KEY), (OTHER_KEY_VAR, OTHER_KEY)],
    );
    runtime().block_on(async {
        let mut owner = client(&addr).await;
        let mut intruder = keyed_client(&addr, OTHER_KEY).await;
        let read = r#"const r = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" }); return r.email;"#;
        let first = execute(&mut owner, "", read).await;
        let session = first.session.clone();
        let placeholder = serde_json::from_str::<String>(&first.outcome.expect("outcome").result_json).expect("placeholder");
        assert!(placeholder.starts_with("[EMAIL_"), "{placeholder}");

        // Every RPC that names the owner's session refuses the intruder; those that read
        // or erase a session answer exactly as for a session that does not exist.
        for target in [session.as_str(), "s-no-such-session"] {
            let unknown = target != session;
            let mut refusals = Vec::new();
            let detok = intruder.detokenize(pb::DetokenizeRequest {
                session: target.into(),
                destination: "crm/updateLead".into(),
                input: Some(pb::detokenize_request::Input::Text(placeholder.clone())),
            }).await.expect_err("detokenize refused");
            refusals.push(("Detokenize", detok));
            if !unknown {
                let exec = intruder.execute(pb::ExecuteRequest { code: "return 1;".into(), session: target.into(), timeout_ms: None }).await.expect_err("execute refused");
                refusals.push(("Execute", exec));
                let tokenize = intruder.tokenize(pb::TokenizeRequest { session: target.into(), source: String::new(), input: Some(pb::tokenize_request::Input::Text("x".into())), tool: String::new() }).await.expect_err("tokenize refused");
                refusals.push(("Tokenize", tokenize));
                let call = intruder.call_tool(pb::CallToolRequest { session: target.into(), server: "sheets".into(), tool: "listSheets".into(), arguments_json: "{}".into() }).await.expect_err("call refused");
                refusals.push(("CallTool", call));
            }
            let purge = intruder.purge_session(pb::PurgeSessionRequest { session: target.into() }).await.expect_err("purge refused");
            refusals.push(("PurgeSession", purge));
            let check = intruder.check_flow(pb::CheckFlowRequest { session: target.into(), destination: "crm/updateLead".into(), placeholder: placeholder.clone(), arg_path: "email".into() }).await.expect_err("check refused");
            refusals.push(("CheckFlow", check));
            for (rpc, status) in refusals {
                assert_eq!(status.code(), Code::NotFound, "{rpc} on {target}: {status:?}");
                assert!(status.message().starts_with("unknown session"), "{rpc}: {}", status.message());
                assert!(!status.message().contains(AMELIA_EMAIL));
            }
        }
        // The owner's session is intact: the placeholder still resolves for the owner.
        let resolved = owner
            .detokenize(pb::DetokenizeRequest {
                session: session.clone(),
                destination: "crm/updateLead".into(),
                input: Some(pb::detokenize_request::Input::Text(placeholder.clone())),
            })
            .await
            .expect("the owner still resolves")
            .into_inner();
        assert_eq!(resolved.output, Some(pb::detokenize_response::Output::Text(AMELIA_EMAIL.into())));
    });
}

/// Issue 13.7 on the gRPC port: connections that never send their HTTP/2 opening (or send
/// part of it) are closed, with no key needed to hold one; the server keeps serving.
#[test]
fn grpc_connections_that_never_send_their_opening_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "http://127.0.0.1:9/mcp");
    let (_sluice, addr) = start_sluice(dir.path(), &config);
    let authority = addr.trim_start_matches("http://").to_owned();
    runtime().block_on(async {
        let mut slow = Vec::new();
        for i in 0..20 {
            let mut stream = tokio::net::TcpStream::connect(&authority)
                .await
                .expect("connect");
            if i % 2 == 0 {
                // Part of the preface, then silence.
                stream.write_all(b"PRI * HTTP/2.0").await.expect("write");
            }
            slow.push(stream);
        }
        let started = Instant::now();
        for mut stream in slow {
            let mut buf = [0u8; 256];
            let ended = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            assert!(
                ended.is_ok(),
                "a silent gRPC connection was still open after 30 s"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{:?}",
            started.elapsed()
        );
        // A real client is still served.
        let mut client = client(&addr).await;
        let answer = execute(&mut client, "", "return 6 * 7;").await;
        assert_eq!(answer.outcome.expect("outcome").result_json, "42");
    });
}
