//! `ask`: a refusal a human may override. When every policy that refused a tool call (its
//! `call`, or the `flow` of each refused placeholder) is a forbid marked
//! `@on_deny("ask")`, the pipeline puts the exact call to the execute's [`Approver`] —
//! the MCP client by elicitation, a gRPC `ExecuteStream` client, the operator at a
//! terminal — and waits for the answer: accept once, accept for the session, or decline.
//! Only an acceptance lets the call go on; a declined call, or one nobody could be asked
//! about, is refused as before and the backend is never called. Every answer is audited
//! with who gave it.
//!
//! An approval request names the tool, the deciding policies and, per refused group of
//! placeholders, their kind, source and argument path — never a value. "For the session"
//! answers are remembered in memory only (they end with the process), keyed by session
//! and by what was decided (action, destination, deciding policies, and per refused flow
//! its kind, source and argument path), not by the placeholder: the same kind of data to
//! the same place is not asked about twice.
//!
//! This module never resolves a value itself; egress does, after the approval.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::watch;

use super::egress::{self, Destination};
use super::error::{BrokerError, CallDenial, FlowDenial};
use super::pipeline::Pipeline;
use super::record;
use super::request::CallContext;
use super::scan::SANDBOX_SOURCE;
use crate::audit::{self, AuditEvent, AuditPlaceholder, AuditRecord};
use crate::metrics::METRICS;
use crate::vault::Placeholder;

/// Most remembered "for the session" answers before the memory is cleared (agent code
/// chooses tool names, so the keys are unbounded).
const REMEMBERED_CAPACITY: usize = 1 << 14;

/// The approver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Let this one call go ahead.
    Once,
    /// Let this call and every later one with the same decision key in this session go
    /// ahead.
    Session,
    /// Refuse it.
    Decline,
}

impl Answer {
    /// Whether the call may go ahead.
    pub fn accepted(self) -> bool {
        !matches!(self, Answer::Decline)
    }
}

/// An answer and who gave it (recorded in the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The answer.
    pub answer: Answer,
    /// Who answered: the agent, the MCP client, `cli operator`.
    pub approver: String,
}

/// What refused the call: the `call` itself, or placeholders on their way into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// Cedar refused the `call` of the tool.
    Call,
    /// Cedar refused these groups of placeholders.
    Flow(Vec<AskedFlow>),
}

/// One refused group of placeholders, as shown to the approver (no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedFlow {
    /// The placeholders, e.g. `[EMAIL_1]`.
    pub placeholders: Vec<String>,
    /// Their kind, e.g. `EMAIL`.
    pub kind: String,
    /// The server they were read from.
    pub source: String,
    /// Where in the arguments they sit.
    pub arg_path: String,
    /// The policies that refused them.
    pub policy_ids: Vec<String>,
}

/// The exact call an approver is asked about. Holds no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The agent whose program makes the call.
    pub agent: String,
    /// The tool, as `server/tool`.
    pub destination: String,
    /// What was refused.
    pub asked: Asked,
    /// Every deciding policy's `@id`, sorted.
    pub policy_ids: Vec<String>,
}

impl ApprovalRequest {
    /// The request for a refused `call`.
    pub fn call(denial: &CallDenial) -> Self {
        ApprovalRequest {
            agent: denial.agent.clone(),
            destination: denial.destination.clone(),
            asked: Asked::Call,
            policy_ids: denial.policy_ids.clone(),
        }
    }

    /// The request for refused flows of `agent`'s call.
    pub fn flow(agent: &str, denial: &FlowDenial) -> Self {
        let flows: Vec<AskedFlow> = denial
            .flows
            .iter()
            .map(|f| AskedFlow {
                placeholders: f.placeholders.clone(),
                kind: f.kind.to_string(),
                source: f.source.clone(),
                arg_path: f.arg_path.clone(),
                policy_ids: f.policy_ids.clone(),
            })
            .collect();
        let mut policy_ids: Vec<String> = flows
            .iter()
            .flat_map(|f| f.policy_ids.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        policy_ids.sort_unstable();
        ApprovalRequest {
            agent: agent.to_owned(),
            destination: denial.destination.clone(),
            asked: Asked::Flow(flows),
            policy_ids,
        }
    }

    /// What a "for the session" answer is remembered by: the decision, not the
    /// placeholders (length-prefixed fields, so no two decisions share a key).
    pub fn key(&self) -> String {
        let mut parts: Vec<String> = vec![self.destination.clone()];
        match &self.asked {
            Asked::Call => {
                parts.push("call".to_owned());
                parts.extend(self.policy_ids.iter().cloned());
            }
            Asked::Flow(flows) => {
                parts.push("flow".to_owned());
                let mut groups: Vec<String> = flows
                    .iter()
                    .map(|f| {
                        let mut g = vec![f.kind.clone(), f.source.clone(), f.arg_path.clone()];
                        g.extend(f.policy_ids.iter().cloned());
                        length_prefixed(&g)
                    })
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                parts.extend(groups);
            }
        }
        length_prefixed(&parts)
    }
}

fn length_prefixed(parts: &[String]) -> String {
    parts.iter().map(|p| format!("{}:{p}", p.len())).collect()
}

/// The text an approver reads: the tool, the data (kinds, sources, positions and
/// placeholders — never values) and the deciding policies.
impl fmt::Display for ApprovalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.asked {
            Asked::Call => write!(
                f,
                "Agent '{}' wants to call {}, which policy refuses unless you approve.",
                self.agent, self.destination
            )?,
            Asked::Flow(flows) => {
                write!(
                    f,
                    "Agent '{}' wants to send data to {}, which policy refuses unless you approve:",
                    self.agent, self.destination
                )?;
                for flow in flows {
                    write!(
                        f,
                        "\n- {} from server '{}' into argument `{}` ({})",
                        flow.kind,
                        flow.source,
                        flow.arg_path,
                        flow.placeholders.join(", ")
                    )?;
                }
            }
        }
        write!(f, "\nDeciding policy: {}.", self.policy_ids.join(", "))
    }
}

/// The future an [`Approver`] answers with.
pub type ApprovalFuture<'a> = Pin<Box<dyn Future<Output = Approval> + Send + 'a>>;

/// Someone who can be asked to override an `ask` refusal for one execute. The call waits
/// for the answer; the execute's own time limit bounds the wait (when it runs out the
/// execute is dropped with the question).
pub trait Approver: Send + Sync {
    /// Asks about `request`; the answer says who answered.
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a>;
}

/// The approver of one execute, if any: what a [`CallContext`] carries. Its question
/// is withdrawn when the execute ends (finished, timed out or dropped): a tool call runs
/// as its own task and would otherwise wait for an answer nobody will use.
#[derive(Clone, Default)]
pub struct ApproverSlot {
    approver: Option<Arc<dyn Approver>>,
    ended: Option<watch::Receiver<bool>>,
}

impl ApproverSlot {
    /// A slot holding `approver`.
    pub fn new(approver: Arc<dyn Approver>) -> Self {
        Self::from_option(Some(approver))
    }

    /// A slot holding `approver`, if any.
    pub fn from_option(approver: Option<Arc<dyn Approver>>) -> Self {
        ApproverSlot {
            approver,
            ended: None,
        }
    }

    /// This slot bound to one execute: questions are withdrawn when the returned guard
    /// is dropped.
    pub(crate) fn scoped(self) -> (ApproverSlot, ExecuteEnded) {
        let (sender, receiver) = watch::channel(false);
        (
            ApproverSlot {
                approver: self.approver,
                ended: Some(receiver),
            },
            ExecuteEnded(sender),
        )
    }

    /// Asks the approver, unless the execute ends first (then: declined, by nobody).
    async fn ask(&self, request: &ApprovalRequest) -> Approval {
        let Some(approver) = &self.approver else {
            return Approval {
                answer: Answer::Decline,
                approver: NOBODY.to_owned(),
            };
        };
        let mut ended = self.ended.clone();
        let ended = async move {
            match &mut ended {
                // An error means the guard is gone: ended too.
                Some(ended) => drop(ended.wait_for(|ended| *ended).await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            approval = approver.approve(request) => approval,
            () = ended => Approval {
                answer: Answer::Decline,
                approver: UNANSWERED.to_owned(),
            },
        }
    }
}

/// Withdraws an execute's open approval questions when dropped.
pub(crate) struct ExecuteEnded(watch::Sender<bool>);

impl Drop for ExecuteEnded {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl fmt::Debug for ApproverSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.approver.is_some() {
            "ApproverSlot(Some(..))"
        } else {
            "ApproverSlot(None)"
        })
    }
}

impl PartialEq for ApproverSlot {
    fn eq(&self, other: &Self) -> bool {
        match (&self.approver, &other.approver) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for ApproverSlot {}

/// "For the session" answers, in memory: session → decision keys.
#[derive(Default)]
pub(crate) struct Remembered {
    keys: Mutex<HashMap<String, HashSet<String>>>,
}

impl Remembered {
    fn contains(&self, session: &str, key: &str) -> bool {
        self.keys
            .lock()
            .map(|k| k.get(session).is_some_and(|s| s.contains(key)))
            .unwrap_or(false)
    }

    fn insert(&self, session: &str, key: String) {
        if let Ok(mut keys) = self.keys.lock() {
            if keys.values().map(HashSet::len).sum::<usize>() >= REMEMBERED_CAPACITY {
                keys.clear();
            }
            keys.entry(session.to_owned()).or_default().insert(key);
        }
    }

    /// Forgets a session's answers (its values were purged).
    pub(crate) fn forget(&self, session: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(session);
        }
    }
}

/// Who "answered" when nobody could be asked.
const NOBODY: &str = "nobody (no approver for this execute)";
/// Who "answered" when the execute ended first.
const UNANSWERED: &str = "nobody (the execute ended before an answer)";

/// Puts an `ask` refusal to the context's approver (or recalls a "for the session"
/// answer), audits the answer with who gave it, and says whether the call may go on.
async fn settle(
    pipeline: &Pipeline,
    context: &CallContext,
    request: &ApprovalRequest,
    placeholders: &[(Placeholder, String)],
) -> Result<Approval, BrokerError> {
    let key = request.key();
    let approval = if pipeline.remembered.contains(&context.session, &key) {
        Approval {
            answer: Answer::Session,
            approver: "an earlier answer for this session".to_owned(),
        }
    } else {
        context.approver.ask(request).await
    };
    let verdict = match approval.answer {
        Answer::Once => "approved once",
        Answer::Session => "approved for the session",
        Answer::Decline if approval.approver == NOBODY || approval.approver == UNANSWERED => {
            "not approved"
        }
        Answer::Decline => "declined",
    };
    METRICS.decisions.add(
        &[
            ("action", "approval"),
            (
                "decision",
                if approval.answer.accepted() {
                    "allow"
                } else {
                    "deny"
                },
            ),
        ],
        1,
    );
    tracing::info!(
        agent = %context.agent,
        tool = %request.destination,
        policies = ?request.policy_ids,
        approver = %approval.approver,
        verdict,
        "approval"
    );
    if let Some(log) = pipeline.audit.as_deref() {
        let (server, tool) = request
            .destination
            .split_once('/')
            .unwrap_or((request.destination.as_str(), ""));
        let mut record = AuditRecord::new(
            AuditEvent::Approval,
            if approval.answer.accepted() {
                audit::Decision::Allow
            } else {
                audit::Decision::Deny
            },
        )
        .session(context.session.as_str())
        .agent(context.agent.as_str())
        .tool(server, tool)
        .policy_ids(request.policy_ids.iter().cloned())
        .policy_set_hash(pipeline.policy.policy_set_hash())
        .detail(format!("{verdict} by {}", approval.approver));
        for (placeholder, source) in placeholders {
            record = record.placeholder(AuditPlaceholder::new(placeholder, source));
        }
        log.append(record).map_err(|e| {
            BrokerError::Audit(format!(
                "the audit log could not be written, so the approval did not take effect: {e}"
            ))
        })?;
    }
    if approval.answer == Answer::Session {
        pipeline.remembered.insert(&context.session, key);
    }
    Ok(approval)
}

/// Why an `ask` refusal stands, appended to the policy's reason.
fn refused(approval: &Approval) -> String {
    if approval.approver == NOBODY {
        "a human may approve this call, but no one could be asked (answer approvals over MCP elicitation, gRPC ExecuteStream, or `sluice exec --approve`)".to_owned()
    } else if approval.approver == UNANSWERED {
        "a human may approve this call, but no answer came before the execute ended".to_owned()
    } else {
        format!("the approval was declined by {}", approval.approver)
    }
}

/// A refused `call`: asks when the refusal is askable, else (or when declined) returns
/// the refusal.
pub(crate) async fn call_denied(
    pipeline: &Pipeline,
    context: &CallContext,
    mut denial: CallDenial,
) -> Result<(), BrokerError> {
    if !denial.askable {
        return Err(BrokerError::CallDenied(denial));
    }
    let approval = settle(pipeline, context, &ApprovalRequest::call(&denial), &[]).await?;
    if approval.answer.accepted() {
        return Ok(());
    }
    denial.reason = format!("{}; {}", denial.reason, refused(&approval));
    Err(BrokerError::CallDenied(denial))
}

/// Egress for a tool call: [`super::pipeline::release`], except that a refusal every
/// deciding policy of which is `@on_deny("ask")` is put to the approver, and on
/// acceptance the refused values are substituted too. Every flow decision is audited
/// before anyone is asked.
pub(crate) async fn release(
    pipeline: &Pipeline,
    context: &CallContext,
    dest: Destination<'_>,
    prepared: Option<egress::Prepared>,
    input: Value,
) -> Result<Value, BrokerError> {
    let tokenizer = &pipeline.tokenizer;
    let policy = &pipeline.policy;
    // Placeholders already resolved for the call decision (policies over call facts) are
    // not resolved twice.
    let mut egress = match prepared {
        Some(prepared) => egress::check_prepared(tokenizer.detectors(), policy, dest, prepared),
        None => egress::check(
            tokenizer.vault(),
            tokenizer.detectors(),
            policy,
            &context.session,
            dest,
            &input,
        )?,
    };
    record::flows(
        pipeline.audit.as_deref(),
        policy,
        AuditEvent::Flow,
        context,
        dest,
        &egress,
    )?;
    if !egress.allowed() {
        let denied = egress.denied();
        let askable = denied.iter().all(|c| policy.askable(&c.decision));
        let mut denial = egress::denial(&denied, dest.server, dest.tool);
        for flow in &mut denial.flows {
            flow.askable = askable;
        }
        if !askable {
            return Err(BrokerError::FlowDenied(denial));
        }
        let placeholders: Vec<(Placeholder, String)> = denied
            .iter()
            .map(|c| (c.outbound.placeholder.clone(), c.outbound.source.clone()))
            .collect();
        let mut request = ApprovalRequest::flow(&context.agent, &denial);
        // Argument paths are the program's own keys, which could hold a value it wrote:
        // the question leaves the broker, so it is tokenized like everything else that does.
        if let Asked::Flow(flows) = &mut request.asked {
            for flow in flows {
                flow.arg_path =
                    tokenizer.ingest_text(&context.session, SANDBOX_SOURCE, &flow.arg_path)?;
            }
        }
        let approval = settle(pipeline, context, &request, &placeholders).await?;
        if !approval.answer.accepted() {
            let why = refused(&approval);
            for flow in &mut denial.flows {
                flow.reason = format!("{}; {why}", flow.reason);
            }
            return Err(BrokerError::FlowDenied(denial));
        }
        for check in &mut egress.checks {
            check.decision.allowed = true;
        }
    }
    Ok(super::pipeline::substitute(
        tokenizer, context, &egress, input,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::error::DeniedFlow;
    use detectors::Kind;

    fn flow_denial(arg_path: &str, placeholder: &str) -> FlowDenial {
        FlowDenial {
            destination: "mail/send_email".to_owned(),
            flows: vec![DeniedFlow {
                placeholders: vec![placeholder.to_owned()],
                kind: Kind::Email,
                source: "mail".to_owned(),
                arg_path: arg_path.to_owned(),
                policy_ids: vec!["ask-external".to_owned()],
                reason: "denied by forbid policy ask-external".to_owned(),
                askable: true,
            }],
        }
    }

    #[test]
    fn a_session_answer_covers_the_same_decision_for_other_placeholders_only() {
        let a = ApprovalRequest::flow("bot", &flow_denial("to[0]", "[EMAIL_1]"));
        let b = ApprovalRequest::flow("bot", &flow_denial("to[0]", "[EMAIL_2]"));
        let c = ApprovalRequest::flow("bot", &flow_denial("body", "[EMAIL_1]"));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        let remembered = Remembered::default();
        remembered.insert("s1", a.key());
        assert!(remembered.contains("s1", &b.key()));
        assert!(!remembered.contains("s2", &b.key()), "per session");
        remembered.forget("s1");
        assert!(!remembered.contains("s1", &a.key()));
    }

    #[test]
    fn the_question_names_kind_source_path_and_policy() {
        let text = ApprovalRequest::flow("bot", &flow_denial("to[0]", "[EMAIL_1]")).to_string();
        assert!(text.contains("mail/send_email"), "{text}");
        assert!(
            text.contains("EMAIL from server 'mail' into argument `to[0]` ([EMAIL_1])"),
            "{text}"
        );
        assert!(text.contains("Deciding policy: ask-external."), "{text}");
    }
}
