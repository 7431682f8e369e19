//! The entity model: servers, tools, agents and kinds as Cedar entities.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use cedar_policy::{
    Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression, Schema,
};

use super::PolicyError;

/// The kind group that EMAIL, PHONE and NAME belong to.
pub const CONTACT_INFO: &str = "contact_info";
/// Trust given to a server the model does not know.
pub(crate) const UNKNOWN_TRUST: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ServerInfo {
    pub(crate) trust: String,
    pub(crate) tags: BTreeSet<String>,
    pub(crate) tools: BTreeSet<String>,
}

/// What the policies can talk about: servers (trust, tags), their tools, agents and kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityModel {
    pub(crate) servers: BTreeMap<String, ServerInfo>,
    pub(crate) agents: BTreeMap<String, BTreeSet<String>>,
    pub(crate) kinds: BTreeMap<String, BTreeSet<String>>,
    /// Each known tool's MCP `inputSchema`, by tool id `server/tool` (the source of the
    /// generated argument types, see [`super::args`]).
    pub(crate) tool_inputs: BTreeMap<String, serde_json::Value>,
}

impl Default for EntityModel {
    fn default() -> Self {
        EntityModelBuilder::new().build()
    }
}

impl EntityModel {
    /// A builder preloaded with the built-in kinds in their kind groups (`contact_info`,
    /// `financial`, `secret`).
    pub fn builder() -> EntityModelBuilder {
        EntityModelBuilder::new()
    }

    /// Adds `tool` to a known `server`; returns whether it was new. Tools of servers the
    /// model does not know are not added (such servers stay "unknown").
    pub fn add_tool(&mut self, server: &str, tool: &str) -> bool {
        match self.servers.get_mut(server) {
            Some(info) => info.tools.insert(tool.to_owned()),
            None => false,
        }
    }

    /// Records the input schema of a known server's tool (adding the tool); returns whether
    /// anything changed. Argument types are generated from it.
    pub fn set_tool_input(&mut self, server: &str, tool: &str, schema: serde_json::Value) -> bool {
        let added = self.add_tool(server, tool);
        if !self.servers.contains_key(server) {
            return false;
        }
        let id = tool_id(server, tool);
        if self.tool_inputs.get(&id) == Some(&schema) {
            return added;
        }
        self.tool_inputs.insert(id, schema);
        true
    }

    /// Whether the model knows this server.
    pub fn has_server(&self, server: &str) -> bool {
        self.servers.contains_key(server)
    }

    /// A known server's trust level and tags, as policies see them.
    pub fn server_facts(&self, server: &str) -> Option<(&str, Vec<&str>)> {
        let info = self.servers.get(server)?;
        Some((
            info.trust.as_str(),
            info.tags.iter().map(String::as_str).collect(),
        ))
    }

    /// Whether every entity a request names is in the model (so no entity is made up).
    pub(crate) fn knows(
        &self,
        agent: &str,
        server: &str,
        tool: &str,
        kind: Option<&str>,
        source: Option<&str>,
    ) -> bool {
        self.agents.contains_key(agent)
            && self
                .servers
                .get(server)
                .is_some_and(|s| s.tools.contains(tool))
            && kind.is_none_or(|k| self.kinds.contains_key(k))
            && source.is_none_or(|s| self.servers.contains_key(s))
    }

    /// What a request names that the model does not know, each as a note ("agent 'x' is
    /// not in the config; did you mean 'y'?") and whether a close known name exists (then
    /// it is most likely a typo). Such entities are still decided, as made-up ones.
    pub fn unknown_names(
        &self,
        agent: &str,
        server: &str,
        tool: &str,
        kind: Option<&str>,
        source: Option<&str>,
    ) -> Vec<(String, bool)> {
        let mut notes = Vec::new();
        let mut note = |what: &str, name: &str, known: Vec<&str>| {
            let suggestion = crate::suggest::closest(name, known.iter().copied());
            let hint = suggestion
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            notes.push((
                format!(
                    "{what} \"{name}\" is not in the model{hint} (decided as an unknown {what})"
                ),
                suggestion.is_some(),
            ));
        };
        if !self.agents.contains_key(agent) {
            note(
                "agent",
                agent,
                self.agents.keys().map(String::as_str).collect(),
            );
        }
        match self.servers.get(server) {
            None => note(
                "server",
                server,
                self.servers.keys().map(String::as_str).collect(),
            ),
            Some(info) if !info.tools.is_empty() && !info.tools.contains(tool) => note(
                "tool",
                tool,
                info.tools.iter().map(String::as_str).collect(),
            ),
            Some(_) => {}
        }
        if let Some(kind) = kind.filter(|k| !self.kinds.contains_key(*k)) {
            note(
                "kind",
                kind,
                self.kinds.keys().map(String::as_str).collect(),
            );
        }
        if let Some(source) = source.filter(|s| !self.servers.contains_key(*s)) {
            note(
                "source server",
                source,
                self.servers.keys().map(String::as_str).collect(),
            );
        }
        notes
    }

    /// All entities of the model, validated against `schema`.
    pub(crate) fn entities(&self, schema: &Schema) -> Result<Entities, PolicyError> {
        let mut list = Vec::new();
        let mut groups = BTreeSet::new();
        for (agent, gs) in &self.agents {
            list.push(agent_entity(agent, gs.iter().map(String::as_str)));
            groups.extend(gs.iter().map(String::as_str));
        }
        list.extend(groups.into_iter().map(|g| Entity::with_uid(uid(GROUP, g))));
        let mut kind_groups = BTreeSet::new();
        for (kind, gs) in &self.kinds {
            list.push(kind_entity(kind, gs.iter().map(String::as_str)));
            kind_groups.extend(gs.iter().map(String::as_str));
        }
        list.extend(
            kind_groups
                .into_iter()
                .map(|g| Entity::with_uid(uid(KIND_GROUP, g))),
        );
        for (name, info) in &self.servers {
            list.push(server_entity(
                name,
                &info.trust,
                info.tags.iter().map(String::as_str),
            )?);
            for tool in &info.tools {
                list.push(tool_entity(name, tool)?);
            }
        }
        Entities::from_entities(list, Some(schema)).map_err(|e| PolicyError::Entities {
            message: e.to_string(),
        })
    }

    /// `base` plus made-up entities for whatever the request names that the model lacks.
    pub(crate) fn with_missing(
        &self,
        base: &Entities,
        agent: &str,
        server: &str,
        tool: &str,
        kind: Option<&str>,
        source: Option<&str>,
    ) -> Result<Entities, PolicyError> {
        let mut extra = Vec::new();
        if !self.agents.contains_key(agent) {
            extra.push(agent_entity(agent, std::iter::empty()));
        }
        let mut servers: HashSet<&str> = HashSet::new();
        servers.insert(server);
        if let Some(s) = source {
            servers.insert(s);
        }
        for s in servers {
            if !self.servers.contains_key(s) {
                extra.push(server_entity(s, UNKNOWN_TRUST, std::iter::empty())?);
            }
        }
        if !self
            .servers
            .get(server)
            .is_some_and(|s| s.tools.contains(tool))
        {
            extra.push(tool_entity(server, tool)?);
        }
        if let Some(k) = kind.filter(|k| !self.kinds.contains_key(*k)) {
            extra.push(kind_entity(k, std::iter::empty()));
        }
        base.clone()
            .add_entities(extra, None)
            .map_err(|e| PolicyError::Entities {
                message: e.to_string(),
            })
    }
}

/// Builds an [`EntityModel`] from config (servers, agents, kinds) and the catalog (tools).
#[derive(Debug, Clone)]
pub struct EntityModelBuilder {
    model: EntityModel,
}

impl Default for EntityModelBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EntityModelBuilder {
    /// Starts with EMAIL, PHONE and NAME in `contact_info`, IBAN and CARD in `financial`,
    /// SECRET in `secret`, and nothing else.
    pub fn new() -> Self {
        let mut kinds = BTreeMap::new();
        for k in ["EMAIL", "PHONE", "NAME"] {
            kinds.insert(k.to_owned(), BTreeSet::from([CONTACT_INFO.to_owned()]));
        }
        // The optional built-in kinds are in the model whether or not `[detectors] enable`
        // turns them on, so a policy over `financial` or `secret` validates in every config.
        for k in ["IBAN", "CARD", "SECRET"] {
            let groups = detectors::Kind::from_name(k).group().map(str::to_owned);
            kinds.insert(k.to_owned(), groups.into_iter().collect());
        }
        Self {
            model: EntityModel {
                servers: BTreeMap::new(),
                agents: BTreeMap::new(),
                kinds,
                tool_inputs: BTreeMap::new(),
            },
        }
    }

    /// Adds (or replaces the trust and tags of) a server.
    pub fn server<I, S>(mut self, name: &str, trust: &str, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let info = self.model.servers.entry(name.to_owned()).or_default();
        info.trust = trust.to_owned();
        info.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Adds tools of a server (the server is created with trust `"unknown"` if absent).
    pub fn tools<I, S>(mut self, server: &str, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let info = self
            .model
            .servers
            .entry(server.to_owned())
            .or_insert_with(|| ServerInfo {
                trust: UNKNOWN_TRUST.to_owned(),
                ..ServerInfo::default()
            });
        info.tools.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Adds an agent and the groups it belongs to.
    pub fn agent<I, S>(mut self, name: &str, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.model
            .agents
            .entry(name.to_owned())
            .or_default()
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Adds a kind (or more kind groups to an existing kind, e.g. a custom `IBAN` in `financial`).
    pub fn kind<I, S>(mut self, name: &str, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.model
            .kinds
            .entry(name.to_owned())
            .or_default()
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Finishes the model.
    pub fn build(self) -> EntityModel {
        self.model
    }
}

pub(crate) const AGENT: &str = "Sluice::Agent";
pub(crate) const GROUP: &str = "Sluice::Group";
pub(crate) const KIND: &str = "Sluice::Kind";
pub(crate) const KIND_GROUP: &str = "Sluice::KindGroup";
pub(crate) const SERVER: &str = "Sluice::Server";
pub(crate) const TOOL: &str = "Sluice::Tool";
pub(crate) const ACTION: &str = "Sluice::Action";

/// The parsed type names, parsed once: building a uid happens several times per decision.
static TYPE_NAMES: LazyLock<HashMap<&'static str, EntityTypeName>> = LazyLock::new(|| {
    [AGENT, GROUP, KIND, KIND_GROUP, SERVER, TOOL, ACTION]
        .into_iter()
        .filter_map(|t| t.parse().ok().map(|n| (t, n)))
        .collect()
});

/// A Sluice entity uid; `ty` is one of the constants above.
pub(crate) fn uid(ty: &'static str, id: &str) -> EntityUid {
    let ty = match TYPE_NAMES.get(ty) {
        Some(t) => t.clone(),
        // Unreachable for the constants above; parsing again keeps this total.
        None => ty
            .parse()
            .unwrap_or_else(|_| unreachable!("constant type name {ty}")),
    };
    EntityUid::from_type_name_and_id(ty, EntityId::new(id))
}

/// The tool entity id `"server/tool"`.
pub(crate) fn tool_id(server: &str, tool: &str) -> String {
    let mut id = String::with_capacity(server.len() + tool.len() + 1);
    id.push_str(server);
    id.push('/');
    id.push_str(tool);
    id
}

fn agent_entity<'a>(name: &str, groups: impl Iterator<Item = &'a str>) -> Entity {
    Entity::new_no_attrs(uid(AGENT, name), groups.map(|g| uid(GROUP, g)).collect())
}

fn kind_entity<'a>(name: &str, groups: impl Iterator<Item = &'a str>) -> Entity {
    Entity::new_no_attrs(
        uid(KIND, name),
        groups.map(|g| uid(KIND_GROUP, g)).collect(),
    )
}

fn server_entity<'a>(
    name: &str,
    trust: &str,
    tags: impl Iterator<Item = &'a str>,
) -> Result<Entity, PolicyError> {
    let attrs = HashMap::from([
        (
            "trust".to_owned(),
            RestrictedExpression::new_string(trust.to_owned()),
        ),
        (
            "tags".to_owned(),
            RestrictedExpression::new_set(
                tags.map(|t| RestrictedExpression::new_string(t.to_owned())),
            ),
        ),
    ]);
    Entity::new(uid(SERVER, name), attrs, HashSet::new()).map_err(|e| PolicyError::Entities {
        message: format!("server {name}: {e}"),
    })
}

fn tool_entity(server: &str, tool: &str) -> Result<Entity, PolicyError> {
    let server_uid = uid(SERVER, server);
    let attrs = HashMap::from([(
        "server".to_owned(),
        RestrictedExpression::new_entity_uid(server_uid.clone()),
    )]);
    Entity::new(
        uid(TOOL, &tool_id(server, tool)),
        attrs,
        HashSet::from([server_uid]),
    )
    .map_err(|e| PolicyError::Entities {
        message: format!("tool {server}/{tool}: {e}"),
    })
}

impl EntityModel {
    /// The entities policies see: servers (trust, tags), agents (groups) and custom kinds
    /// from the config. Tools join when the catalog is loaded; an unknown tool of a known
    /// server is still decided as a member of its server.
    pub fn from_config(config: &crate::config::Config) -> EntityModel {
        let mut builder = EntityModel::builder();
        for (name, server) in &config.servers {
            builder = builder.server(name, &server.trust, server.tags.iter().cloned());
        }
        for (name, agent) in &config.agents {
            builder = builder.agent(name, agent.groups.iter().cloned());
        }
        for custom in &config.detectors.custom {
            builder = builder.kind(&custom.kind, custom.groups.iter().cloned());
        }
        builder.build()
    }
}
