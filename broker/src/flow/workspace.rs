//! The sandbox's `workspace`: JSON values a program keeps between executes, per session
//! and agent. Every value and key is scanned like a program's outcome before it is stored
//! (values the session already holds become their placeholders; any other detected value
//! is minted with source `sandbox`), so nothing raw is ever written; the vault seals it.
//! Limits per value and per session give the program a clear error and write nothing.
//!
//! Only the executes of the session's owner reach this (the broker checks ownership before
//! the program starts); a purge of the session erases it.

use sandbox_host::ToolError;
use serde_json::{Value, json};

use super::blocking;
use super::ingress::Tokenizer;
use super::request::CallContext;
use super::scan;
use crate::vault::MAX_WORKSPACE_KEY_LEN;

/// Default largest value of one key, in bytes of JSON.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 64 * 1024;
/// Default most keys of one session's workspace.
pub const DEFAULT_MAX_KEYS: usize = 1000;

/// `[workspace]` limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceLimits {
    /// Largest value of one key, in bytes of JSON.
    pub max_value_bytes: usize,
    /// Most keys one session's workspace holds.
    pub max_keys: usize,
}

impl Default for WorkspaceLimits {
    fn default() -> Self {
        WorkspaceLimits {
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }
}

/// Answers one `workspace.<op>` of a program.
pub(crate) async fn serve(
    tokenizer: &Tokenizer,
    limits: WorkspaceLimits,
    context: &CallContext,
    op: &str,
    args: Value,
) -> Result<Value, ToolError> {
    let key = match args.get("key") {
        Some(Value::String(key)) => Some(key.clone()),
        Some(_) => {
            return Err(ToolError::tool(format!(
                "workspace.{op}(key): the key must be a string"
            )));
        }
        None => None,
    };
    let key = |op: &str| -> Result<String, ToolError> {
        let key = key
            .clone()
            .ok_or_else(|| ToolError::tool(format!("workspace.{op}(key): the key is missing")))?;
        if key.is_empty() || key.len() > MAX_WORKSPACE_KEY_LEN {
            return Err(ToolError::tool(format!(
                "workspace.{op}(key): a key must be 1 to {MAX_WORKSPACE_KEY_LEN} bytes long"
            )));
        }
        Ok(key)
    };
    let session = context.session.clone();
    let agent = context.agent.clone();
    match op {
        "set" => {
            let key = scan::sandbox_text(tokenizer, &session, key("set")?)
                .await
                .map_err(withheld)?;
            let value = args.get("value").cloned().unwrap_or(Value::Null);
            let value = scan::sandbox_json(tokenizer, &session, value)
                .await
                .map_err(withheld)?;
            let text = value.to_string();
            if text.len() > limits.max_value_bytes {
                return Err(ToolError::tool(format!(
                    "workspace.set({key:?}): the value is {} bytes of JSON, over the limit of {} bytes per key ([workspace] max_value_bytes); split it over several keys or store less",
                    text.len(),
                    limits.max_value_bytes
                )));
            }
            let vault = tokenizer.vault().clone();
            let stored_key = key.clone();
            let stored = blocking(move || {
                vault.workspace_set(&session, &agent, &stored_key, &text, limits.max_keys)
            })
            .await
            .map_err(|_| internal())?
            .map_err(store_failed)?;
            if !stored {
                return Err(ToolError::tool(format!(
                    "workspace.set({key:?}): this session's workspace already holds its limit of {} keys ([workspace] max_keys); delete keys you no longer need with workspace.delete(key), or overwrite an existing key",
                    limits.max_keys
                )));
            }
            Ok(Value::Null)
        }
        "get" => {
            let key = scan::sandbox_text(tokenizer, &session, key("get")?)
                .await
                .map_err(withheld)?;
            let vault = tokenizer.vault().clone();
            let found = blocking(move || vault.workspace_get(&session, &agent, &key))
                .await
                .map_err(|_| internal())?
                .map_err(store_failed)?;
            Ok(match found {
                Some(text) => {
                    let value: Value = serde_json::from_str(&text).map_err(|_| {
                        ToolError::tool("workspace.get: the stored value is not valid JSON")
                    })?;
                    json!({ "found": true, "value": value })
                }
                None => json!({ "found": false }),
            })
        }
        "list" => {
            let prefix = match args.get("prefix") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(prefix)) => {
                    scan::sandbox_text(tokenizer, &session, prefix.clone())
                        .await
                        .map_err(withheld)?
                }
                Some(_) => {
                    return Err(ToolError::tool(
                        "workspace.list(prefix): the prefix must be a string",
                    ));
                }
            };
            let vault = tokenizer.vault().clone();
            let entries = blocking(move || vault.workspace_entries(&session, &agent))
                .await
                .map_err(|_| internal())?
                .map_err(store_failed)?;
            Ok(Value::Array(
                entries
                    .into_iter()
                    .filter(|(key, _)| key.starts_with(&prefix))
                    .map(|(key, _)| Value::String(key))
                    .collect(),
            ))
        }
        "delete" => {
            let key = scan::sandbox_text(tokenizer, &session, key("delete")?)
                .await
                .map_err(withheld)?;
            let vault = tokenizer.vault().clone();
            let deleted = blocking(move || vault.workspace_delete(&session, &agent, &key))
                .await
                .map_err(|_| internal())?
                .map_err(store_failed)?;
            Ok(Value::Bool(deleted))
        }
        other => Err(ToolError::tool(format!(
            "workspace.{other} does not exist; use workspace.set, get, list or delete"
        ))),
    }
}

fn withheld(e: crate::vault::VaultError) -> ToolError {
    ToolError::tool(format!(
        "the workspace could not scan what was given to it, so nothing was stored: {e}"
    ))
}

fn store_failed(e: crate::vault::VaultError) -> ToolError {
    ToolError::unavailable(format!("the workspace store failed: {e}"))
}

fn internal() -> ToolError {
    ToolError::tool("the workspace operation failed inside the broker")
}
