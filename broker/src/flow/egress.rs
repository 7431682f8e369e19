//! Egress: before a tool call leaves the broker, every placeholder in its arguments is
//! found (anywhere in nested JSON, inside longer strings, in keys), checked with Cedar's
//! `flow` action, and — only if every one is permitted — replaced by its real value.
//!
//! Deny by default (invariant 2): a placeholder minted in this session becomes its value
//! only if a flow policy permits (principal, kind, source → destination tool, where in the
//! arguments, and safe facts about the value such as an email's domain). One denied
//! placeholder fails the whole call; the backend is not called. Text that looks like a
//! placeholder but was not minted in this session (another session's, a forged or an
//! unknown one) is not a placeholder here and stays literal text: it never resolves.

use std::collections::HashMap;
use std::fmt;

use detectors::{Detectors, Kind};
use serde_json::{Map, Value};

use super::error::{DeniedFlow, FlowDenial};
pub use crate::policy::ValueFacts;
use crate::policy::{CallFacts, Decision, FlowRequest, PolicyStore, Restored};
use crate::vault::{Placeholder, Resolved, Vault, VaultError, find_placeholders};

/// A minted placeholder found in a call's arguments. `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The placeholder, e.g. `[EMAIL_1]`.
    pub placeholder: Placeholder,
    /// Where in the arguments it sits, e.g. `to[0]` or `body`.
    pub arg_path: String,
    /// Its kind, from the vault record.
    pub kind: String,
    /// The server its value came from.
    pub source: String,
    /// The tool its value was first read from (`server/tool`), if recorded.
    pub source_tool: Option<String>,
    /// Where in that tool's result, e.g. `contacts[0].email`, if recorded.
    pub source_path: Option<String>,
    /// The raw value (never logged, never returned to the sandbox).
    value: String,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("placeholder", &self.placeholder)
            .field("arg_path", &self.arg_path)
            .field("kind", &self.kind)
            .field("source", &self.source)
            .field("source_tool", &self.source_tool)
            .field("source_path", &self.source_path)
            .finish_non_exhaustive()
    }
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
            found.push(Outbound::new(placeholder, path.to_string(), resolved));
        }
    }
    Ok(())
}

impl Outbound {
    fn new(placeholder: Placeholder, arg_path: String, resolved: Resolved) -> Outbound {
        let Resolved {
            value,
            kind,
            source,
            source_tool,
            source_path,
            ..
        } = resolved;
        Outbound {
            placeholder,
            arg_path,
            kind,
            source,
            source_tool,
            source_path,
            value,
        }
    }
}

/// A call's minted placeholders, resolved, and the facts about the whole call (gathered
/// only when some policy reads them).
#[derive(Debug, Default)]
pub struct Prepared {
    /// Every minted placeholder of the arguments.
    pub outbound: Vec<Outbound>,
    /// The call's facts (`context.call`), if some policy reads them.
    pub facts: Option<CallFacts>,
}

/// Resolves the placeholders of `args` and, if the policies read them, the call's facts.
pub fn prepare(
    vault: &Vault,
    detectors: &Detectors,
    policy: &PolicyStore,
    session: &str,
    dest: Destination<'_>,
    args: &Value,
) -> Result<Prepared, VaultError> {
    let outbound = outbound(vault, session, args)?;
    let facts = policy
        .needs_call_facts(dest.server, dest.tool)
        .then(|| call_facts(detectors, args, &outbound));
    Ok(Prepared { outbound, facts })
}

/// The facts of a call whose minted placeholders are `outbound`.
pub fn call_facts(detectors: &Detectors, args: &Value, outbound: &[Outbound]) -> CallFacts {
    let restored: HashMap<String, Restored<'_>> = outbound
        .iter()
        .map(|o| {
            (
                o.placeholder.to_string(),
                Restored {
                    kind: &o.kind,
                    value: &o.value,
                },
            )
        })
        .collect();
    CallFacts::gather(detectors, args, &restored)
}

/// One placeholder's flow decision.
#[derive(Debug, Clone)]
pub struct FlowCheck {
    /// The placeholder and where it sits.
    pub outbound: Outbound,
    /// What the policy said.
    pub decision: Decision,
}

/// The checked flows of one call: a decision per placeholder occurrence, and the values
/// to substitute if all were allowed.
#[derive(Debug, Default)]
pub struct Egress {
    /// Every placeholder occurrence in the arguments, with its decision.
    pub checks: Vec<FlowCheck>,
}

impl Egress {
    /// The flows that were denied (empty: the call may go ahead).
    pub fn denied(&self) -> Vec<&FlowCheck> {
        self.checks.iter().filter(|c| !c.decision.allowed).collect()
    }

    /// Whether every flow was allowed.
    pub fn allowed(&self) -> bool {
        self.checks.iter().all(|c| c.decision.allowed)
    }

    /// The values that substitution restores: (placeholder, kind, value) of each allowed
    /// flow.
    pub fn restored(&self) -> impl Iterator<Item = (&Placeholder, &str, &str)> {
        self.checks.iter().filter(|c| c.decision.allowed).map(|c| {
            (
                &c.outbound.placeholder,
                c.outbound.kind.as_str(),
                c.outbound.value.as_str(),
            )
        })
    }

    /// `args` with every checked placeholder replaced by its value. Only call when
    /// [`Egress::allowed`]; unchecked placeholder-shaped text stays as it is.
    pub fn substitute(&self, args: Value) -> Value {
        if self.checks.is_empty() {
            return args;
        }
        let values: HashMap<String, &str> = self
            .checks
            .iter()
            .filter(|c| c.decision.allowed)
            .map(|c| {
                (
                    c.outbound.placeholder.to_string(),
                    c.outbound.value.as_str(),
                )
            })
            .collect();
        substitute_value(args, &values)
    }
}

/// Who sends, and where to: the fixed part of every flow request of one call.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// The principal.
    pub agent: &'a str,
    /// The destination server.
    pub server: &'a str,
    /// The destination tool.
    pub tool: &'a str,
}

/// Finds every minted placeholder in `args` and decides its flow toward `dest`.
pub fn check(
    vault: &Vault,
    detectors: &Detectors,
    policy: &PolicyStore,
    session: &str,
    dest: Destination<'_>,
    args: &Value,
) -> Result<Egress, VaultError> {
    let prepared = prepare(vault, detectors, policy, session, dest, args)?;
    Ok(check_prepared(detectors, policy, dest, prepared))
}

/// Decides the flow of every placeholder of a [`Prepared`] call toward `dest`.
pub fn check_prepared(
    detectors: &Detectors,
    policy: &PolicyStore,
    dest: Destination<'_>,
    prepared: Prepared,
) -> Egress {
    let Prepared { outbound, facts } = prepared;
    let checks = outbound
        .into_iter()
        .map(|outbound| {
            let decision = decide(detectors, policy, dest, &outbound, facts.as_ref());
            FlowCheck { outbound, decision }
        })
        .collect();
    Egress { checks }
}

/// The flow decision for one placeholder of `session` toward `dest`, as if it sat at
/// `arg_path` in that tool's arguments (a what-if question: nothing is resolved or
/// audited). `None` when it is not a placeholder of `session`: it would stay literal text.
pub fn check_placeholder(
    vault: &Vault,
    detectors: &Detectors,
    policy: &PolicyStore,
    session: &str,
    dest: Destination<'_>,
    placeholder: &Placeholder,
    arg_path: &str,
) -> Result<Option<FlowCheck>, VaultError> {
    let Some(resolved) = vault.resolve_placeholder(session, placeholder)? else {
        return Ok(None);
    };
    let outbound = Outbound::new(placeholder.clone(), arg_path.to_owned(), resolved);
    // A what-if for one placeholder: the call it would be part of is just this value.
    let facts = policy.needs_call_facts(dest.server, dest.tool).then(|| {
        let mut args = Value::String(placeholder.to_string());
        if let Some(key) = arg_path.split(['.', '[']).next().filter(|k| !k.is_empty()) {
            args = Value::Object(Map::from_iter([(key.to_owned(), args)]));
        }
        call_facts(detectors, &args, std::slice::from_ref(&outbound))
    });
    let decision = decide(detectors, policy, dest, &outbound, facts.as_ref());
    Ok(Some(FlowCheck { outbound, decision }))
}

/// One `flow` decision, with the safe facts about the value and the call in the context.
pub fn decide(
    detectors: &Detectors,
    policy: &PolicyStore,
    dest: Destination<'_>,
    outbound: &Outbound,
    call: Option<&CallFacts>,
) -> Decision {
    let kind = Kind::from_name(&outbound.kind);
    let facts = ValueFacts::of(detectors, &kind, &outbound.value);
    let placeholder = outbound.placeholder.to_string();
    policy.authorize_flow(&FlowRequest {
        agent: dest.agent,
        server: dest.server,
        tool: dest.tool,
        kind: &outbound.kind,
        source: &outbound.source,
        placeholder: &placeholder,
        arg_path: &outbound.arg_path,
        email_domain: facts.email_domain.as_deref(),
        phone_country: facts.phone_country,
        source_tool: outbound.source_tool.as_deref(),
        source_path: outbound.source_path.as_deref(),
        call,
    })
}

/// The refusal for `denied` checks toward `server/tool`: one [`DeniedFlow`] per group of
/// placeholders with the same kind, source, argument path and deciding policies.
pub fn denial(denied: &[&FlowCheck], server: &str, tool: &str) -> FlowDenial {
    let mut flows: Vec<DeniedFlow> = Vec::new();
    for c in denied {
        let o = &c.outbound;
        let arg_path = if o.arg_path.is_empty() {
            ".".to_owned()
        } else {
            o.arg_path.clone()
        };
        let placeholder = o.placeholder.to_string();
        let kind = Kind::from_name(&o.kind);
        let same = |f: &&mut DeniedFlow| {
            f.kind == kind
                && f.source == o.source
                && f.arg_path == arg_path
                && f.policy_ids == c.decision.policy_ids
                && f.reason == c.decision.reason
        };
        match flows.iter_mut().find(same) {
            Some(flow) if !flow.placeholders.contains(&placeholder) => {
                flow.placeholders.push(placeholder)
            }
            Some(_) => {}
            None => flows.push(DeniedFlow {
                placeholders: vec![placeholder],
                kind,
                source: o.source.clone(),
                arg_path,
                policy_ids: c.decision.policy_ids.clone(),
                reason: c.decision.reason.clone(),
                askable: false,
            }),
        }
    }
    FlowDenial {
        destination: format!("{server}/{tool}"),
        flows,
    }
}

fn substitute_value(value: Value, values: &HashMap<String, &str>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute_text(s, values)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| substitute_value(v, values))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (substitute_text(k, values), substitute_value(v, values)))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

/// `text` with each placeholder in `values` replaced by its value.
pub(crate) fn substitute_text(text: String, values: &HashMap<String, &str>) -> String {
    let mut out: Option<String> = None;
    let mut copied = 0;
    for (range, placeholder) in find_placeholders(&text) {
        let Some(value) = values.get(&placeholder.to_string()) else {
            continue;
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
        buf.push_str(&text[copied..range.start]);
        buf.push_str(value);
        copied = range.end;
    }
    match out {
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            buf
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_replaces_only_known_placeholders_inside_longer_text() {
        let values = HashMap::from([("[EMAIL_1]".to_owned(), "a@b.io")]);
        let text = "to [EMAIL_1], not [EMAIL_2] or ⟦EMAIL_1⟧".to_owned();
        assert_eq!(
            substitute_text(text, &values),
            "to a@b.io, not [EMAIL_2] or ⟦EMAIL_1⟧"
        );
        let args = serde_json::json!({"[EMAIL_1]": ["x [EMAIL_1]", 3]});
        assert_eq!(
            substitute_value(args, &values),
            serde_json::json!({"a@b.io": ["x a@b.io", 3]})
        );
    }
}
