//! Broker results → gRPC: typed errors become status codes with `google.rpc` details, and
//! outcomes and events become their protobuf messages. Matched by type, never by text.

use std::collections::HashMap;

use sandbox_host::{ErrorKind, LogEntry, LogLevel, Outcome, ToolError, ToolErrorKind};
use serde_json::Value;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, PreconditionViolation, StatusExt};

use super::pb;
use crate::flow::{BrokerError, CallDenial, CallEvent, DeniedFlow, FlowDenial};

/// The `ErrorInfo.domain` of Sluice's error details.
pub const ERROR_DOMAIN: &str = "sluice.v1";

/// The status for a broker failure.
pub(super) fn status(error: BrokerError) -> Status {
    match error {
        BrokerError::Invalid(e) => Status::invalid_argument(e.message),
        BrokerError::UnknownSession
        | BrokerError::UnknownPlaceholder(_)
        | BrokerError::UnknownServer(_) => Status::not_found(error.to_string()),
        BrokerError::CallDenied(denial) => call_denied(&denial),
        BrokerError::FlowDenied(denial) => flow_denied(&denial),
        BrokerError::Unavailable(message) => Status::unavailable(message),
        BrokerError::Busy { .. } => Status::resource_exhausted(error.to_string()),
        BrokerError::Tool(message) => Status::unknown(message),
        BrokerError::Vault(e) if e.is_unavailable() => {
            tracing::error!(error = %e, "the store is unavailable");
            Status::unavailable(format!("the vault is unavailable: {e}"))
        }
        BrokerError::Vault(e) => {
            tracing::error!(error = %e, "vault failure");
            Status::internal(format!("the vault failed: {e}"))
        }
        BrokerError::Audit(message) | BrokerError::Internal(message) => Status::internal(message),
    }
}

/// PERMISSION_DENIED for a refused flow, with `ErrorInfo` (reason `FLOW_DENIED`; metadata
/// destination, placeholders, kinds, sources, policies) and one `PreconditionFailure`
/// violation per denied group.
fn flow_denied(denial: &FlowDenial) -> Status {
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
        ("kinds".to_owned(), joined(|f| vec![f.kind.to_string()])),
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

/// PERMISSION_DENIED for a refused call, with `ErrorInfo` (reason `CALL_DENIED`; metadata
/// destination, agent and the deciding policies).
fn call_denied(denial: &CallDenial) -> Status {
    let metadata = HashMap::from([
        ("destination".to_owned(), denial.destination.clone()),
        ("agent".to_owned(), denial.agent.clone()),
        ("policies".to_owned(), denial.policy_ids.join(",")),
    ]);
    let mut details = ErrorDetails::with_error_info("CALL_DENIED", ERROR_DOMAIN, metadata);
    details.set_precondition_failure(vec![PreconditionViolation::new(
        "CALL_DENIED",
        denial.destination.clone(),
        format!(
            "{} may not call {}: {} ({})",
            denial.agent,
            denial.destination,
            denial.deciding(),
            denial.reason
        ),
    )]);
    Status::with_error_details(Code::PermissionDenied, denial.to_string(), details)
}

/// Parses a JSON request field; the error never echoes the input.
pub(super) fn parse_json(text: &str, field: &str) -> Result<Value, Status> {
    serde_json::from_str(text).map_err(|e| {
        Status::invalid_argument(format!(
            "`{field}` is not valid JSON (line {}, column {}): {}",
            e.line(),
            e.column(),
            json_error_class(&e)
        ))
    })
}

/// serde_json's error category in words (its message may quote the input).
fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
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

/// A console line as protobuf.
pub(super) fn log_entry(entry: LogEntry) -> pb::LogEntry {
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

/// An outcome as protobuf.
pub(super) fn outcome_message(outcome: Outcome) -> pb::Outcome {
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

/// A finished tool call as a stream event.
pub(super) fn tool_call_event(event: CallEvent) -> pb::ExecuteEvent {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_invalid_argument_without_echoing_the_input() {
        let status = parse_json("{\"email\": \"a@b.io\"", "arguments_json").expect_err("bad");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(!status.message().contains("a@b.io"), "{}", status.message());
    }

    #[test]
    fn a_refused_call_carries_call_denied_details() {
        let status = status(BrokerError::CallDenied(CallDenial {
            agent: "bot".into(),
            destination: "crm/deleteLead".into(),
            policy_ids: vec!["no-deletes".into()],
            reason: "denied by forbid policy no-deletes".into(),
            askable: false,
        }));
        assert_eq!(status.code(), Code::PermissionDenied);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "CALL_DENIED");
        assert_eq!(info.metadata["policies"], "no-deletes");
        assert_eq!(info.metadata["destination"], "crm/deleteLead");
    }
}
