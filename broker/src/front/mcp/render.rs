//! How an execute's outcome and live console lines look to an MCP client: the outcome as
//! `structuredContent` plus a compact text, console lines as progress notifications.
//! Everything rendered here was already scanned by the broker.

use std::fmt::Write as _;

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ProgressToken};
use rmcp::service::Peer;
use sandbox_host::{LogLevel, Outcome};
use serde_json::json;
use tokio::sync::mpsc;

/// The MCP answer to an execute: the outcome as `structuredContent` (exactly the JSON
/// `sluice exec` prints) and a compact text rendering; a program failure is `isError`.
pub fn execute_result(outcome: &Outcome) -> CallToolResult {
    let structured = serde_json::to_value(outcome).unwrap_or_else(|e| {
        json!({"result": null, "logs": [], "calls": outcome.calls,
               "error": {"kind": "internal", "message": format!("the outcome could not be serialized: {e}")}})
    });
    let content = vec![ContentBlock::text(render_outcome(outcome))];
    let mut result = if outcome.error.is_some() {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = Some(structured);
    result
}

/// Sends an execute's console lines to the client as progress notifications, in order,
/// until `None` arrives: the sender the observer feeds, and the relaying task.
pub(super) fn relay_logs(
    token: ProgressToken,
    peer: Peer<RoleServer>,
) -> (
    mpsc::UnboundedSender<Option<sandbox_host::LogEntry>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<sandbox_host::LogEntry>>();
    let relay = tokio::spawn(async move {
        let mut sent = 0u32;
        let mut connected = true;
        while let Some(Some(entry)) = rx.recv().await {
            if !connected {
                continue;
            }
            sent += 1;
            let message = format!("{}{}", level_prefix(entry.level), entry.message);
            let note = ProgressNotificationParam::new(token.clone(), f64::from(sent))
                .with_message(message);
            // A client that went away gets the rest of nothing; the execute goes on.
            connected = peer.notify_progress(note).await.is_ok();
        }
    });
    (tx, relay)
}

/// How a console level is written in front of its line (`console.log` has none).
fn level_prefix(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Log => "",
        LogLevel::Info => "info: ",
        LogLevel::Warn => "warn: ",
        LogLevel::Error => "error: ",
    }
}

/// `result JSON` (or `error (kind): message`), then the logs, one per line.
fn render_outcome(outcome: &Outcome) -> String {
    let mut text = match &outcome.error {
        Some(error) => format!("error ({}): {}", error.kind.as_str(), error.message),
        None => serde_json::to_string(&outcome.result).unwrap_or_else(|_| "null".to_owned()),
    };
    if !outcome.logs.is_empty() {
        text.push_str("\nlogs:");
        for log in &outcome.logs {
            let _ = write!(text, "\n{}{}", level_prefix(log.level), log.message);
        }
    }
    text
}
