//! Field hints per (server, tool): what ingress knows about a tool's result beyond its key
//! words — the tool's MCP `outputSchema` (property names, descriptions, `x-pii-kind`) and
//! the operator's `[servers.NAME.fields]` declarations, checked against that schema.
//!
//! Resolved once per tool and tool list (a `list_changed` that brings a new list resolves
//! again) and cached. A declaration the tool's schema contradicts (a path it does not
//! have, a tool the server does not offer) is an error naming the server, the tool and
//! the declaration, never a silently ignored line: the operator thinks that field is
//! protected. This module never sees a value; it only builds [`FieldHints`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use detectors::{FieldHints, Kind};
use rmcp::model::Tool;
use serde_json::Value;

use crate::config::{Config, FieldDeclaration};

/// A field declaration that does not fit the tools its server offers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A per-tool table names a tool the server does not list.
    #[error(
        "{declared}: server '{server}' has no tool '{tool}' (its tools: {known}); fix the table name in sluice.toml"
    )]
    UnknownTool {
        /// The declaration as written.
        declared: String,
        /// The server.
        server: String,
        /// The tool named.
        tool: String,
        /// The tools the server lists.
        known: String,
    },
    /// The tool's `outputSchema` has no field at the declared path.
    #[error(
        "{declared}: the outputSchema of tools.{server}.{tool} has no field at \"{path}\"; fix the path in sluice.toml (see `sluice search --detail full {tool}` for the result's shape)"
    )]
    NotInSchema {
        /// The declaration as written.
        declared: String,
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The declared path.
        path: String,
    },
    /// A declaration for every tool of a server fits none of them.
    #[error(
        "{declared}: no tool of server '{server}' has a field at \"{path}\" in its outputSchema; fix the path in sluice.toml or move it under [servers.{server}.fields.TOOL]"
    )]
    InNoSchema {
        /// The declaration as written.
        declared: String,
        /// The server.
        server: String,
        /// The declared path.
        path: String,
    },
    /// The declarations could not be built into hints (too many, or a bad path).
    #[error("[servers.{server}.fields]: {message}")]
    Hints {
        /// The server.
        server: String,
        /// What the detectors said.
        message: String,
    },
}

/// One tool's resolved hints, with the tool list they were resolved from.
struct Resolved {
    tools: Arc<Vec<Tool>>,
    hints: Result<Arc<FieldHints>, FieldError>,
}

/// The operator's field declarations and the hints resolved from them per tool.
#[derive(Default)]
pub struct FieldHintTable {
    declared: BTreeMap<String, Vec<FieldDeclaration>>,
    resolved: Mutex<HashMap<String, HashMap<String, Resolved>>>,
}

impl std::fmt::Debug for FieldHintTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldHintTable")
            .field("declared", &self.declared)
            .finish()
    }
}

impl FieldHintTable {
    /// The declarations of every `[servers.NAME.fields]` in `config`.
    pub fn from_config(config: &Config) -> FieldHintTable {
        FieldHintTable {
            declared: config
                .servers
                .iter()
                .filter(|(_, s)| !s.fields.is_empty())
                .map(|(name, s)| (name.clone(), s.fields.0.clone()))
                .collect(),
            resolved: Mutex::default(),
        }
    }

    /// Whether the operator declared fields for `server`.
    pub fn declares(&self, server: &str) -> bool {
        self.declared.contains_key(server)
    }

    /// The hints for results of `server`/`tool`, given the server's current tool list
    /// (`None` when it could not be listed: then the declarations apply unchecked).
    pub fn hints(
        &self,
        server: &str,
        tool: &str,
        tools: Option<&Arc<Vec<Tool>>>,
    ) -> Result<Arc<FieldHints>, FieldError> {
        let Some(tools) = tools else {
            return build(server, tool, None, self.declared(server), false);
        };
        let mut resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = resolved.get(server).and_then(|per_tool| per_tool.get(tool))
            && Arc::ptr_eq(&hit.tools, tools)
        {
            return hit.hints.clone();
        }
        let schema = tools
            .iter()
            .find(|t| t.name == tool)
            .and_then(|t| t.output_schema.as_ref())
            .map(|s| Value::Object((**s).clone()));
        let hints = build(server, tool, schema.as_ref(), self.declared(server), true);
        resolved.entry(server.to_owned()).or_default().insert(
            tool.to_owned(),
            Resolved {
                tools: Arc::clone(tools),
                hints: hints.clone(),
            },
        );
        hints
    }

    /// Every declaration of `server` that does not fit the tools it lists: per-tool
    /// tables naming a tool it lacks or a path that tool's `outputSchema` lacks, and
    /// server-wide paths no tool's schema has (when every tool declares a schema).
    pub fn check(&self, server: &str, tools: &[Tool]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let known = || {
            let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
            names.sort_unstable();
            names.join(", ")
        };
        for decl in self.declared(server) {
            let declared = decl.describe(server);
            match &decl.tool {
                Some(name) => match tools.iter().find(|t| t.name == *name) {
                    None => errors.push(FieldError::UnknownTool {
                        declared,
                        server: server.to_owned(),
                        tool: name.clone(),
                        known: known(),
                    }),
                    Some(tool) => {
                        if let Some(schema) = &tool.output_schema
                            && !has_path(&Value::Object((**schema).clone()), &decl.path)
                        {
                            errors.push(FieldError::NotInSchema {
                                declared,
                                server: server.to_owned(),
                                tool: name.clone(),
                                path: decl.path.clone(),
                            });
                        }
                    }
                },
                None => {
                    let all_declare =
                        !tools.is_empty() && tools.iter().all(|t| t.output_schema.is_some());
                    let any_has = tools.iter().any(|t| {
                        t.output_schema
                            .as_ref()
                            .is_some_and(|s| has_path(&Value::Object((**s).clone()), &decl.path))
                    });
                    if all_declare && !any_has {
                        errors.push(FieldError::InNoSchema {
                            declared,
                            server: server.to_owned(),
                            path: decl.path.clone(),
                        });
                    }
                }
            }
        }
        errors
    }

    fn declared(&self, server: &str) -> &[FieldDeclaration] {
        self.declared.get(server).map_or(&[], Vec::as_slice)
    }
}

/// Whether `schema` has `path`; a path that does not parse was rejected at load, so it
/// counts as present here (nothing to add to that error).
fn has_path(schema: &Value, path: &str) -> bool {
    FieldHints::schema_has_path(schema, path).unwrap_or(true)
}

/// The hints for one tool: its schema's, then the declarations for it. With `checked`, a
/// per-tool declaration its schema lacks is an error; a server-wide one applies only to
/// the tools whose schema has it (or that declare none).
fn build(
    server: &str,
    tool: &str,
    schema: Option<&Value>,
    declared: &[FieldDeclaration],
    checked: bool,
) -> Result<Arc<FieldHints>, FieldError> {
    let mut hints = schema
        .map(FieldHints::from_output_schema)
        .unwrap_or_default();
    for decl in declared {
        let applies = match &decl.tool {
            Some(t) => t == tool,
            None => true,
        };
        if !applies {
            continue;
        }
        if checked
            && let Some(schema) = schema
            && !has_path(schema, &decl.path)
        {
            if decl.tool.is_none() {
                continue;
            }
            return Err(FieldError::NotInSchema {
                declared: decl.describe(server),
                server: server.to_owned(),
                tool: tool.to_owned(),
                path: decl.path.clone(),
            });
        }
        hints = hints
            .path(&decl.path, Kind::from_name(&decl.kind))
            .map_err(|e| FieldError::Hints {
                server: server.to_owned(),
                message: format!("{}: {e}", decl.describe(server)),
            })?;
    }
    Ok(Arc::new(hints))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, schema: Option<Value>) -> Tool {
        let mut t = Tool::new(
            name.to_owned(),
            "test tool",
            Arc::new(serde_json::Map::new()),
        );
        t.output_schema = schema.and_then(|s| s.as_object().cloned()).map(Arc::new);
        t
    }

    fn table(toml: &str) -> FieldHintTable {
        let config = Config::parse(toml, std::path::Path::new("sluice.toml")).expect("config");
        FieldHintTable::from_config(&config)
    }

    fn leads_schema() -> Value {
        serde_json::json!({"type": "object", "properties": {"leads": {"type": "array",
            "items": {"type": "object", "properties": {"owner": {"type": "string"},
            "note": {"type": "string"}}}}}})
    }

    #[test]
    fn declared_field_makes_a_name_the_dictionary_misses() {
        let t = table(
            "[servers.crm]\ncommand = \"crm\"\n[servers.crm.fields.listLeads]\n\"leads[].note\" = \"NAME\"\n",
        );
        let tools = Arc::new(vec![tool("listLeads", Some(leads_schema()))]);
        let hints = t.hints("crm", "listLeads", Some(&tools)).expect("hints");
        let det = detectors::Detectors::new();
        let v = serde_json::json!({"leads": [{"note": "xiadani quispe"}]});
        assert!(
            det.find_json(&v).is_empty(),
            "the dictionary alone misses it"
        );
        let found = det.find_json_with(&v, &hints);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.kind, Kind::Name);
        // Another tool of the server is not affected by a per-tool table.
        let other = t.hints("crm", "getLead", Some(&tools)).expect("hints");
        assert!(det.find_json_with(&v, &other).is_empty());
    }

    #[test]
    fn declarations_the_schema_lacks_are_errors_naming_server_tool_and_path() {
        let t = table(
            "[servers.crm]\ncommand = \"crm\"\n[servers.crm.fields]\n\"rows[].who\" = \"NAME\"\n\
             [servers.crm.fields.listLeads]\n\"leads[].ownr\" = \"NAME\"\n\
             [servers.crm.fields.nope]\n\"x\" = \"NAME\"\n",
        );
        let tools = vec![tool("listLeads", Some(leads_schema()))];
        let errors: Vec<String> = t
            .check("crm", &tools)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        let has = |part: &str| errors.iter().any(|e| e.contains(part));
        assert!(
            has(
                "[servers.crm.fields] \"rows[].who\": no tool of server 'crm' has a field at \"rows[].who\""
            ),
            "{errors:?}"
        );
        assert!(
            has(
                "[servers.crm.fields.listLeads] \"leads[].ownr\": the outputSchema of tools.crm.listLeads has no field"
            ),
            "{errors:?}"
        );
        assert!(
            has(
                "[servers.crm.fields.nope] \"x\": server 'crm' has no tool 'nope' (its tools: listLeads)"
            ),
            "{errors:?}"
        );
        let list = Arc::new(tools);
        let e = t.hints("crm", "listLeads", Some(&list)).unwrap_err();
        assert!(matches!(e, FieldError::NotInSchema { .. }), "{e}");
    }

    #[test]
    fn tools_without_a_schema_take_declarations_unchecked() {
        let t = table(
            "[servers.crm]\ncommand = \"crm\"\n[servers.crm.fields.listLeads]\n\"leads[].ownr\" = \"NAME\"\n",
        );
        let tools = vec![tool("listLeads", None)];
        assert!(t.check("crm", &tools).is_empty());
        assert!(t.hints("crm", "listLeads", Some(&Arc::new(tools))).is_ok());
    }
}
