//! What the broker's operations answer: typed results that fronts turn into their wire
//! formats. Everything here is already tokenized; nothing holds a raw value.

use std::time::Duration;

use sandbox_host::Outcome;
use serde_json::Value;

use super::egress::ValueFacts;
use super::request::{Payload, SessionId};

/// What an execute did.
#[derive(Debug)]
pub struct Executed {
    /// The session it ran in (new if the request named none).
    pub session: SessionId,
    /// The outcome, tokenized.
    pub outcome: Outcome,
    /// The wall-clock budget it had.
    pub budget: Duration,
    /// Whether that budget came from the caller's deadline.
    pub deadline_bound: bool,
}

impl Executed {
    /// Whether the program ran out of time because the caller's deadline passed.
    pub fn missed_deadline(&self) -> bool {
        self.deadline_bound
            && self
                .outcome
                .error
                .as_ref()
                .is_some_and(|e| e.kind == sandbox_host::ErrorKind::Timeout)
    }
}

/// What tokenize did.
#[derive(Debug)]
pub struct Tokenized {
    /// The session the placeholders belong to.
    pub session: SessionId,
    /// The input with placeholders in place of values.
    pub output: Payload,
}

/// What a proxied tool call did.
#[derive(Debug)]
pub struct CalledTool {
    /// The session it ran in.
    pub session: SessionId,
    /// The tokenized result, or the tokenized error the backend answered with.
    pub result: Result<Value, String>,
}

/// One flow decision, without resolving anything.
#[derive(Debug, Clone)]
pub struct FlowVerdict {
    /// Whether the placeholder may go there.
    pub allowed: bool,
    /// The deciding policies' ids.
    pub policy_ids: Vec<String>,
    /// Cedar's reason in words.
    pub reason: String,
    /// The placeholder's kind.
    pub kind: detectors::Kind,
    /// Where its value was read from.
    pub source: String,
}

/// What flow policy sees of a placeholder: its kind, source and safe facts about its
/// value (never the value).
#[derive(Debug, Clone)]
pub struct PlaceholderFacts {
    /// Its kind.
    pub kind: detectors::Kind,
    /// Where its value was read from.
    pub source: String,
    /// Safe facts about the value (an email's domain, a phone's region).
    pub facts: ValueFacts,
    /// The tool it was first read from, `server/tool`, if recorded.
    pub source_tool: Option<String>,
    /// Where in that tool's result, if recorded.
    pub source_path: Option<String>,
}

/// A configured server as fronts list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    /// The server's name (the `tools.<name>` accessor).
    pub name: String,
    /// Its trust level (`Server.trust` in policies).
    pub trust: String,
    /// Its tags (`Server.tags` in policies).
    pub tags: Vec<String>,
    /// How many tools it offers; `None` when it cannot be reached now.
    pub tools: Option<usize>,
}
