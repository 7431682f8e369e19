//! The live engine behind a lock, hot reload, and shadow evaluation of a candidate set.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::{
    CallRequest, Decision, EntityModel, FlowRequest, PolicyEngine, PolicyError, PolicyRequest,
};

/// Holds the live [`PolicyEngine`] for hot reload, and an optional shadow candidate.
#[derive(Debug)]
pub struct PolicyStore {
    live: RwLock<Arc<PolicyEngine>>,
    shadow: RwLock<Option<Arc<PolicyEngine>>>,
    reload_failures: AtomicU64,
    shadow_disagreements: AtomicU64,
}

impl PolicyStore {
    /// A store whose live engine is `engine`, with no shadow.
    pub fn new(engine: PolicyEngine) -> Self {
        Self {
            live: RwLock::new(Arc::new(engine)),
            shadow: RwLock::new(None),
            reload_failures: AtomicU64::new(0),
            shadow_disagreements: AtomicU64::new(0),
        }
    }

    /// The live engine (a snapshot: later reloads do not change it).
    pub fn engine(&self) -> Arc<PolicyEngine> {
        match self.live.read() {
            Ok(e) => Arc::clone(&e),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn shadow_engine(&self) -> Option<Arc<PolicyEngine>> {
        match self.shadow.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn swap_live(&self, engine: PolicyEngine) {
        let engine = Arc::new(engine);
        match self.live.write() {
            Ok(mut live) => *live = engine,
            Err(poisoned) => *poisoned.into_inner() = engine,
        }
    }

    /// Loads and validates `dir` (or the defaults) and, only if that succeeds, makes it live.
    ///
    /// On error the last good set stays in force and [`Self::reload_failures`] goes up. The
    /// new engine starts with an empty decision cache and the current entity model.
    pub fn reload(&self, dir: Option<&Path>) -> Result<(), PolicyError> {
        let current = self.engine();
        let loaded = PolicyEngine::load(dir)
            .and_then(|e| e.with_model_checked(current.model().clone()))
            .map(|(engine, warnings)| {
                for warning in warnings {
                    tracing::warn!("{warning}");
                }
                engine
            });
        match loaded {
            Ok(engine) => {
                tracing::info!(hash = engine.policy_set_hash(), "policy set reloaded");
                self.swap_live(engine);
                Ok(())
            }
            Err(e) => {
                self.reload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, hash = current.policy_set_hash(), "policy reload rejected; keeping the last good set");
                Err(e)
            }
        }
    }

    /// Replaces the entity model (e.g. after the catalog changed) of the live and shadow engines.
    pub fn set_model(&self, model: EntityModel) -> Result<(), PolicyError> {
        let live = self.engine().with_model(model.clone())?;
        let shadow = self
            .shadow_engine()
            .map(|s| s.with_model(model))
            .transpose()?;
        self.swap_live(live);
        if let Some(s) = shadow {
            self.set_shadow(Some(s));
        }
        Ok(())
    }

    /// Installs (or with `None` removes) a shadow candidate; its model is used as given.
    pub fn set_shadow(&self, candidate: Option<PolicyEngine>) {
        let candidate = candidate.map(Arc::new);
        match self.shadow.write() {
            Ok(mut s) => *s = candidate,
            Err(poisoned) => *poisoned.into_inner() = candidate,
        }
    }

    /// Loads `dir` as the shadow candidate over the live engine's entity model.
    pub fn load_shadow(&self, dir: Option<&Path>) -> Result<(), PolicyError> {
        let (candidate, warnings) =
            PolicyEngine::load(dir)?.with_model_checked(self.engine().model().clone())?;
        for warning in warnings {
            tracing::warn!("shadow policies: {warning}");
        }
        tracing::info!(
            hash = candidate.policy_set_hash(),
            "shadow policy set loaded"
        );
        self.set_shadow(Some(candidate));
        Ok(())
    }

    /// Decides with the live engine; a shadow candidate is evaluated too and disagreements are
    /// counted and logged, never enforced.
    pub fn decide_with_shadow(&self, request: &PolicyRequest<'_>) -> Decision {
        let decision = self.engine().decide(request);
        if let Some(shadow) = self.shadow_engine() {
            let candidate = shadow.decide(request);
            if candidate.allowed != decision.allowed {
                self.shadow_disagreements.fetch_add(1, Ordering::Relaxed);
                // Names only: the request's value facts (email_domain, phone_country,
                // placeholder, argument path) stay out of the logs.
                let (agent, server, tool, kind, source) = match request {
                    PolicyRequest::Call(c) => (c.agent, c.server, c.tool, None, None),
                    PolicyRequest::Flow(f) => {
                        (f.agent, f.server, f.tool, Some(f.kind), Some(f.source))
                    }
                };
                tracing::warn!(
                    action = request.action().as_str(),
                    agent,
                    tool = %format!("{server}/{tool}"),
                    kind,
                    source,
                    live = %decision.reason,
                    shadow = %candidate.reason,
                    "shadow policy set disagrees with the live set"
                );
            }
        }
        decision
    }

    /// May `agent` call `server/tool`? (live decision, shadow compared)
    pub fn authorize_call(&self, agent: &str, server: &str, tool: &str) -> Decision {
        self.decide_with_shadow(&PolicyRequest::Call(CallRequest {
            agent,
            server,
            tool,
            ..CallRequest::default()
        }))
    }

    /// May this call, with these arguments and call facts, go ahead? (live decision,
    /// shadow compared)
    pub fn authorize_call_with(&self, request: &CallRequest<'_>) -> Decision {
        self.decide_with_shadow(&PolicyRequest::Call(*request))
    }

    /// Whether the live or the shadow set has argument rules waiting for the input
    /// schema of `server/tool` (then the caller lists the server's tools first).
    pub fn waits_for_tool(&self, server: &str, tool: &str) -> bool {
        let id = format!("{server}/{tool}");
        let waits = |e: &PolicyEngine| e.pending_rules().any(|(t, _)| t == id);
        waits(&self.engine()) || self.shadow_engine().is_some_and(|s| waits(&s))
    }

    /// Learns a server's tools and their input schemas (the argument types of argument
    /// rules are generated from them); the live and shadow engines are rebuilt when
    /// anything changed. On error the engines in force stay (and so do their waiting
    /// rules, whose tools stay refused).
    pub fn learn_tools<'t>(
        &self,
        tools: impl IntoIterator<Item = (&'t str, &'t str, serde_json::Value)>,
    ) -> Result<(), PolicyError> {
        let mut model = self.engine().model().clone();
        let mut changed = false;
        for (server, tool, schema) in tools {
            changed |= model.set_tool_input(server, tool, schema);
        }
        if changed {
            self.set_model(model)?;
        }
        Ok(())
    }

    /// Whether the live or the shadow set reads call facts or has argument rules for
    /// `server/tool`: then the caller resolves the arguments' placeholders before
    /// deciding `call`, and gathers the call's facts.
    pub fn needs_call_facts(&self, server: &str, tool: &str) -> bool {
        let needs = |e: &PolicyEngine| e.needs_call_facts() || e.has_argument_rules(server, tool);
        needs(&self.engine()) || self.shadow_engine().is_some_and(|s| needs(&s))
    }

    /// May this value flow into the destination? (live decision, shadow compared)
    pub fn authorize_flow(&self, request: &FlowRequest<'_>) -> Decision {
        self.decide_with_shadow(&PolicyRequest::Flow(*request))
    }

    /// How many reloads were rejected since the store was made.
    pub fn reload_failures(&self) -> u64 {
        self.reload_failures.load(Ordering::Relaxed)
    }

    /// How many decisions the shadow candidate disagreed with.
    pub fn shadow_disagreements(&self) -> u64 {
        self.shadow_disagreements.load(Ordering::Relaxed)
    }

    /// SHA-256 (hex) of the live policy set, for audit records.
    pub fn policy_set_hash(&self) -> String {
        self.engine().policy_set_hash().to_owned()
    }
}
