//! Starting the server binaries and calling their tools.

use std::{process::Stdio, time::Duration};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, Tool},
    service::RunningService,
    transport::{StreamableHttpClientTransport, TokioChildProcess},
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A connected MCP client.
pub type Client = RunningService<RoleClient, ()>;

pub const SHEETS: &str = env!("CARGO_BIN_EXE_sheets-server");
pub const CRM: &str = env!("CARGO_BIN_EXE_crm-server");
pub const CHAT: &str = env!("CARGO_BIN_EXE_chat-server");

/// Starts `bin args…` as a child process speaking MCP on stdio and connects to it.
pub async fn stdio(bin: &str, args: &[&str]) -> Client {
    let mut command = Command::new(bin);
    command.args(args).env("LOG", "warn");
    let (transport, _stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    ().serve(transport).await.unwrap()
}

/// A server binary serving streamable HTTP on an ephemeral 127.0.0.1 port; killed on drop.
pub struct HttpServer {
    /// The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`.
    pub url: String,
    _child: Child,
}

impl HttpServer {
    /// Starts `bin --http 127.0.0.1:0 args…` and waits for its "listening on" line.
    pub async fn start(bin: &str, args: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .args(["--http", "127.0.0.1:0"])
            .env("LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_owned();
                }
                eprintln!("{line}");
            }
            panic!("{bin} exited before listening");
        })
        .await
        .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "{url}"
        );
        assert!(
            !url.contains(":0/"),
            "port 0 must be replaced by the bound port: {url}"
        );
        // Keep draining stderr so the server never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
            }
        });
        Self { url, _child: child }
    }

    /// Connects a new MCP client (a new session) to this server.
    pub async fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = StreamableHttpClientTransport::from_uri(self.url.as_str());
        ().serve(transport).await.unwrap()
    }
}

/// Calls `tool` with JSON object `args`; protocol errors fail the test, tool errors do not.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("tool arguments must be a JSON object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .unwrap()
}

/// Calls `tool` and returns its `structuredContent`, failing the test on a tool error.
pub async fn call_ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    assert_ne!(result.is_error, Some(true), "{tool} failed: {result:?}");
    let structured = result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("{tool} returned no structuredContent: {result:?}"));
    // The text block mirrors the structured content for clients that only read text.
    let text = result.content.first().and_then(|c| c.as_text()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text.text).unwrap(),
        structured
    );
    structured
}

/// Calls `tool` expecting a tool error (`isError: true`) and returns its message.
pub async fn call_err(client: &Client, tool: &str, args: Value) -> String {
    let result = call(client, tool, args).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} should fail: {result:?}"
    );
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lists the tools and checks each has a description, an object input schema and an
/// object output schema whose properties are all described.
pub async fn tools_with_schemas(client: &Client) -> Vec<Tool> {
    let tools = client.list_all_tools().await.unwrap();
    for tool in &tools {
        let name = &tool.name;
        assert!(
            tool.description.as_deref().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&"object".into()),
            "{name}"
        );
        let output = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no outputSchema"));
        assert_eq!(output.get("type"), Some(&"object".into()), "{name}");
        let properties = output["properties"].as_object().unwrap();
        assert!(!properties.is_empty(), "{name}");
        for (field, schema) in properties {
            assert!(
                schema.get("description").is_some(),
                "{name}.{field} has no description"
            );
        }
        if let Some(properties) = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
        {
            for (field, schema) in properties {
                assert!(
                    schema.get("description").is_some(),
                    "{name}({field}) has no description"
                );
            }
        }
    }
    tools
}

/// The sorted names of `tools`.
pub fn names(tools: &[Tool]) -> Vec<String> {
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}
