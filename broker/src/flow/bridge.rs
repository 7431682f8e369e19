//! The [`HostBridge`] of one execute: every `tools.<server>.<tool>(args)` of the program
//! enters the broker here, carrying the execute's context, and goes through the same
//! [`Pipeline`] as a proxied call. The program sees a failure as a thrown `ToolError`
//! (its kind and tokenized message); the typed refusal stays on the broker's side.
//!
//! Two server names no backend can have (names are letters, digits, `_` and `-`) reach
//! the broker's own services instead: `@workspace` ([`super::workspace`]) and `@skills`
//! ([`super::skills`]); the prelude's `workspace` and `skills` objects use them.

use std::sync::Arc;

use sandbox_host::{BridgeFuture, HostBridge, LogEntry, ToolError};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument as _;

use super::events::{CallEvent, ExecuteEvent, Pumped};
use super::pipeline::Pipeline;
use super::request::CallContext;
use super::skills::SkillBook;
use super::workspace::{self, WorkspaceLimits};

/// The server name of `workspace.<op>` calls.
const WORKSPACE_SERVER: &str = "@workspace";
/// The server name of `skills.save` and skill loads.
const SKILLS_SERVER: &str = "@skills";

/// Routes one execute's tool calls and console lines.
pub(crate) struct ToolRouter {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) context: CallContext,
    /// Where events go when the execute is observed.
    pub(crate) events: Option<UnboundedSender<Pumped>>,
    /// Whether finished tool calls are events too (else only console lines are).
    pub(crate) observe_calls: bool,
    /// Limits of `workspace.set`.
    pub(crate) workspace: WorkspaceLimits,
    /// Saved skills.
    pub(crate) skills: SkillBook,
}

/// Answers a call to one of the broker's own services.
async fn service(
    pipeline: &Pipeline,
    context: &CallContext,
    workspace_limits: WorkspaceLimits,
    skills: &SkillBook,
    server: &str,
    op: &str,
    args: Value,
) -> Result<Value, ToolError> {
    match (server, op) {
        (WORKSPACE_SERVER, _) => {
            workspace::serve(&pipeline.tokenizer, workspace_limits, context, op, args).await
        }
        (SKILLS_SERVER, "save") => skills.save(&context.agent, args).await,
        (SKILLS_SERVER, "load") => {
            let Some(Value::String(name)) = args.get("name") else {
                return Err(ToolError::tool("skills.<name>: the name must be a string"));
            };
            let skill = skills.load(&context.agent, name).await?;
            super::record::skill(
                pipeline.audit.as_deref(),
                context,
                &skill.name,
                skill.version,
            )
            .map_err(|e| e.to_tool_error())?;
            Ok(serde_json::json!({ "js": skill.js, "version": skill.version }))
        }
        _ => Err(ToolError::tool(format!("{server}.{op} does not exist"))),
    }
}

impl HostBridge for ToolRouter {
    /// The call runs as its own task on a runtime worker, not on the sandbox's fiber stack:
    /// Cedar and serde recurse, and a fiber stack is small and opaque to their stack guards.
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        if server.starts_with('@') {
            // Its own task too: scanning, parsing a skill's module and JSON all recurse.
            let pipeline = Arc::clone(&self.pipeline);
            let context = self.context.clone();
            let (limits, skills) = (self.workspace, self.skills.clone());
            let (server, op) = (server.to_owned(), tool.to_owned());
            return Box::pin(async move {
                tokio::spawn(async move {
                    service(&pipeline, &context, limits, &skills, &server, &op, args).await
                })
                .await
                .unwrap_or_else(|_| Err(ToolError::tool("the call failed inside the broker")))
            });
        }
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
