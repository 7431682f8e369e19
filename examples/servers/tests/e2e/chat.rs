//! `chat-server`: posting, listing, the `--log` file, and errors.

use serde_json::{Value, json};

use crate::harness::{CHAT, HttpServer, call_err, call_ok, names, stdio, tools_with_schemas};

#[tokio::test]
async fn chat_tools_have_described_input_and_output_schemas() {
    let client = stdio(CHAT, &[]).await;
    let tools = tools_with_schemas(&client).await;
    assert_eq!(names(&tools), ["listMessages", "postMessage"]);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn posted_messages_are_listed_and_appended_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chat.jsonl");
    let client = stdio(CHAT, &["--log", log.to_str().unwrap()]).await;

    let first = call_ok(
        &client,
        "postMessage",
        json!({"channel": "#sales", "text": "Synced 9 leads"}),
    )
    .await;
    assert_eq!(first, json!({"id": "msg-1", "channel": "#sales"}));
    call_ok(
        &client,
        "postMessage",
        json!({"channel": "#general", "text": "Lunch?"}),
    )
    .await;

    let all = call_ok(&client, "listMessages", json!({})).await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 2);
    let sales = call_ok(&client, "listMessages", json!({"channel": "#sales"})).await;
    assert_eq!(sales["messages"].as_array().unwrap().len(), 1);
    assert_eq!(sales["messages"][0]["text"], "Synced 9 leads");

    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["channel"], "#sales");
    assert_eq!(lines[0]["text"], "Synced 9 leads");
    assert_eq!(lines[1]["id"], "msg-2");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn empty_channel_or_text_is_a_tool_error_and_nothing_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chat.jsonl");
    let client = stdio(CHAT, &["--log", log.to_str().unwrap()]).await;
    let message = call_err(
        &client,
        "postMessage",
        json!({"channel": " ", "text": "hi"}),
    )
    .await;
    assert!(message.contains("channel must not be empty"), "{message}");
    let message = call_err(
        &client,
        "postMessage",
        json!({"channel": "#sales", "text": ""}),
    )
    .await;
    assert!(message.contains("text must not be empty"), "{message}");
    assert_eq!(
        call_ok(&client, "listMessages", json!({})).await,
        json!({"messages": []})
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn chat_over_http_shares_messages_between_sessions_and_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chat.jsonl");
    let server = HttpServer::start(CHAT, &["--log", log.to_str().unwrap()]).await;
    let poster = server.client().await;
    let reader = server.client().await;
    tools_with_schemas(&reader).await;
    call_ok(
        &poster,
        "postMessage",
        json!({"channel": "#sales", "text": "over http"}),
    )
    .await;
    let listed = call_ok(&reader, "listMessages", json!({"channel": "#sales"})).await;
    assert_eq!(listed["messages"][0]["text"], "over http");
    assert!(std::fs::read_to_string(&log).unwrap().contains("over http"));
    poster.cancel().await.unwrap();
    reader.cancel().await.unwrap();
}
