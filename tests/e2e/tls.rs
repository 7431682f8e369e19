//! TLS end to end: `sluice serve` with `[serve.tls]` speaks HTTPS (MCP) and gRPC over TLS
//! to clients that trust its CA, refuses plaintext, requires client certificates when
//! `client_ca` is set, refuses to start on broken TLS files, and reaches an HTTPS backend
//! through its `ca_file`. Certificates are minted per test with rcgen.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;
use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::support::{Server, run_in};

const KEY_VAR: &str = "SLUICE_E2E_TLS_KEY";
const KEY: &str = "e2e-tls-key";

/// A throwaway CA with one server certificate (for localhost and 127.0.0.1) and one
/// client certificate, written as PEM files into a directory.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: String,
    client_key: String,
}

fn mint_pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["platform.client".into()]);
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write pem");
        path
    };
    Pki {
        ca: write("ca.pem", &ca_cert.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server-key.pem", &server_key),
        client_cert,
        client_key,
    }
}

/// A config with one keyed agent and `extra` appended (e.g. a `[serve.tls]` table).
fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n[agents.platform]\napi_key_env = {KEY_VAR:?}\n\n{extra}",
        data = dir.join("data").to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

fn tls_table(pki: &Pki, mutual: bool) -> String {
    let mut table = format!(
        "[serve.tls]\ncert = {:?}\nkey = {:?}\n",
        pki.server_cert.to_str().expect("path"),
        pki.server_key.to_str().expect("path"),
    );
    if mutual {
        table.push_str(&format!(
            "client_ca = {:?}\n",
            pki.ca.to_str().expect("path")
        ));
    }
    table
}

/// `sluice serve --grpc … --http …`; returns it with the gRPC address and the MCP URL.
fn serve(dir: &Path, config: &str) -> (Server, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config", config])
        .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .current_dir(dir)
        .env(KEY_VAR, KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut grpc, mut http) = (None, None);
    while grpc.is_none() || http.is_none() {
        let line = lines
            .next()
            .expect("sluice serve printed its addresses")
            .expect("line");
        if let Some(addr) = line.strip_prefix("grpc listening on ") {
            grpc = Some(addr.to_owned());
        } else if let Some(url) = line.strip_prefix("listening on ") {
            http = Some(url.to_owned());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let (grpc, http) = (grpc.unwrap_or_default(), http.unwrap_or_default());
    (Server(child), grpc, http)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

async fn grpc_channel(addr: &str, tls: Option<ClientTlsConfig>) -> Result<Channel, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
    }
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

/// Executes `return 6 * 7` over gRPC with the API key; the outcome's result JSON.
async fn grpc_execute(channel: Channel) -> Result<String, tonic::Status> {
    let mut client = BrokerClient::new(channel);
    let mut request = tonic::Request::new(pb::ExecuteRequest {
        code: "return 6 * 7".into(),
        session: String::new(),
        timeout_ms: None,
    });
    let bearer = format!("Bearer {KEY}").parse().expect("header");
    request.metadata_mut().insert("authorization", bearer);
    let outcome = client.execute(request).await?.into_inner().outcome;
    Ok(outcome.map(|o| o.result_json).unwrap_or_default())
}

fn trusting(pki: &Pki) -> ClientTlsConfig {
    let ca = std::fs::read(&pki.ca).expect("ca");
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost")
}

fn https_client(pki: &Pki, identity: bool) -> reqwest::Client {
    sluice::tls::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).expect("ca")).expect("ca");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(20));
    if identity {
        let pem = format!("{}{}", pki.client_cert, pki.client_key);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("client")
}

#[test]
fn grpc_and_mcp_over_tls_serve_trusting_clients_and_refuse_plaintext() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = mint_pki(dir.path());
    let config = write_config(dir.path(), &tls_table(&pki, false));
    let (_sluice, grpc, url) = serve(dir.path(), &config);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    runtime().block_on(async {
        let channel = grpc_channel(&grpc, Some(trusting(&pki)))
            .await
            .expect("TLS channel");
        assert_eq!(grpc_execute(channel).await.expect("Execute"), "42");

        // Plaintext HTTP/2 to the TLS port never gets an answer.
        let plain = match grpc_channel(&grpc, None).await {
            Ok(channel) => grpc_execute(channel).await.map_err(|s| s.to_string()),
            Err(e) => Err(e),
        };
        assert!(plain.is_err(), "plaintext gRPC was served: {plain:?}");

        // A client that does not trust the CA refuses the server.
        let untrusted =
            grpc_channel(&grpc, Some(ClientTlsConfig::new().domain_name("localhost"))).await;
        let untrusted = match untrusted {
            Ok(channel) => grpc_execute(channel).await.map_err(|s| s.to_string()),
            Err(e) => Err(e),
        };
        assert!(untrusted.is_err(), "an untrusted server was accepted");

        // MCP over HTTPS: the rmcp client with a reqwest client trusting the CA.
        let transport = StreamableHttpClientTransport::with_client(
            https_client(&pki, false),
            StreamableHttpClientTransportConfig::with_uri(url.as_str()).auth_header(KEY),
        );
        let mcp = ().serve(transport).await.expect("MCP over HTTPS");
        let tools = mcp.list_all_tools().await.expect("tools/list");
        let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names, ["search", "execute"]);
        let mut args = serde_json::Map::new();
        args.insert("code".into(), "return 6 * 7".into());
        let result = mcp
            .call_tool(rmcp::model::CallToolRequestParams::new("execute").with_arguments(args))
            .await
            .expect("execute");
        let structured = result.structured_content.expect("structuredContent");
        assert_eq!(structured["result"], Value::from(42), "{structured}");
        let _ = mcp.cancel().await;

        // Plain HTTP to the HTTPS port is not an MCP endpoint.
        let plain = reqwest::Client::new()
            .post(url.replacen("https://", "http://", 1))
            .header("authorization", format!("Bearer {KEY}"))
            .body("{}")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        assert!(plain.is_err(), "plaintext HTTP was answered: {plain:?}");
    });
}

#[test]
fn with_a_client_ca_both_fronts_require_a_client_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = mint_pki(dir.path());
    let config = write_config(dir.path(), &tls_table(&pki, true));
    let (_sluice, grpc, url) = serve(dir.path(), &config);
    runtime().block_on(async {
        let anonymous = match grpc_channel(&grpc, Some(trusting(&pki))).await {
            Ok(channel) => grpc_execute(channel).await.map_err(|s| s.to_string()),
            Err(e) => Err(e),
        };
        assert!(anonymous.is_err(), "no client certificate, yet served");
        let identity = Identity::from_pem(&pki.client_cert, &pki.client_key);
        let channel = grpc_channel(&grpc, Some(trusting(&pki).identity(identity)))
            .await
            .expect("mutual TLS channel");
        assert_eq!(grpc_execute(channel).await.expect("Execute"), "42");

        let without = https_client(&pki, false).get(&url).send().await;
        assert!(
            without.is_err(),
            "HTTPS without a client certificate: {without:?}"
        );
        // With the certificate the TLS layer lets the request through to the API-key check.
        let with = https_client(&pki, true)
            .get(&url)
            .send()
            .await
            .expect("HTTPS with a client certificate");
        assert_eq!(
            with.status().as_u16(),
            401,
            "no bearer key: refused by auth"
        );
    });
}

#[test]
fn broken_tls_files_stop_serve_with_a_usage_error_naming_them() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = mint_pki(dir.path());
    let missing = dir.path().join("nope.pem");
    let cases = [
        (
            format!(
                "[serve.tls]\ncert = {missing:?}\nkey = {:?}\n",
                pki.server_key.to_str().expect("path")
            ),
            "nope.pem",
        ),
        (
            // A certificate where the key should be.
            format!(
                "[serve.tls]\ncert = {:?}\nkey = {:?}\n",
                pki.server_cert.to_str().expect("path"),
                pki.server_cert.to_str().expect("path"),
            ),
            "server.pem",
        ),
        (
            // The CA's certificate with the server's key: they do not match.
            format!(
                "[serve.tls]\ncert = {:?}\nkey = {:?}\n",
                pki.ca.to_str().expect("path"),
                pki.server_key.to_str().expect("path"),
            ),
            "not usable",
        ),
    ];
    for (table, named) in cases {
        // No keyed agent, so nothing but TLS can stop it (run_in passes no API key).
        let config = dir.path().join("broken.toml");
        std::fs::write(&config, &table).expect("write config");
        let config = config.to_str().expect("path");
        let out = run_in(
            dir.path(),
            &["serve", "--config", config, "--grpc", "127.0.0.1:0"],
            b"",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{table}\n{stderr}");
        assert!(stderr.contains("[serve.tls]"), "{stderr}");
        assert!(stderr.contains(named), "{named} not named: {stderr}");
        assert!(
            !stderr.contains("PRIVATE KEY"),
            "key material echoed: {stderr}"
        );
    }
}

#[test]
fn an_https_backend_is_reached_through_its_ca_file_and_refused_without_it() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = mint_pki(dir.path());
    // The backend: another Sluice, serving MCP over HTTPS to anonymous callers.
    let inner_dir = dir.path().join("inner");
    std::fs::create_dir(&inner_dir).expect("dir");
    let inner = write_config(
        &inner_dir,
        &format!(
            "[auth]\nanonymous = \"platform\"\n\n{}",
            tls_table(&pki, false)
        ),
    );
    let (_inner, _, url) = serve(&inner_dir, &inner);
    let program = r#"const out = await tools.inner.execute({ code: "return 6 * 7" });
                     return out.result;"#;
    let exec = |ca_file: Option<&Path>| {
        let mut table = format!("[servers.inner]\nurl = {url:?}\n");
        if let Some(ca) = ca_file {
            table.push_str(&format!("ca_file = {:?}\n", ca.to_str().expect("path")));
        }
        let config = write_config(dir.path(), &table);
        let out = run_in(
            dir.path(),
            &["exec", "--config", &config, "-"],
            program.as_bytes(),
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        serde_json::from_str::<Value>(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
    };
    let trusted = exec(Some(&pki.ca));
    assert_eq!(trusted["error"], Value::Null, "{trusted}");
    assert_eq!(trusted["result"], Value::from(42), "{trusted}");
    let untrusted = exec(None);
    assert_ne!(untrusted["error"], Value::Null, "{untrusted}");
    assert_ne!(untrusted["result"], Value::from(42), "{untrusted}");
    let message = untrusted["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("'inner' is unavailable"), "{untrusted}");
}
