//! The `sluice.v1.Broker` handlers: protobuf in, one typed [`Broker`] call, protobuf (or a
//! status from [`super::status`]) out. They make no decision of their own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tonic::{Request, Response, Status};

use super::approve::{Pending, StreamApprover, Unattended};
use super::status::{log_entry, outcome_message, parse_json, status, tool_call_event};
use super::{Agent, DEADLINE_MARGIN, pb};
use crate::flow::{
    Approver, ApproverSlot, Broker, CallToolRequest, CheckFlowRequest, Detail, DetokenizeRequest,
    ExecuteEvent, ExecuteRequest, Executed, Observer, Payload, SearchRequest, SessionId,
    TokenizeRequest, ToolRef, Watch,
};

/// The provenance recorded by Tokenize when the request names none.
const DEFAULT_SOURCE: &str = "grpc";

/// The `sluice.v1.Broker` implementation.
pub(super) struct Service {
    broker: Arc<Broker>,
    /// Approvals `ExecuteStream`s wait for (see [`super::approve`]).
    approvals: Arc<Pending>,
}

impl Service {
    /// The service over `broker`.
    pub(super) fn new(broker: Arc<Broker>) -> Self {
        Service {
            broker,
            approvals: Arc::default(),
        }
    }
}

/// What every handler starts from: who calls, and by when they need the answer.
struct Call<T> {
    agent: String,
    /// The time this call may take here (the deadline less a margin), if it has one.
    budget: Option<Duration>,
    message: T,
}

impl<T> Call<T> {
    fn of(request: Request<T>) -> Result<Self, Status> {
        let agent = request
            .extensions()
            .get::<Agent>()
            .map(|a| a.0.clone())
            .ok_or_else(|| Status::unauthenticated("the request was not authenticated"))?;
        let budget = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map(|deadline| deadline.saturating_sub((deadline / 10).min(DEADLINE_MARGIN)));
        if budget.is_some_and(|b| b.is_zero()) {
            return Err(Status::deadline_exceeded(
                "the deadline passed before the call started",
            ));
        }
        Ok(Call {
            agent,
            budget,
            message: request.into_inner(),
        })
    }

    /// Runs `work` within the call's budget.
    async fn within<F: Future>(&self, work: F) -> Result<F::Output, Status> {
        match self.budget {
            None => Ok(work.await),
            Some(budget) => tokio::time::timeout(budget, work)
                .await
                .map_err(|_| deadline_status(budget)),
        }
    }
}

fn deadline_status(budget: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the call's deadline passed (Sluice gave it {} ms)",
        budget.as_millis()
    ))
}

/// Parses a `grpc-timeout` header value (up to 8 digits and a unit: H M S m u n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n.checked_mul(3600)?),
        'M' => Duration::from_secs(n.checked_mul(60)?),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// An optional session field: empty means "none" (proto3 has no presence for strings).
fn optional_session(session: &str) -> Result<Option<SessionId>, Status> {
    if session.is_empty() {
        return Ok(None);
    }
    SessionId::parse(session)
        .map(Some)
        .map_err(|e| Status::invalid_argument(e.message))
}

/// A required session field.
fn required_session(session: &str) -> Result<SessionId, Status> {
    optional_session(session)?.ok_or_else(|| {
        Status::invalid_argument("`session` is required (create one with CreateSession)")
    })
}

fn invalid(e: crate::flow::InvalidRequest) -> Status {
    Status::invalid_argument(e.message)
}

/// A `Payload` from a Tokenize/Detokenize input oneof.
fn payload(text: Option<String>, json: Option<String>) -> Result<Payload, Status> {
    match (text, json) {
        (Some(text), _) => Ok(Payload::Text(text)),
        (None, Some(json)) => Ok(Payload::Json(parse_json(&json, "json")?)),
        (None, None) => Err(Status::invalid_argument("set `text` or `json`")),
    }
}

impl Service {
    /// The execute request of `call`, its session already checked (or created) so a
    /// stream can announce it first.
    fn execute_request(&self, call: &Call<pb::ExecuteRequest>) -> Result<ExecuteRequest, Status> {
        let mut request = ExecuteRequest {
            agent: call.agent.clone(),
            session: optional_session(&call.message.session)?,
            code: call.message.code.clone(),
            timeout_ms: call.message.timeout_ms,
            deadline: call.budget,
        };
        // Nothing (not even a new session) before the request is known to be good.
        request.validate().map_err(invalid)?;
        if request.session.is_none() {
            request.session = Some(self.broker.create_session(&call.agent).map_err(status)?);
        }
        Ok(request)
    }
}

/// The status for an execute that ran out of the caller's deadline.
fn missed_deadline(executed: &Executed) -> Option<Status> {
    executed
        .missed_deadline()
        .then(|| deadline_status(executed.budget))
}

/// The event stream of `ExecuteStream`; dropping it (the client went away) stops the
/// program.
pub struct EventStream {
    events: mpsc::UnboundedReceiver<Result<pb::ExecuteEvent, Status>>,
    task: AbortHandle,
}

impl futures::Stream for EventStream {
    type Item = Result<pb::ExecuteEvent, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tonic::async_trait]
impl pb::broker_server::Broker for Service {
    async fn execute(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<pb::ExecuteResponse>, Status> {
        let call = Call::of(request)?;
        let request = self.execute_request(&call)?;
        let unattended = Arc::new(Unattended::default());
        let approver = ApproverSlot::new(Arc::clone(&unattended) as Arc<dyn Approver>);
        let executed = call
            .within(self.broker.execute_approved(request, None, approver))
            .await?
            .map_err(status)?;
        if let Some(status) = missed_deadline(&executed) {
            return Err(status);
        }
        // Even if the program caught the refusal: its caller must learn that a human
        // should have been asked.
        if let Some(status) = unattended.required() {
            return Err(status);
        }
        Ok(Response::new(pb::ExecuteResponse {
            session: executed.session.to_string(),
            outcome: Some(outcome_message(executed.outcome)),
        }))
    }

    type ExecuteStreamStream = EventStream;

    async fn execute_stream(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let call = Call::of(request)?;
        let request = self.execute_request(&call)?;
        let session = request
            .session
            .as_ref()
            .map(SessionId::to_string)
            .unwrap_or_default();
        let (tx, events) = mpsc::unbounded_channel();
        let started = pb::ExecuteEvent {
            event: Some(pb::execute_event::Event::Started(pb::Started { session })),
        };
        let _ = tx.send(Ok(started));
        let live = tx.clone();
        let observer = Observer {
            sink: Arc::new(move |event| {
                let event = match event {
                    ExecuteEvent::Log(entry) => pb::ExecuteEvent {
                        event: Some(pb::execute_event::Event::Log(log_entry(entry))),
                    },
                    ExecuteEvent::Call(call) => tool_call_event(call),
                };
                let _ = live.send(Ok(event));
            }),
            watch: Watch::Everything,
        };
        let broker = Arc::clone(&self.broker);
        let approver = ApproverSlot::new(Arc::new(StreamApprover {
            pending: Arc::clone(&self.approvals),
            agent: call.agent.clone(),
            events: tx.clone(),
        }));
        let task = tokio::spawn(async move {
            let executed = match call
                .within(broker.execute_approved(request, Some(observer), approver))
                .await
            {
                Ok(Ok(executed)) => executed,
                Ok(Err(error)) => {
                    let _ = tx.send(Err(status(error)));
                    return;
                }
                Err(status) => {
                    let _ = tx.send(Err(status));
                    return;
                }
            };
            if let Some(status) = missed_deadline(&executed) {
                let _ = tx.send(Err(status));
                return;
            }
            // Every log line was already streamed live, tokenized the same way.
            let mut outcome = executed.outcome;
            outcome.logs.clear();
            let last = pb::execute_event::Event::Outcome(outcome_message(outcome));
            let _ = tx.send(Ok(pb::ExecuteEvent { event: Some(last) }));
        });
        Ok(Response::new(EventStream {
            events,
            task: task.abort_handle(),
        }))
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let call = Call::of(request)?;
        let detail = match pb::Detail::try_from(call.message.detail) {
            Ok(pb::Detail::Unspecified | pb::Detail::Signatures) => Detail::Signatures,
            Ok(pb::Detail::Names) => Detail::Names,
            Ok(pb::Detail::Full) => Detail::Full,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "unknown `detail` {}; use DETAIL_NAMES, DETAIL_SIGNATURES or DETAIL_FULL",
                    call.message.detail
                )));
            }
        };
        let request = SearchRequest {
            agent: call.agent.clone(),
            session: optional_session(&call.message.session)?,
            query: call.message.query.clone(),
            detail,
            // proto3: 0 is "not set".
            limit: (call.message.limit != 0).then_some(u64::from(call.message.limit)),
        };
        let text = call
            .within(self.broker.search(request))
            .await?
            .map_err(status)?;
        Ok(Response::new(pb::SearchResponse { text }))
    }

    async fn tokenize(
        &self,
        request: Request<pb::TokenizeRequest>,
    ) -> Result<Response<pb::TokenizeResponse>, Status> {
        use pb::tokenize_request::Input;
        use pb::tokenize_response::Output;
        let call = Call::of(request)?;
        let pb::TokenizeRequest {
            session,
            source,
            input,
            tool,
        } = call.message;
        let input = match input {
            None => payload(None, None)?,
            Some(Input::Text(text)) => payload(Some(text), None)?,
            Some(Input::Json(json)) => payload(None, Some(json))?,
        };
        let request = TokenizeRequest {
            agent: call.agent.clone(),
            session: optional_session(&session)?,
            source: Some(if source.is_empty() {
                DEFAULT_SOURCE.to_owned()
            } else {
                source
            }),
            tool: (!tool.is_empty()).then_some(tool),
            input,
        };
        let call = Call {
            agent: call.agent,
            budget: call.budget,
            message: (),
        };
        let tokenized = call
            .within(self.broker.tokenize(request))
            .await?
            .map_err(status)?;
        let output = match tokenized.output {
            Payload::Text(text) => Output::Text(text),
            Payload::Json(value) => Output::Json(value.to_string()),
        };
        Ok(Response::new(pb::TokenizeResponse {
            session: tokenized.session.to_string(),
            output: Some(output),
        }))
    }

    async fn detokenize(
        &self,
        request: Request<pb::DetokenizeRequest>,
    ) -> Result<Response<pb::DetokenizeResponse>, Status> {
        use pb::detokenize_request::Input;
        use pb::detokenize_response::Output;
        let call = Call::of(request)?;
        let session = required_session(&call.message.session)?;
        let destination =
            ToolRef::parse(&call.message.destination, "destination").map_err(invalid)?;
        let input = match &call.message.input {
            None => payload(None, None)?,
            Some(Input::Text(text)) => payload(Some(text.clone()), None)?,
            Some(Input::Json(json)) => payload(None, Some(json.clone()))?,
        };
        let request = DetokenizeRequest {
            agent: call.agent.clone(),
            session,
            destination,
            input,
        };
        let resolved = call
            .within(self.broker.detokenize(request))
            .await?
            .map_err(status)?;
        let output = match resolved {
            Payload::Text(text) => Output::Text(text),
            Payload::Json(value) => Output::Json(value.to_string()),
        };
        Ok(Response::new(pb::DetokenizeResponse {
            output: Some(output),
        }))
    }

    async fn call_tool(
        &self,
        request: Request<pb::CallToolRequest>,
    ) -> Result<Response<pb::CallToolResponse>, Status> {
        let call = Call::of(request)?;
        let message = &call.message;
        let arguments = if message.arguments_json.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            parse_json(&message.arguments_json, "arguments_json")?
        };
        if !arguments.is_object() {
            return Err(Status::invalid_argument(
                "`arguments_json` must be a JSON object",
            ));
        }
        let request = CallToolRequest {
            agent: call.agent.clone(),
            session: optional_session(&message.session)?,
            tool: ToolRef::new(&message.server, &message.tool).map_err(invalid)?,
            arguments,
        };
        let called = call
            .within(self.broker.call_tool(request))
            .await?
            .map_err(status)?;
        let (result_json, error) = match called.result {
            Ok(value) => (value.to_string(), None),
            Err(message) => (String::new(), Some(message)),
        };
        Ok(Response::new(pb::CallToolResponse {
            session: called.session.to_string(),
            result_json,
            error,
        }))
    }

    async fn check_flow(
        &self,
        request: Request<pb::CheckFlowRequest>,
    ) -> Result<Response<pb::CheckFlowResponse>, Status> {
        let call = Call::of(request)?;
        let message = &call.message;
        let request = CheckFlowRequest {
            agent: call.agent.clone(),
            session: required_session(&message.session)?,
            destination: ToolRef::parse(&message.destination, "destination").map_err(invalid)?,
            placeholder: message.placeholder.clone(),
            arg_path: message.arg_path.clone(),
        };
        let verdict = call
            .within(self.broker.check_flow(request))
            .await?
            .map_err(status)?;
        Ok(Response::new(pb::CheckFlowResponse {
            allowed: verdict.allowed,
            policy_ids: verdict.policy_ids,
            reason: verdict.reason,
            kind: verdict.kind.to_string(),
            source: verdict.source,
        }))
    }

    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let call = Call::of(request)?;
        let session = self.broker.create_session(&call.agent).map_err(status)?;
        Ok(Response::new(pb::CreateSessionResponse {
            session: session.to_string(),
        }))
    }

    async fn purge_session(
        &self,
        request: Request<pb::PurgeSessionRequest>,
    ) -> Result<Response<pb::PurgeSessionResponse>, Status> {
        let call = Call::of(request)?;
        let session = required_session(&call.message.session)?;
        let purged = call
            .within(self.broker.purge_session(Some(&call.agent), &session))
            .await?
            .map_err(status)?;
        Ok(Response::new(pb::PurgeSessionResponse {
            purged: u64::try_from(purged).unwrap_or(u64::MAX),
        }))
    }

    async fn list_servers(
        &self,
        request: Request<pb::ListServersRequest>,
    ) -> Result<Response<pb::ListServersResponse>, Status> {
        let call = Call::of(request)?;
        let summaries = call.within(self.broker.server_summaries()).await?;
        let servers = summaries
            .into_iter()
            .map(|s| pb::ServerInfo {
                reachable: s.tools.is_some(),
                tool_count: s.tools.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                name: s.name,
                trust: s.trust,
                tags: s.tags,
            })
            .collect();
        Ok(Response::new(pb::ListServersResponse { servers }))
    }

    async fn approve(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<Response<pb::ApproveResponse>, Status> {
        let call = Call::of(request)?;
        let answer = super::approve::answer(call.message.answer)?;
        if call.message.approval_id.is_empty() {
            return Err(Status::invalid_argument(
                "`approval_id` is required (from an approval_requested event)",
            ));
        }
        self.approvals
            .answer(&call.agent, &call.message.approval_id, answer)?;
        Ok(Response::new(pb::ApproveResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit_and_reject_garbage() {
        assert_eq!(parse_grpc_timeout("300m"), Some(Duration::from_millis(300)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123", "123456789m", "12x", "-1m", "1.5S", "é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_invalid_session_is_refused_before_anything_runs() {
        let status = optional_session("not a session!").expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(matches!(optional_session(""), Ok(None)));
    }
}
