//! Execute round trip of a trivial program over each front, with the in-process execute
//! measured in the same run as the baseline: gRPC (tonic client → `sluice.v1.Broker/Execute`
//! on loopback), the same over TLS, and MCP over streamable HTTP (rmcp client →
//! `tools/call execute`).
//!
//! `cargo bench -p sluice --bench fronts`

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use sluice::auth::Principals;
use sluice::config::Config;
use sluice::flow::{Broker, ExecuteRequest, SessionId};
use sluice::front::grpc::GrpcFront;
use sluice::front::grpc::pb;
use sluice::front::{self, mcp::McpHttp};

// The `sluice` binary's allocator (broker/src/main.rs): the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    eprintln!(
        "{name}: p50 {:.1} µs, p99 {:.1} µs ({} samples)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples.len()
    );
    at(0.5)
}

/// A server identity for `localhost` signed by a fresh CA: (server TLS, CA PEM).
fn bench_tls(dir: &std::path::Path) -> (sluice::tls::ServerTls, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let ca_pem = ca
        .self_signed(&ca_key)
        .unwrap_or_else(|e| panic!("{e}"))
        .pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .and_then(|p| p.signed_by(&key, &issuer))
        .unwrap_or_else(|e| panic!("{e}"));
    let (cert_path, key_path) = (dir.join("bench.pem"), dir.join("bench-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&key_path, key.serialize_pem()).unwrap_or_else(|e| panic!("{e}"));
    let config = sluice::config::TlsConfig {
        cert: cert_path,
        key: key_path,
        client_ca: None,
    };
    let tls = sluice::tls::ServerTls::load(&config).unwrap_or_else(|e| panic!("{e}"));
    (tls, ca_pem)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let samples = if quick { 20 } else { 3_000 };
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "data_dir = {:?}\n[auth]\nanonymous = \"bench\"\n",
        data.path().to_str().unwrap_or_default()
    );
    let config =
        Config::parse(&text, std::path::Path::new("bench.toml")).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let broker = Arc::new(Broker::from_config(&config).unwrap_or_else(|e| panic!("{e}")));
        let principals = Principals::from_config(&config).unwrap_or_else(|e| panic!("{e}"));
        let (trigger, shutdown) = front::shutdown_signal();
        const CODE: &str = "return 1;";

        let session = SessionId::parse("bench").unwrap_or_else(|e| panic!("{e}"));
        let request = || ExecuteRequest {
            agent: "bench".into(),
            session: Some(session.clone()),
            code: CODE.into(),
            timeout_ms: None,
            deadline: None,
        };
        let mut local = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let o = broker.execute(request(), None).await;
            local.push(t.elapsed());
            assert!(matches!(&o, Ok(e) if e.outcome.error.is_none()), "{o:?}");
        }
        let base = report("in-process Broker::execute (baseline)", local);

        // gRPC on loopback.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr: SocketAddr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let grpc = GrpcFront::new(Arc::clone(&broker), principals.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            grpc.serve_listener(listener, async move { stop.wait().await })
                .await
        });
        let mut client = pb::broker_client::BrokerClient::connect(format!("http://{addr}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let request = || pb::ExecuteRequest {
            code: CODE.into(),
            session: "bench-grpc".into(),
            timeout_ms: None,
        };
        for _ in 0..50 {
            let _ = client.execute(request()).await;
        }
        let mut grpc_samples = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let r = client.execute(request()).await;
            grpc_samples.push(t.elapsed());
            assert!(r.is_ok(), "{r:?}");
        }
        let g = report("gRPC Execute round trip", grpc_samples);

        // The same over TLS (an rcgen certificate; the channel's handshake is done once).
        let tls = bench_tls(data.path());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let tls_addr: SocketAddr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let grpc_tls = GrpcFront::new(Arc::clone(&broker), principals.clone()).with_tls(tls.0);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            grpc_tls
                .serve_listener(listener, async move { stop.wait().await })
                .await
        });
        let channel = tonic::transport::Channel::from_shared(format!("https://{tls_addr}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(tls.1))
                    .domain_name("localhost"),
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tls_client = pb::broker_client::BrokerClient::new(channel);
        for _ in 0..50 {
            let _ = tls_client.execute(request()).await;
        }
        let mut tls_samples = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let r = tls_client.execute(request()).await;
            tls_samples.push(t.elapsed());
            assert!(r.is_ok(), "{r:?}");
        }
        let gt = report("gRPC over TLS Execute round trip", tls_samples);

        // MCP over streamable HTTP on loopback.
        let http = McpHttp::bind(
            Arc::clone(&broker),
            principals,
            "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let url = http.url();
        let stop = shutdown.clone();
        tokio::spawn(async move { http.serve(stop).await });
        sluice::tls::install_crypto_provider();
        let mcp =
            ().serve(StreamableHttpClientTransport::from_uri(url))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let call = || {
            let mut args = serde_json::Map::new();
            args.insert("code".into(), CODE.into());
            CallToolRequestParams::new("execute").with_arguments(args)
        };
        for _ in 0..50 {
            let _ = mcp.call_tool(call()).await;
        }
        let mut mcp_samples = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            let r = mcp.call_tool(call()).await;
            mcp_samples.push(t.elapsed());
            assert!(r.is_ok_and(|r| r.is_error != Some(true)));
        }
        let m = report(
            "MCP streamable HTTP tools/call execute round trip",
            mcp_samples,
        );
        eprintln!(
            "front cost over in-process: gRPC +{:.1} µs ({:.2}x), gRPC+TLS +{:.1} µs ({:.2}x), MCP HTTP +{:.1} µs ({:.2}x)",
            (g.as_secs_f64() - base.as_secs_f64()) * 1e6,
            g.as_secs_f64() / base.as_secs_f64(),
            (gt.as_secs_f64() - base.as_secs_f64()) * 1e6,
            gt.as_secs_f64() / base.as_secs_f64(),
            (m.as_secs_f64() - base.as_secs_f64()) * 1e6,
            m.as_secs_f64() / base.as_secs_f64(),
        );
        let _ = mcp.cancel().await;
        trigger.fire();
        broker.shutdown().await;
    });
}
