//! Entity literals that name nothing: what Cedar's schema cannot catch.
//!
//! The schema knows entity *types*, so `Sluice::Kind::"EMIAL"` validates — and never
//! matches, silently weakening a policy. This check compares every literal entity of every
//! policy with the entity model (kinds and kind groups from the detectors and config,
//! servers, agents and groups from the config, tools from the backends' `tools/list`) and
//! reports the ones it does not know, at the literal's own line and column, with the
//! closest known name.
//!
//! Kinds and kind groups are a closed set (every kind the detectors can produce is in the
//! model), so an unknown one is an error. Agents, groups, servers and tools may be added to
//! the config after a policy is written, so unknown ones are warnings — and only when the
//! model names some of that category at all (checking a policy directory without a config
//! says nothing about servers or agents). It never changes a decision.

use std::collections::BTreeSet;

use super::SourceLocation;
use super::load::LoadedPolicy;
use super::model::{self, EntityModel};

/// Sources that are not configured servers but appear as a value's provenance.
const PSEUDO_SOURCES: &[&str] = &["sandbox", "grpc", "stdin"];

/// How serious an unknown literal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// It can never match anything (an unknown kind or kind group): the set is rejected.
    Error,
    /// The config does not name it now; it may be added later.
    Warning,
}

/// A literal entity in a policy that the entity model does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEntity {
    /// Error or warning.
    pub severity: Severity,
    /// The policy's `@id`.
    pub policy_id: String,
    /// Where the literal is.
    pub location: SourceLocation,
    /// The literal as written in Cedar, e.g. `Sluice::Kind::"EMIAL"`.
    pub entity: String,
    /// What kind of thing it should be, e.g. "kind".
    pub what: &'static str,
    /// The closest known name, if one is close.
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UnknownEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: policy \"{}\": {} is not a known {}",
            self.location, self.policy_id, self.entity, self.what
        )?;
        match &self.suggestion {
            Some(s) => write!(f, "; did you mean \"{s}\"?"),
            None => Ok(()),
        }?;
        if self.severity == Severity::Warning {
            write!(f, " (it matches nothing until the config names it)")?;
        }
        Ok(())
    }
}

/// Every unknown literal in `policies`, in load order.
pub(crate) fn unknown_entities(
    policies: &[LoadedPolicy],
    model: &EntityModel,
) -> Vec<UnknownEntity> {
    let kind_groups: BTreeSet<&str> = model
        .kinds
        .values()
        .flat_map(|groups| groups.iter().map(String::as_str))
        .collect();
    let groups: BTreeSet<&str> = model
        .agents
        .values()
        .flat_map(|groups| groups.iter().map(String::as_str))
        .collect();
    let servers: Vec<&str> = model
        .servers
        .keys()
        .map(String::as_str)
        .chain(PSEUDO_SOURCES.iter().copied())
        .collect();
    let mut out = Vec::new();
    for policy in policies {
        let mut seen = BTreeSet::new();
        for literal in policy.policy.entity_literals() {
            let type_name = literal.type_name().to_string();
            let id = literal.id().unescaped().to_owned();
            if !seen.insert((type_name.clone(), id.clone())) {
                continue;
            }
            let known: Vec<&str>;
            let (severity, what, candidates): (Severity, &'static str, &[&str]) = match type_name
                .as_str()
            {
                model::KIND => {
                    known = model.kinds.keys().map(String::as_str).collect();
                    (Severity::Error, "kind", &known)
                }
                model::KIND_GROUP => {
                    known = kind_groups.iter().copied().collect();
                    (Severity::Error, "kind group", &known)
                }
                model::AGENT | model::GROUP if model.agents.is_empty() => continue,
                model::SERVER | model::TOOL if model.servers.is_empty() => continue,
                model::AGENT => {
                    known = model.agents.keys().map(String::as_str).collect();
                    (Severity::Warning, "agent", &known)
                }
                model::GROUP => {
                    known = groups.iter().copied().collect();
                    (Severity::Warning, "group", &known)
                }
                model::SERVER => (Severity::Warning, "server", &servers),
                model::TOOL => {
                    let Some((server, tool)) = id.split_once('/') else {
                        continue;
                    };
                    match model.servers.get(server) {
                        // Tools are checked once the server's tools/list is known.
                        Some(info) if info.tools.is_empty() || info.tools.contains(tool) => {
                            continue;
                        }
                        Some(info) => {
                            known = info.tools.iter().map(String::as_str).collect();
                            let suggestion = crate::suggest::closest(tool, known.iter().copied())
                                .map(|t| format!("{server}/{t}"));
                            out.push(unknown(
                                policy,
                                &literal,
                                &type_name,
                                &id,
                                Severity::Warning,
                                "tool",
                                suggestion,
                            ));
                            continue;
                        }
                        None => {
                            let suggestion =
                                crate::suggest::closest(server, servers.iter().copied())
                                    .map(|s| format!("{s}/{tool}"));
                            out.push(unknown(
                                policy,
                                &literal,
                                &type_name,
                                &id,
                                Severity::Warning,
                                "tool (no such server)",
                                suggestion,
                            ));
                            continue;
                        }
                    }
                }
                _ => continue,
            };
            if candidates.contains(&id.as_str()) {
                continue;
            }
            let suggestion =
                crate::suggest::closest(&id, candidates.iter().copied()).map(str::to_owned);
            out.push(unknown(
                policy, &literal, &type_name, &id, severity, what, suggestion,
            ));
        }
    }
    // Cedar returns literals in no particular order: report them as they are written.
    out.sort_by(|a, b| {
        (&a.location.file, a.location.line, a.location.column).cmp(&(
            &b.location.file,
            b.location.line,
            b.location.column,
        ))
    });
    out
}

fn unknown(
    policy: &LoadedPolicy,
    literal: &cedar_policy::EntityUid,
    type_name: &str,
    id: &str,
    severity: Severity,
    what: &'static str,
    suggestion: Option<String>,
) -> UnknownEntity {
    UnknownEntity {
        severity,
        policy_id: policy.id.clone(),
        location: literal_location(policy, type_name, id),
        entity: literal.to_string(),
        what,
        suggestion,
    }
}

/// Where `Type::"id"` is written in the policy's text (the statement start if not found,
/// e.g. when the id is written with escapes).
fn literal_location(policy: &LoadedPolicy, type_name: &str, id: &str) -> SourceLocation {
    let base = type_name.rsplit("::").next().unwrap_or(type_name);
    let quoted = format!("\"{id}\"");
    let text = &policy.text;
    let found = text.match_indices(&quoted).find_map(|(at, _)| {
        let before = text[..at].trim_end();
        let before = before.strip_suffix("::")?.trim_end();
        before.ends_with(base).then(|| {
            // Point at the start of the type path, e.g. `Sluice::Kind::"EMIAL"`.
            let path_start = before.len() - base.len();
            let prefix = &before[..path_start];
            let namespaced = prefix.trim_end().strip_suffix("::").map(str::trim_end);
            match namespaced {
                Some(ns) if ns.ends_with("Sluice") => ns.len() - "Sluice".len(),
                _ => path_start,
            }
        })
    });
    let Some(offset) = found else {
        return policy.location.clone();
    };
    let before = &text[..offset];
    let mut location = policy.location.clone();
    match before.rfind('\n') {
        Some(newline) => {
            location.line += before.matches('\n').count();
            location.column = before[newline + 1..].chars().count() + 1;
        }
        None => location.column += before.chars().count(),
    }
    location
}
