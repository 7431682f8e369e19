//! `ask` over MCP: an `@on_deny("ask")` refusal becomes an elicitation request to the
//! connected client (MCP 2025-06-18 and later; only when the client declared the
//! `elicitation` capability at `initialize`). The message is the broker's
//! [`ApprovalRequest`] text — tool, kinds, sources, argument paths, placeholders and the
//! deciding policy, never a value — and the form has one optional boolean,
//! `remember_for_session`. Accept → the call goes ahead (once, or for the session);
//! decline, cancel or a failed request → refused.
//!
//! Session-less requests (2026-07-28) are asked the same question through that
//! revision's multi round-trip pattern instead (see [`super::mrtr`]).
//!
//! This module decides nothing: it relays the question and the answer.

use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, Peer};

use crate::flow::{Answer, Approval, ApprovalFuture, ApprovalRequest, Approver};

/// The form field that turns "accept" into "accept for this session".
pub const REMEMBER_FIELD: &str = "remember_for_session";

/// Asks the MCP client of one session.
pub(super) struct Elicitor {
    peer: Peer<RoleServer>,
    /// Who answers, for the audit log: the client's name and the session's agent.
    who: String,
}

impl Elicitor {
    /// An approver for `peer`, if its client can be asked (it declared form elicitation).
    pub(super) fn for_peer(peer: &Peer<RoleServer>, agent: &str) -> Option<Elicitor> {
        if !peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return None;
        }
        let client = peer.peer_info().map_or_else(
            || "unnamed".to_owned(),
            |info| info.client_info.name.chars().take(64).collect(),
        );
        Some(Elicitor {
            peer: peer.clone(),
            who: format!("MCP client '{client}' of agent '{agent}'"),
        })
    }
}

impl Approver for Elicitor {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async move {
            let answer = match self.elicit(request).await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::warn!(%error, "the MCP client could not be asked for an approval");
                    Answer::Decline
                }
            };
            Approval {
                answer,
                approver: self.who.clone(),
            }
        })
    }
}

impl Elicitor {
    async fn elicit(&self, request: &ApprovalRequest) -> Result<Answer, String> {
        let schema = form().map_err(str::to_owned)?;
        let message = question(request);
        let result = self
            .peer
            .create_elicitation(ElicitRequestParams::FormElicitationParams {
                meta: None,
                message,
                requested_schema: schema,
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(match result.action {
            ElicitationAction::Accept => {
                let remember = result
                    .content
                    .as_ref()
                    .and_then(|c| c.get(REMEMBER_FIELD))
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
                if remember {
                    Answer::Session
                } else {
                    Answer::Once
                }
            }
            _ => Answer::Decline,
        })
    }
}

/// The form of an approval: one optional boolean, [`REMEMBER_FIELD`].
pub(super) fn form() -> Result<ElicitationSchema, &'static str> {
    ElicitationSchema::builder()
        .optional_bool(REMEMBER_FIELD, false)
        .description("Accept to let this call go ahead; decline to refuse it.")
        .build()
}

/// The question shown to the human: the broker's request text and how to answer.
pub(super) fn question(request: &ApprovalRequest) -> String {
    format!(
        "{request}\nAccept to allow it (set {REMEMBER_FIELD} to allow the same for the rest of this session), or decline."
    )
}
