//! What one execute produced: the contract shape `{result, logs, calls, error}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outcome of one execute, as printed by `sluice exec` and returned to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The program's return value (`null` when it returned nothing or failed).
    pub result: Value,
    /// Console output, in order.
    pub logs: Vec<LogEntry>,
    /// How many tool calls the program started.
    pub calls: u32,
    /// Why the program failed, or `None` when it succeeded.
    pub error: Option<ExecError>,
}

impl Outcome {
    /// An outcome that failed before the program could run.
    pub fn failed(kind: ErrorKind, message: impl Into<String>) -> Self {
        Outcome {
            result: Value::Null,
            logs: Vec::new(),
            calls: 0,
            error: Some(ExecError::new(kind, message)),
        }
    }

    /// True when the program ran to completion without error.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A failed execute: the contract's error kind and a message for the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What happened, in words a model (or a person) can act on.
    pub message: String,
}

impl ExecError {
    /// Builds an error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ExecError {
            kind,
            message: message.into(),
        }
    }
}

/// The error kinds of the CLI/API contract (DESIGN §4). The set is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The program does not parse (or was rejected before running: too large, not UTF-8).
    Syntax,
    /// An uncaught exception, a non-serializable result, or a stack overflow.
    Runtime,
    /// The wall-clock or CPU budget ran out.
    Timeout,
    /// The memory budget ran out.
    Memory,
    /// Logs plus result exceeded the output budget.
    OutputLimit,
    /// The program started more tool calls than allowed.
    CallLimit,
    /// A tool call failed and the program did not catch it.
    Tool,
    /// A flow policy refused a tool call and the program did not catch it.
    PolicyDenied,
    /// Sluice itself failed; not the program's fault.
    Internal,
}

impl ErrorKind {
    /// The contract name, e.g. `"output_limit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Runtime => "runtime",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::OutputLimit => "output_limit",
            ErrorKind::CallLimit => "call_limit",
            ErrorKind::Tool => "tool",
            ErrorKind::PolicyDenied => "policy_denied",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One console line with its level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Which console method wrote it.
    pub level: LogLevel,
    /// The formatted line.
    pub message: String,
}

/// Console levels: `console.log`/`debug`/`trace` are `log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `console.log`, `console.debug`, `console.trace`.
    Log,
    /// `console.info`.
    Info,
    /// `console.warn`.
    Warn,
    /// `console.error`.
    Error,
}

impl LogLevel {
    pub(crate) fn from_guest(level: u32) -> Self {
        match level {
            1 => LogLevel::Info,
            2 => LogLevel::Warn,
            3 => LogLevel::Error,
            _ => LogLevel::Log,
        }
    }
}
