//! What the broker writes down about each decision: one audit record per `call` and per
//! `flow` decision (placeholder ids and kinds, never values), a log line and a metric.
//! An audit log that cannot be written fails the operation: no unaudited decision takes
//! effect.

use super::egress::{Destination, Egress};
use super::error::BrokerError;
use super::request::CallContext;
use crate::audit::{self, AuditEvent, AuditLog, AuditPlaceholder, AuditRecord};
use crate::metrics::METRICS;
use crate::policy::watch::ReloadEvent;
use crate::policy::{Decision, PolicyStore};

/// Logs a `call` decision and appends it to the audit log.
pub(crate) fn call(
    log: Option<&AuditLog>,
    policy: &PolicyStore,
    context: &CallContext,
    server: &str,
    tool: &str,
    decision: &Decision,
) -> Result<(), BrokerError> {
    METRICS.decisions.add(
        &[("action", "call"), ("decision", decision_name(decision))],
        1,
    );
    let _span = tracing::info_span!(
        "decision",
        action = "call",
        allowed = decision.allowed,
        policies = %decision.policy_ids.join(","),
    )
    .entered();
    tracing::info!(
        agent = %context.agent,
        tool = %format!("{server}/{tool}"),
        allowed = decision.allowed,
        policies = ?decision.policy_ids,
        "call decision"
    );
    let Some(log) = log else { return Ok(()) };
    let record = AuditRecord::new(AuditEvent::Call, audit_decision(decision))
        .session(context.session.as_str())
        .agent(context.agent.as_str())
        .tool(server, tool)
        .policy_ids(decision.policy_ids.iter().cloned())
        .policy_set_hash(policy.policy_set_hash())
        .detail(decision.reason.as_str());
    log.append(record).map_err(|e| {
        BrokerError::Audit(format!(
            "the audit log could not be written, so the call was not made: {e}"
        ))
    })
}

/// Appends that an execute loaded saved skill `name` (its tool calls follow as `call`
/// records of the same session); fails the load if the log cannot be written.
pub(crate) fn skill(
    log: Option<&AuditLog>,
    context: &CallContext,
    name: &str,
    version: u64,
) -> Result<(), BrokerError> {
    tracing::info!(agent = %context.agent, skill = name, version, "skill loaded");
    let Some(log) = log else { return Ok(()) };
    let record = AuditRecord::new(AuditEvent::Skill, audit::Decision::Allow)
        .session(context.session.as_str())
        .agent(context.agent.as_str())
        .tool("skills", name)
        .detail(format!("version {version}"));
    log.append(record).map_err(|e| {
        BrokerError::Audit(format!(
            "the audit log could not be written, so the skill was not loaded: {e}"
        ))
    })
}

/// Logs each `flow` decision and appends one audit record per decision.
pub(crate) fn flows(
    log: Option<&AuditLog>,
    policy: &PolicyStore,
    event: AuditEvent,
    context: &CallContext,
    dest: Destination<'_>,
    egress: &Egress,
) -> Result<(), BrokerError> {
    let hash = (!egress.checks.is_empty() && log.is_some()).then(|| policy.policy_set_hash());
    let action = match event {
        AuditEvent::Detokenize => "detokenize",
        _ => "flow",
    };
    for check in &egress.checks {
        let o = &check.outbound;
        METRICS.decisions.add(
            &[
                ("action", action),
                ("decision", decision_name(&check.decision)),
            ],
            1,
        );
        let _span = tracing::info_span!(
            "decision",
            action,
            allowed = check.decision.allowed,
            policies = %check.decision.policy_ids.join(","),
            kind = %o.kind,
            source = %o.source,
            placeholder = %o.placeholder,
        )
        .entered();
        tracing::info!(
            agent = %context.agent,
            tool = %format!("{}/{}", dest.server, dest.tool),
            placeholder = %o.placeholder,
            kind = %o.kind,
            source = %o.source,
            arg_path = %o.arg_path,
            allowed = check.decision.allowed,
            policies = ?check.decision.policy_ids,
            "flow decision"
        );
        let Some(log) = log else { continue };
        let record = AuditRecord::new(event, audit_decision(&check.decision))
            .session(context.session.as_str())
            .agent(context.agent.as_str())
            .tool(dest.server, dest.tool)
            .policy_ids(check.decision.policy_ids.iter().cloned())
            .placeholder(AuditPlaceholder::new(&o.placeholder, &o.source))
            .policy_set_hash(hash.clone().unwrap_or_default())
            .detail(format!("at `{}`: {}", o.arg_path, check.decision.reason));
        log.append(record).map_err(|e| {
            BrokerError::Audit(format!(
                "the audit log could not be written, so nothing was resolved: {e}"
            ))
        })?;
    }
    Ok(())
}

/// Counts and audits one policy reload attempt (see [`crate::policy::watch`]).
pub(crate) fn reload(log: Option<&AuditLog>, event: &ReloadEvent) {
    let record = match event {
        // The store has logged the attempt; this is its audit record.
        ReloadEvent::Applied(hash) => {
            METRICS.reloads.add(&[("result", "applied")], 1);
            AuditRecord::new(AuditEvent::Reload, audit::Decision::Allow)
                .policy_set_hash(hash.as_str())
                .detail("policy set reloaded")
        }
        ReloadEvent::Rejected { error, kept } => {
            METRICS.reloads.add(&[("result", "rejected")], 1);
            AuditRecord::new(AuditEvent::Reload, audit::Decision::Error)
                .policy_set_hash(kept.as_str())
                .detail(format!("rejected, last good set kept: {error}"))
        }
    };
    if let Some(log) = log
        && let Err(e) = log.append(record)
    {
        tracing::error!(error = %e, "the policy reload could not be audited");
    }
}

/// The metric label of a decision: `allow`, `deny` or `error`.
fn decision_name(decision: &Decision) -> &'static str {
    match audit_decision(decision) {
        audit::Decision::Allow => "allow",
        audit::Decision::Deny => "deny",
        audit::Decision::Error => "error",
    }
}

fn audit_decision(decision: &Decision) -> audit::Decision {
    if decision.allowed {
        audit::Decision::Allow
    } else if decision.errors.is_empty() {
        audit::Decision::Deny
    } else {
        audit::Decision::Error
    }
}
