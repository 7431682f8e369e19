//! The broker's refusals and failures, as types: every front maps them with a `match`
//! (to an MCP error, a gRPC status with details, or a CLI exit code), never by reading a
//! message.
//!
//! Two refusals come from policy and carry what a caller needs to act: a [`CallDenial`]
//! (Cedar refused the `call` itself) and a [`FlowDenial`] (Cedar refused at least one
//! placeholder on its way to a destination; one [`DeniedFlow`] per group of placeholders
//! that share kind, source, argument path and deciding policies). Their `Display` is the
//! text the program, the model and the operator see. No variant ever holds a raw value.

use std::fmt;

use detectors::Kind;
use sandbox_host::ToolError;

use crate::vault::VaultError;

/// Why a broker operation did not happen (or did not complete).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The request was malformed; nothing was done.
    #[error("{0}")]
    Invalid(#[from] InvalidRequest),
    /// The session does not exist for this agent (unknown, or another agent's: the two are
    /// deliberately indistinguishable).
    #[error(
        "unknown session: start a new session (sessions belong to the agent that created them)"
    )]
    UnknownSession,
    /// The placeholder was not minted in this session (it would stay literal text).
    #[error(
        "{0} is not a placeholder of this session (it would stay literal text and never resolve)"
    )]
    UnknownPlaceholder(String),
    /// The agent already has as many executes running or waiting as it may.
    #[error(
        "agent '{agent}' already has {limit} executes running or waiting (the limit, [sandbox] max_concurrent_per_agent); wait for one to finish"
    )]
    Busy {
        /// The agent.
        agent: String,
        /// Its limit.
        limit: u32,
    },
    /// The named server is not configured.
    #[error("{0}")]
    UnknownServer(#[from] crate::backends::UnknownServer),
    /// Cedar refused the `call` itself; the backend was not called.
    #[error("{0}")]
    CallDenied(CallDenial),
    /// Cedar refused at least one placeholder toward the destination; nothing was resolved
    /// and the backend was not called.
    #[error("{0}")]
    FlowDenied(FlowDenial),
    /// The backend answered with an error (its message is tokenized).
    #[error("{0}")]
    Tool(String),
    /// The backend cannot be reached now (its message is tokenized).
    #[error("{0}")]
    Unavailable(String),
    /// The vault failed; nothing was resolved or returned.
    #[error("the vault failed: {0}")]
    Vault(#[from] VaultError),
    /// A decision could not be audited, so it did not take effect.
    #[error("{0}")]
    Audit(String),
    /// Sluice failed inside (a worker died); nothing was returned.
    #[error("{0}")]
    Internal(String),
}

impl BrokerError {
    /// The error as the program inside the sandbox sees it (a thrown `ToolError`).
    pub fn to_tool_error(&self) -> ToolError {
        match self {
            BrokerError::CallDenied(_) | BrokerError::FlowDenied(_) => {
                ToolError::policy_denied(self.to_string())
            }
            BrokerError::Unavailable(message) => ToolError {
                kind: sandbox_host::ToolErrorKind::Unavailable,
                message: message.clone(),
            },
            other => ToolError::tool(other.to_string()),
        }
    }
}

/// A request field that failed validation: what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    /// The request field at fault (`limit`, `timeout_ms`, `session`, `destination`, …).
    pub field: &'static str,
    /// What was wrong and what to send instead.
    pub message: String,
}

impl InvalidRequest {
    /// A validation failure of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        InvalidRequest {
            field,
            message: message.into(),
        }
    }
}

/// Cedar refused an agent's `call` of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallDenial {
    /// The principal refused.
    pub agent: String,
    /// The tool, as `server/tool`.
    pub destination: String,
    /// The deciding `forbid` policies' ids (empty: no permit).
    pub policy_ids: Vec<String>,
    /// Cedar's reason in words.
    pub reason: String,
    /// Whether a human may override it (every deciding policy is `@on_deny("ask")`).
    pub askable: bool,
}

impl CallDenial {
    /// The deciding policies as text: their ids, or "no permit".
    pub fn deciding(&self) -> String {
        deciding(&self.policy_ids)
    }
}

impl fmt::Display for CallDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "call denied: {} may not call {}: {}",
            self.agent, self.destination, self.reason
        )
    }
}

/// Cedar refused at least one placeholder on its way to `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDenial {
    /// The destination tool, as `server/tool`.
    pub destination: String,
    /// The refused placeholders, grouped.
    pub flows: Vec<DeniedFlow>,
}

/// Placeholders of one kind and source, at one argument path, refused by the same
/// policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedFlow {
    /// The placeholders, e.g. `[EMAIL_1]`.
    pub placeholders: Vec<String>,
    /// Their kind.
    pub kind: Kind,
    /// The server they were read from (their provenance).
    pub source: String,
    /// Where in the arguments they sit (`.` for the whole input).
    pub arg_path: String,
    /// The deciding `forbid` policies' ids (empty: no permit).
    pub policy_ids: Vec<String>,
    /// Cedar's reason in words.
    pub reason: String,
    /// Whether a human may override the refusal of the whole call it belongs to (every
    /// deciding policy of every refused flow is `@on_deny("ask")`).
    pub askable: bool,
}

impl DeniedFlow {
    /// The deciding policies as text: their ids, or "no permit".
    pub fn deciding(&self) -> String {
        deciding(&self.policy_ids)
    }
}

fn deciding(policy_ids: &[String]) -> String {
    if policy_ids.is_empty() {
        "no permit".to_owned()
    } else {
        policy_ids.join(", ")
    }
}

impl FlowDenial {
    /// Whether a human may override this refusal.
    pub fn askable(&self) -> bool {
        !self.flows.is_empty() && self.flows.iter().all(|f| f.askable)
    }
}

impl fmt::Display for FlowDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("flow denied: ")?;
        for (i, flow) in self.flows.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{} ({} from server '{}', at argument `{}`) may not go to {}: {} ({})",
                flow.placeholders.join(", "),
                flow.kind,
                flow.source,
                flow.arg_path,
                self.destination,
                flow.deciding(),
                flow.reason
            )?;
        }
        Ok(())
    }
}
