//! OpenTelemetry traces end to end: `sluice serve --grpc` with `[telemetry] otlp_endpoint`
//! pointing at an OTLP/HTTP receiver in this test, a real tonic client sending a W3C
//! `traceparent`, and the exported protobuf decoded with the OpenTelemetry proto types.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::transport::Channel;

use crate::support::{example_bin, serve_grpc};

const KEY_VAR: &str = "SLUICE_E2E_OTEL_KEY";
const KEY: &str = "e2e-otel-key";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP traces receiver on loopback: every request body it got.
async fn receiver() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&bodies);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = Arc::clone(&store);
            async move {
                store.lock().expect("lock").push(body.to_vec());
                (
                    [(http::header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, bodies)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_execute_is_one_trace_of_spans_under_the_callers_traceparent_and_carries_no_values() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (endpoint, bodies) = runtime.block_on(receiver());
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [agents.platform]\napi_key_env = {KEY_VAR:?}\n\n\
             [servers.sheets]\ncommand = {sheets:?}\ntrust = \"internal\"\n\n\
             [telemetry]\notlp_endpoint = {endpoint:?}\nservice_name = \"sluice-e2e\"\n",
            data = dir.path().join("data").to_str().expect("path"),
            sheets = example_bin("sheets-server").to_str().expect("path"),
        ),
    )
    .expect("config");
    let (mut child, addr) = serve_grpc(
        dir.path(),
        config.to_str().expect("path"),
        &[(KEY_VAR, KEY)],
    );

    let session = runtime.block_on(async {
        let channel = Channel::from_shared(addr)
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut client = BrokerClient::new(channel);
        let mut request = tonic::Request::new(pb::ExecuteRequest {
            code: r#"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
                     return row;"#
                .into(),
            session: String::new(),
            timeout_ms: None,
        });
        let metadata = request.metadata_mut();
        metadata.insert(
            "authorization",
            format!("Bearer {KEY}").parse().expect("value"),
        );
        metadata.insert(
            "traceparent",
            format!("00-{TRACE_ID}-{PARENT_SPAN}-01")
                .parse()
                .expect("value"),
        );
        let answer = client.execute(request).await.expect("Execute").into_inner();
        let outcome = answer.outcome.expect("outcome");
        assert_eq!(outcome.error, None, "{outcome:?}");
        assert!(
            outcome.result_json.contains("[EMAIL_"),
            "{}",
            outcome.result_json
        );
        answer.session
    });

    // A graceful stop sends what is left.
    let pid = i32::try_from(child.0.id()).expect("pid");
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    let bodies = bodies.lock().expect("lock").clone();
    assert!(!bodies.is_empty(), "no spans were exported");
    // No value, no session id, no program text in anything exported.
    for body in &bodies {
        let text = String::from_utf8_lossy(body);
        for secret in [
            "amelia.hartley@northwind-logistics.co.uk",
            "Amelia",
            "Hartley",
            "7946 0958",
            session.as_str(),
            "getRow({",
        ] {
            assert!(!text.contains(secret), "exported spans carry {secret:?}");
        }
    }
    let spans: Vec<Span> = bodies
        .iter()
        .map(|b| ExportTraceServiceRequest::decode(b.as_slice()).expect("OTLP protobuf"))
        .flat_map(|r| r.resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let by_id = |id: &[u8]| spans.iter().find(|s| s.span_id == id);
    let grpc = named("grpc");
    let execute = named("execute");
    let calls = named("tool_call");
    let decisions = named("decision");
    assert_eq!(
        execute.len(),
        1,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_eq!(calls.len(), 1);
    assert!(!decisions.is_empty());
    // One trace, continuing the caller's: grpc → execute → tool_call → decision.
    for span in &spans {
        assert_eq!(
            hex(&span.trace_id),
            TRACE_ID,
            "span {} left the trace",
            span.name
        );
    }
    let execute = execute[0];
    let parent = by_id(&execute.parent_span_id).expect("execute has a parent span");
    assert_eq!(parent.name, "grpc");
    assert!(grpc.iter().any(|g| hex(&g.parent_span_id) == PARENT_SPAN));
    assert_eq!(calls[0].parent_span_id, execute.span_id);
    assert!(
        decisions
            .iter()
            .any(|d| d.parent_span_id == calls[0].span_id),
        "the call decision is not a child of the tool call"
    );
}
