//! The flow policy engine: Cedar decisions for `call` and `flow` (DESIGN §2 invariant 2, §6).
//!
//! This module owns *deciding*. It never calls a backend, never sees a raw value and never
//! enforces anything itself: the flow core asks, gets a [`Decision`], and acts on it.
//!
//! # Model
//!
//! * [`PolicyEngine::load`] reads `schema.cedarschema` and every `*.cedar` file of a directory (or
//!   the embedded defaults from `policies/`), splits each file into policy statements, parses
//!   each statement on its own and validates the whole set in Cedar's **strict** mode. Every
//!   policy must carry a unique `@id("…")`; that id is the Cedar policy id, so denials and audit
//!   records name it. Errors say `file:line:col` of the offending token (Cedar's `miette`
//!   labels, offset by the statement's start) and show the line, the span and Cedar's help in
//!   plain text. Literal entities the entity model does not know are reported by
//!   [`PolicyEngine::unknown_entities`] (the schema only knows types).
//! * An [`EntityModel`] (servers with trust and tags, their tools, agents and groups, kinds and
//!   kind groups) is turned into Cedar entities once, validated against the schema. A request
//!   naming something the model does not know (an unknown agent, tool, server or kind) is still
//!   decided: the missing entities are made up on the fly with no groups, trust `"unknown"` and
//!   no tags, so nothing but an unconditional permit can allow it.
//! * Anything not permitted is denied; a satisfied `forbid` beats every `permit`.
//!
//! # Cost
//!
//! Cedar evaluates every policy in the set it is given, ~0.7 µs each. To keep the cost of a
//! decision independent of unrelated policies, the set is **indexed by destination**: each policy
//! lands in a bucket by its action scope (`call`, `flow` or any) and its resource scope
//! (`resource == Tool::"s/t"` → that tool, `resource in Server::"s"` → that server, anything
//! else → wildcard). A request is evaluated against the precomputed slice
//! *wildcard ∪ server ∪ tool* for its action. This is exact because a tool entity's only
//! ancestor is its own server (the entity builder guarantees it). Policies that constrain the
//! destination only in their `when` clause stay in the wildcard bucket and cost on every request.
//!
//! Decisions are cached per (principal, action, kind, source, destination). The remaining
//! `flow` context fields (`placeholder`, `arg_path`, `email_domain`, `phone_country`,
//! `source_tool`, `source_path`) and the call facts join the key only when some policy's text
//! mentions that field, so the default set caches per destination while a policy on
//! `arg_path` still sees every path. The same premise (Cedar reads an attribute only by its
//! name) keeps the *context* small: a decision builds only the fields, call facts and
//! arguments that the policies of its slice name, which is most of the cost of a decision with
//! call facts (a policy with a string escape in its text reads everything). A `call` to a tool
//! with argument rules takes its `call` decision from the cache and evaluates the argument
//! rules afresh. The cache belongs to one engine: a reload builds a new engine and the old
//! cache goes with the old engine. It is bounded (cleared when full) because agent code
//! chooses tool names.
//!
//! [`PolicyStore`] holds the live engine for hot reload (the last good set stays in force when a
//! reload fails) and an optional shadow candidate whose disagreements are counted, never
//! enforced. [`run_tests`] and [`PolicyEngine::explain`] back `sluice policy test|explain`.

pub mod args;
pub mod ask;
mod cases;
mod engine;
pub mod facts;
mod literals;
mod load;
mod model;
mod store;
#[cfg(test)]
mod tests;
pub mod watch;

use std::path::PathBuf;

pub use cases::{CaseResult, TestReport, run_tests};
pub use engine::{ConsideredPolicy, Explanation, PolicyEngine};
pub use facts::{CallFacts, Restored, ValueFacts};
pub use literals::{Severity, UnknownEntity};
pub use model::{EntityModel, EntityModelBuilder};
pub use store::PolicyStore;

/// The Cedar action a request asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `Sluice::Action::"call"`: may the agent call this tool at all?
    Call,
    /// `Sluice::Action::"flow"`: may this detected value go into this tool's arguments?
    Flow,
}

impl Action {
    /// The Cedar action id (`call` or `flow`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Flow => "flow",
        }
    }
}

/// Asks whether `agent` may call `server/tool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallRequest<'a> {
    /// The principal's agent name.
    pub agent: &'a str,
    /// The destination server.
    pub server: &'a str,
    /// The destination tool (without the server prefix).
    pub tool: &'a str,
    /// The arguments as the agent wrote them (placeholders stay placeholders): the
    /// `context.args` of the tool's argument rules. `None`: an empty object.
    pub args: Option<&'a serde_json::Value>,
    /// Facts about the whole call (`context.call`). `None`: no facts (empty sets).
    pub call: Option<&'a CallFacts>,
}

/// Asks whether a placeholder's value may flow into the arguments of `server/tool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowRequest<'a> {
    /// The principal's agent name.
    pub agent: &'a str,
    /// The destination server.
    pub server: &'a str,
    /// The destination tool (without the server prefix).
    pub tool: &'a str,
    /// The value's kind, e.g. `EMAIL`.
    pub kind: &'a str,
    /// The server the value was minted from (its provenance).
    pub source: &'a str,
    /// The placeholder text, e.g. `[EMAIL_1]`.
    pub placeholder: &'a str,
    /// Where in the arguments the placeholder sits, e.g. `to[0]`.
    pub arg_path: &'a str,
    /// For EMAIL values: the lowercase domain of the address, e.g. `example.com`.
    pub email_domain: Option<&'a str>,
    /// For PHONE values: the ISO 3166 region of the number, e.g. `DE`.
    pub phone_country: Option<&'a str>,
    /// The tool the value was first read from, `server/tool` (`context.source_tool`).
    pub source_tool: Option<&'a str>,
    /// Where in that tool's result it was first read, e.g. `emails[3].body`
    /// (`context.source_path`).
    pub source_path: Option<&'a str>,
    /// Facts about the whole call (`context.call`). `None`: no facts (empty sets).
    pub call: Option<&'a CallFacts>,
}

/// Either kind of request; what [`PolicyEngine::decide`] and [`PolicyEngine::explain`] take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRequest<'a> {
    /// A `call` request.
    Call(CallRequest<'a>),
    /// A `flow` request.
    Flow(FlowRequest<'a>),
}

impl PolicyRequest<'_> {
    /// The Cedar action this request asks about.
    pub fn action(&self) -> Action {
        match self {
            PolicyRequest::Call(_) => Action::Call,
            PolicyRequest::Flow(_) => Action::Flow,
        }
    }
}

/// The outcome of one authorization question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the call or flow may go ahead.
    pub allowed: bool,
    /// The deciding policies' `@id`s: permits when allowed, forbids when denied (empty = no permit).
    pub policy_ids: Vec<String>,
    /// Human text, e.g. `denied by forbid policy no-flow-to-external`.
    pub reason: String,
    /// Policies that failed to evaluate on this request (they were skipped, as Cedar does).
    pub errors: Vec<String>,
}

/// A source position inside a policy file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file (or embedded file name) the policy came from.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Everything that can go wrong loading, validating or testing policies.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no `schema.cedarschema`.
    #[error(
        "no schema.cedarschema in {dir}: a policy directory needs the Sluice schema next to its *.cedar files (copy policies/schema.cedarschema)"
    )]
    MissingSchema {
        /// The policy directory.
        dir: PathBuf,
    },
    /// The schema file does not parse or is inconsistent.
    #[error("invalid schema {file}: {message}; fix the schema (see policies/schema.cedarschema)")]
    Schema {
        /// The schema file.
        file: PathBuf,
        /// Cedar's message.
        message: String,
    },
    /// A policy statement does not parse.
    #[error("{location}: syntax error: {message}")]
    Syntax {
        /// Where the offending statement starts.
        location: SourceLocation,
        /// Cedar's message (all parse errors of the statement).
        message: String,
    },
    /// A policy has no `@id` annotation.
    #[error(
        "{location}: policy has no @id annotation; add @id(\"a-unique-name\") before it so denials can name it"
    )]
    MissingId {
        /// Where the policy starts.
        location: SourceLocation,
    },
    /// Two policies share an `@id`.
    #[error(
        "{location}: duplicate policy @id(\"{id}\"), first used at {first}; give each policy a unique @id"
    )]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Where the second use starts.
        location: SourceLocation,
        /// Where the first use starts.
        first: SourceLocation,
    },
    /// A policy does not validate against the schema (strict mode).
    #[error("{location}: policy \"{id}\" does not validate against the schema: {message}")]
    Validation {
        /// The policy's `@id`.
        id: String,
        /// Where the policy starts.
        location: SourceLocation,
        /// Cedar's validation message(s).
        message: String,
    },
    /// The entity model does not fit the schema (e.g. a bad name).
    #[error(
        "invalid entity model: {message}; check server, tool, agent and kind names in the config"
    )]
    Entities {
        /// Cedar's message.
        message: String,
    },
    /// A policy names an entity that cannot exist (an unknown kind or kind group).
    #[error("{0} (kinds come from the detectors and [[detectors.custom]])")]
    UnknownEntity(Box<UnknownEntity>),
    /// A policy's `@on_deny` annotation is not one Sluice knows.
    #[error("{location}: policy \"{id}\": {message}")]
    OnDeny {
        /// The policy's `@id`.
        id: String,
        /// Where the policy starts.
        location: SourceLocation,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A policy test-case file is malformed.
    #[error("{file}: invalid policy test cases: {message}")]
    TestCases {
        /// The test-case file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
}
