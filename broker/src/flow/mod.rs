//! The broker core: one `execute` end to end (DESIGN §1). It owns the sandbox, the
//! backends and the tokenizer, and is the [`HostBridge`] every tool call from agent code
//! goes through.
//!
//! Per tool call, in order: egress (placeholders in the arguments; deny by default) →
//! call (the backend) → ingress (neutralize, detect, mint, replace). After the program,
//! its whole outcome is scanned once more (defence in depth) with source `sandbox`.
//! Cedar authorization and the audit log are not wired in yet (see `egress`).

pub mod egress;
pub mod ingress;

use std::sync::Arc;

use sandbox_host::{BridgeFuture, ErrorKind, HostBridge, Limits, Outcome, Sandbox, ToolError};
use serde_json::Value;

use crate::backends::Backends;
use ingress::Tokenizer;

/// The provenance recorded for values first seen in a program's own outcome.
pub const SANDBOX_SOURCE: &str = "sandbox";

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
    tokenizer: Tokenizer,
    limits: Limits,
}

impl Broker {
    /// Assembles a broker from its parts.
    pub fn new(sandbox: Sandbox, backends: Backends, tokenizer: Tokenizer, limits: Limits) -> Self {
        Broker {
            sandbox,
            backends: Arc::new(backends),
            tokenizer,
            limits,
        }
    }

    /// The tokenizer (detectors and vault) of this broker.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The default limits of an execute.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Names of the configured backend servers.
    pub fn servers(&self) -> Vec<String> {
        self.backends.names()
    }

    /// Stops every backend connection (stdio servers exit).
    pub async fn shutdown(&self) {
        self.backends.shutdown().await;
    }

    /// Runs one program for `context` under `limits`.
    pub async fn execute(&self, code: &str, context: CallContext, limits: &Limits) -> Outcome {
        let span =
            tracing::info_span!("execute", session = %context.session, agent = %context.agent);
        let _guard = span.enter();
        let session = context.session.clone();
        let bridge = Arc::new(ToolRouter {
            backends: Arc::clone(&self.backends),
            tokenizer: self.tokenizer.clone(),
            context,
        });
        let outcome = self.sandbox.execute_with(code, bridge, limits).await;
        scan_outcome(&self.tokenizer, &session, outcome).await
    }
}

/// Tokenizes whatever the program itself put into its outcome (values it wrote as
/// literals or assembled); fails closed if the vault cannot mint.
async fn scan_outcome(tokenizer: &Tokenizer, session: &str, outcome: Outcome) -> Outcome {
    let tokenizer = tokenizer.clone();
    let session = session.to_string();
    let scanned = tokio::task::spawn_blocking(move || {
        let mut outcome = outcome;
        outcome.result = tokenizer.tokenize_json(&session, SANDBOX_SOURCE, outcome.result)?;
        for log in &mut outcome.logs {
            log.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &log.message)?;
        }
        if let Some(error) = &mut outcome.error {
            error.message = tokenizer.tokenize_text(&session, SANDBOX_SOURCE, &error.message)?;
        }
        Ok::<_, crate::vault::VaultError>(outcome)
    })
    .await;
    match scanned {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::failed(
            ErrorKind::Internal,
            format!("the outcome could not be tokenized and was withheld: {e}"),
        ),
        Err(_) => Outcome::failed(
            ErrorKind::Internal,
            "the outcome scan failed and the outcome was withheld",
        ),
    }
}

/// The [`HostBridge`] of one execute: carries its context to every tool call.
struct ToolRouter {
    backends: Arc<Backends>,
    tokenizer: Tokenizer,
    context: CallContext,
}

impl HostBridge for ToolRouter {
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        Box::pin(async move {
            tracing::debug!(server, tool, "tool call");
            let session = &self.context.session;
            // Egress: deny by default. No policy engine is loaded, so no flow is permitted.
            let flows = egress::outbound(self.tokenizer.vault(), session, &args)
                .map_err(|e| ToolError::tool(format!("checking the arguments failed: {e}")))?;
            if let Some(flow) = flows.first() {
                let message = egress::denial(flow, server, tool);
                tracing::info!(server, tool, placeholder = %flow.placeholder, "flow denied");
                return Err(ToolError::policy_denied(message));
            }
            let result = self.backends.call(server, tool, args).await;
            // Ingress: nothing from a backend reaches the sandbox untokenized, errors included.
            let tokenizer = self.tokenizer.clone();
            let (session, source) = (session.clone(), server.to_string());
            let tokenized = tokio::task::spawn_blocking(move || match result {
                Ok(value) => Ok(tokenizer.ingest_json(&session, &source, value)),
                Err(error) => Err(tokenizer
                    .ingest_text(&session, &source, &error.message)
                    .map(|message| ToolError { message, ..error })),
            })
            .await;
            match tokenized {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Err(Ok(error))) => Err(error),
                Ok(Ok(Err(e))) | Ok(Err(Err(e))) => Err(ToolError::tool(format!(
                    "the result of tools.{server}.{tool} could not be tokenized and was withheld: {e}"
                ))),
                Err(_) => Err(ToolError::tool(format!(
                    "the result of tools.{server}.{tool} could not be tokenized and was withheld"
                ))),
            }
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
