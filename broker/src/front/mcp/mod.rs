//! The MCP front: Sluice as an MCP server with exactly two tools, `search` and `execute`,
//! over stdio (one trusted local client) or streamable HTTP at `/mcp` (bearer-token
//! agents).
//!
//! **Sessions.** Each MCP session is one vault session. Every session gets its own
//! [`McpSession`] handler; at `initialize` it asks the broker for a new vault session
//! owned by the initializing agent: over stdio the connection is the session; over HTTP
//! rmcp's session manager calls the handler factory once per `initialize`, so the id lives
//! exactly as long as the `Mcp-Session-Id`. Every `tools/call` result names its vault
//! session in `_meta["sluice/session"]`; a request that names one there works in that
//! session instead — how a client keeps its placeholders across a reconnect, on another
//! replica (the session and its owner live in the shared store), or in the session-less
//! 2026-07-28 revision, where every request is served by a handler of its own. The id is
//! a capability only for its owner: the broker binds a session to the first agent that
//! uses it and refuses it to every other as unknown.
//!
//! **Auth.** Over HTTP an axum layer turns `Authorization: Bearer` into an agent (or
//! answers 401 before any MCP processing) and hands it to the handler through the request
//! extensions; a session is bound to the agent that first used it, and another agent
//! presenting the same `Mcp-Session-Id` is refused. rmcp validates the `Host` header
//! against the allowed hosts (DNS-rebinding protection).
//!
//! This module never decides a flow or sees a raw value: the [`Broker`] tokenizes every
//! outcome, and the search text is scanned as well before it is returned.

mod approve;
mod http;
mod mrtr;
mod owners;
mod render;
mod session;
mod skills;

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::model::{JsonObject, ProtocolVersion, Tool};
use serde_json::{Value, json};

use super::Shutdown;
use crate::flow::Broker;

pub use crate::flow::request::{SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT};
pub use http::{McpHttp, default_allowed_hosts};
pub use owners::DEFAULT_SESSIONS_PER_AGENT;
pub use render::execute_result;
pub use session::{McpSession, SESSION_META_KEY};

/// The agent an HTTP request authenticated as; the auth layer puts it in the request's
/// extensions, where the handler reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub String);

/// The path streamable HTTP serves MCP at.
pub const MCP_PATH: &str = "/mcp";
/// The unauthenticated liveness path for load balancers and Kubernetes probes.
pub const HEALTH_PATH: &str = "/healthz";

/// The revisions offered: those with an `initialize` handshake (an MCP session holds its
/// vault session) and the session-less 2026-07-28, whose requests name their vault
/// session in `_meta` ([`SESSION_META_KEY`]).
const PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

const EXECUTE_DESCRIPTION: &str = "Run a JS/TS async function body (top-level await; `return` a value). \
Call backend tools as `await tools.<server>.<tool>(args)`; it returns the parsed result and throws on error. \
Use `search` first to learn the tools. \
Personal data appears as placeholders like [EMAIL_1] that stand for real values: pass them to tools unchanged, \
they resolve only where policy allows. console.log is captured. \
Returns {result, logs, calls, error}.";

const SEARCH_DESCRIPTION: &str = "Find backend tools for a task. Returns TypeScript declarations of `tools.<server>.<tool>` to call in execute.";

/// Failures of the MCP front itself (not of a program it runs).
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {addr}: {source} (is the port in use?)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("the MCP HTTP server on {addr} failed: {source}")]
    Serve {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The stdio session ended abnormally.
    #[error("the MCP stdio session failed: {0}")]
    Stdio(String),
}
fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The two tools Sluice shows a model, whatever backends it has.
pub fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "search",
            SEARCH_DESCRIPTION,
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what you want to do, e.g. \"update a lead's email\""},
                    "detail": {"enum": ["names", "signatures", "full"], "description": "default signatures"},
                    "limit": {"type": "integer", "description": "max tools, default 10, at most 50"}
                },
                "required": ["query"]
            })),
        ),
        Tool::new(
            "execute",
            EXECUTE_DESCRIPTION,
            schema(json!({
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "timeout_ms": {"type": "integer", "description": "wall-clock limit, capped by the server"}
                },
                "required": ["code"]
            })),
        ),
    ]
}

/// The server `instructions`: which backends are connected, and how to start.
pub fn instructions(servers: &[String]) -> String {
    let servers = if servers.is_empty() {
        "none configured".to_owned()
    } else {
        servers.join(", ")
    };
    format!(
        "Sluice runs your code against backend MCP servers ({servers}). \
         Call `search` first to find tools and their TypeScript signatures, then `execute` \
         a program that calls them as tools.<server>.<tool>(args). Personal data comes back \
         as placeholders like [EMAIL_1]; pass them on as they are."
    )
}

/// Serves one MCP session on stdin/stdout until the client closes stdin or `shutdown`
/// fires. Nothing else may write to stdout meanwhile.
pub async fn serve_stdio(broker: Arc<Broker>, shutdown: Shutdown) -> Result<(), FrontError> {
    let handler = McpSession::local(broker);
    let running = tokio::select! {
        running = handler.serve(rmcp::transport::stdio_pipes()) => running,
        () = shutdown.wait() => return Ok(()),
    };
    let running = match running {
        Ok(running) => running,
        // A client that goes away before the handshake ends the session, not the server.
        Err(e) => {
            tracing::info!(error = %e, "the stdio client left before the MCP handshake");
            return Ok(());
        }
    };
    let token = running.cancellation_token();
    let reason = tokio::select! {
        reason = running.waiting() => reason,
        () = shutdown.wait() => {
            token.cancel();
            return Ok(());
        }
    };
    tracing::info!(?reason, "MCP stdio session ended");
    reason
        .map(|_| ())
        .map_err(|e| FrontError::Stdio(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context_cost::count_tokens;
    use rmcp::model::ListToolsResult;
    use sandbox_host::{ErrorKind, LogEntry, LogLevel, Outcome};

    #[test]
    fn tools_list_fits_the_context_budget() {
        let list = serde_json::to_string(&ListToolsResult::with_all_items(tools())).expect("json");
        let tokens = count_tokens(&list);
        println!("tools/list: {tokens} tokens (o200k_base): {list}");
        assert!(tokens <= 400, "tools/list is {tokens} tokens: {list}");
    }

    #[test]
    fn exactly_search_and_execute_with_the_contract_inputs() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["search", "execute"]);
        let execute = &tools[1].input_schema;
        assert_eq!(execute["required"], json!(["code"]));
        assert_eq!(execute["properties"]["timeout_ms"]["type"], "integer");
        let search = &tools[0].input_schema;
        assert_eq!(search["required"], json!(["query"]));
        assert_eq!(
            search["properties"]["detail"]["enum"],
            json!(["names", "signatures", "full"])
        );
        let description = tools[1].description.as_deref().unwrap_or_default();
        for part in [
            "tools.<server>.<tool>(args)",
            "[EMAIL_1]",
            "console.log",
            "return",
        ] {
            assert!(description.contains(part), "{part} missing: {description}");
        }
    }

    #[test]
    fn a_failed_outcome_is_an_error_naming_its_kind() {
        let mut outcome = Outcome::failed(ErrorKind::Timeout, "ran out of time");
        outcome.logs.push(LogEntry {
            level: LogLevel::Warn,
            message: "slow".into(),
        });
        let result = execute_result(&outcome);
        assert_eq!(result.is_error, Some(true));
        let text = result.content[0].as_text().map(|t| t.text.clone());
        assert_eq!(
            text.as_deref(),
            Some("error (timeout): ran out of time\nlogs:\nwarn: slow")
        );
        let structured = result.structured_content.expect("structured");
        assert_eq!(structured["error"]["kind"], "timeout");
        assert_eq!(structured, serde_json::to_value(&outcome).expect("json"));
    }

    #[test]
    fn default_hosts_add_the_bound_address() {
        let hosts = default_allowed_hosts("10.1.2.3:7000".parse().expect("addr"));
        assert_eq!(hosts, ["localhost", "127.0.0.1", "::1", "10.1.2.3"]);
        assert_eq!(
            default_allowed_hosts("127.0.0.1:0".parse().expect("addr")).len(),
            3
        );
    }
}
