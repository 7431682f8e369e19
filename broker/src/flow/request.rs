//! The typed requests of the broker's service API and the rules that validate them —
//! once, for every front. A front turns its wire format into these types and the broker
//! checks them completely before anything has an effect; so the MCP server, the gRPC
//! sidecar and the CLI refuse the same bad input with the same words.
//!
//! This module must never hold or print a raw value: session ids are capabilities, so
//! their `Debug` is redacted.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::error::InvalidRequest;
pub use crate::catalog::Detail;

/// Tools a search returns when the request does not say.
pub const SEARCH_DEFAULT_LIMIT: usize = 10;
/// Most tools one search returns.
pub const SEARCH_MAX_LIMIT: usize = 50;
/// Longest wall-clock budget a request may ask for, in milliseconds (one hour).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// A vault session id: a capability, validated, never logged in clear.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Validates a session id a caller sent (1–128 ASCII letters, digits and `.:_@-`).
    pub fn parse(text: &str) -> Result<SessionId, InvalidRequest> {
        crate::vault::validate_session(text)
            .map(|()| SessionId(text.to_owned()))
            .map_err(|e| InvalidRequest::new("session", e.to_string()))
    }

    /// A fresh random session id (128 bits).
    pub(crate) fn random() -> SessionId {
        SessionId(format!("s-{:032x}", rand::random::<u128>()))
    }

    /// The id as text (to hand back to its owner only).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is running a program, and in which session (what every tool call carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The vault session placeholders are scoped to.
    pub session: String,
    /// The principal (Cedar `Agent`).
    pub agent: String,
    /// Who is asked when an `@on_deny("ask")` policy refuses a call (none: refused).
    pub approver: super::approval::ApproverSlot,
}

/// A tool of a backend server, `server/tool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRef {
    /// The server (a `[servers.NAME]` of the config).
    pub server: String,
    /// The tool on that server.
    pub tool: String,
}

impl ToolRef {
    /// Parses `server/tool` sent in `field`.
    pub fn parse(text: &str, field: &'static str) -> Result<ToolRef, InvalidRequest> {
        text.split_once('/')
            .filter(|(s, t)| !s.is_empty() && !t.is_empty())
            .map(|(server, tool)| ToolRef {
                server: server.to_owned(),
                tool: tool.to_owned(),
            })
            .ok_or_else(|| {
                InvalidRequest::new(
                    field,
                    format!("`{field}` must be \"server/tool\", e.g. \"crm/updateLead\""),
                )
            })
    }

    /// A tool from its two parts, both required.
    pub fn new(server: &str, tool: &str) -> Result<ToolRef, InvalidRequest> {
        if server.is_empty() || tool.is_empty() {
            return Err(InvalidRequest::new(
                "tool",
                "`server` and `tool` are both required",
            ));
        }
        Ok(ToolRef {
            server: server.to_owned(),
            tool: tool.to_owned(),
        })
    }
}

impl fmt::Display for ToolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.server, self.tool)
    }
}

/// Text or JSON, in and out of tokenize and detokenize.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Plain text.
    Text(String),
    /// A JSON value (its structure is kept; paths reach policies as `arg_path`).
    Json(Value),
}

/// Run one program.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    /// Who runs it.
    pub agent: String,
    /// The session its placeholders belong to (`None`: a new one).
    pub session: Option<SessionId>,
    /// The program (JavaScript or TypeScript).
    pub code: String,
    /// A tighter wall-clock budget than the configured one, in ms (1 to one hour).
    pub timeout_ms: Option<u64>,
    /// The caller's deadline (e.g. gRPC `grpc-timeout`), which also bounds the budget.
    pub deadline: Option<Duration>,
}

/// Find tools.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Who asks.
    pub agent: String,
    /// The session to tokenize the answer in (`None`: a one-off session).
    pub session: Option<SessionId>,
    /// What the caller wants to do.
    pub query: String,
    /// How much of each tool to show.
    pub detail: Detail,
    /// Most tools to return (`None`: [`SEARCH_DEFAULT_LIMIT`]).
    pub limit: Option<u64>,
}

/// Tokenize text or JSON into placeholders.
#[derive(Debug, Clone)]
pub struct TokenizeRequest {
    /// Who asks.
    pub agent: String,
    /// The session to mint in (`None`: a new one).
    pub session: Option<SessionId>,
    /// The provenance recorded for the values (`None`: the front's default).
    pub source: Option<String>,
    /// The tool of `source` the input is a result of (JSON input only): its field
    /// declarations and `outputSchema` apply, and it is recorded as provenance, as at ingress.
    pub tool: Option<String>,
    /// The input.
    pub input: Payload,
}

/// Resolve placeholders toward a destination, where policy allows.
#[derive(Debug, Clone)]
pub struct DetokenizeRequest {
    /// Who asks.
    pub agent: String,
    /// The session the placeholders belong to.
    pub session: SessionId,
    /// Where the values would go.
    pub destination: ToolRef,
    /// The input, as the destination tool's arguments.
    pub input: Payload,
}

/// Decide one placeholder toward a destination without resolving it.
#[derive(Debug, Clone)]
pub struct CheckFlowRequest {
    /// Who asks.
    pub agent: String,
    /// The session the placeholder belongs to.
    pub session: SessionId,
    /// Where it would go.
    pub destination: ToolRef,
    /// The placeholder, e.g. `[EMAIL_1]`.
    pub placeholder: String,
    /// Where in the arguments it would sit.
    pub arg_path: String,
}

/// One proxied tool call through the whole pipeline.
#[derive(Debug, Clone)]
pub struct CallToolRequest {
    /// Who calls.
    pub agent: String,
    /// The session (`None`: a new one).
    pub session: Option<SessionId>,
    /// The tool.
    pub tool: ToolRef,
    /// Its arguments: a JSON object.
    pub arguments: Value,
}

impl ExecuteRequest {
    /// Checks what can be checked without the broker's state (the timeout); the broker
    /// calls it first, and a front may call it before doing anything costly.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        timeout(self.timeout_ms).map(|_| ())
    }
}

impl SearchRequest {
    /// Checks what can be checked without the broker's state (the limit).
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        search_limit(self.limit).map(|_| ())
    }
}

/// Validates a search limit: `None` is the default, otherwise 1 to [`SEARCH_MAX_LIMIT`].
pub fn search_limit(limit: Option<u64>) -> Result<usize, InvalidRequest> {
    match limit {
        None => Ok(SEARCH_DEFAULT_LIMIT),
        Some(n) if n >= 1 && n <= SEARCH_MAX_LIMIT as u64 => Ok(n as usize),
        Some(n) => Err(InvalidRequest::new(
            "limit",
            format!("`limit` must be between 1 and {SEARCH_MAX_LIMIT} (got {n})"),
        )),
    }
}

/// Validates a requested wall-clock budget: 1 ms to [`MAX_TIMEOUT_MS`].
pub fn timeout(timeout_ms: Option<u64>) -> Result<Option<Duration>, InvalidRequest> {
    match timeout_ms {
        None => Ok(None),
        Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(Some(Duration::from_millis(ms))),
        Some(ms) => Err(InvalidRequest::new(
            "timeout_ms",
            format!("`timeout_ms` must be between 1 and {MAX_TIMEOUT_MS} (got {ms})"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_limits_default_and_refuse_zero_and_too_many_alike() {
        assert_eq!(search_limit(None), Ok(SEARCH_DEFAULT_LIMIT));
        assert_eq!(search_limit(Some(1)), Ok(1));
        assert_eq!(search_limit(Some(50)), Ok(50));
        for bad in [0, 51, u64::MAX] {
            let e = search_limit(Some(bad)).expect_err("refused");
            assert_eq!(e.field, "limit");
            assert!(e.message.contains("between 1 and 50"), "{e}");
        }
    }

    #[test]
    fn timeouts_are_one_millisecond_to_an_hour() {
        assert_eq!(timeout(None), Ok(None));
        assert_eq!(timeout(Some(5)), Ok(Some(Duration::from_millis(5))));
        for bad in [0, MAX_TIMEOUT_MS + 1] {
            assert_eq!(timeout(Some(bad)).expect_err("refused").field, "timeout_ms");
        }
    }

    #[test]
    fn destinations_need_a_server_and_a_tool() {
        let t = ToolRef::parse("crm/updateLead", "destination").expect("ok");
        assert_eq!((t.server.as_str(), t.tool.as_str()), ("crm", "updateLead"));
        for bad in ["crm", "/x", "crm/", ""] {
            assert!(ToolRef::parse(bad, "destination").is_err(), "{bad}");
        }
    }

    #[test]
    fn session_ids_are_validated_and_never_debug_printed() {
        let s = SessionId::parse("s-0123").expect("ok");
        assert_eq!(format!("{s:?}"), "SessionId(..)");
        assert_eq!(s.to_string(), "s-0123");
        assert!(SessionId::parse("").is_err());
        assert!(SessionId::parse("a b").is_err());
        assert!(SessionId::parse(&"x".repeat(129)).is_err());
    }
}
