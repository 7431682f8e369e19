//! The one way out of the sandbox: [`HostBridge`], implemented by whoever embeds the
//! sandbox (the broker). The sandbox knows nothing of backends, policy or tokenization.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::outcome::LogEntry;

/// A boxed future returned by [`HostBridge::call`].
pub type BridgeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send + 'a>>;

/// Carries `tools.<server>.<tool>(args)` calls from agent code to the outside world.
///
/// Calls from one program may run concurrently (`Promise.all`); implementations must be
/// safe to call from many tasks at once.
pub trait HostBridge: Send + Sync {
    /// Calls `tool` on `server` with JSON `args`; the value becomes the JS promise's result.
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a>;

    /// Sees each console line the moment the program writes it (once the output limit has
    /// admitted it), e.g. to stream it live; it is in the outcome's logs as well. Must not
    /// block: it runs on the sandbox's thread. The default ignores it.
    fn log(&self, _entry: &LogEntry) {}
}

/// Why a tool call failed; thrown into the program as a JS `Error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// The class of failure; decides the execute's error kind if the program does not catch it.
    pub kind: ToolErrorKind,
    /// The message the program (and the model) sees. Must not contain raw PII.
    pub message: String,
}

/// The classes of tool failure the sandbox distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolErrorKind {
    /// The tool, its server, or the way to it failed (JS `ToolError`).
    Tool,
    /// A flow policy refused the call (JS `PolicyDeniedError`).
    PolicyDenied,
    /// The tool's server could not be reached or failed mid-call; to the program this is a
    /// failed tool call like [`ToolErrorKind::Tool`] (fronts may report it as retryable).
    Unavailable,
}

impl ToolError {
    /// A failed tool call.
    pub fn tool(message: impl Into<String>) -> Self {
        ToolError {
            kind: ToolErrorKind::Tool,
            message: message.into(),
        }
    }

    /// A call refused by policy.
    pub fn policy_denied(message: impl Into<String>) -> Self {
        ToolError {
            kind: ToolErrorKind::PolicyDenied,
            message: message.into(),
        }
    }

    /// A call that failed because its server is unreachable or crashed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ToolError {
            kind: ToolErrorKind::Unavailable,
            message: message.into(),
        }
    }

    pub(crate) fn kind_name(&self) -> &'static str {
        match self.kind {
            ToolErrorKind::Tool | ToolErrorKind::Unavailable => "tool",
            ToolErrorKind::PolicyDenied => "policy_denied",
        }
    }
}
