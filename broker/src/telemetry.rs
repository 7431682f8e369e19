//! OpenTelemetry traces, off unless `[telemetry] otlp_endpoint` is set: one span per
//! execute, with a child span per tool call and per policy decision, exported over OTLP
//! (HTTP/protobuf) by the SDK's batch processor on its own thread. A W3C `traceparent`
//! from a gRPC request's metadata or an MCP request's HTTP headers becomes the parent of
//! the request's span, so Sluice's spans join the caller's trace.
//!
//! What leaves: only **spans**, and only Sluice's own (`sluice::*` targets) — never log
//! events, whose text may quote a backend. Sluice's span fields are names (agent, server,
//! tool, policy ids, kinds, sources, placeholders) and outcomes, never a value, a program's
//! code or a session id; `telemetry::spans_carry_no_values` in the e2e tests guards it.
//!
//! The binary reads the command's config before it sets up logging, so the layer is in
//! the subscriber from the start ([`start`]).

use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt as _};
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::{Layer as _, Registry};

/// The service name spans are exported under unless `[telemetry] service_name` says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "sluice";

/// How long shutting down waits for the last spans to be exported.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

type SpanFilter = FilterFn<fn(&tracing::Metadata<'_>) -> bool>;

/// The tracing layer that exports spans: put it first on the registry (`Option` of it
/// when traces are off). Only Sluice's own spans pass its filter.
pub type TelemetryLayer = Filtered<OpenTelemetryLayer<Registry, SdkTracer>, SpanFilter, Registry>;

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the endpoint.
    #[error("cannot export traces to {endpoint}: {reason}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What the exporter said.
        reason: String,
    },
}

/// Only spans, and only Sluice's own: log events never leave as span events.
fn sluice_spans(metadata: &tracing::Metadata<'_>) -> bool {
    metadata.is_span() && metadata.target().starts_with("sluice")
}

/// Exports traces while alive; on drop, sends what is left and stops.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(error = %e, "the last trace spans could not be exported");
        }
    }
}

/// The OTLP traces URL for `endpoint`: the collector's base URL (as in
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) gets `/v1/traces`; a URL with a path is used as is.
pub fn traces_url(endpoint: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let has_path = trimmed
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    if has_path {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    }
}

/// Starts exporting to `endpoint` as `service_name`: the guard to keep for as long as spans
/// should be exported, and the layer to install. Call outside any async runtime (the
/// exporter's HTTP client is a blocking one, on the batch processor's own thread), before
/// the subscriber is built: a layer added later could not take a caller's `traceparent`.
pub fn start(
    endpoint: &str,
    service_name: &str,
) -> Result<(Telemetry, TelemetryLayer), TelemetryError> {
    let url = traces_url(endpoint);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: url.clone(),
            reason: e.to_string(),
        })?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let filter: SpanFilter = FilterFn::new(sluice_spans as fn(&tracing::Metadata<'_>) -> bool);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("sluice"))
        .with_filter(filter);
    Ok((Telemetry { provider }, layer))
}

/// Reads W3C trace context from HTTP headers (gRPC metadata is HTTP/2 headers too).
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Makes the caller's trace (a W3C `traceparent`, with `tracestate`, in `headers`) the
/// parent of `span`. Without a valid `traceparent`, or with traces off, nothing changes.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collector_base_url_gets_the_traces_path_and_a_full_url_is_kept() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/custom/traces"),
            "https://otel.example/custom/traces"
        );
    }
}
