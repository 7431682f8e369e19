//! The three doors — MCP over HTTP, gRPC, and the `sluice` CLI — answer the same input
//! the same way, because the rule lives once in the broker: a backend's tool description
//! holding personal data comes back tokenized from every front, and the same bad search
//! limit or timeout is refused with the same words everywhere.

use std::path::Path;

use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use sluice::front::grpc::pb;

use crate::support::{KeyedClient, Server, example_bin, keyed_client, run_in, serve};

pub(crate) const KEY_VAR: &str = "SLUICE_E2E_FRONTS_KEY";
const KEY: &str = "e2e-fronts-key";
/// What fault-server's `contact` tool description says (see `--leaky-description`).
const LEAKED_EMAIL: &str = "dana.whitfield@example.org";
const LEAKED_PHONE: &str = "415 555 0134";

/// One agent with a key, and fault-server (whose `contact` tool leaks PII in its
/// description) as the only backend.
fn write_config(dir: &Path) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n\
         [agents.bot]\napi_key_env = {KEY_VAR:?}\n\n\
         [servers.faulty]\ncommand = {fault:?}\nargs = [\"--leaky-description\"]\ntrust = \"internal\"\n",
        data = dir.join("data").to_str().expect("path"),
        fault = example_bin("fault-server").to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

/// `sluice serve` with both network fronts: (process, MCP URL, gRPC URL).
pub(crate) fn start_serve(dir: &Path, config: &str) -> (Server, String, String) {
    let started = serve(
        dir,
        config,
        &["--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"],
        &[(KEY_VAR, KEY)],
    );
    (
        started.server,
        started.mcp.expect("mcp url"),
        started.grpc.expect("grpc url"),
    )
}

pub(crate) type Grpc = KeyedClient;

pub(crate) async fn grpc_client(url: &str) -> Grpc {
    keyed_client(url, KEY).await
}

pub(crate) async fn mcp_client(url: &str) -> rmcp::service::RunningService<RoleClient, ()> {
    sluice::tls::install_crypto_provider();
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(KEY.to_owned());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("MCP session")
}

/// An MCP tools/call: its text on success, or the error message.
pub(crate) async fn mcp_call(
    client: &rmcp::service::RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> Result<String, String> {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    match client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
    {
        Ok(result) => Ok(result
            .content
            .iter()
            .filter_map(|c| c.as_text())
            .map(|t| t.text.clone())
            .collect::<Vec<_>>()
            .join("\n")),
        Err(rmcp::ServiceError::McpError(e)) => Err(e.message.to_string()),
        Err(other) => panic!("transport failure: {other}"),
    }
}

fn assert_tokenized(front: &str, text: &str) {
    assert!(
        text.contains("contact"),
        "{front}: the tool is listed: {text}"
    );
    assert!(
        !text.contains(LEAKED_EMAIL) && !text.contains(LEAKED_PHONE),
        "{front}: a raw value from a tool description reached the caller: {text}"
    );
    assert!(
        text.contains("[EMAIL_"),
        "{front}: the email became a placeholder: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_description_with_personal_data_comes_back_tokenized_from_every_front() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path());

    let cli = run_in(
        dir.path(),
        &[
            "search",
            "--config",
            &config,
            "--detail",
            "full",
            "escalation contact",
        ],
        b"",
    );
    assert!(cli.status.success(), "{cli:?}");
    assert_tokenized("cli", &String::from_utf8_lossy(&cli.stdout));

    let (_serve, mcp_url, grpc_url) = start_serve(dir.path(), &config);
    let mut grpc = grpc_client(&grpc_url).await;
    let text = grpc
        .search(pb::SearchRequest {
            query: "escalation contact".into(),
            detail: pb::Detail::Full as i32,
            limit: 0,
            session: String::new(),
        })
        .await
        .expect("Search")
        .into_inner()
        .text;
    assert_tokenized("grpc", &text);

    let mcp = mcp_client(&mcp_url).await;
    let text = mcp_call(
        &mcp,
        "search",
        json!({"query": "escalation contact", "detail": "full"}),
    )
    .await
    .expect("search");
    assert_tokenized("mcp", &text);
    let _ = mcp.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_refuses_the_same_bad_limits_and_timeouts_with_the_same_words() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path());
    let (_serve, mcp_url, grpc_url) = start_serve(dir.path(), &config);
    let mut grpc = grpc_client(&grpc_url).await;
    let mcp = mcp_client(&mcp_url).await;

    // (what, the CLI's arguments, the gRPC call, the MCP call)
    let cases: Vec<(&str, Vec<String>, u64)> = vec![
        (
            "search limit",
            vec!["search".into(), "--limit".into(), "51".into(), "x".into()],
            51,
        ),
        (
            "search limit",
            vec![
                "search".into(),
                "--limit".into(),
                "4294967295".into(),
                "x".into(),
            ],
            u64::from(u32::MAX),
        ),
        (
            "timeout",
            vec!["exec".into(), "--timeout-ms".into(), "0".into(), "-".into()],
            0,
        ),
        (
            "timeout",
            vec![
                "exec".into(),
                "--timeout-ms".into(),
                "3600001".into(),
                "-".into(),
            ],
            3_600_001,
        ),
    ];
    for (what, cli_args, n) in cases {
        let mut args: Vec<&str> = cli_args.iter().map(String::as_str).collect();
        args.splice(1..1, ["--config", config.as_str()]);
        let cli = run_in(dir.path(), &args, b"return 1;");
        assert_eq!(cli.status.code(), Some(2), "{what} {n}: {cli:?}");
        let cli_words = String::from_utf8_lossy(&cli.stderr).into_owned();

        let (grpc_words, mcp_words) = if what == "search limit" {
            let status = grpc
                .search(pb::SearchRequest {
                    query: "x".into(),
                    detail: 0,
                    limit: u32::try_from(n).expect("fits"),
                    session: String::new(),
                })
                .await
                .expect_err("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
            let mcp_words = mcp_call(&mcp, "search", json!({"query": "x", "limit": n}))
                .await
                .expect_err("refused");
            (status.message().to_owned(), mcp_words)
        } else {
            let status = grpc
                .execute(pb::ExecuteRequest {
                    code: "return 1;".into(),
                    session: String::new(),
                    timeout_ms: Some(n),
                })
                .await
                .expect_err("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
            let mcp_words = mcp_call(
                &mcp,
                "execute",
                json!({"code": "return 1;", "timeout_ms": n}),
            )
            .await
            .expect_err("refused");
            (status.message().to_owned(), mcp_words)
        };
        assert!(
            grpc_words.contains(&format!("(got {n})")),
            "{what} {n}: the words name the value: {grpc_words}"
        );
        assert_eq!(grpc_words, mcp_words, "{what} {n}: gRPC and MCP disagree");
        assert!(
            cli_words.contains(&grpc_words),
            "{what} {n}: the CLI says something else: {cli_words:?} vs {grpc_words:?}"
        );
    }
    let _ = mcp.cancel().await;
}
