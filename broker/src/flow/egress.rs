//! Egress: before a tool call leaves the broker, every placeholder in its arguments is
//! found (anywhere in nested JSON, inside longer strings, in keys) and checked.
//!
//! Deny by default (invariant 2): a placeholder minted in this session becomes its value
//! only if a flow policy permits (principal, kind, source → destination tool). The Cedar
//! policy engine is not wired in yet, so no flow is permitted: any call carrying a minted
//! placeholder fails with `policy_denied` and the backend is not called. Text that looks
//! like a placeholder but was not minted in this session (another session's, a forged or
//! an unknown one) is not a placeholder here and stays literal text: it never resolves.

use serde_json::Value;

use crate::vault::{Placeholder, Vault, VaultError, find_placeholders};

/// A minted placeholder found in a call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The placeholder, e.g. `[EMAIL_1]`.
    pub placeholder: Placeholder,
    /// Where in the arguments it sits, e.g. `to[0]` or `body`.
    pub arg_path: String,
    /// Its kind, from the vault record.
    pub kind: String,
    /// The server its value came from.
    pub source: String,
}

/// Every placeholder in `args` that resolves in `session`, with its path and provenance.
pub fn outbound(vault: &Vault, session: &str, args: &Value) -> Result<Vec<Outbound>, VaultError> {
    let mut found = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), args)];
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::String(s) => collect(vault, session, &path, s, &mut found)?,
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), item));
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter().rev() {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    collect(vault, session, &child, key, &mut found)?;
                    stack.push((child, item));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    Ok(found)
}

fn collect(
    vault: &Vault,
    session: &str,
    path: &str,
    text: &str,
    found: &mut Vec<Outbound>,
) -> Result<(), VaultError> {
    for (_, placeholder) in find_placeholders(text) {
        if let Some(resolved) = vault.resolve_placeholder(session, &placeholder)? {
            found.push(Outbound {
                placeholder,
                arg_path: path.to_string(),
                kind: resolved.kind,
                source: resolved.source,
            });
        }
    }
    Ok(())
}

/// The denial message for a flow no policy permits: names the placeholder, kind, source,
/// destination and the deciding policy ("no permit").
pub fn denial(flow: &Outbound, server: &str, tool: &str) -> String {
    format!(
        "flow denied: {} ({} from server '{}', at argument `{}`) may not go to {server}/{tool}: no permit (no flow policy allows it)",
        flow.placeholder, flow.kind, flow.source, flow.arg_path
    )
}
