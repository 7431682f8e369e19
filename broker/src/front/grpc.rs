//! The gRPC front: `sluice.v1.Broker` (`proto/sluice/v1/broker.proto`) over tonic, with
//! the standard health (`grpc.health.v1`) and reflection (`grpc.reflection.v1` and
//! `grpc.reflection.v1alpha`, which grpcurl 1.8 and grpcio-reflection still use) services.
//!
//! Every `sluice.v1` request is authenticated by an interceptor: the `authorization:
//! Bearer <key>` metadata becomes an agent (the Cedar principal) through [`Principals`];
//! health and reflection are open, as probes and tooling expect. The handlers only
//! translate between protobuf and [`Broker`] calls and map failures to status codes; they
//! make no decision of their own.
//!
//! Deadlines: the `grpc-timeout` a client sends bounds the work. An execute's sandbox
//! budget is the smallest of the configured timeout, the request's `timeout_ms` and the
//! deadline (less a small margin, so the answer is DEADLINE_EXCEEDED from here rather than
//! a bare cancellation). A client that goes away drops the request's future, which drops
//! the execute (see `docs/api.md` for what that stops at once and what runs to its budget).
//!
//! This module must never return a raw detected value, except from Detokenize where flow
//! policy permitted it.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use sandbox_host::{ErrorKind, LogEntry, LogLevel, Outcome, ToolError, ToolErrorKind};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, PreconditionViolation, StatusExt};

use crate::auth::Principals;
use crate::catalog::Detail;
use crate::flow::egress::DENIAL_PREFIX;
use crate::flow::{
    Broker, CallContext, CallEvent, Denial, DeniedFlow, DetokenizeError, ExecuteEvent,
    ExecuteObserver,
};
use crate::setup;
use crate::tls::ServerTls;
use crate::vault::{Placeholder, VaultError};

/// The code generated from `proto/sluice/v1/broker.proto` (messages, server and client).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("sluice.v1");

    /// The encoded `FileDescriptorSet` of `sluice.v1`, as served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/sluice_v1_descriptor.bin"));
}

use pb::broker_server::BrokerServer;

/// The fully qualified name of the service (what health checks ask about).
pub const SERVICE_NAME: &str = "sluice.v1.Broker";

/// Largest request or response message accepted by default, in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 << 20;

/// How much earlier than the client's deadline the broker gives up: enough to send
/// DEADLINE_EXCEEDED before the transport cancels the call. A tenth of the deadline, at
/// most this much.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// Results shown by Search when the request sets no limit.
const DEFAULT_SEARCH_LIMIT: u32 = 10;
/// Most results Search may be asked for.
const MAX_SEARCH_LIMIT: u32 = 1000;
/// The provenance recorded by Tokenize when the request names none.
const DEFAULT_SOURCE: &str = "grpc";

/// Why the gRPC front could not run.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// The listening socket could not be bound.
    #[error("cannot listen for gRPC on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The reflection service could not be built from the descriptor set.
    #[error("cannot build the gRPC reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server failed while serving.
    #[error("the gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// The gRPC front over one broker: configure, then [`GrpcFront::serve`] or
/// [`GrpcFront::serve_listener`].
pub struct GrpcFront {
    broker: Arc<Broker>,
    principals: Arc<Principals>,
    max_message_bytes: usize,
    tls: Option<ServerTls>,
}

impl GrpcFront {
    /// A front for `broker`, authenticating callers with `principals`.
    pub fn new(broker: Arc<Broker>, principals: Principals) -> Self {
        GrpcFront {
            broker,
            principals: Arc::new(principals),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
        }
    }

    /// Serves gRPC over TLS with `tls` (clients then connect with `https://`).
    pub fn with_tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the largest request and response message, in bytes (default 4 MiB); larger
    /// ones fail with OUT_OF_RANGE.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Binds `addr` and serves until `shutdown` completes (then finishes in-flight calls).
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), GrpcError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| GrpcError::Bind { addr, source })?;
        self.serve_listener(listener, shutdown).await
    }

    /// Serves on an already bound `listener` (bind port 0 and read its address first)
    /// until `shutdown` completes.
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), GrpcError> {
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_service_status(SERVICE_NAME, tonic_health::ServingStatus::Serving)
            .await;
        let reflection_v1 = reflection_sets().build_v1()?;
        let reflection_v1alpha = reflection_sets().build_v1alpha()?;
        let broker = BrokerServer::new(Service {
            broker: self.broker,
        })
        .max_decoding_message_size(self.max_message_bytes)
        .max_encoding_message_size(self.max_message_bytes);
        let broker = tonic::service::interceptor::InterceptedService::new(
            broker,
            Authenticator {
                principals: self.principals,
            },
        );
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = &self.tls {
            server = server.tls_config(tls.grpc())?;
        }
        server
            .trace_fn(|request| tracing::info_span!("grpc", path = %request.uri().path()))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(broker)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        Ok(())
    }
}

/// What reflection serves: `sluice.v1`, health, and `google.rpc` (so a client can decode
/// the `ErrorInfo` and `PreconditionFailure` details of a denial without a proto file).
fn reflection_sets() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
}

/// Serves `broker` over gRPC on `addr` with the default limits until `shutdown`.
pub async fn serve(
    broker: Arc<Broker>,
    principals: Principals,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GrpcError> {
    GrpcFront::new(broker, principals)
        .serve(addr, shutdown)
        .await
}

/// The authenticated principal of a request, put there by [`Authenticator`].
#[derive(Debug, Clone)]
struct Agent(String);

/// Turns `authorization: Bearer <key>` metadata into an [`Agent`], or refuses the call.
#[derive(Clone)]
struct Authenticator {
    principals: Arc<Principals>,
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let agent = {
            let token = match request.metadata().get("authorization") {
                None => None,
                Some(value) => {
                    let header = value.to_str().map_err(|_| {
                        Status::unauthenticated(
                            "the authorization metadata is not text; send `authorization: Bearer <api key>`",
                        )
                    })?;
                    Some(Principals::bearer(header).ok_or_else(|| {
                        Status::unauthenticated(
                            "the authorization metadata must be `Bearer <api key>`",
                        )
                    })?)
                }
            };
            self.principals
                .authenticate(token)
                .map_err(|e| Status::unauthenticated(e.to_string()))?
        };
        request.extensions_mut().insert(Agent(agent));
        Ok(request)
    }
}

/// The `sluice.v1.Broker` implementation.
struct Service {
    broker: Arc<Broker>,
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

    fn context(&self, session: String) -> CallContext {
        CallContext {
            session,
            agent: self.agent.clone(),
        }
    }

    /// Runs `work` within this call's budget.
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

/// A `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
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

/// The session to use: the given one, or a new one when empty.
fn session_or_new(session: String) -> String {
    if session.is_empty() {
        setup::new_session_id()
    } else {
        session
    }
}

fn required_session(session: String) -> Result<String, Status> {
    if session.is_empty() {
        Err(Status::invalid_argument(
            "`session` is required (create one with CreateSession)",
        ))
    } else {
        Ok(session)
    }
}

/// Splits a `server/tool` destination.
fn destination(text: &str) -> Result<(&str, &str), Status> {
    text.split_once('/')
        .filter(|(s, t)| !s.is_empty() && !t.is_empty())
        .ok_or_else(|| {
            Status::invalid_argument(
                "`destination` must be \"server/tool\", e.g. \"crm/updateLead\"",
            )
        })
}

/// Parses JSON text; the error names the field and the position, never the content.
fn parse_json(text: &str, field: &str) -> Result<Value, Status> {
    serde_json::from_str(text).map_err(|e| {
        Status::invalid_argument(format!(
            "`{field}` is not valid JSON (line {}, column {}): {}",
            e.line(),
            e.column(),
            json_error_class(&e)
        ))
    })
}

fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

fn vault_status(error: VaultError) -> Status {
    match error {
        VaultError::InvalidSession { .. }
        | VaultError::InvalidKind { .. }
        | VaultError::InvalidValue { .. }
        | VaultError::InvalidSource { .. }
        | VaultError::InvalidPlaceholder { .. } => Status::invalid_argument(error.to_string()),
        other => {
            tracing::error!(error = %other, "vault failure");
            Status::internal(format!("the vault failed: {other}"))
        }
    }
}

fn detokenize_status(error: DetokenizeError) -> Status {
    match error {
        DetokenizeError::Denied(denial) => denial_status(&denial),
        DetokenizeError::Destination(message) => Status::not_found(message),
        DetokenizeError::Vault(e) => vault_status(e),
        DetokenizeError::Audit(message) => Status::internal(message),
        DetokenizeError::Failed => Status::internal(error.to_string()),
    }
}

/// The `domain` of Sluice's `google.rpc.ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "sluice.v1";

/// PERMISSION_DENIED for refused flows, with machine-readable details: a
/// `google.rpc.ErrorInfo` (reason `FLOW_DENIED`; metadata `destination`, `placeholders`,
/// `kinds`, `sources`, `policies`, each comma-separated) and a `google.rpc.PreconditionFailure`
/// with one violation per group of placeholders denied for the same reason.
fn denial_status(denial: &Denial) -> Status {
    let joined = |field: fn(&DeniedFlow) -> Vec<String>| {
        let mut values: Vec<String> = Vec::new();
        for value in denial.flows.iter().flat_map(field) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        values.join(",")
    };
    let metadata = HashMap::from([
        ("destination".to_owned(), denial.destination.clone()),
        (
            "placeholders".to_owned(),
            joined(|f| f.placeholders.clone()),
        ),
        ("kinds".to_owned(), joined(|f| vec![f.kind.clone()])),
        ("sources".to_owned(), joined(|f| vec![f.source.clone()])),
        ("policies".to_owned(), joined(|f| f.policy_ids.clone())),
    ]);
    let violations: Vec<PreconditionViolation> = denial
        .flows
        .iter()
        .map(|flow| {
            PreconditionViolation::new(
                "FLOW_DENIED",
                format!("{} at {}", flow.placeholders.join(","), flow.arg_path),
                format!(
                    "{} from server '{}' may not go to {}: {} ({})",
                    flow.kind,
                    flow.source,
                    denial.destination,
                    flow.deciding(),
                    flow.reason
                ),
            )
        })
        .collect();
    let mut details = ErrorDetails::with_error_info("FLOW_DENIED", ERROR_DOMAIN, metadata);
    details.set_precondition_failure(violations);
    Status::with_error_details(Code::PermissionDenied, denial.to_string(), details)
}

/// PERMISSION_DENIED for a refused tool call (CallTool): `google.rpc.ErrorInfo` with reason
/// `CALL_DENIED` (the principal may not call the tool) or `FLOW_DENIED` (an argument's
/// placeholder may not go there) and metadata `destination`; the message names the rest.
fn call_denied_status(message: String, server: &str, tool: &str) -> Status {
    let reason = if message.starts_with(DENIAL_PREFIX) {
        "FLOW_DENIED"
    } else {
        "CALL_DENIED"
    };
    let metadata = HashMap::from([("destination".to_owned(), format!("{server}/{tool}"))]);
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(Code::PermissionDenied, message, details)
}

/// Runs blocking vault work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Status::internal("a vault operation failed inside Sluice"))?
        .map_err(vault_status)
}

fn error_kind(kind: ErrorKind) -> pb::ErrorKind {
    match kind {
        ErrorKind::Syntax => pb::ErrorKind::Syntax,
        ErrorKind::Runtime => pb::ErrorKind::Runtime,
        ErrorKind::Timeout => pb::ErrorKind::Timeout,
        ErrorKind::Memory => pb::ErrorKind::Memory,
        ErrorKind::OutputLimit => pb::ErrorKind::OutputLimit,
        ErrorKind::CallLimit => pb::ErrorKind::CallLimit,
        ErrorKind::Tool => pb::ErrorKind::Tool,
        ErrorKind::PolicyDenied => pb::ErrorKind::PolicyDenied,
        ErrorKind::Internal => pb::ErrorKind::Internal,
    }
}

fn log_entry(entry: LogEntry) -> pb::LogEntry {
    let level = match entry.level {
        LogLevel::Log => pb::LogLevel::Log,
        LogLevel::Info => pb::LogLevel::Info,
        LogLevel::Warn => pb::LogLevel::Warn,
        LogLevel::Error => pb::LogLevel::Error,
    };
    pb::LogEntry {
        level: level as i32,
        message: entry.message,
    }
}

fn outcome_message(outcome: Outcome) -> pb::Outcome {
    pb::Outcome {
        result_json: outcome.result.to_string(),
        logs: outcome.logs.into_iter().map(log_entry).collect(),
        calls: outcome.calls,
        error: outcome.error.map(|e| pb::ExecError {
            kind: error_kind(e.kind) as i32,
            message: e.message,
        }),
    }
}

fn failure_kind(error: &ToolError) -> pb::ToolFailureKind {
    match error.kind {
        ToolErrorKind::Tool => pb::ToolFailureKind::Tool,
        ToolErrorKind::PolicyDenied => pb::ToolFailureKind::PolicyDenied,
        ToolErrorKind::Unavailable => pb::ToolFailureKind::Unavailable,
    }
}

fn tool_call_event(event: CallEvent) -> pb::ExecuteEvent {
    let (error, failure) = match &event.error {
        Some(e) => (e.message.clone(), failure_kind(e)),
        None => (String::new(), pb::ToolFailureKind::Unspecified),
    };
    pb::ExecuteEvent {
        event: Some(pb::execute_event::Event::ToolCall(pb::ToolCallEvent {
            ok: event.error.is_none(),
            server: event.server,
            tool: event.tool,
            error,
            failure: failure as i32,
            duration_us: u64::try_from(event.elapsed.as_micros()).unwrap_or(u64::MAX),
        })),
    }
}

/// A prepared execute: its context, its limits, and whether the deadline set the time.
struct Run {
    context: CallContext,
    limits: sandbox_host::Limits,
    deadline_bound: bool,
}

impl Service {
    fn prepare(&self, call: &Call<pb::ExecuteRequest>) -> Run {
        let mut limits = self.broker.limits().clone();
        if let Some(ms) = call.message.timeout_ms.filter(|&ms| ms > 0) {
            limits.timeout = limits.timeout.min(Duration::from_millis(ms));
        }
        let mut deadline_bound = false;
        if let Some(budget) = call.budget
            && budget < limits.timeout
        {
            limits.timeout = budget;
            deadline_bound = true;
        }
        Run {
            context: call.context(session_or_new(call.message.session.clone())),
            limits,
            deadline_bound,
        }
    }
}

/// A program that ran out of a budget the deadline set has missed the caller's deadline.
fn missed_deadline(outcome: &Outcome, run: &Run) -> Option<Status> {
    let timed_out = outcome
        .error
        .as_ref()
        .is_some_and(|e| e.kind == ErrorKind::Timeout);
    (timed_out && run.deadline_bound).then(|| deadline_status(run.limits.timeout))
}

/// The events of one ExecuteStream; dropping it (the client went away) aborts the execute.
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
        let run = self.prepare(&call);
        let outcome = call
            .within(
                self.broker
                    .execute(&call.message.code, run.context.clone(), &run.limits),
            )
            .await?;
        if let Some(status) = missed_deadline(&outcome, &run) {
            return Err(status);
        }
        Ok(Response::new(pb::ExecuteResponse {
            session: run.context.session,
            outcome: Some(outcome_message(outcome)),
        }))
    }

    type ExecuteStreamStream = EventStream;

    async fn execute_stream(
        &self,
        request: Request<pb::ExecuteRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let call = Call::of(request)?;
        let run = self.prepare(&call);
        let (tx, events) = mpsc::unbounded_channel();
        let started = pb::ExecuteEvent {
            event: Some(pb::execute_event::Event::Started(pb::Started {
                session: run.context.session.clone(),
            })),
        };
        let _ = tx.send(Ok(started));
        let live = tx.clone();
        let observer: ExecuteObserver = Arc::new(move |event| {
            let event = match event {
                ExecuteEvent::Log(entry) => pb::ExecuteEvent {
                    event: Some(pb::execute_event::Event::Log(log_entry(entry))),
                },
                ExecuteEvent::Call(call) => tool_call_event(call),
            };
            let _ = live.send(Ok(event));
        });
        let broker = Arc::clone(&self.broker);
        let task = tokio::spawn(async move {
            let execute = broker.execute_observed(
                &call.message.code,
                run.context.clone(),
                &run.limits,
                Some(observer),
            );
            let outcome = match call.within(execute).await {
                Ok(outcome) => outcome,
                Err(status) => {
                    let _ = tx.send(Err(status));
                    return;
                }
            };
            if let Some(status) = missed_deadline(&outcome, &run) {
                let _ = tx.send(Err(status));
                return;
            }
            // Every log line was already streamed live, tokenized the same way.
            let mut outcome = outcome;
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
        let limit = match call.message.limit {
            0 => DEFAULT_SEARCH_LIMIT,
            n if n > MAX_SEARCH_LIMIT => {
                return Err(Status::invalid_argument(format!(
                    "`limit` is at most {MAX_SEARCH_LIMIT} (got {n})"
                )));
            }
            n => n,
        };
        let text = call
            .within(
                self.broker
                    .search(&call.message.query, detail, limit as usize),
            )
            .await?;
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
        } = call.message;
        let session = session_or_new(session);
        let source = if source.is_empty() {
            DEFAULT_SOURCE.to_owned()
        } else {
            source
        };
        let tokenizer = self.broker.tokenizer().clone();
        let (s, src) = (session.clone(), source);
        let output = match input {
            None => {
                return Err(Status::invalid_argument("set `text` or `json`"));
            }
            Some(Input::Text(text)) => {
                Output::Text(blocking(move || tokenizer.ingest_text(&s, &src, &text)).await?)
            }
            Some(Input::Json(text)) => {
                let value = parse_json(&text, "json")?;
                let value = blocking(move || tokenizer.ingest_json(&s, &src, value)).await?;
                Output::Json(value.to_string())
            }
        };
        Ok(Response::new(pb::TokenizeResponse {
            session,
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
        let session = required_session(call.message.session.clone())?;
        let (server, tool) = destination(&call.message.destination)?;
        let (input, json) = match &call.message.input {
            None => return Err(Status::invalid_argument("set `text` or `json`")),
            Some(Input::Text(text)) => (Value::String(text.clone()), false),
            Some(Input::Json(text)) => (parse_json(text, "json")?, true),
        };
        let context = call.context(session);
        let resolved = call
            .within(self.broker.detokenize(&context, server, tool, input))
            .await?
            .map_err(detokenize_status)?;
        let output = match (json, resolved) {
            (false, Value::String(text)) => Output::Text(text),
            (false, other) | (true, other) => Output::Json(other.to_string()),
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
        let args = if message.arguments_json.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            parse_json(&message.arguments_json, "arguments_json")?
        };
        if !args.is_object() {
            return Err(Status::invalid_argument(
                "`arguments_json` must be a JSON object",
            ));
        }
        if message.server.is_empty() || message.tool.is_empty() {
            return Err(Status::invalid_argument("`server` and `tool` are required"));
        }
        let servers = self.broker.servers();
        if !servers.contains(&message.server) {
            return Err(Status::not_found(format!(
                "unknown server '{}'; the servers are: {}",
                message.server,
                servers.join(", ")
            )));
        }
        let session = session_or_new(message.session.clone());
        let context = call.context(session.clone());
        let result = call
            .within(
                self.broker
                    .call_tool(&context, &message.server, &message.tool, args),
            )
            .await?;
        match result {
            Ok(value) => Ok(Response::new(pb::CallToolResponse {
                session,
                result_json: value.to_string(),
                error: None,
            })),
            Err(error) => match error.kind {
                ToolErrorKind::PolicyDenied => Err(call_denied_status(
                    error.message,
                    &message.server,
                    &message.tool,
                )),
                ToolErrorKind::Unavailable => Err(Status::unavailable(error.message)),
                ToolErrorKind::Tool => Ok(Response::new(pb::CallToolResponse {
                    session,
                    result_json: String::new(),
                    error: Some(error.message),
                })),
            },
        }
    }

    async fn check_flow(
        &self,
        request: Request<pb::CheckFlowRequest>,
    ) -> Result<Response<pb::CheckFlowResponse>, Status> {
        let call = Call::of(request)?;
        let message = &call.message;
        let session = required_session(message.session.clone())?;
        let (server, tool) = destination(&message.destination)?;
        let placeholder = Placeholder::parse(&message.placeholder).map_err(vault_status)?;
        let context = call.context(session);
        let checked = call
            .within(
                self.broker
                    .check_flow(&context, server, tool, &placeholder, &message.arg_path),
            )
            .await?
            .map_err(detokenize_status)?;
        let Some(check) = checked else {
            return Err(Status::not_found(format!(
                "{placeholder} is not a placeholder of this session (it would stay literal text and never resolve)"
            )));
        };
        Ok(Response::new(pb::CheckFlowResponse {
            allowed: check.decision.allowed,
            policy_ids: check.decision.policy_ids,
            reason: check.decision.reason,
            kind: check.outbound.kind,
            source: check.outbound.source,
        }))
    }

    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let call = Call::of(request)?;
        let session = setup::new_session_id();
        tracing::info!(agent = %call.agent, session = %session, "session created");
        Ok(Response::new(pb::CreateSessionResponse { session }))
    }

    async fn purge_session(
        &self,
        request: Request<pb::PurgeSessionRequest>,
    ) -> Result<Response<pb::PurgeSessionResponse>, Status> {
        let call = Call::of(request)?;
        let session = required_session(call.message.session.clone())?;
        let tokenizer = self.broker.tokenizer().clone();
        let s = session.clone();
        let purged = call
            .within(blocking(move || tokenizer.vault().purge_session(&s)))
            .await??;
        tracing::info!(agent = %call.agent, session = %session, purged, "session purged");
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
    fn destinations_need_a_server_and_a_tool() {
        assert_eq!(
            destination("crm/updateLead").ok(),
            Some(("crm", "updateLead"))
        );
        for bad in ["crm", "/x", "crm/", ""] {
            assert!(destination(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_json_is_invalid_argument_without_echoing_the_input() {
        let status = parse_json("{\"email\": \"a@b.io\"", "arguments_json").expect_err("bad");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(!status.message().contains("a@b.io"), "{}", status.message());
    }
}
