//! A backend's `CallToolResult` as the sandbox sees it (DESIGN §5): `structuredContent` if
//! present, else the text content parsed as JSON when it is JSON, else the text. Images,
//! audio and resources are summarized, never dumped into the model's context.

use rmcp::model::CallToolResult;
use serde_json::Value;

/// The value a successful call resolves to, or the error message of a failed one.
pub fn to_value(result: CallToolResult) -> Result<Value, String> {
    let failed = result.is_error == Some(true);
    if !failed && let Some(structured) = result.structured_content {
        return Ok(structured);
    }
    let parts: Vec<String> = result
        .content
        .iter()
        .map(|block| match block.as_text() {
            Some(text) => text.text.clone(),
            None => summarize(&serde_json::to_value(block).unwrap_or(Value::Null)),
        })
        .collect();
    let text = parts.join("\n");
    if failed {
        return Err(if text.is_empty() {
            "the tool reported an error without a message".into()
        } else {
            text
        });
    }
    let trimmed = text.trim_start();
    if (trimmed.starts_with(['{', '[', '"']) || parts.len() == 1)
        && let Ok(value) = serde_json::from_str::<Value>(&text)
    {
        return Ok(value);
    }
    Ok(Value::String(text))
}

/// One line describing non-text content.
fn summarize(block: &Value) -> String {
    let kind = block["type"].as_str().unwrap_or("content");
    match kind {
        "image" | "audio" => {
            let mime = block["mimeType"]
                .as_str()
                .unwrap_or("application/octet-stream");
            let bytes = block["data"].as_str().map_or(0, |d| d.len() / 4 * 3);
            format!("[{kind} {mime}, about {bytes} bytes, omitted]")
        }
        "resource" => {
            let uri = block["resource"]["uri"].as_str().unwrap_or("?");
            format!("[embedded resource {uri}, omitted]")
        }
        "resource_link" => {
            let uri = block["uri"].as_str().unwrap_or("?");
            format!("[resource link {uri}]")
        }
        other => format!("[{other} content, omitted]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;
    use serde_json::json;

    fn text_result(text: &str, is_error: bool) -> CallToolResult {
        let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
        r.is_error = Some(is_error);
        r
    }

    #[test]
    fn structured_content_wins() {
        let mut r = text_result("ignored", false);
        r.structured_content = Some(json!({"rows": [1]}));
        assert_eq!(to_value(r), Ok(json!({"rows": [1]})));
    }

    #[test]
    fn json_text_is_parsed() {
        assert_eq!(
            to_value(text_result(r#"{"a":1}"#, false)),
            Ok(json!({"a": 1}))
        );
        assert_eq!(to_value(text_result("42", false)), Ok(json!(42)));
    }

    #[test]
    fn plain_text_stays_text() {
        assert_eq!(
            to_value(text_result("hello there", false)),
            Ok(json!("hello there"))
        );
    }

    #[test]
    fn is_error_becomes_an_error_message() {
        assert_eq!(
            to_value(text_result("no such lead", true)),
            Err("no such lead".into())
        );
    }

    #[test]
    fn images_are_summarized() {
        let r = CallToolResult::success(vec![ContentBlock::image("aGVsbG8gd29ybGQh", "image/png")]);
        let v = to_value(r).expect("ok");
        let s = v.as_str().expect("text");
        assert!(s.starts_with("[image image/png"), "{s}");
        assert!(!s.contains("aGVsbG8"), "{s}");
    }
}
