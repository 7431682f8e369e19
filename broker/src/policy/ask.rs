//! `@on_deny("ask")`: forbid policies whose refusal a human may override.
//!
//! A `forbid` policy annotated `@on_deny("ask")` still denies; the annotation only marks
//! the denial as one the flow core may put to a human approver. A denial is *askable*
//! when it has deciding policies and every one of them carries the annotation: a plain
//! forbid among them, or no permit at all, keeps it a hard denial. The value of the
//! annotation is validated when the set is loaded (an unknown value, or the annotation
//! on a `permit`, is an error naming the policy), so a typo never silently turns a
//! refusal into a plain one.
//!
//! This module decides nothing and asks nobody; it only says whether a denial may be
//! asked about.

use std::collections::HashSet;

use cedar_policy::Effect;

use super::load::LoadedPolicy;
use super::{Decision, PolicyEngine, PolicyError, PolicyStore};

/// The annotation that marks a forbid's refusal as one a human may override.
pub const ON_DENY: &str = "on_deny";
/// The one value `@on_deny` takes.
pub const ASK: &str = "ask";

/// The ids of the forbid policies marked `@on_deny("ask")`; an error for a policy whose
/// `@on_deny` is not `"ask"` or sits on a permit.
pub(crate) fn askable_ids(policies: &[LoadedPolicy]) -> Result<HashSet<String>, PolicyError> {
    let mut ids = HashSet::new();
    for p in policies {
        let Some(value) = p.policy.annotation(ON_DENY) else {
            continue;
        };
        let problem = if value != ASK {
            Some(format!(
                "unknown @{ON_DENY}(\"{value}\"); the only value is \"{ASK}\" (a refusal a human may override); remove the annotation for a plain refusal"
            ))
        } else if p.policy.effect() == Effect::Permit {
            Some(format!(
                "@{ON_DENY}(\"{ASK}\") applies to forbid policies only (a permit never refuses); move it to the forbid whose refusal a human may override"
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(PolicyError::OnDeny {
                id: p.id.clone(),
                location: p.location.clone(),
                message,
            });
        }
        ids.insert(p.id.clone());
    }
    Ok(ids)
}

impl PolicyEngine {
    /// Whether `decision` is a denial a human may override: denied, with deciding
    /// policies, every one of them marked `@on_deny("ask")`.
    pub fn askable(&self, decision: &Decision) -> bool {
        let marked = &self.loaded().askable;
        !decision.allowed
            && decision.errors.is_empty()
            && !decision.policy_ids.is_empty()
            && decision.policy_ids.iter().all(|id| marked.contains(id))
    }
}

impl PolicyStore {
    /// Whether the live set makes `decision` a denial a human may override (see
    /// [`PolicyEngine::askable`]).
    pub fn askable(&self, decision: &Decision) -> bool {
        self.engine().askable(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");

    fn load(text: &str) -> Result<PolicyEngine, PolicyError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("schema.cedarschema"), SCHEMA).unwrap();
        std::fs::write(dir.path().join("ask.cedar"), text).unwrap();
        PolicyEngine::load(Some(dir.path()))
    }

    const POLICIES: &str = r#"
@id("call-any")
permit (principal, action == Sluice::Action::"call", resource);
@id("ask-before-mail")
@on_deny("ask")
forbid (principal, action == Sluice::Action::"call", resource == Sluice::Tool::"mail/send");
@id("never-wire")
forbid (principal, action == Sluice::Action::"call", resource == Sluice::Tool::"bank/wire");
@id("ask-before-wire")
@on_deny("ask")
forbid (principal, action == Sluice::Action::"call", resource == Sluice::Tool::"bank/wire");
"#;

    #[test]
    fn a_denial_is_askable_only_when_every_deciding_forbid_is_marked() {
        let engine = load(POLICIES).unwrap();
        let mail = engine.authorize_call("a", "mail", "send");
        assert!(!mail.allowed);
        assert!(engine.askable(&mail), "{mail:?}");
        let wire = engine.authorize_call("a", "bank", "wire");
        assert!(!wire.allowed);
        assert!(
            !engine.askable(&wire),
            "a plain forbid decides too: {wire:?}"
        );
        let other = engine.authorize_call("a", "crm", "get");
        assert!(other.allowed && !engine.askable(&other));
    }

    #[test]
    fn no_permit_is_never_askable() {
        let engine = load(
            "@id(\"ask\")\n@on_deny(\"ask\")\nforbid (principal, action == Sluice::Action::\"call\", resource);",
        )
        .unwrap();
        let flow = engine.authorize_flow(&crate::policy::FlowRequest {
            agent: "a",
            server: "s",
            tool: "t",
            kind: "EMAIL",
            source: "s",
            placeholder: "[EMAIL_1]",
            arg_path: "to",
            ..crate::policy::FlowRequest::default()
        });
        assert!(!flow.allowed && flow.policy_ids.is_empty());
        assert!(!engine.askable(&flow));
    }

    #[test]
    fn an_unknown_on_deny_value_is_refused_at_load_naming_the_policy() {
        let err = load(
            "@id(\"typo\")\n@on_deny(\"aks\")\nforbid (principal, action == Sluice::Action::\"call\", resource);",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"typo\""), "{err}");
        assert!(err.contains("unknown @on_deny(\"aks\")"), "{err}");
        assert!(err.contains("ask.cedar:1:1"), "{err}");
    }

    #[test]
    fn on_deny_on_a_permit_is_refused_at_load() {
        let err = load(
            "@id(\"p\")\n@on_deny(\"ask\")\npermit (principal, action == Sluice::Action::\"call\", resource);",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("forbid policies only"), "{err}");
    }
}
