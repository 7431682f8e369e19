//! The engine: a validated policy set indexed by destination, an entity model and a cache.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use cedar_policy::{ActionConstraint, Entities, EntityUid, ResourceConstraint};
#[cfg(test)]
use cedar_policy::{Authorizer, Context, PolicySet, Request};
use cedar_policy_core::ast::{self as cedar_ast, Value as CedarValue};
use cedar_policy_core::evaluator::Evaluator;
use cedar_policy_core::extensions::Extensions;

use super::load::{self, LoadedPolicy, LoadedSet};
use super::model::{self, EntityModel, uid};
use super::{
    Action, CallFacts, CallRequest, Decision, FlowRequest, PolicyError, PolicyRequest,
    SourceLocation,
};

/// Most decisions kept before the cache is cleared (agent code chooses tool names).
const CACHE_CAPACITY: usize = 1 << 16;

/// One policy as shown by [`PolicyEngine::explain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsideredPolicy {
    /// The policy's `@id`.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// Where the policy starts.
    pub location: SourceLocation,
    /// The policy's source text.
    pub text: String,
}

/// Why a request was decided as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The decision (never cached: always evaluated afresh).
    pub decision: Decision,
    /// The deciding policies (see [`Decision::policy_ids`]).
    pub deciding: Vec<ConsideredPolicy>,
    /// Every policy evaluated for this destination (the index slice), in load order.
    pub considered: Vec<ConsideredPolicy>,
    /// Policies skipped by the destination index, by count.
    pub skipped: usize,
}

/// A slice of the policy set and the indexes (into load order) of its policies.
struct Slice {
    /// Its policies in load order, each with its condition built once.
    policies: Vec<Arc<Condition>>,
    members: Vec<usize>,
    /// What its policies can read of the context: only that is built for a decision.
    reads: Reads,
    /// The same policies as a Cedar policy set, for the reference decisions the tests
    /// compare against (Cedar's own `Authorizer::is_authorized`).
    #[cfg(test)]
    set: PolicySet,
}

impl Slice {
    /// The slice of `members` (indexes into load order, ascending).
    #[cfg_attr(
        not(test),
        expect(unused_variables, reason = "the policy set is for tests")
    )]
    fn of(
        policies: &[cedar_policy::Policy],
        conditions: &[Arc<Condition>],
        members: Vec<usize>,
        reads: Reads,
    ) -> Slice {
        #[cfg(test)]
        let set = {
            let mut set = PolicySet::new();
            for &i in &members {
                // Ids are unique in a loaded set, so adding cannot clash.
                let _ = set.add(policies[i].clone());
            }
            set
        };
        Slice {
            policies: members
                .iter()
                .map(|&i| Arc::clone(&conditions[i]))
                .collect(),
            members,
            reads,
            #[cfg(test)]
            set,
        }
    }
}

/// One policy as a decision evaluates it. Cedar's `Authorizer::is_authorized` rebuilds
/// every policy's condition expression (`Policy::condition()`: the scope constraints made
/// into expressions and joined to the `when`/`unless` body by three new `&&` nodes) on
/// every evaluation, then collects the outcome into hash maps and sets; a decision here
/// interprets the condition built once at load, with Cedar's own evaluator.
struct Condition {
    policy: cedar_ast::Policy,
    /// `policy.condition()`.
    expr: cedar_ast::Expr,
    forbid: bool,
    /// The `@id` as written.
    id: String,
}

impl Condition {
    fn of(policy: &cedar_policy::Policy) -> Condition {
        let policy: &cedar_ast::Policy = policy.as_ref();
        Condition {
            expr: policy.condition(),
            forbid: policy.effect() == cedar_ast::Effect::Forbid,
            id: AsRef::<str>::as_ref(policy.id()).to_owned(),
            policy: policy.clone(),
        }
    }
}

/// How Cedar authorizes a request over a slice: the decision, the determining policies
/// (unordered) and the policies it could not evaluate, with Cedar's message for each.
struct Authorized {
    allowed: bool,
    determining: Vec<String>,
    /// (policy id, message), in the slice's order.
    errors: Vec<(String, String)>,
}

/// Slices of one action: wildcard, per server, per tool.
struct ActionIndex {
    wildcard: Slice,
    by_server: HashMap<String, Slice>,
    by_tool: HashMap<String, HashMap<String, Slice>>,
}

/// What policies can read of a request's context. Cedar reads a record attribute only by
/// its name (`context.email_domain`, `context has email_domain`, `context["email_domain"]`),
/// so a field no policy's text names cannot change a decision: it stays out of the cache
/// key (set-wide reads) and out of the context Cedar is given (a slice's reads), which is
/// most of the cost of a decision with call facts. A policy with a backslash in its text
/// (a string escape could spell a name) reads everything. The contract fields `kind` and
/// `source` are always in the context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Reads {
    placeholder: bool,
    arg_path: bool,
    email_domain: bool,
    phone_country: bool,
    source_tool: bool,
    source_path: bool,
    /// The call facts read: bit `i` for [`super::facts::CALL_FACT_FIELDS`]`[i]`.
    facts: u8,
}

impl Reads {
    const ALL: Reads = Reads {
        placeholder: true,
        arg_path: true,
        email_domain: true,
        phone_country: true,
        source_tool: true,
        source_path: true,
        facts: u8::MAX,
    };

    /// What policies with these texts read.
    fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Reads {
        let mut r = Reads::default();
        for text in texts {
            if text.contains('\\') {
                return Reads::ALL;
            }
            r.placeholder |= text.contains("placeholder");
            r.arg_path |= text.contains("arg_path");
            r.email_domain |= text.contains("email_domain");
            r.phone_country |= text.contains("phone_country");
            r.source_tool |= text.contains("source_tool");
            r.source_path |= text.contains("source_path");
            for (i, field) in super::facts::CALL_FACT_FIELDS.iter().enumerate() {
                if text.contains(field) {
                    r.facts |= 1 << i;
                }
            }
        }
        r
    }

    /// Whether some call fact is read (`context.call.*`).
    fn call_facts(self) -> bool {
        self.facts != 0
    }
}

/// A tool's argument rules, evaluated as `call:server/tool`.
struct ToolRules {
    action: EntityUid,
    slice: Slice,
    /// The rules' texts, one after the other: an argument no rule names stays out of
    /// `context.args` (see [`Reads`]); `None`: a rule reads every argument.
    text: Option<String>,
}

/// Entity uids of the model's names, made once: a decision clones them instead of
/// building each from its type name and id.
#[derive(Default)]
struct Uids {
    agents: HashMap<String, EntityUid>,
    servers: HashMap<String, EntityUid>,
    kinds: HashMap<String, EntityUid>,
    /// By server, then tool.
    tools: HashMap<String, HashMap<String, EntityUid>>,
}

impl Uids {
    fn of(model: &EntityModel) -> Uids {
        let mut uids = Uids::default();
        for agent in model.agents.keys() {
            uids.agents.insert(agent.clone(), uid(model::AGENT, agent));
        }
        for kind in model.kinds.keys() {
            uids.kinds.insert(kind.clone(), uid(model::KIND, kind));
        }
        for (server, info) in &model.servers {
            uids.servers
                .insert(server.clone(), uid(model::SERVER, server));
            let tools = uids.tools.entry(server.clone()).or_default();
            for tool in &info.tools {
                tools.insert(
                    tool.clone(),
                    uid(model::TOOL, &model::tool_id(server, tool)),
                );
            }
        }
        uids
    }

    fn agent(&self, agent: &str) -> EntityUid {
        self.agents
            .get(agent)
            .cloned()
            .unwrap_or_else(|| uid(model::AGENT, agent))
    }

    fn server(&self, server: &str) -> EntityUid {
        self.servers
            .get(server)
            .cloned()
            .unwrap_or_else(|| uid(model::SERVER, server))
    }

    fn kind(&self, kind: &str) -> EntityUid {
        self.kinds
            .get(kind)
            .cloned()
            .unwrap_or_else(|| uid(model::KIND, kind))
    }

    fn tool(&self, server: &str, tool: &str) -> EntityUid {
        self.tools
            .get(server)
            .and_then(|t| t.get(tool))
            .cloned()
            .unwrap_or_else(|| uid(model::TOOL, &model::tool_id(server, tool)))
    }
}

/// The validated, indexed policies, shared between engines with different models.
struct Compiled {
    set: LoadedSet,
    index: [ActionIndex; 2],
    /// Argument rules by server, then tool.
    tool_rules: HashMap<String, HashMap<String, ToolRules>>,
    /// What the whole set reads (the cache keys).
    reads: Reads,
    /// The ids of the forbid policies (a forbid that cannot be evaluated denies).
    forbids: std::collections::HashSet<String>,
    /// Who decides over a slice.
    decider: Decider,
}

/// Who decides over a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decider {
    /// The conditions built at load, interpreted by Cedar's evaluator: what decisions use.
    Conditions,
    /// Cedar's own `Authorizer::is_authorized` over the slice's policy set: the reference
    /// the tests compare against.
    #[cfg(test)]
    CedarAuthorizer,
}

/// A validated policy set plus entity model that answers `call` and `flow` questions.
pub struct PolicyEngine {
    compiled: Arc<Compiled>,
    model: EntityModel,
    entities: Entities,
    actions: [EntityUid; 2],
    uids: Uids,
    cache: RwLock<HashMap<String, Decision>>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("policies", &self.compiled.set.policies.len())
            .field("hash", &self.compiled.set.hash)
            .finish_non_exhaustive()
    }
}

impl PolicyEngine {
    /// Loads `schema.cedarschema` + every `*.cedar` of `dir` (or the embedded defaults), strictly validated.
    pub fn load(dir: Option<&Path>) -> Result<PolicyEngine, PolicyError> {
        let (schema, files) = load::read_sources(dir)?;
        let set = load::compile(&schema, &files, "")?;
        let compiled = Arc::new(Compiled::new(set));
        Self::with_compiled(compiled, EntityModel::default())
    }

    /// The same policies over another entity model (with an empty cache). When the model's
    /// tools bring other input schemas, the generated argument types are regenerated and
    /// the policies validated again against them.
    pub fn with_model(&self, model: EntityModel) -> Result<PolicyEngine, PolicyError> {
        let fragment = super::args::fragment(&model);
        if fragment == self.compiled.set.fragment {
            return Self::with_compiled(Arc::clone(&self.compiled), model);
        }
        let (schema, files) = &self.compiled.set.sources;
        let set = load::compile(schema, files, &fragment)?;
        Self::with_compiled(Arc::new(Compiled::new(set)), model)
    }

    /// The Cedar schema in force: the policy directory's schema plus the argument types
    /// generated from the model's tools (`sluice policy schema`).
    pub fn schema_text(&self) -> String {
        let set = &self.compiled.set;
        let mut text = set.sources.0.text.clone();
        if !set.fragment.is_empty() {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push('\n');
            text.push_str(&set.fragment);
        }
        text
    }

    /// Argument rules waiting for their tool's input schema: (tool id, policy ids). Calls
    /// to these tools are refused until the tool is listed.
    pub fn pending_rules(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.compiled
            .set
            .pending
            .iter()
            .map(|(t, ids)| (t.as_str(), ids.as_slice()))
    }

    /// Whether some policy reads call facts (`context.call`), so callers must gather them.
    pub fn needs_call_facts(&self) -> bool {
        self.compiled.reads.call_facts()
    }

    /// Whether `server/tool` has argument rules (or rules waiting for its input schema),
    /// so its calls must be decided with their arguments.
    pub fn has_argument_rules(&self, server: &str, tool: &str) -> bool {
        let pending = &self.compiled.set.pending;
        self.compiled.tool_rules(server, tool).is_some()
            || (!pending.is_empty() && pending.contains_key(&model::tool_id(server, tool)))
    }

    fn with_compiled(
        compiled: Arc<Compiled>,
        model: EntityModel,
    ) -> Result<PolicyEngine, PolicyError> {
        let entities = model.entities(&compiled.set.schema)?;
        Ok(PolicyEngine {
            compiled,
            uids: Uids::of(&model),
            model,
            entities,
            actions: [uid(model::ACTION, "call"), uid(model::ACTION, "flow")],
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// The same engine with its slices holding the policies as parsed (with source
    /// locations), decided by Cedar's `Authorizer::is_authorized`: how decisions were made
    /// before the slices held policies without locations and their conditions built once.
    #[cfg(test)]
    pub(super) fn with_policies_as_parsed(&self) -> PolicyEngine {
        self.recompiled(Evaluated::AsParsed, Decider::CedarAuthorizer)
    }

    /// The same engine, its slices' policies (without source locations) decided by Cedar's
    /// `Authorizer::is_authorized` instead of the conditions built at load.
    #[cfg(test)]
    pub(super) fn with_cedar_authorizer(&self) -> PolicyEngine {
        self.recompiled(Evaluated::WithoutLocations, Decider::CedarAuthorizer)
    }

    #[cfg(test)]
    fn recompiled(&self, evaluated: Evaluated, decider: Decider) -> PolicyEngine {
        let set = &self.compiled.set;
        let (schema, files) = &set.sources;
        let set = load::compile(schema, files, &set.fragment)
            .unwrap_or_else(|e| panic!("a loaded set compiles again: {e}"));
        Self::with_compiled(
            Arc::new(Compiled::build(set, evaluated, decider)),
            self.model.clone(),
        )
        .unwrap_or_else(|e| panic!("the same model: {e}"))
    }

    /// Literal entities in the policies that the entity model does not know (see
    /// [`super::literals`]): errors for kinds and kind groups, warnings for the rest.
    pub fn unknown_entities(&self) -> Vec<super::UnknownEntity> {
        super::literals::unknown_entities(&self.compiled.set.policies, &self.model)
    }

    /// The same policies over `model`, refused if a policy names a kind or kind group the
    /// model lacks (such a literal can never match); returns the warnings for the rest.
    pub fn with_model_checked(
        &self,
        model: EntityModel,
    ) -> Result<(PolicyEngine, Vec<super::UnknownEntity>), PolicyError> {
        let engine = self.with_model(model)?;
        let (errors, warnings): (Vec<_>, Vec<_>) = engine
            .unknown_entities()
            .into_iter()
            .partition(|u| u.severity == super::Severity::Error);
        match errors.into_iter().next() {
            Some(error) => Err(PolicyError::UnknownEntity(Box::new(error))),
            None => Ok((engine, warnings)),
        }
    }

    /// The validated set behind this engine.
    pub(super) fn loaded(&self) -> &LoadedSet {
        &self.compiled.set
    }

    /// The entity model decisions are made over.
    pub fn model(&self) -> &EntityModel {
        &self.model
    }

    /// SHA-256 (hex) of the schema and policy files, for audit records.
    pub fn policy_set_hash(&self) -> &str {
        &self.compiled.set.hash
    }

    /// The `@id`s of all policies, in load order.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.compiled.set.policies.iter().map(|p| p.id.as_str())
    }

    /// Number of cached decisions.
    pub fn cached_decisions(&self) -> usize {
        self.cache.read().map_or(0, |c| c.len())
    }

    /// May `agent` call `server/tool`?
    pub fn authorize_call(&self, agent: &str, server: &str, tool: &str) -> Decision {
        self.decide(&PolicyRequest::Call(CallRequest {
            agent,
            server,
            tool,
            ..CallRequest::default()
        }))
    }

    /// May this placeholder's value flow into the destination tool's arguments?
    pub fn authorize_flow(&self, request: &FlowRequest<'_>) -> Decision {
        self.decide(&PolicyRequest::Flow(*request))
    }

    /// Decides a request, from the cache when possible.
    pub fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        let key = self.cache_key(request);
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|cache| cache.get(&key).cloned());
        let base = match cached {
            Some(d) => d,
            None => {
                let decision = self.evaluate_base(request).0;
                if let Ok(mut cache) = self.cache.write() {
                    if cache.len() >= CACHE_CAPACITY {
                        cache.clear();
                    }
                    cache.insert(key, decision.clone());
                }
                decision
            }
        };
        // Argument rules see values the key does not hold: the `call` decision comes from
        // the cache, its tool's argument rules are evaluated afresh every time.
        match request {
            PolicyRequest::Call(c) if base.allowed => self.argument_rules_or_deny(c, base),
            _ => base,
        }
    }

    /// Decides a request without reading or filling the cache.
    pub fn decide_uncached(&self, request: &PolicyRequest<'_>) -> Decision {
        self.evaluate(request).0
    }

    /// Decides a request afresh and says which policies decided it and which were considered.
    pub fn explain(&self, request: &PolicyRequest<'_>) -> Explanation {
        let (decision, slice) = self.evaluate(request);
        let policies = &self.compiled.set.policies;
        let mut members = slice.members.clone();
        if let PolicyRequest::Call(c) = request
            && let Some(rules) = self.compiled.tool_rules(c.server, c.tool)
        {
            members.extend(rules.slice.members.iter().copied());
        }
        let show = |p: &LoadedPolicy| ConsideredPolicy {
            id: p.id.clone(),
            effect: p.effect_name(),
            location: p.location.clone(),
            text: p.text.clone(),
        };
        let considered: Vec<ConsideredPolicy> =
            members.iter().map(|&i| show(&policies[i])).collect();
        let deciding = decision
            .policy_ids
            .iter()
            .filter_map(|id| considered.iter().find(|c| &c.id == id).cloned())
            .collect();
        Explanation {
            skipped: policies.len() - considered.len(),
            decision,
            deciding,
            considered,
        }
    }

    /// The full decision: the `call` or `flow` decision, then (for an allowed call) its
    /// tool's argument rules.
    fn evaluate(&self, request: &PolicyRequest<'_>) -> (Decision, &Slice) {
        let (base, slice) = self.evaluate_base(request);
        let decision = match request {
            PolicyRequest::Call(c) if base.allowed => self.argument_rules_or_deny(c, base),
            _ => base,
        };
        (decision, slice)
    }

    /// The `call` or `flow` decision alone, over the request's destination slice.
    fn evaluate_base(&self, request: &PolicyRequest<'_>) -> (Decision, &Slice) {
        let action = request.action();
        let (agent, server, tool) = match request {
            PolicyRequest::Call(c) => (c.agent, c.server, c.tool),
            PolicyRequest::Flow(f) => (f.agent, f.server, f.tool),
        };
        let slice = self.compiled.slice(action, server, tool);
        let decided = self.evaluate_in(request, slice, agent, server, tool);
        (decided.unwrap_or_else(unevaluable), slice)
    }

    fn argument_rules_or_deny(&self, c: &CallRequest<'_>, base: Decision) -> Decision {
        self.argument_rules(c, base).unwrap_or_else(unevaluable)
    }

    fn evaluate_in(
        &self,
        request: &PolicyRequest<'_>,
        slice: &Slice,
        agent: &str,
        server: &str,
        tool: &str,
    ) -> Result<Decision, String> {
        let (kind, source) = match request {
            PolicyRequest::Call(_) => (None, None),
            PolicyRequest::Flow(f) => (Some(f.kind), Some(f.source)),
        };
        // `context.call` is there when some policy of the set reads call facts (as the
        // schema says), holding the facts this slice reads.
        let facts = self
            .compiled
            .reads
            .call_facts()
            .then_some(slice.reads.facts);
        let context = match (request, facts) {
            (PolicyRequest::Call(_), None) => cedar_ast::Context::empty(),
            (PolicyRequest::Call(c), Some(mask)) => {
                context_of([("call", call_facts(c.call, mask))])
            }
            (PolicyRequest::Flow(f), facts) => self.flow_context(f, slice.reads, facts),
        };
        let entities = self.entities_for(agent, server, tool, kind, source)?;
        let response = self.authorize(
            slice,
            [
                self.uids.agent(agent),
                self.actions[action_index(request.action())].clone(),
                self.uids.tool(server, tool),
            ],
            context,
            &entities,
        );
        let Authorized {
            mut allowed,
            determining: mut policy_ids,
            errors,
        } = response;
        // Fail closed: a forbid that could not be evaluated is not a forbid that did not
        // apply (Cedar skips erroring policies).
        let mut broken_forbids: Vec<String> = errors
            .iter()
            .map(|(id, _)| id)
            .filter(|id| self.compiled.forbids.contains(*id))
            .cloned()
            .collect();
        let errors = errors.into_iter().map(|(_, message)| message).collect();
        if allowed && !broken_forbids.is_empty() {
            allowed = false;
            broken_forbids.sort_unstable();
            return Ok(Decision {
                allowed,
                reason: format!(
                    "denied: forbid policy {} could not be evaluated on this request",
                    broken_forbids.join(", ")
                ),
                policy_ids: broken_forbids,
                errors,
            });
        }
        policy_ids.sort_unstable();
        let reason = match (allowed, policy_ids.as_slice()) {
            (true, [one]) => format!("allowed by permit policy {one}"),
            (true, many) => format!("allowed by permit policies {}", many.join(", ")),
            (false, forbids) => denied_by(forbids),
        };
        Ok(Decision {
            allowed,
            policy_ids,
            reason,
            errors,
        })
    }

    /// The entities a request about `agent`, `server/tool` (and `kind`, `source`) is decided
    /// over: the model's, with any of them it does not know added.
    fn entities_for(
        &self,
        agent: &str,
        server: &str,
        tool: &str,
        kind: Option<&str>,
        source: Option<&str>,
    ) -> Result<Cow<'_, Entities>, String> {
        if self.model.knows(agent, server, tool, kind, source) {
            return Ok(Cow::Borrowed(&self.entities));
        }
        self.model
            .with_missing(&self.entities, agent, server, tool, kind, source)
            .map(Cow::Owned)
            .map_err(|e| e.to_string())
    }

    /// Cedar's authorization of the request (principal, action, resource; `context`) over
    /// `slice`, as `Authorizer::is_authorized` decides it: each policy's condition is
    /// interpreted by Cedar's evaluator; a policy whose evaluation errors is skipped and
    /// its error kept (with Cedar's message); the request is allowed iff some permit is
    /// satisfied and no forbid is; the determining policies are the satisfied forbids if
    /// there is one, else the satisfied permits (none when nothing permits). Every policy
    /// is evaluated, as Cedar does, so the errors and determining policies are complete.
    /// `evaluation_with_conditions_built_once_decides_as_cedar` compares the two.
    fn authorize(
        &self,
        slice: &Slice,
        [principal, action, resource]: [EntityUid; 3],
        context: cedar_ast::Context,
        entities: &Entities,
    ) -> Authorized {
        match self.compiled.decider {
            Decider::Conditions => {}
            #[cfg(test)]
            Decider::CedarAuthorizer => {
                return authorize_with_cedar(
                    slice,
                    [principal, action, resource],
                    context,
                    entities,
                );
            }
        }
        let request = cedar_ast::Request::new(
            (principal.into(), None),
            (action.into(), None),
            (resource.into(), None),
            context,
            None::<&cedar_ast::RequestSchemaAllPass>,
            Extensions::all_available(),
        );
        let request = match request {
            Ok(request) => request,
            Err(never) => match never {},
        };
        let evaluator = Evaluator::new(request, entities.as_ref(), Extensions::all_available());
        let (mut permits, mut forbids, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        for c in &slice.policies {
            let satisfied = match evaluator.interpret(&c.expr, c.policy.env()) {
                Ok(v) => match v.value_kind() {
                    cedar_ast::ValueKind::Lit(cedar_ast::Literal::Bool(b)) => Ok(*b),
                    // Unreachable (a condition is an `&&`, which yields a boolean or an
                    // error); Cedar's own evaluation gives the type error it would give.
                    _ => evaluator.evaluate(&c.policy),
                },
                Err(e) => Err(e),
            };
            match satisfied {
                Ok(true) if c.forbid => forbids.push(c.id.clone()),
                Ok(true) => permits.push(c.id.clone()),
                Ok(false) => {}
                Err(error) => {
                    let error =
                        cedar_policy_core::authorizer::AuthorizationError::PolicyEvaluationError {
                            id: c.policy.id().clone(),
                            error,
                        };
                    // Cedar's public error type, so the message is the one it gives.
                    let message = cedar_policy::AuthorizationError::from(error).to_string();
                    errors.push((c.id.clone(), message));
                }
            }
        }
        Authorized {
            allowed: !permits.is_empty() && forbids.is_empty(),
            determining: if forbids.is_empty() { permits } else { forbids },
            errors,
        }
    }

    /// A call `base` allowed, held against the tool's argument rules: refused if one
    /// forbids, if one cannot be evaluated on these arguments, or if rules wait for the
    /// tool's input schema. Argument values never enter the reason or the errors.
    fn argument_rules(&self, c: &CallRequest<'_>, base: Decision) -> Result<Decision, String> {
        let Some(rules) = self.compiled.tool_rules(c.server, c.tool) else {
            let pending = &self.compiled.set.pending;
            if pending.is_empty() {
                return Ok(base);
            }
            let id = model::tool_id(c.server, c.tool);
            return Ok(match pending.get(&id) {
                Some(ids) => Decision {
                    allowed: false,
                    policy_ids: ids.clone(),
                    reason: format!(
                        "denied: argument rule {} waits for the input schema of {id} (its server has not listed it yet)",
                        ids.join(", ")
                    ),
                    errors: Vec::new(),
                },
                None => base,
            });
        };
        let args =
            super::args::args_cedar_value(c.args.unwrap_or(&serde_json::Value::Null), |name| {
                rules.text.as_ref().is_none_or(|t| t.contains(name))
            });
        let context = context_of([
            ("call", call_facts(c.call, rules.slice.reads.facts)),
            ("args", args),
        ]);
        let entities = self.entities_for(c.agent, c.server, c.tool, None, None)?;
        let response = self.authorize(
            &rules.slice,
            [
                self.uids.agent(c.agent),
                rules.action.clone(),
                self.uids.tool(c.server, c.tool),
            ],
            context,
            &entities,
        );
        let mut forbids = response.determining;
        forbids.sort_unstable();
        if !forbids.is_empty() {
            return Ok(Decision {
                allowed: false,
                reason: denied_by(&forbids),
                policy_ids: forbids,
                errors: Vec::new(),
            });
        }
        let mut broken: Vec<String> = response.errors.into_iter().map(|(id, _)| id).collect();
        if !broken.is_empty() {
            broken.sort_unstable();
            broken.dedup();
            return Ok(Decision {
                allowed: false,
                reason: format!(
                    "denied: argument rule {} could not be evaluated on these arguments (one is missing or not of the type the tool's input schema declares)",
                    broken.join(", ")
                ),
                errors: broken.clone(),
                policy_ids: broken,
            });
        }
        Ok(base)
    }

    /// Length-prefixed fields, so no two requests share a key. Argument values never
    /// enter it: argument rules are decided on top of the cached `call` decision.
    fn cache_key(&self, request: &PolicyRequest<'_>) -> String {
        let mut key = String::with_capacity(96);
        let mut push = |s: &str| {
            let _ = write!(key, "{}:", s.len());
            key.push_str(s);
        };
        let v = self.compiled.reads;
        match request {
            PolicyRequest::Call(c) => {
                push("call");
                push(c.agent);
                push(c.server);
                push(c.tool);
                if v.call_facts()
                    && let Some(facts) = c.call
                {
                    facts.cache_key(&mut key);
                }
            }
            PolicyRequest::Flow(f) => {
                push("flow");
                push(f.agent);
                push(f.server);
                push(f.tool);
                push(f.kind);
                push(f.source);
                if v.placeholder {
                    push(f.placeholder);
                }
                if v.arg_path {
                    push(f.arg_path);
                }
                if v.email_domain {
                    push(f.email_domain.unwrap_or("\u{0}none"));
                }
                if v.phone_country {
                    push(f.phone_country.unwrap_or("\u{0}none"));
                }
                if v.source_tool {
                    push(f.source_tool.unwrap_or("\u{0}none"));
                }
                if v.source_path {
                    push(f.source_path.unwrap_or("\u{0}none"));
                }
                if v.call_facts()
                    && let Some(facts) = f.call
                {
                    facts.cache_key(&mut key);
                }
            }
        }
        key
    }

    /// The `flow` context: `kind` and `source`, the value fields `reads` names, and
    /// `call` (with the facts of `facts`) when some policy of the set reads call facts.
    fn flow_context(
        &self,
        f: &FlowRequest<'_>,
        reads: Reads,
        facts: Option<u8>,
    ) -> cedar_ast::Context {
        let entity = |uid: EntityUid| CedarValue::from(cedar_ast::EntityUID::from(uid));
        let field = |read: bool, name: &'static str, value: Option<&str>| {
            value.filter(|_| read).map(|v| (name, CedarValue::from(v)))
        };
        let pairs = [
            Some(("kind", entity(self.uids.kind(f.kind)))),
            Some(("source", entity(self.uids.server(f.source)))),
            field(reads.placeholder, "placeholder", Some(f.placeholder)),
            field(reads.arg_path, "arg_path", Some(f.arg_path)),
            field(reads.email_domain, "email_domain", f.email_domain),
            field(reads.phone_country, "phone_country", f.phone_country),
            field(reads.source_tool, "source_tool", f.source_tool),
            field(reads.source_path, "source_path", f.source_path),
            facts.map(|mask| ("call", call_facts(f.call, mask))),
        ];
        context_of(pairs.into_iter().flatten())
    }

    /// [`PolicyEngine::flow_context`] as it was built before, from restricted expressions
    /// Cedar interprets: the reference the value-built context is tested against.
    #[cfg(test)]
    fn flow_context_from_expressions(
        &self,
        f: &FlowRequest<'_>,
        reads: Reads,
        facts: Option<u8>,
    ) -> Result<Context, String> {
        use cedar_policy::RestrictedExpression;
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let field = |read: bool, name: &str, value: Option<&str>| {
            value.filter(|_| read).map(|v| (name.to_owned(), string(v)))
        };
        let call = match facts {
            Some(mask) => Some((
                "call".to_owned(),
                f.call.unwrap_or(&NO_FACTS).to_cedar(mask)?,
            )),
            None => None,
        };
        let pairs = [
            Some((
                "kind".to_owned(),
                RestrictedExpression::new_entity_uid(self.uids.kind(f.kind)),
            )),
            Some((
                "source".to_owned(),
                RestrictedExpression::new_entity_uid(self.uids.server(f.source)),
            )),
            field(reads.placeholder, "placeholder", Some(f.placeholder)),
            field(reads.arg_path, "arg_path", Some(f.arg_path)),
            field(reads.email_domain, "email_domain", f.email_domain),
            field(reads.phone_country, "phone_country", f.phone_country),
            field(reads.source_tool, "source_tool", f.source_tool),
            field(reads.source_path, "source_path", f.source_path),
            call,
        ];
        Context::from_pairs(pairs.into_iter().flatten()).map_err(|e| e.to_string())
    }
}

/// The reason of a denial by the satisfied forbids `ids`; "no permit policy allows it"
/// when there are none.
fn denied_by(ids: &[String]) -> String {
    match ids {
        [] => "no permit policy allows it".to_owned(),
        [one] => format!("denied by forbid policy {one}"),
        many => format!("denied by forbid policies {}", many.join(", ")),
    }
}

/// The denial of a request Cedar could not evaluate (fail closed).
fn unevaluable(e: String) -> Decision {
    Decision {
        allowed: false,
        policy_ids: Vec::new(),
        reason: format!("denied: the request could not be evaluated ({e})"),
        errors: vec![e],
    }
}

/// A policy id as written in its `@id` (Cedar's `Display` escapes it, and costs more).
#[cfg(test)]
fn id_of(id: &cedar_policy::PolicyId) -> String {
    AsRef::<str>::as_ref(id).to_owned()
}

/// [`PolicyEngine::authorize`] by Cedar's own `Authorizer::is_authorized`: the reference.
#[cfg(test)]
fn authorize_with_cedar(
    slice: &Slice,
    [principal, action, resource]: [EntityUid; 3],
    context: cedar_ast::Context,
    entities: &Entities,
) -> Authorized {
    let request = Request::new(principal, action, resource, Context::from(context), None)
        .unwrap_or_else(|e| panic!("a request without a schema is valid: {e}"));
    let response = Authorizer::new().is_authorized(&request, &slice.set, entities);
    Authorized {
        allowed: response.decision() == cedar_policy::Decision::Allow,
        determining: response.diagnostics().reason().map(id_of).collect(),
        errors: response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(p) => {
                    (id_of(p.policy_id()), e.to_string())
                }
            })
            .collect(),
    }
}

static NO_FACTS: std::sync::LazyLock<CallFacts> = std::sync::LazyLock::new(CallFacts::default);

/// `context.call`, with the facts of `mask`.
fn call_facts(facts: Option<&CallFacts>, mask: u8) -> CedarValue {
    facts.unwrap_or(&NO_FACTS).to_value(mask)
}

/// A context record made of values. Cedar's `Context::from_pairs` takes restricted
/// expressions, builds a record expression of them and interprets it into values: for
/// a decision with call facts that was a quarter of its instructions, on top of building
/// the expressions. Made from values directly, the context is the one Cedar would have
/// interpreted (the same literals, sets and records, no source locations; see the test
/// `contexts_made_of_values_equal_the_ones_cedar_interprets`). This uses
/// cedar-policy-core's value types, which [`PolicyEngine::authorize`] hands to Cedar's
/// evaluator as they are; cedar-policy requires the exact cedar-policy-core version, so
/// the two cannot drift apart without a compile error here.
fn context_of<'a>(pairs: impl IntoIterator<Item = (&'a str, CedarValue)>) -> cedar_ast::Context {
    cedar_ast::Context::Value(Arc::new(
        pairs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    ))
}

fn action_index(a: Action) -> usize {
    match a {
        Action::Call => 0,
        Action::Flow => 1,
    }
}

/// Where one policy goes in the index.
enum Bucket {
    Wildcard,
    Server(String),
    Tool(String, String),
}

fn bucket(policy: &cedar_policy::Policy) -> Bucket {
    let target = match policy.resource_constraint() {
        ResourceConstraint::Eq(u) | ResourceConstraint::In(u) | ResourceConstraint::IsIn(_, u) => u,
        ResourceConstraint::Any | ResourceConstraint::Is(_) => return Bucket::Wildcard,
    };
    let id = target.id().unescaped();
    match target.type_name().to_string().as_str() {
        model::SERVER => Bucket::Server(id.to_owned()),
        model::TOOL => match id.split_once('/') {
            Some((s, t)) => Bucket::Tool(s.to_owned(), t.to_owned()),
            None => Bucket::Wildcard,
        },
        _ => Bucket::Wildcard,
    }
}

fn actions_of(policy: &cedar_policy::Policy) -> [bool; 2] {
    let is = |u: &EntityUid, name: &str| {
        u.type_name().to_string() == model::ACTION && u.id().unescaped() == name
    };
    match policy.action_constraint() {
        ActionConstraint::Any => [true, true],
        ActionConstraint::Eq(u) => [is(&u, "call"), is(&u, "flow")],
        ActionConstraint::In(us) => [
            us.iter().any(|u| is(u, "call")),
            us.iter().any(|u| is(u, "flow")),
        ],
    }
}

/// How the slices hold their policies (see [`without_locations`]).
#[derive(Debug, Clone, Copy)]
enum Evaluated {
    /// Rebuilt without source locations: what decisions use.
    WithoutLocations,
    /// As parsed, source locations and all: the reference the tests compare against.
    #[cfg(test)]
    AsParsed,
}

/// The policy as a decision evaluates it: the same policy rebuilt from its JSON form,
/// which carries no source locations. Cedar copies the location of every expression node
/// it evaluates (an `Arc` of the policy's source text) into the node's value, which is
/// atomic reference counting at every step of every decision. Locations only label
/// errors for display: the decision, the deciding policies and the error messages
/// Sluice keeps are the same (`evaluation_without_source_locations_decides_the_same`).
/// Explanations and diagnostics take locations from the policies as loaded, not from
/// these. Should the round trip fail, the policy is kept as parsed.
fn without_locations(policy: &cedar_policy::Policy) -> cedar_policy::Policy {
    policy
        .to_json()
        .ok()
        .and_then(|json| cedar_policy::Policy::from_json(Some(policy.id().clone()), json).ok())
        .unwrap_or_else(|| policy.clone())
}

impl Compiled {
    fn new(set: LoadedSet) -> Self {
        Self::build(set, Evaluated::WithoutLocations, Decider::Conditions)
    }

    fn build(set: LoadedSet, evaluated: Evaluated, decider: Decider) -> Self {
        // Each policy converted once: wildcard policies are in every slice of their action.
        let policies: Vec<cedar_policy::Policy> = set
            .policies
            .iter()
            .map(|p| match evaluated {
                Evaluated::WithoutLocations => without_locations(&p.policy),
                #[cfg(test)]
                Evaluated::AsParsed => p.policy.clone(),
            })
            .collect();
        // Each condition built once too, shared by the slices.
        let conditions: Vec<Arc<Condition>> = policies
            .iter()
            .map(|p| Arc::new(Condition::of(p)))
            .collect();
        let reads = Reads::of(set.policies.iter().map(|p| p.text.as_str()));
        let forbids = set
            .policies
            .iter()
            .filter(|p| p.policy.effect() == cedar_policy::Effect::Forbid)
            .map(|p| p.id.clone())
            .collect();
        let index = [0, 1].map(|a| Self::index_action(&set, &policies, &conditions, a));
        let mut tool_rules: HashMap<String, HashMap<String, ToolRules>> = HashMap::new();
        for (tool, members) in &set.tool_rules {
            let action = uid(
                model::ACTION,
                &format!("{}{tool}", super::args::TOOL_ACTION_PREFIX),
            );
            let texts = || members.iter().map(|&i| set.policies[i].text.as_str());
            let slice_reads = Reads::of(texts());
            let text = (slice_reads != Reads::ALL).then(|| texts().collect::<Vec<_>>().join("\n"));
            // The same split as the destination index (`bucket`).
            let (server, name) = tool.split_once('/').unwrap_or(("", tool.as_str()));
            tool_rules.entry(server.to_owned()).or_default().insert(
                name.to_owned(),
                ToolRules {
                    action,
                    slice: Slice::of(&policies, &conditions, members.clone(), slice_reads),
                    text,
                },
            );
        }
        Compiled {
            set,
            index,
            tool_rules,
            reads,
            forbids,
            decider,
        }
    }

    /// A tool's argument rules, if it has any.
    fn tool_rules(&self, server: &str, tool: &str) -> Option<&ToolRules> {
        self.tool_rules.get(server)?.get(tool)
    }

    fn index_action(
        set: &LoadedSet,
        policies: &[cedar_policy::Policy],
        conditions: &[Arc<Condition>],
        action: usize,
    ) -> ActionIndex {
        let mut wildcard = Vec::new();
        let mut servers: HashMap<String, Vec<usize>> = HashMap::new();
        let mut tools: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, p) in set.policies.iter().enumerate() {
            if !actions_of(&p.policy)[action] {
                continue;
            }
            match bucket(&p.policy) {
                Bucket::Wildcard => wildcard.push(i),
                Bucket::Server(s) => servers.entry(s).or_default().push(i),
                Bucket::Tool(s, t) => tools.entry((s, t)).or_default().push(i),
            }
        }
        let make = |parts: &[&[usize]]| {
            let members: BTreeSet<usize> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            let members: Vec<usize> = members.into_iter().collect();
            let reads = Reads::of(members.iter().map(|&i| set.policies[i].text.as_str()));
            Slice::of(policies, conditions, members, reads)
        };
        let mut by_tool: HashMap<String, HashMap<String, Slice>> = HashMap::new();
        for ((s, t), own) in &tools {
            let server = servers.get(s).map_or(&[][..], Vec::as_slice);
            by_tool
                .entry(s.clone())
                .or_default()
                .insert(t.clone(), make(&[&wildcard, server, own]));
        }
        let by_server = servers
            .iter()
            .map(|(s, own)| (s.clone(), make(&[&wildcard, own])))
            .collect();
        ActionIndex {
            wildcard: make(&[&wildcard]),
            by_server,
            by_tool,
        }
    }

    fn slice(&self, action: Action, server: &str, tool: &str) -> &Slice {
        let index = &self.index[action_index(action)];
        if let Some(s) = index.by_tool.get(server).and_then(|tools| tools.get(tool)) {
            return s;
        }
        index.by_server.get(server).unwrap_or(&index.wildcard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_made_of_values_equal_the_ones_cedar_interprets() {
        let engine = PolicyEngine::load(None)
            .and_then(|e| {
                e.with_model(
                    EntityModel::builder()
                        .server("mail", "internal", Vec::<String>::new())
                        .tools("mail", ["send_email"])
                        .agent("demo-agent", ["sync-bots"])
                        .build(),
                )
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let restored = HashMap::from([(
            "[EMAIL_2]".to_owned(),
            super::super::Restored {
                kind: "EMAIL",
                value: "sam@example.com",
            },
        )]);
        let mail = serde_json::json!({
            "to": ["boss@example.com", "[EMAIL_2]", "x@elsewhere.example"],
            "body": "call +44 20 7946 0958, pay DE89370400440532013000, see https://a.example/b",
        });
        let facts = [
            None,
            Some(CallFacts::default()),
            Some(CallFacts::gather_default(&mail, &restored)),
        ];
        let reads = [
            Reads::default(),
            Reads::ALL,
            Reads {
                arg_path: true,
                source_tool: true,
                facts: 0b10,
                ..Reads::default()
            },
        ];
        let mut compared = 0;
        for facts in &facts {
            for read in reads {
                for mask in [None, Some(0), Some(0b10), Some(u8::MAX)] {
                    for (email_domain, source_tool) in [
                        (None, None),
                        (Some("example.com"), Some("mail/search_contacts")),
                    ] {
                        let f = FlowRequest {
                            agent: "demo-agent",
                            server: "mail",
                            tool: "send_email",
                            kind: "EMAIL",
                            source: "nowhere",
                            placeholder: "[EMAIL_2]",
                            arg_path: "to[1]",
                            email_domain,
                            phone_country: email_domain.map(|_| "GB"),
                            source_tool,
                            source_path: source_tool.map(|_| "contacts[0].email"),
                            call: facts.as_ref(),
                        };
                        let want = engine
                            .flow_context_from_expressions(&f, read, mask)
                            .unwrap_or_else(|e| panic!("{e}"));
                        let got = Context::from(engine.flow_context(&f, read, mask));
                        assert_eq!(got, want, "{f:?} {read:?}");
                        compared += 1;
                    }
                }
            }
        }
        let args = [
            serde_json::json!({"iban": "DE89370400440532013000", "amount": 5, "note": null}),
            serde_json::json!({"to": ["a@b.example", "a@b.example", "[EMAIL_1]"], "n": 1.5,
                "big": 18446744073709551615u64, "ok": true, "deep": {"a": {"b": [1, [2, {"c": "d"}]]}}}),
            serde_json::json!({"l1": {"l2": {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": {"l9": {"l10": 1}}}}}}}}}}),
            serde_json::json!(["not", "an", "object"]),
            serde_json::Value::Null,
        ];
        for args in &args {
            for read_all in [true, false] {
                let read = |name: &str| read_all || name.len() > 2;
                for facts in &facts {
                    let got = Context::from(context_of([
                        ("call", call_facts(facts.as_ref(), u8::MAX)),
                        ("args", super::super::args::args_cedar_value(args, read)),
                    ]));
                    let want = Context::from_pairs([
                        (
                            "call".to_owned(),
                            facts
                                .as_ref()
                                .unwrap_or(&NO_FACTS)
                                .to_cedar(u8::MAX)
                                .unwrap_or_else(|e| panic!("{e}")),
                        ),
                        (
                            "args".to_owned(),
                            super::super::args::args_value(args, read),
                        ),
                    ])
                    .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(got, want, "{args}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }
}
