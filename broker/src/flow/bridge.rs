//! The [`HostBridge`] of one execute: every `tools.<server>.<tool>(args)` of the program
//! enters the broker here, carrying the execute's context, and goes through the same
//! [`Pipeline`] as a proxied call. The program sees a failure as a thrown `ToolError`
//! (its kind and tokenized message); the typed refusal stays on the broker's side.

use std::sync::Arc;

use sandbox_host::{BridgeFuture, HostBridge, LogEntry, ToolError};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument as _;

use super::events::{CallEvent, ExecuteEvent, Pumped};
use super::pipeline::Pipeline;
use super::request::CallContext;

/// Routes one execute's tool calls and console lines.
pub(crate) struct ToolRouter {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) context: CallContext,
    /// Where events go when the execute is observed.
    pub(crate) events: Option<UnboundedSender<Pumped>>,
    /// Whether finished tool calls are events too (else only console lines are).
    pub(crate) observe_calls: bool,
}

impl HostBridge for ToolRouter {
    /// The call runs as its own task on a runtime worker, not on the sandbox's fiber stack:
    /// Cedar and serde recurse, and a fiber stack is small and opaque to their stack guards.
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        let pipeline = Arc::clone(&self.pipeline);
        let context = self.context.clone();
        let events = self.events.clone().filter(|_| self.observe_calls);
        let (server, tool) = (server.to_owned(), tool.to_owned());
        Box::pin(async move {
            let started = std::time::Instant::now();
            let (s, t) = (server.clone(), tool.clone());
            // The task carries the execute's span, so the tool call's span is its child.
            let task = tokio::spawn(
                async move { pipeline.call(&context, &s, &t, args).await }.in_current_span(),
            );
            let result = match task.await {
                Ok(result) => result.map_err(|e| e.to_tool_error()),
                Err(_) => Err(ToolError::tool("the tool call failed inside the broker")),
            };
            if let Some(events) = events {
                // Queued before the program sees the result, so it precedes later logs.
                let _ = events.send(Pumped::Event(ExecuteEvent::Call(CallEvent {
                    server,
                    tool,
                    error: result.as_ref().err().cloned(),
                    elapsed: started.elapsed(),
                })));
            }
            result
        })
    }

    fn log(&self, entry: &LogEntry) {
        if let Some(events) = &self.events {
            let _ = events.send(Pumped::Event(ExecuteEvent::Log(entry.clone())));
        }
    }
}
