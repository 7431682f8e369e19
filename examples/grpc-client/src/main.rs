//! An agent platform using Sluice as a gRPC sidecar: the platform keeps raw customer data
//! away from its model by tokenizing it, and lets Sluice decide where real values may go.
//!
//! CreateSession → Tokenize a text with an email (the model would see only `[EMAIL_1]`) →
//! Detokenize toward `crm/updateLead` (allowed: internal → internal) and toward
//! `chat/postMessage` (denied: chat is external; prints the PERMISSION_DENIED explanation)
//! → CallTool `crm.updateLead` with the placeholder (Sluice substitutes the real value on
//! the way out and tokenizes the result on the way back).
//!
//! Run it against `sluice serve` with `examples/grpc-sidecar.toml`, from the repository root:
//!
//! ```sh
//! cargo build -p sluice -p sluice-example-servers
//! PATH="$PWD/target/debug:$PATH" target/debug/sluice serve \
//!     --config examples/grpc-sidecar.toml --grpc 127.0.0.1:50051 &
//! cargo run -p sluice-grpc-client -- http://127.0.0.1:50051
//! ```
//!
//! With agent keys configured, pass the key in `SLUICE_API_KEY`; it is sent as
//! `authorization: Bearer <key>`.

use anyhow::{Context, bail};
use sluice::front::grpc::pb;
use sluice::front::grpc::pb::broker_client::BrokerClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// The text a platform received from a user or a system, before the model sees it.
const TEXT: &str =
    "Please follow up with amelia.hartley@northwind-logistics.co.uk about the Q4 order.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let bearer = match std::env::var("SLUICE_API_KEY") {
        Ok(key) => Some(
            MetadataValue::try_from(format!("Bearer {key}"))
                .context("SLUICE_API_KEY is not valid in a header")?,
        ),
        Err(_) => None,
    };
    let channel = Channel::from_shared(addr.clone())
        .with_context(|| format!("{addr} is not a valid URI"))?
        .connect()
        .await
        .with_context(|| format!("cannot connect to Sluice at {addr}"))?;
    // Every call carries the API key, if any, as `authorization: Bearer <key>`.
    let mut client = BrokerClient::with_interceptor(channel, move |mut request: Request<()>| {
        if let Some(bearer) = &bearer {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        Ok(request)
    });

    let session = client
        .create_session(pb::CreateSessionRequest {})
        .await?
        .into_inner()
        .session;
    println!("session: {session}");

    let tokenized = client
        .tokenize(pb::TokenizeRequest {
            session: session.clone(),
            source: "sheets".into(),
            input: Some(pb::tokenize_request::Input::Text(TEXT.into())),
            tool: String::new(),
        })
        .await?
        .into_inner();
    let Some(pb::tokenize_response::Output::Text(safe)) = tokenized.output else {
        bail!("Tokenize answered without text");
    };
    println!("what the model sees: {safe}");
    let Some(placeholder) = safe.split_whitespace().find(|w| w.starts_with("[EMAIL_")) else {
        bail!("no email placeholder in {safe:?}");
    };

    for destination in ["crm/updateLead", "chat/postMessage"] {
        let answer = client
            .detokenize(pb::DetokenizeRequest {
                session: session.clone(),
                destination: destination.into(),
                input: Some(pb::detokenize_request::Input::Text(placeholder.into())),
            })
            .await;
        match answer {
            Ok(resolved) => match resolved.into_inner().output {
                Some(pb::detokenize_response::Output::Text(value)) => {
                    println!("toward {destination}: {placeholder} → {value}")
                }
                other => bail!("unexpected Detokenize output {other:?}"),
            },
            Err(status) if status.code() == Code::PermissionDenied => {
                println!("toward {destination}: denied: {}", status.message())
            }
            Err(status) => return Err(status.into()),
        }
    }

    let args = serde_json::json!({ "id": "CRM-1001", "email": placeholder, "status": "contacted" });
    let called = client
        .call_tool(pb::CallToolRequest {
            session: session.clone(),
            server: "crm".into(),
            tool: "updateLead".into(),
            arguments_json: args.to_string(),
        })
        .await?
        .into_inner();
    match called.error {
        Some(error) => println!("crm.updateLead failed: {error}"),
        None => println!(
            "crm.updateLead returned (tokenized): {}",
            called.result_json
        ),
    }
    Ok(())
}
