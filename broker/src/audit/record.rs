//! What one audit line holds, and the builder callers fill it with.
//!
//! The types have no field for a value: a placeholder is recorded by its id, kind and
//! source only, and [`AuditLog::append`](super::AuditLog::append) refuses a record whose
//! placeholder slot does not hold a well-formed placeholder.

use serde::{Deserialize, Serialize};

use crate::vault::Placeholder;

/// The longest `detail` kept, in bytes; longer text is cut at a character boundary.
pub const MAX_DETAIL_LEN: usize = 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditEvent {
    /// A tool call was authorized (or not) and made.
    Call,
    /// A placeholder's value was (or was not) allowed to flow to a destination tool.
    Flow,
    /// `sluice detokenize` resolved (or refused) placeholders for a destination.
    Detokenize,
    /// The policy set was reloaded (or a reload was rejected).
    Reload,
    /// A human was asked to override an `@on_deny("ask")` refusal (`detail` says who
    /// answered, and how).
    Approval,
    /// An execute loaded a saved skill (`tool` is `skills/<name>`, `detail` its version).
    Skill,
}

/// How it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Permitted.
    Allow,
    /// Refused by policy.
    Deny,
    /// Failed before a decision could take effect.
    Error,
}

/// A placeholder named in a record: its id, kind and source server, never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPlaceholder {
    /// The placeholder, e.g. `[EMAIL_1]`.
    pub placeholder: String,
    /// Its kind, e.g. `EMAIL`.
    pub kind: String,
    /// The backend server its value came from.
    pub source: String,
}

impl AuditPlaceholder {
    /// The entry for `placeholder`, whose value came from server `source`.
    pub fn new(placeholder: &Placeholder, source: &str) -> Self {
        Self {
            placeholder: placeholder.to_string(),
            kind: placeholder.kind().to_owned(),
            source: source.to_owned(),
        }
    }
}

/// One audit record (one line of `audit.jsonl`).
///
/// Build one with [`AuditRecord::new`] and the setters; `seq`, `time`, `prev` and `mac`
/// are overwritten by [`AuditLog::append`](super::AuditLog::append). The field order here
/// is the order on disk and part of the MAC input: do not reorder fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it was appended: RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The keyed digest (`sd-…`) of the session the event belongs to, empty for events
    /// outside a session. Never the id: ids are capabilities. Callers set the id with
    /// [`AuditRecord::session`]; [`AuditLog::append`](super::AuditLog::append) replaces it
    /// by its digest before anything is written.
    pub session: String,
    /// The principal (agent) that caused it.
    pub agent: String,
    /// What happened.
    pub event: AuditEvent,
    /// The tool as `server/tool`, or empty.
    pub tool: String,
    /// How it was decided.
    pub decision: Decision,
    /// The `@id`s of the policies that decided.
    pub policy_ids: Vec<String>,
    /// The placeholders involved (ids, kinds, sources; never values).
    pub placeholders: Vec<AuditPlaceholder>,
    /// SHA-256 (hex) of the policy set in force.
    pub policy_set_hash: String,
    /// A short reason, e.g. why a flow was denied. Must not contain values.
    pub detail: Option<String>,
    /// The previous record's `mac` (64 zeros for the first record).
    pub prev: String,
    /// HMAC-SHA256 (hex) over `prev`, a newline and this record without `mac`.
    // Skipped when empty: that is how the MAC input ("the record without mac") is encoded.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac: String,
}

impl AuditRecord {
    /// A record of `event` decided as `decision`, every other content field empty.
    pub fn new(event: AuditEvent, decision: Decision) -> Self {
        Self {
            seq: 0,
            time: String::new(),
            session: String::new(),
            agent: String::new(),
            event,
            tool: String::new(),
            decision,
            policy_ids: Vec::new(),
            placeholders: Vec::new(),
            policy_set_hash: String::new(),
            detail: None,
            prev: String::new(),
            mac: String::new(),
        }
    }

    /// Sets the session id (written as its keyed digest, see [`AuditRecord::session`](Self#structfield.session)).
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = session.into();
        self
    }

    /// Sets the agent (principal).
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = agent.into();
        self
    }

    /// Sets the tool from its server and tool names (`server/tool`).
    pub fn tool(mut self, server: &str, tool: &str) -> Self {
        self.tool = format!("{server}/{tool}");
        self
    }

    /// Sets the ids of the deciding policies.
    pub fn policy_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one placeholder.
    pub fn placeholder(mut self, placeholder: AuditPlaceholder) -> Self {
        self.placeholders.push(placeholder);
        self
    }

    /// Sets the hash of the policy set in force.
    pub fn policy_set_hash(mut self, hash: impl Into<String>) -> Self {
        self.policy_set_hash = hash.into();
        self
    }

    /// Sets the reason text, cut to [`MAX_DETAIL_LEN`] bytes.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        let mut detail = detail.into();
        if detail.len() > MAX_DETAIL_LEN {
            let mut end = MAX_DETAIL_LEN;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        self.detail = Some(detail);
        self
    }
}
