//! Which agent owns each MCP-over-HTTP session, checked before rmcp sees a request.
//!
//! A session id (`Mcp-Session-Id`) is a capability: whoever presents it reaches that
//! session's placeholders. So every session is bound to the agent that initialized it,
//! and a request from any other agent — a tool call, a GET stream, a DELETE — gets exactly
//! the answer rmcp gives for an unknown session (404 `Not Found: Session not found`): it
//! can neither use nor end the session, nor learn that it exists. Each agent may hold a
//! bounded number of open sessions; an `initialize` past the cap is refused with 429 and
//! a message saying what to do.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde_json::json;

/// Open MCP sessions one agent may hold by default.
pub const DEFAULT_SESSIONS_PER_AGENT: usize = 1024;

/// The header carrying the MCP session id.
pub(super) const SESSION_HEADER: &str = "mcp-session-id";

/// Session id → owning agent, for the HTTP front.
pub(super) struct SessionOwners {
    owners: std::sync::Mutex<HashMap<String, String>>,
    cap: AtomicUsize,
    manager: Arc<LocalSessionManager>,
}

impl SessionOwners {
    /// An empty table over rmcp's session manager (asked which sessions still exist).
    pub(super) fn new(manager: Arc<LocalSessionManager>) -> Self {
        SessionOwners {
            owners: std::sync::Mutex::new(HashMap::new()),
            cap: AtomicUsize::new(DEFAULT_SESSIONS_PER_AGENT),
            manager,
        }
    }

    /// Sets how many open sessions one agent may hold.
    pub(super) fn set_cap(&self, cap: usize) {
        self.cap.store(cap.max(1), Ordering::Relaxed);
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owner of `session`, if it was opened here.
    pub(super) fn owner(&self, session: &str) -> Option<String> {
        self.table().get(session).cloned()
    }

    /// Records that `agent` opened `session`.
    pub(super) fn insert(&self, session: String, agent: String) {
        self.table().insert(session, agent);
    }

    /// Forgets `session` (it was deleted).
    pub(super) fn remove(&self, session: &str) {
        self.table().remove(session);
    }

    /// Whether `agent` may open one more session; sessions rmcp has since closed (idle,
    /// deleted) are forgotten first.
    pub(super) async fn has_room(&self, agent: &str) -> bool {
        let cap = self.cap.load(Ordering::Relaxed);
        let mine: Vec<String> = self
            .table()
            .iter()
            .filter(|(_, owner)| *owner == agent)
            .map(|(id, _)| id.clone())
            .collect();
        if mine.len() < cap {
            return true;
        }
        let mut gone = Vec::new();
        for id in mine.iter() {
            if !self
                .manager
                .has_session(&id.as_str().into())
                .await
                .unwrap_or(false)
            {
                gone.push(id.clone());
            }
        }
        let mut table = self.table();
        for id in &gone {
            table.remove(id);
        }
        mine.len() - gone.len() < cap
    }

    /// The open-session cap.
    pub(super) fn cap(&self) -> usize {
        self.cap.load(Ordering::Relaxed)
    }
}

/// What rmcp answers for a session it does not know; another agent's session looks the
/// same.
pub(super) fn session_not_found() -> Response {
    (http::StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
}

/// The refusal of an `initialize` past the per-agent cap.
pub(super) fn too_many_sessions(cap: usize) -> Response {
    let body = json!({
        "error": "too_many_sessions",
        "message": format!(
            "this agent already has {cap} open MCP sessions (the limit); close one (HTTP DELETE with its Mcp-Session-Id) or reuse it, or raise [serve] max_sessions_per_agent"
        ),
    })
    .to_string();
    (
        http::StatusCode::TOO_MANY_REQUESTS,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
