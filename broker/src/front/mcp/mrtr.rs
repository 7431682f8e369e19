//! `ask` for session-less (2026-07-28) requests: the multi round-trip pattern (MRTR,
//! SEP-2322). A session-less request has no channel for a server-initiated elicitation,
//! so when a program's call is refused by an `@on_deny("ask")` policy, the `tools/call`
//! answers with an `InputRequiredResult`: the same elicitation form an MCP session would
//! get (tool, kinds, sources, argument paths, placeholders and the deciding policy, never
//! a value) and a `requestState` naming the question. The program waits, suspended in
//! this process, within its own execute timeout. The client retries the `tools/call` with
//! the form's answer in `inputResponses` and the `requestState` echoed; the answer reaches
//! the waiting call, and the retry answers with the program's outcome (or its next question).
//!
//! The `requestState` is an opaque handle, never data: a fresh random id per question
//! (so a replayed retry can never answer a later question), bound to the agent that ran the
//! program (anyone else gets the error an unknown id gets), and forgotten when the
//! question is answered or its execute ends. It lives in one process's memory: a retry that
//! reaches another replica, or arrives after the program's timeout, is told to run the
//! program again.
//!
//! This module decides nothing: it relays the question and the answer.

use std::collections::HashMap;
use std::sync::Mutex;

use rmcp::ErrorData;
use rmcp::model::{
    CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams, InputRequest,
    InputRequests, InputRequiredResult, InputResponses,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::approve;
use crate::flow::{Answer, Approval, ApprovalFuture, ApprovalRequest, Approver};

/// The key of Sluice's one question in `inputRequests` / `inputResponses`.
pub const INPUT_KEY: &str = "sluice/approval";

/// What a suspended program does next.
pub(super) enum Step {
    /// A call needs a human's approval: the question and where its answer goes.
    Ask(ApprovalRequest, oneshot::Sender<Answer>),
    /// The program ended: the `tools/call` result (or error) to send.
    Done(Result<CallToolResult, ErrorData>),
}

/// One program waiting for an answer.
struct Run {
    /// The agent whose program it is: only it may answer.
    agent: String,
    /// The vault session it runs in (named in its result, as any `execute` result).
    session: String,
    /// Where the answer to the open question goes.
    answer: oneshot::Sender<Answer>,
    /// The program's next steps.
    steps: mpsc::Receiver<Step>,
    /// Stops the program if the run is dropped before it ends (it never is answered).
    _task: Abort,
}

/// Aborts a spawned task on drop.
pub(super) struct Abort(pub(super) tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The programs of session-less requests waiting for an answer, by `requestState`.
#[derive(Default)]
pub struct Suspended {
    runs: Mutex<HashMap<String, Run>>,
}

impl std::fmt::Debug for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suspended").finish_non_exhaustive()
    }
}

/// The refusal of a `requestState` nobody is waiting under here.
fn expired() -> ErrorData {
    ErrorData::invalid_params(
        "no approval is waiting under this requestState: it was answered, its program ended (the execute timeout also bounds the wait), or it was asked by another Sluice replica; run the program again",
        None,
    )
}

impl Suspended {
    /// The table, without the questions whose program ended (its execute timed out).
    fn runs(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Run>>, ErrorData> {
        let mut runs = self
            .runs
            .lock()
            .map_err(|_| ErrorData::internal_error("the approval table failed", None))?;
        runs.retain(|_, run| !run.answer.is_closed());
        Ok(runs)
    }

    /// Drives a program to its outcome or its next question. A question suspends it
    /// under a fresh `requestState` and becomes the `InputRequiredResult`.
    pub(super) async fn drive(
        &self,
        agent: String,
        session: String,
        mut steps: mpsc::Receiver<Step>,
        task: Abort,
    ) -> Result<(CallToolResponse, String), ErrorData> {
        match steps.recv().await {
            Some(Step::Done(result)) => Ok((CallToolResponse::Complete(result?), session)),
            Some(Step::Ask(request, answer)) => {
                let state = format!("mr-{:032x}", rand::random::<u128>());
                let form = ElicitRequest::new(ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: approve::question(&request),
                    requested_schema: approve::form().map_err(|e| {
                        ErrorData::internal_error(format!("the approval form: {e}"), None)
                    })?,
                });
                self.runs()?.insert(
                    state.clone(),
                    Run {
                        agent,
                        session: session.clone(),
                        answer,
                        steps,
                        _task: task,
                    },
                );
                let requests =
                    InputRequests::from([(INPUT_KEY.to_owned(), InputRequest::Elicitation(form))]);
                Ok((
                    CallToolResponse::InputRequired(InputRequiredResult::new(
                        Some(requests),
                        Some(state),
                    )),
                    session,
                ))
            }
            None => Err(ErrorData::internal_error(
                "the program stopped without an outcome",
                None,
            )),
        }
    }

    /// Answers the question under `state` with the client's `responses` (only for the
    /// agent that asked), then drives the program on.
    pub(super) async fn resume(
        &self,
        agent: &str,
        state: &str,
        responses: Option<&InputResponses>,
    ) -> Result<(CallToolResponse, String), ErrorData> {
        let run = {
            let mut runs = self.runs()?;
            match runs.get(state) {
                Some(run) if run.agent == agent => runs.remove(state),
                Some(_) => {
                    tracing::warn!(agent = %agent, "an agent presented another agent's approval requestState");
                    None
                }
                None => None,
            }
        };
        let run = run.ok_or_else(expired)?;
        // No usable answer declines: a program never proceeds on a malformed reply.
        let answer = responses
            .and_then(|r| r.get(INPUT_KEY))
            .map_or(Answer::Decline, parse_answer);
        if run.answer.send(answer).is_err() {
            return Err(expired());
        }
        Box::pin(self.drive(agent.to_owned(), run.session, run.steps, run._task)).await
    }
}

/// An `ElicitResult` as JSON: accept (once, or for the session) or anything else (decline).
fn parse_answer(value: &Value) -> Answer {
    if value.get("action").and_then(Value::as_str) != Some("accept") {
        return Answer::Decline;
    }
    let remember = value
        .get("content")
        .and_then(|c| c.get(approve::REMEMBER_FIELD))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if remember {
        Answer::Session
    } else {
        Answer::Once
    }
}

/// The approver of a suspended-capable run: hands each question to the request that
/// drives the program and waits for its answer.
pub(super) struct MrtrApprover {
    pub(super) steps: mpsc::Sender<Step>,
    /// Who answers, for the audit log.
    pub(super) who: String,
}

impl Approver for MrtrApprover {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let answer = if self
                .steps
                .send(Step::Ask(request.clone(), tx))
                .await
                .is_ok()
            {
                rx.await.unwrap_or(Answer::Decline)
            } else {
                Answer::Decline
            };
            Approval {
                answer,
                approver: self.who.clone(),
            }
        })
    }
}

/// A channel for one program's steps.
pub(super) fn steps() -> (mpsc::Sender<Step>, mpsc::Receiver<Step>) {
    mpsc::channel(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_explicit_accept_approves() {
        assert_eq!(
            parse_answer(&json!({"action": "accept", "content": {}})),
            Answer::Once
        );
        assert_eq!(
            parse_answer(&json!({"action": "accept", "content": {"remember_for_session": true}})),
            Answer::Session
        );
        for refused in [
            json!({"action": "decline"}),
            json!({"action": "cancel"}),
            json!({"action": "ACCEPT"}),
            json!("accept"),
            json!({}),
        ] {
            assert_eq!(parse_answer(&refused), Answer::Decline, "{refused}");
        }
    }

    #[tokio::test]
    async fn a_request_state_answers_only_its_own_question_for_its_own_agent() {
        let suspended = Suspended::default();
        let (tx, rx) = steps();
        let (answer_tx, answer_rx) = oneshot::channel();
        let request = ApprovalRequest {
            agent: "platform".into(),
            destination: "chat/postMessage".into(),
            asked: crate::flow::Asked::Call,
            policy_ids: vec!["ask".into()],
        };
        tx.send(Step::Ask(request, answer_tx)).await.expect("send");
        let task = Abort(tokio::spawn(async {}));
        let (response, _) = suspended
            .drive("platform".into(), "s-1".into(), rx, task)
            .await
            .expect("drive");
        let CallToolResponse::InputRequired(asked) = response else {
            panic!("expected a question");
        };
        let state = asked.request_state.expect("a requestState");
        let accept = InputResponses::from([(INPUT_KEY.to_owned(), json!({"action": "accept"}))]);

        // Another agent presenting the state is told it does not exist, and the question stays open.
        let other = suspended.resume("intruder", &state, Some(&accept)).await;
        assert!(other.is_err());
        // The owner's answer reaches the program; the program then ends.
        let owner = tokio::spawn(async move {
            let answer = answer_rx.await.expect("answered");
            tx.send(Step::Done(Ok(CallToolResult::success(vec![]))))
                .await
                .expect("done");
            answer
        });
        let (response, session) = suspended
            .resume("platform", &state, Some(&accept))
            .await
            .expect("resume");
        assert!(matches!(response, CallToolResponse::Complete(_)));
        assert_eq!(session, "s-1");
        assert_eq!(owner.await.expect("join"), Answer::Once);
        // A replay of the same state finds nothing.
        assert!(
            suspended
                .resume("platform", &state, Some(&accept))
                .await
                .is_err()
        );
    }
}
