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

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::{Request, Status};

use crate::auth::Principals;
use crate::flow::Broker;
use crate::tls::ServerTls;

mod approve;
mod gate;
mod service;
mod status;

use service::Service;
pub use status::ERROR_DOMAIN;

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

/// How often an idle connection is pinged, and how long the peer has to answer before the
/// connection is closed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How much earlier than the client's deadline the broker gives up: enough to send
/// DEADLINE_EXCEEDED before the transport cancels the call. A tenth of the deadline, at
/// most this much.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

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
        let broker = BrokerServer::new(Service::new(self.broker))
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        let broker = tonic::service::interceptor::InterceptedService::new(
            broker,
            Authenticator {
                principals: self.principals,
            },
        );
        // Connections that say nothing are closed (see `gate`); after the opening, a peer
        // that stops answering HTTP/2 pings is dropped.
        let incoming = gate::gate(listener);
        let mut server = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT));
        if let Some(tls) = &self.tls {
            server = server.tls_config(tls.grpc())?;
        }
        server
            .trace_fn(|request| {
                let span = tracing::info_span!("grpc", path = %request.uri().path());
                crate::telemetry::continue_trace(&span, request.headers());
                span
            })
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
pub(crate) struct Agent(pub(crate) String);

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
