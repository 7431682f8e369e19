//! `crm-server`: lookups, durable updates, `--dump`, and errors.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{CRM, HttpServer, call_err, call_ok, names, stdio, tools_with_schemas};

/// Runs `crm-server --db DIR --dump` and parses what it prints.
async fn dump(db: &Path) -> Value {
    let output = tokio::process::Command::new(CRM)
        .args(["--db", db.to_str().unwrap(), "--dump"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn lead<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn crm_tools_have_described_input_and_output_schemas() {
    let client = stdio(CRM, &[]).await;
    let tools = tools_with_schemas(&client).await;
    assert_eq!(
        names(&tools),
        ["getLead", "listLeads", "searchLeads", "updateLead"]
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn new_database_is_seeded_with_stale_contact_data() {
    let client = stdio(CRM, &[]).await;
    let all = call_ok(&client, "listLeads", json!({})).await;
    assert_eq!(all["leads"].as_array().unwrap().len(), 12);
    let amelia = call_ok(&client, "getLead", json!({"id": "CRM-1001"})).await;
    assert_eq!(amelia["name"], "Amelia Hartley");
    assert_eq!(amelia["phone"], Value::Null);
    assert_ne!(amelia["email"], "amelia.hartley@northwind-logistics.co.uk");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn search_leads_matches_name_company_and_email_case_insensitively() {
    let client = stdio(CRM, &[]).await;
    let found = call_ok(&client, "searchLeads", json!({"query": "kieler"})).await;
    assert_eq!(found["leads"][0]["id"], "CRM-1011");
    let found = call_ok(&client, "searchLeads", json!({"query": "HARTLEY"})).await;
    assert_eq!(found["leads"].as_array().unwrap().len(), 1);
    let none = call_ok(&client, "searchLeads", json!({"query": "no such lead"})).await;
    assert_eq!(none, json!({"leads": []}));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn update_persists_across_restart_and_shows_in_dump() {
    let db = tempfile::tempdir().unwrap();
    let db_arg = db.path().to_str().unwrap();

    let client = stdio(CRM, &["--db", db_arg]).await;
    let updated = call_ok(
        &client,
        "updateLead",
        json!({
            "id": "CRM-1001",
            "email": "amelia.hartley@northwind-logistics.co.uk",
            "phone": "+44 20 7946 0958",
            "status": "contacted",
            "note": "synced from q4-leads"
        }),
    )
    .await;
    assert_eq!(updated["email"], "amelia.hartley@northwind-logistics.co.uk");
    assert_eq!(updated["notes"], json!(["synced from q4-leads"]));
    client.cancel().await.unwrap();

    let restarted = stdio(CRM, &["--db", db_arg]).await;
    let after = call_ok(&restarted, "getLead", json!({"id": "CRM-1001"})).await;
    assert_eq!(after, updated);
    // Cancelling closes the child's stdin and waits for it to exit, releasing sled's lock.
    restarted.cancel().await.unwrap();

    let dumped = dump(db.path()).await;
    assert_eq!(lead(&dumped, "CRM-1001"), &updated);
    assert_eq!(dumped["leads"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn unknown_lead_id_is_a_tool_error() {
    let client = stdio(CRM, &[]).await;
    let message = call_err(&client, "getLead", json!({"id": "CRM-9999"})).await;
    assert!(
        message.contains("no lead with id \"CRM-9999\""),
        "{message}"
    );
    let message = call_err(
        &client,
        "updateLead",
        json!({"id": "CRM-9999", "status": "new"}),
    )
    .await;
    assert!(message.contains("CRM-9999"), "{message}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn update_refuses_unresolved_placeholders_and_empty_updates() {
    let client = stdio(CRM, &[]).await;
    let message = call_err(
        &client,
        "updateLead",
        json!({"id": "CRM-1002", "email": "[EMAIL_1]"}),
    )
    .await;
    assert!(message.contains("not an email address"), "{message}");
    let message = call_err(
        &client,
        "updateLead",
        json!({"id": "CRM-1002", "phone": "[PHONE_1]"}),
    )
    .await;
    assert!(message.contains("not a phone number"), "{message}");
    let message = call_err(&client, "updateLead", json!({"id": "CRM-1002"})).await;
    assert!(message.contains("nothing to update"), "{message}");
    let unchanged = call_ok(&client, "getLead", json!({"id": "CRM-1002"})).await;
    assert_eq!(unchanged["email"], Value::Null);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn crm_over_http_shares_one_database_between_sessions() {
    let db = tempfile::tempdir().unwrap();
    let server = HttpServer::start(CRM, &["--db", db.path().to_str().unwrap()]).await;
    let writer = server.client().await;
    let reader = server.client().await;
    tools_with_schemas(&reader).await;
    call_ok(
        &writer,
        "updateLead",
        json!({"id": "CRM-1011", "email": "lena.schmidt@kieler-werft.de"}),
    )
    .await;
    let seen = call_ok(&reader, "getLead", json!({"id": "CRM-1011"})).await;
    assert_eq!(seen["email"], "lena.schmidt@kieler-werft.de");
    let message = call_err(&reader, "getLead", json!({"id": "nope"})).await;
    assert!(message.contains("nope"), "{message}");
    writer.cancel().await.unwrap();
    reader.cancel().await.unwrap();
}

#[tokio::test]
async fn dump_of_a_database_in_use_fails_with_a_clear_message() {
    let db = tempfile::tempdir().unwrap();
    let _server = HttpServer::start(CRM, &["--db", db.path().to_str().unwrap()]).await;
    let output = tokio::process::Command::new(CRM)
        .args(["--db", db.path().to_str().unwrap(), "--dump"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another crm-server"), "{stderr}");
}
