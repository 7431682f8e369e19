//! The pipeline every tool call goes through, whoever makes it (a program in the sandbox,
//! a proxied `CallTool`): the server must exist → Cedar authorizes `call` → egress (every
//! minted placeholder in the arguments is decided with `flow`; one denial fails the call
//! and the backend is not called; otherwise the values are substituted) → the backend →
//! ingress (neutralize, detect, mint, replace). Detokenization toward a destination uses
//! the same egress step ([`Pipeline::release`]).
//!
//! This module never returns a raw value except as egress substitutes it into the
//! arguments of a permitted call; every decision is audited before it takes effect.

use std::sync::Arc;

use sandbox_host::{ToolError, ToolErrorKind};
use serde_json::Value;
use tracing::Instrument as _;

use super::blocking;
use super::egress::{self, Destination};
use super::error::{BrokerError, CallDenial};
use super::ingress::Tokenizer;
use super::record;
use super::request::CallContext;
use crate::audit::{AuditEvent, AuditLog};
use crate::backends::Backends;
use crate::metrics::METRICS;
use crate::policy::{CallRequest, PolicyStore};

/// The parts every tool call goes through, shared by all executes.
pub(crate) struct Pipeline {
    pub(crate) backends: Arc<Backends>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) policy: Arc<PolicyStore>,
    pub(crate) audit: Option<Arc<AuditLog>>,
    /// "For the session" approvals (see [`super::approval`]).
    pub(crate) remembered: super::approval::Remembered,
}

impl Pipeline {
    /// One tool call, measured.
    pub(crate) async fn call(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, BrokerError> {
        let started = std::time::Instant::now();
        let span = tracing::info_span!("tool_call", server, tool, outcome = tracing::field::Empty);
        let result = self
            .call_unmeasured(context, server, tool, args)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(BrokerError::CallDenied(_) | BrokerError::FlowDenied(_)) => "policy_denied",
            Err(_) => "tool",
        };
        span.record("outcome", outcome);
        METRICS.tool_calls.add(&[("outcome", outcome)], 1);
        METRICS.tool_call_seconds.observe(started.elapsed());
        result
    }

    async fn call_unmeasured(
        &self,
        context: &CallContext,
        server: &str,
        tool: &str,
        args: Value,
    ) -> Result<Value, BrokerError> {
        tracing::debug!(server, tool, "tool call");
        self.backends.check(server)?;
        if self.policy.waits_for_tool(server, tool) {
            // Argument rules wait for this tool's input schema: list the server's tools
            // (once; the pool caches them). If that fails the rules keep waiting and the
            // call is refused below.
            if let Ok(tools) = self.backends.tools(server).await {
                let learned = self.policy.learn_tools(tools.iter().map(|t| {
                    (
                        server,
                        t.name.as_ref(),
                        Value::Object((*t.input_schema).clone()),
                    )
                }));
                if let Err(e) = learned {
                    tracing::warn!(server, error = %e, "argument rules do not validate against the server's tools; its calls stay refused");
                }
            }
        }
        let dest = Destination {
            agent: &context.agent,
            server,
            tool,
        };
        // Rules over the arguments or the whole call need the placeholders resolved (for
        // their facts) before `call` is decided; otherwise `call` is decided first and a
        // refused call never touches the vault.
        let prepared = if self.policy.needs_call_facts(server, tool) {
            Some(egress::prepare(
                self.tokenizer.vault(),
                self.tokenizer.detectors(),
                &self.policy,
                &context.session,
                dest,
                &args,
            )?)
        } else {
            None
        };
        let decision = self.policy.authorize_call_with(&CallRequest {
            agent: &context.agent,
            server,
            tool,
            args: Some(&args),
            call: prepared.as_ref().and_then(|p| p.facts.as_ref()),
        });
        record::call(
            self.audit.as_deref(),
            &self.policy,
            context,
            server,
            tool,
            &decision,
        )?;
        if !decision.allowed {
            let askable = self.policy.askable(&decision);
            let denial = CallDenial {
                agent: context.agent.clone(),
                destination: format!("{server}/{tool}"),
                policy_ids: decision.policy_ids,
                reason: decision.reason,
                askable,
            };
            super::approval::call_denied(self, context, denial).await?;
        }
        // Egress, with an askable refusal put to the execute's approver.
        let args = super::approval::release(self, context, dest, prepared, args).await?;
        let result = self.backends.call(server, tool, args).await;
        // After the call, so a backend that cannot be reached reports that, not a
        // second connection attempt; a result whose hints cannot be resolved is withheld.
        let hints = match &result {
            Ok(_) => self.field_hints(server, tool).await?,
            Err(_) => Arc::default(),
        };
        self.ingress(&context.session, server, tool, &hints, result)
            .await
    }

    /// The field hints for `server`/`tool` results (see [`super::fields`]). When the tool
    /// list cannot be had, the declarations apply unchecked (the call will report why).
    pub(crate) async fn field_hints(
        &self,
        server: &str,
        tool: &str,
    ) -> Result<Arc<detectors::FieldHints>, BrokerError> {
        let tools = self.backends.tools(server).await.ok();
        self.tokenizer
            .fields()
            .hints(server, tool, tools.as_ref())
            .map_err(|e| BrokerError::Tool(e.to_string()))
    }

    /// Egress toward `dest` with this pipeline's parts (see [`release`]).
    pub(crate) fn release(
        &self,
        event: AuditEvent,
        context: &CallContext,
        dest: Destination<'_>,
        input: Value,
    ) -> Result<Value, BrokerError> {
        release(
            &self.tokenizer,
            &self.policy,
            self.audit.as_deref(),
            event,
            context,
            dest,
            input,
        )
    }

    /// Nothing from a backend reaches the caller untokenized, errors included.
    async fn ingress(
        &self,
        session: &str,
        server: &str,
        tool: &str,
        hints: &Arc<detectors::FieldHints>,
        result: Result<Value, ToolError>,
    ) -> Result<Value, BrokerError> {
        let tokenizer = self.tokenizer.clone();
        let (session, source, name) = (session.to_owned(), server.to_owned(), tool.to_owned());
        let hints = Arc::clone(hints);
        let tokenized = blocking(move || match result {
            Ok(value) => {
                Ok(tokenizer.ingest_tool_json(&session, &source, Some(&name), &hints, value))
            }
            Err(error) => Err(tokenizer
                .ingest_text(&session, &source, &error.message)
                .map(|message| ToolError { message, ..error })),
        })
        .await;
        let withheld = || {
            BrokerError::Tool(format!(
                "the result of tools.{server}.{tool} could not be tokenized and was withheld"
            ))
        };
        match tokenized {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Err(Ok(error))) => Err(match error.kind {
                ToolErrorKind::Unavailable => BrokerError::Unavailable(error.message),
                _ => BrokerError::Tool(error.message),
            }),
            Ok(Ok(Err(e))) | Ok(Err(Err(e))) => Err(BrokerError::Tool(format!(
                "the result of tools.{server}.{tool} could not be tokenized and was withheld: {e}"
            ))),
            Err(_) => Err(withheld()),
        }
    }
}

/// Egress, shared by tool calls and detokenization: decides every placeholder of `input`
/// toward `dest`, audits each decision as `event`, and substitutes the values only if
/// every flow is allowed. Placeholders not minted in the context's session stay literal.
/// Blocks on the vault. Session ownership is not checked here: [`super::Broker`] does
/// that before calling.
pub fn release(
    tokenizer: &Tokenizer,
    policy: &PolicyStore,
    audit: Option<&AuditLog>,
    event: AuditEvent,
    context: &CallContext,
    dest: Destination<'_>,
    input: Value,
) -> Result<Value, BrokerError> {
    let egress = egress::check(
        tokenizer.vault(),
        tokenizer.detectors(),
        policy,
        &context.session,
        dest,
        &input,
    )?;
    record::flows(audit, policy, event, context, dest, &egress)?;
    if egress.allowed() {
        Ok(substitute(tokenizer, context, &egress, input))
    } else {
        Err(BrokerError::FlowDenied(egress::denial(
            &egress.denied(),
            dest.server,
            dest.tool,
        )))
    }
}

/// `input` with the values of an allowed egress put in, each restored value remembered for
/// the session, so an echo of it comes back as its placeholder.
pub(crate) fn substitute(
    tokenizer: &Tokenizer,
    context: &CallContext,
    egress: &egress::Egress,
    input: Value,
) -> Value {
    for (placeholder, kind, value) in egress.restored() {
        tokenizer.remember(&context.session, kind, value, &placeholder.to_string());
    }
    egress.substitute(input)
}
