//! The broker core: one `execute` end to end (DESIGN §1). It owns the sandbox and the
//! backends and is the [`HostBridge`] every tool call from agent code goes through.
//!
//! Steps per tool call, in order: authorize → egress → call → ingress → audit. Policy
//! (Cedar), tokenization (vault) and real backends plug in here; until they do, this core
//! routes calls to the configured backend set and refuses everything else with an error
//! that names what exists.

use std::sync::Arc;

use sandbox_host::{BridgeFuture, HostBridge, Limits, Outcome, Sandbox, ToolError};
use serde_json::Value;

use crate::backends::Backends;

/// Who is running a program, and in which session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The vault session placeholders are scoped to.
    pub session: String,
    /// The principal (Cedar `Agent`).
    pub agent: String,
}

/// The broker: sandbox plus backends, shared by every front.
pub struct Broker {
    sandbox: Sandbox,
    backends: Arc<Backends>,
    limits: Limits,
}

impl Broker {
    /// Assembles a broker from its parts.
    pub fn new(sandbox: Sandbox, backends: Backends, limits: Limits) -> Self {
        Broker {
            sandbox,
            backends: Arc::new(backends),
            limits,
        }
    }

    /// The default limits of an execute.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs one program for `context` under `limits`.
    pub async fn execute(&self, code: &str, context: CallContext, limits: &Limits) -> Outcome {
        let span = tracing::info_span!("execute", session = %context.session, agent = %context.agent);
        let _guard = span.enter();
        let bridge = Arc::new(ToolRouter {
            backends: Arc::clone(&self.backends),
            context,
        });
        self.sandbox.execute_with(code, bridge, limits).await
    }
}

/// The [`HostBridge`] of one execute: carries its context to every tool call.
struct ToolRouter {
    backends: Arc<Backends>,
    #[allow(dead_code)] // read by policy and the vault once they are wired in
    context: CallContext,
}

impl HostBridge for ToolRouter {
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        Box::pin(async move {
            tracing::debug!(server, tool, "tool call");
            self.backends.call(server, tool, args).await
        })
    }
}

/// Convenience for errors raised before a backend is reached.
pub(crate) fn unknown_server(server: &str, known: &[String]) -> ToolError {
    if known.is_empty() {
        ToolError::tool(format!(
            "unknown server '{server}': no servers are configured (add [servers.{server}] to sluice.toml)"
        ))
    } else {
        ToolError::tool(format!(
            "unknown server '{server}'; the servers are: {}",
            known.join(", ")
        ))
    }
}
