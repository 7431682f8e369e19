//! The engine: a validated policy set indexed by destination, an entity model and a cache.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Entities, EntityUid, PolicySet, Request,
    ResourceConstraint, RestrictedExpression,
};

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
    set: PolicySet,
    members: Vec<usize>,
}

/// Slices of one action: wildcard, per server, per tool.
struct ActionIndex {
    wildcard: Slice,
    by_server: HashMap<String, Slice>,
    by_tool: HashMap<String, HashMap<String, Slice>>,
}

/// Which per-value `flow` context fields some policy mentions (and so join the cache key).
#[derive(Debug, Clone, Copy, Default)]
struct ValueFields {
    placeholder: bool,
    arg_path: bool,
    email_domain: bool,
    phone_country: bool,
    source_tool: bool,
    source_path: bool,
    /// Some policy reads call facts (`context.call.*`): they join `call` and `flow` keys.
    call_facts: bool,
}

/// The validated, indexed policies, shared between engines with different models.
struct Compiled {
    set: LoadedSet,
    index: [ActionIndex; 2],
    /// Argument rules by tool id (`server/tool`), each evaluated as `call:server/tool`.
    tool_rules: HashMap<String, (EntityUid, Slice)>,
    value_fields: ValueFields,
}

/// A validated policy set plus entity model that answers `call` and `flow` questions.
pub struct PolicyEngine {
    compiled: Arc<Compiled>,
    model: EntityModel,
    entities: Entities,
    authorizer: Authorizer,
    actions: [EntityUid; 2],
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
        self.compiled.value_fields.call_facts
    }

    /// Whether `server/tool` has argument rules (or rules waiting for its input schema),
    /// so its calls must be decided with their arguments.
    pub fn has_argument_rules(&self, server: &str, tool: &str) -> bool {
        let id = model::tool_id(server, tool);
        self.compiled.tool_rules.contains_key(&id) || self.compiled.set.pending.contains_key(&id)
    }

    fn with_compiled(
        compiled: Arc<Compiled>,
        model: EntityModel,
    ) -> Result<PolicyEngine, PolicyError> {
        let entities = model.entities(&compiled.set.schema)?;
        Ok(PolicyEngine {
            compiled,
            model,
            entities,
            authorizer: Authorizer::new(),
            actions: [uid(model::ACTION, "call"), uid(model::ACTION, "flow")],
            cache: RwLock::new(HashMap::new()),
        })
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
        // Argument rules see values the key does not hold: decided afresh every time.
        if let PolicyRequest::Call(c) = request
            && self.has_argument_rules(c.server, c.tool)
        {
            return self.evaluate(request).0;
        }
        let key = self.cache_key(request);
        if let Ok(cache) = self.cache.read()
            && let Some(d) = cache.get(&key)
        {
            return d.clone();
        }
        let decision = self.evaluate(request).0;
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, decision.clone());
        }
        decision
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
            && let Some((_, rules)) = self
                .compiled
                .tool_rules
                .get(&model::tool_id(c.server, c.tool))
        {
            members.extend(rules.members.iter().copied());
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

    fn evaluate(&self, request: &PolicyRequest<'_>) -> (Decision, &Slice) {
        let action = request.action();
        let (agent, server, tool) = match request {
            PolicyRequest::Call(c) => (c.agent, c.server, c.tool),
            PolicyRequest::Flow(f) => (f.agent, f.server, f.tool),
        };
        let slice = self.compiled.slice(action, server, tool);
        let decided = self
            .evaluate_in(request, slice, agent, server, tool)
            .and_then(|d| match request {
                PolicyRequest::Call(c) if d.allowed => self.argument_rules(c, d),
                _ => Ok(d),
            });
        match decided {
            Ok(d) => (d, slice),
            Err(e) => (
                Decision {
                    allowed: false,
                    policy_ids: Vec::new(),
                    reason: format!("denied: the request could not be evaluated ({e})"),
                    errors: vec![e],
                },
                slice,
            ),
        }
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
        // Call facts enter the context only when some policy reads them: building the
        // record costs on every decision.
        let facts = self.compiled.value_fields.call_facts;
        let context = match request {
            PolicyRequest::Call(_) if !facts => Context::empty(),
            PolicyRequest::Call(c) => call_context(c.call, None)?,
            PolicyRequest::Flow(f) => flow_context(f, facts)?,
        };
        let cedar_request = Request::new(
            uid(model::AGENT, agent),
            self.actions[action_index(request.action())].clone(),
            uid(model::TOOL, &model::tool_id(server, tool)),
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let entities = if self.model.knows(agent, server, tool, kind, source) {
            Cow::Borrowed(&self.entities)
        } else {
            Cow::Owned(
                self.model
                    .with_missing(&self.entities, agent, server, tool, kind, source)
                    .map_err(|e| e.to_string())?,
            )
        };
        let response = self
            .authorizer
            .is_authorized(&cedar_request, &slice.set, &entities);
        let mut allowed = response.decision() == cedar_policy::Decision::Allow;
        // Fail closed: a forbid that could not be evaluated is not a forbid that did not
        // apply (Cedar skips erroring policies).
        let broken_forbids: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    e.policy_id().to_string()
                }
            })
            .filter(|id| self.is_forbid(id))
            .collect();
        if allowed && !broken_forbids.is_empty() {
            allowed = false;
            let mut ids = broken_forbids;
            ids.sort_unstable();
            return Ok(Decision {
                allowed,
                reason: format!(
                    "denied: forbid policy {} could not be evaluated on this request",
                    ids.join(", ")
                ),
                policy_ids: ids,
                errors: response
                    .diagnostics()
                    .errors()
                    .map(ToString::to_string)
                    .collect(),
            });
        }
        let mut policy_ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policy_ids.sort_unstable();
        let errors = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let reason = match (allowed, policy_ids.as_slice()) {
            (true, [one]) => format!("allowed by permit policy {one}"),
            (true, many) => format!("allowed by permit policies {}", many.join(", ")),
            (false, []) => "no permit policy allows it".to_owned(),
            (false, [one]) => format!("denied by forbid policy {one}"),
            (false, many) => format!("denied by forbid policies {}", many.join(", ")),
        };
        Ok(Decision {
            allowed,
            policy_ids,
            reason,
            errors,
        })
    }

    fn is_forbid(&self, id: &str) -> bool {
        self.compiled
            .set
            .policies
            .iter()
            .any(|p| p.id == id && p.effect_name() == "forbid")
    }

    /// A call `base` allowed, held against the tool's argument rules: refused if one
    /// forbids, if one cannot be evaluated on these arguments, or if rules wait for the
    /// tool's input schema. Argument values never enter the reason or the errors.
    fn argument_rules(&self, c: &CallRequest<'_>, base: Decision) -> Result<Decision, String> {
        let id = model::tool_id(c.server, c.tool);
        if let Some(ids) = self.compiled.set.pending.get(&id) {
            return Ok(Decision {
                allowed: false,
                policy_ids: ids.clone(),
                reason: format!(
                    "denied: argument rule {} waits for the input schema of {id} (its server has not listed it yet)",
                    ids.join(", ")
                ),
                errors: Vec::new(),
            });
        }
        let Some((action, rules)) = self.compiled.tool_rules.get(&id) else {
            return Ok(base);
        };
        let context = call_context(c.call, Some(c.args))?;
        let request = Request::new(
            uid(model::AGENT, c.agent),
            action.clone(),
            uid(model::TOOL, &id),
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let entities = if self.model.knows(c.agent, c.server, c.tool, None, None) {
            Cow::Borrowed(&self.entities)
        } else {
            Cow::Owned(
                self.model
                    .with_missing(&self.entities, c.agent, c.server, c.tool, None, None)
                    .map_err(|e| e.to_string())?,
            )
        };
        let response = self
            .authorizer
            .is_authorized(&request, &rules.set, &entities);
        let mut forbids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        forbids.sort_unstable();
        if !forbids.is_empty() {
            return Ok(Decision {
                allowed: false,
                reason: match forbids.as_slice() {
                    [one] => format!("denied by forbid policy {one}"),
                    many => format!("denied by forbid policies {}", many.join(", ")),
                },
                policy_ids: forbids,
                errors: Vec::new(),
            });
        }
        let mut broken: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    e.policy_id().to_string()
                }
            })
            .collect();
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

    /// Length-prefixed fields, so no two requests share a key.
    fn cache_key(&self, request: &PolicyRequest<'_>) -> String {
        let mut key = String::with_capacity(96);
        let mut push = |s: &str| {
            let _ = write!(key, "{}:", s.len());
            key.push_str(s);
        };
        match request {
            PolicyRequest::Call(c) => {
                push("call");
                push(c.agent);
                push(c.server);
                push(c.tool);
                if self.compiled.value_fields.call_facts
                    && let Some(facts) = c.call
                {
                    facts.cache_key(&mut key);
                }
            }
            PolicyRequest::Flow(f) => {
                let v = self.compiled.value_fields;
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
                if v.call_facts
                    && let Some(facts) = f.call
                {
                    facts.cache_key(&mut key);
                }
            }
        }
        key
    }
}

fn flow_context(f: &FlowRequest<'_>, with_call_facts: bool) -> Result<Context, String> {
    let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
    let mut pairs = vec![
        (
            "kind".to_owned(),
            RestrictedExpression::new_entity_uid(uid(model::KIND, f.kind)),
        ),
        (
            "source".to_owned(),
            RestrictedExpression::new_entity_uid(uid(model::SERVER, f.source)),
        ),
        ("placeholder".to_owned(), string(f.placeholder)),
        ("arg_path".to_owned(), string(f.arg_path)),
    ];
    if let Some(d) = f.email_domain {
        pairs.push(("email_domain".to_owned(), string(d)));
    }
    if let Some(c) = f.phone_country {
        pairs.push(("phone_country".to_owned(), string(c)));
    }
    if let Some(t) = f.source_tool {
        pairs.push(("source_tool".to_owned(), string(t)));
    }
    if let Some(p) = f.source_path {
        pairs.push(("source_path".to_owned(), string(p)));
    }
    if with_call_facts {
        pairs.push(("call".to_owned(), call_facts(f.call)?));
    }
    Context::from_pairs(pairs).map_err(|e| e.to_string())
}

static NO_FACTS: std::sync::LazyLock<CallFacts> = std::sync::LazyLock::new(CallFacts::default);

fn call_facts(facts: Option<&CallFacts>) -> Result<RestrictedExpression, String> {
    facts.unwrap_or(&NO_FACTS).to_cedar()
}

/// `{call}` for the `call` action, `{args, call}` for a tool's argument rules.
fn call_context(
    facts: Option<&CallFacts>,
    args: Option<Option<&serde_json::Value>>,
) -> Result<Context, String> {
    let mut pairs = vec![("call".to_owned(), call_facts(facts)?)];
    if let Some(args) = args {
        let value = match args {
            Some(a) => super::args::args_value(a),
            None => super::args::args_value(&serde_json::Value::Null),
        };
        pairs.push(("args".to_owned(), value));
    }
    Context::from_pairs(pairs).map_err(|e| e.to_string())
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

impl Compiled {
    fn new(set: LoadedSet) -> Self {
        let mut value_fields = ValueFields::default();
        for p in &set.policies {
            value_fields.placeholder |= p.text.contains("placeholder");
            value_fields.arg_path |= p.text.contains("arg_path");
            value_fields.email_domain |= p.text.contains("email_domain");
            value_fields.phone_country |= p.text.contains("phone_country");
            value_fields.source_tool |= p.text.contains("source_tool");
            value_fields.source_path |= p.text.contains("source_path");
            value_fields.call_facts |= super::facts::CALL_FACT_FIELDS
                .iter()
                .any(|f| p.text.contains(f));
        }
        let index = [0, 1].map(|a| Self::index_action(&set, a));
        let tool_rules = set
            .tool_rules
            .iter()
            .map(|(tool, members)| {
                let mut ps = PolicySet::new();
                for &i in members {
                    // Ids are unique in a loaded set, so adding cannot clash.
                    let _ = ps.add(set.policies[i].policy.clone());
                }
                let action = uid(
                    model::ACTION,
                    &format!("{}{tool}", super::args::TOOL_ACTION_PREFIX),
                );
                (
                    tool.clone(),
                    (
                        action,
                        Slice {
                            set: ps,
                            members: members.clone(),
                        },
                    ),
                )
            })
            .collect();
        Compiled {
            set,
            index,
            tool_rules,
            value_fields,
        }
    }

    fn index_action(set: &LoadedSet, action: usize) -> ActionIndex {
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
            let mut ps = PolicySet::new();
            for &i in &members {
                // Ids are unique in a loaded set, so adding cannot clash.
                let _ = ps.add(set.policies[i].policy.clone());
            }
            Slice { set: ps, members }
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
