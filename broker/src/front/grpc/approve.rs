//! `ask` over gRPC. An `ExecuteStream` carries an approver: a call refused by an
//! `@on_deny("ask")` policy becomes an `approval_requested` event with a fresh random id,
//! and the call waits until `Approve` answers that id — only from the same agent (anyone
//! else gets the NOT_FOUND an unknown id gets) — or until the execute ends. A unary
//! `Execute` has no one to ask: the refusal stands, and the RPC fails with
//! FAILED_PRECONDITION, reason `APPROVAL_REQUIRED`, so the caller knows to retry with
//! `ExecuteStream`.
//!
//! Pending approvals are in memory; they end with their execute.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::pb;
use super::status::ERROR_DOMAIN;
use crate::flow::{Answer, Approval, ApprovalFuture, ApprovalRequest, Approver, Asked};

/// Approvals waiting for an answer: id → (the asking agent, where the answer goes).
#[derive(Default)]
pub(super) struct Pending {
    waiting: Mutex<HashMap<String, (String, oneshot::Sender<Answer>)>>,
}

impl Pending {
    /// Delivers `answer` to approval `id` if `agent` is the one whose program asked.
    pub(super) fn answer(&self, agent: &str, id: &str, answer: Answer) -> Result<(), Status> {
        let not_found = || {
            Status::not_found(
                "no approval with this id is waiting for you (it was answered, its execute ended, or it is not yours)",
            )
        };
        let sender = {
            let mut waiting = self
                .waiting
                .lock()
                .map_err(|_| Status::internal("the approval table failed"))?;
            match waiting.get(id) {
                Some((owner, _)) if owner == agent => waiting.remove(id).map(|(_, s)| s),
                _ => None,
            }
        };
        let sender = sender.ok_or_else(not_found)?;
        sender.send(answer).map_err(|_| not_found())
    }

    fn insert(&self, id: &str, agent: &str, sender: oneshot::Sender<Answer>) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id.to_owned(), (agent.to_owned(), sender));
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(id);
        }
    }
}

/// Removes a pending approval when its call stops waiting (answered, or dropped with the
/// execute).
struct Waiting<'a> {
    pending: &'a Pending,
    id: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pending.remove(&self.id);
    }
}

/// Asks the client of one `ExecuteStream`.
pub(super) struct StreamApprover {
    pub(super) pending: Arc<Pending>,
    pub(super) agent: String,
    pub(super) events: mpsc::UnboundedSender<Result<pb::ExecuteEvent, Status>>,
}

impl Approver for StreamApprover {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async move {
            let id = format!("ap-{:032x}", rand::random::<u128>());
            let (tx, rx) = oneshot::channel();
            self.pending.insert(&id, &self.agent, tx);
            let _waiting = Waiting {
                pending: &self.pending,
                id: id.clone(),
            };
            let event = pb::ExecuteEvent {
                event: Some(pb::execute_event::Event::ApprovalRequested(requested(
                    id, request,
                ))),
            };
            let answer = if self.events.send(Ok(event)).is_ok() {
                rx.await.unwrap_or(Answer::Decline)
            } else {
                Answer::Decline
            };
            Approval {
                answer,
                approver: format!("agent '{}' over gRPC", self.agent),
            }
        })
    }
}

fn requested(approval_id: String, request: &ApprovalRequest) -> pb::ApprovalRequested {
    let (action, flows) = match &request.asked {
        Asked::Call => ("call", Vec::new()),
        Asked::Flow(flows) => (
            "flow",
            flows
                .iter()
                .map(|f| pb::ApprovalFlow {
                    placeholders: f.placeholders.clone(),
                    kind: f.kind.clone(),
                    source: f.source.clone(),
                    arg_path: f.arg_path.clone(),
                    policy_ids: f.policy_ids.clone(),
                })
                .collect(),
        ),
    };
    pb::ApprovalRequested {
        approval_id,
        destination: request.destination.clone(),
        action: action.to_owned(),
        flows,
        policy_ids: request.policy_ids.clone(),
        message: request.to_string(),
    }
}

/// The approver of a unary `Execute`: nobody can be asked; it remembers that someone
/// should have been, and what for.
#[derive(Default)]
pub(super) struct Unattended {
    asked: AtomicBool,
    last: Mutex<Option<(String, Vec<String>)>>,
}

impl Approver for Unattended {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        self.asked.store(true, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((request.destination.clone(), request.policy_ids.clone()));
        }
        Box::pin(async {
            Approval {
                answer: Answer::Decline,
                approver: "nobody (a unary Execute cannot ask; use ExecuteStream and Approve)"
                    .to_owned(),
            }
        })
    }
}

impl Unattended {
    /// FAILED_PRECONDITION (`APPROVAL_REQUIRED`) if a call of the program needed an
    /// approval that could not be asked for.
    pub(super) fn required(&self) -> Option<Status> {
        if !self.asked.load(Ordering::Relaxed) {
            return None;
        }
        let (destination, policies) = self
            .last
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_default();
        let metadata = HashMap::from([
            ("destination".to_owned(), destination.clone()),
            ("policies".to_owned(), policies.join(",")),
        ]);
        let details = ErrorDetails::with_error_info("APPROVAL_REQUIRED", ERROR_DOMAIN, metadata);
        Some(Status::with_error_details(
            Code::FailedPrecondition,
            format!(
                "a call to {destination} needs a human approval (policy {}), and a unary Execute cannot ask for one: run the program with ExecuteStream and answer its approval_requested event with Approve",
                policies.join(", ")
            ),
            details,
        ))
    }
}

/// The broker's answer for a protobuf one.
pub(super) fn answer(answer: i32) -> Result<Answer, Status> {
    match pb::ApprovalAnswer::try_from(answer) {
        Ok(pb::ApprovalAnswer::Once) => Ok(Answer::Once),
        Ok(pb::ApprovalAnswer::Session) => Ok(Answer::Session),
        Ok(pb::ApprovalAnswer::Decline) => Ok(Answer::Decline),
        _ => Err(Status::invalid_argument(
            "`answer` must be APPROVAL_ANSWER_ONCE, APPROVAL_ANSWER_SESSION or APPROVAL_ANSWER_DECLINE",
        )),
    }
}
