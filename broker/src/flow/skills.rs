//! Saved skills: `skills.save({name, description, code})` keeps a JS/TS module whose
//! default export is an async function of one argument; `skills.<name>(args)` in a later
//! program loads it into that program's own sandbox, so its tool calls take exactly the
//! path (policy, egress, ingress, audit) the program's own calls take. Skills belong to
//! an agent (or its first group, `[skills] share = "group"`), are versioned, sealed by
//! the vault, and listed by `search` only to the agents that share them.
//!
//! A skill outlives the session it was saved in, so it must not carry data: a name,
//! description or code in which the detectors find a value (or that holds a placeholder,
//! which means nothing in another session) is refused.

use std::collections::BTreeMap;

use sandbox_host::ToolError;
use sandbox_host::source::prepare_module;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::blocking;
use super::error::{BrokerError, InvalidRequest};
use super::ingress::Tokenizer;
use crate::catalog::Detail;
use crate::config::SkillShare;

/// Default largest skill source, in bytes.
pub const DEFAULT_MAX_CODE_BYTES: usize = 64 * 1024;
/// Default most skills one owner keeps.
pub const DEFAULT_MAX_SKILLS: usize = 200;
/// Longest skill name.
pub const MAX_NAME_LEN: usize = 64;
/// Stack of the thread that checks a module (virtual; only what is used is committed).
const CHECK_STACK_BYTES: usize = 64 << 20;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 2048;

/// Names a skill may not take: they are the `skills` object's own members or would
/// confuse promises and JSON.
const RESERVED: &[&str] = &[
    "save",
    "then",
    "catch",
    "finally",
    "toJSON",
    "constructor",
    "prototype",
    "__proto__",
];

/// `[skills]` settings.
#[derive(Debug, Clone)]
pub struct SkillSettings {
    /// Who shares a skill.
    pub share: SkillShare,
    /// Each agent's first group (for `share = "group"`).
    pub groups: BTreeMap<String, String>,
    /// Largest skill source, in bytes.
    pub max_code_bytes: usize,
    /// Most skills one owner keeps.
    pub max_skills: usize,
}

impl Default for SkillSettings {
    fn default() -> Self {
        SkillSettings {
            share: SkillShare::Agent,
            groups: BTreeMap::new(),
            max_code_bytes: DEFAULT_MAX_CODE_BYTES,
            max_skills: DEFAULT_MAX_SKILLS,
        }
    }
}

/// One saved skill, newest version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skill {
    /// `skills.<name>`.
    pub name: String,
    /// What it does (shown by `search`).
    pub description: String,
    /// The source as saved.
    pub code: String,
    /// The function body the guest runs (types stripped; returns the default export).
    pub js: String,
    /// The parameter's TypeScript type.
    pub param_type: String,
    /// The TypeScript return type.
    pub return_type: String,
    /// The module's type declarations the signature names.
    #[serde(default)]
    pub types: Vec<String>,
    /// When it was saved (Unix seconds).
    pub saved: u64,
    /// Its version, counted from 1 per name.
    #[serde(skip)]
    pub version: u64,
}

impl Skill {
    /// Its TypeScript declaration at `detail` (an accessor at [`Detail::Names`]).
    pub fn render(&self, detail: Detail) -> String {
        let types: String = self
            .types
            .iter()
            .flat_map(|t| t.lines())
            .map(|line| format!("  {line}\n"))
            .collect();
        match detail {
            Detail::Names => format!("skills.{}\n", self.name),
            Detail::Signatures => format!(
                "{types}  /** {} (v{}) */\n  function {}(args: {}): {};\n",
                one_line(&self.description),
                self.version,
                self.name,
                self.param_type,
                self.return_type
            ),
            Detail::Full => {
                let mut doc = String::from("  /**\n");
                for line in self.description.lines() {
                    doc.push_str("   * ");
                    doc.push_str(&line.replace("*/", "*\\/"));
                    doc.push('\n');
                }
                doc.push_str(&format!(
                    "   * Saved skill, version {}.\n   */\n",
                    self.version
                ));
                format!(
                    "{types}{doc}  function {}(args: {}): {};\n",
                    self.name, self.param_type, self.return_type
                )
            }
        }
    }

    /// The skill's name in the Agent Skills convention (lowercase words joined by `-`:
    /// `syncLead` → `sync-lead`), as `SKILL.md` and the MCP Skills extension name it;
    /// `None` for a name that has no such form (one with `_` or `$`).
    pub fn kebab_name(&self) -> Option<String> {
        let mut out = String::with_capacity(self.name.len() + 4);
        for (i, c) in self.name.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 && !out.ends_with('-') {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
            } else if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                return None;
            }
        }
        Some(out)
    }

    /// The skill's `SKILL.md`: front matter (name, description), signature, an example
    /// call and the module, in the shape agent skill directories use.
    pub fn manifest(&self) -> String {
        let types: String = self.types.iter().map(|t| format!("{t}\n")).collect();
        format!(
            "---\nname: {kebab}\ndescription: {summary}\nversion: {version}\n---\n\n# {name}\n\n{description}\n\n\
             ## Signature\n\n```ts\n{types}skills.{name}(args: {param}): {returns}\n```\n\n\
             ## Example\n\n```js\nconst result = await skills.{name}({{ /* {param} */ }});\n```\n\n\
             ## Code\n\n```ts\n{code}\n```\n",
            name = self.name,
            kebab = self.kebab_name().unwrap_or_else(|| self.name.clone()),
            summary = one_line(&self.description),
            version = self.version,
            description = self.description.trim_end(),
            param = self.param_type,
            returns = self.return_type,
            code = self.code.trim_end(),
        )
    }

    fn matches(&self, query: &str) -> bool {
        let haystack = format!("{} {}", self.name, self.description).to_lowercase();
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 2)
            .map(str::to_lowercase)
            .collect();
        words.is_empty() || words.iter().any(|w| haystack.contains(w.as_str()))
    }
}

/// The saved skills, over the vault.
#[derive(Clone)]
pub(crate) struct SkillBook {
    pub(crate) tokenizer: Tokenizer,
    pub(crate) settings: std::sync::Arc<SkillSettings>,
}

impl SkillBook {
    /// Whose skills `agent` sees and saves: `agent:A` itself, or `group:G` for its first
    /// group. The prefixes keep an agent whose name looks like a group's apart from it.
    pub(crate) fn owner(&self, agent: &str) -> String {
        match (self.settings.share, self.settings.groups.get(agent)) {
            (SkillShare::Group, Some(group)) => format!("group:{group}"),
            _ => format!("agent:{agent}"),
        }
    }

    /// Every skill `agent` sees, newest versions, by name.
    pub(crate) async fn list(&self, agent: &str) -> Result<Vec<Skill>, BrokerError> {
        let (vault, owner) = (self.tokenizer.vault().clone(), self.owner(agent));
        let stored = blocking(move || vault.skills(&owner))
            .await
            .map_err(|_| BrokerError::Internal("listing skills failed inside Sluice".into()))??;
        stored
            .into_iter()
            .map(|(name, version, record)| {
                let mut skill: Skill = serde_json::from_slice(&record).map_err(|_| {
                    BrokerError::Internal(format!("the saved skill {name:?} cannot be read"))
                })?;
                skill.version = version;
                Ok(skill)
            })
            .collect()
    }

    /// Deletes skill `name` of `agent`; how many versions there were.
    pub(crate) async fn delete(&self, agent: &str, name: &str) -> Result<u64, BrokerError> {
        let (vault, owner, name) = (
            self.tokenizer.vault().clone(),
            self.owner(agent),
            name.to_owned(),
        );
        Ok(blocking(move || vault.skill_delete(&owner, &name))
            .await
            .map_err(|_| BrokerError::Internal("deleting a skill failed inside Sluice".into()))??)
    }

    /// The skills of `agent` matching `query`, rendered as one `skills` block (empty when none).
    pub(crate) async fn search_text(
        &self,
        agent: &str,
        query: &str,
        detail: Detail,
        limit: usize,
    ) -> Result<String, BrokerError> {
        let skills: Vec<Skill> = self
            .list(agent)
            .await?
            .into_iter()
            .filter(|s| s.matches(query))
            .take(limit)
            .collect();
        if skills.is_empty() {
            return Ok(String::new());
        }
        if detail == Detail::Names {
            return Ok(skills.iter().map(|s| s.render(detail)).collect());
        }
        let mut text = String::from(
            "// saved skills: call as await skills.<name>(args)\ndeclare namespace skills {\n",
        );
        for skill in &skills {
            text.push_str(&skill.render(detail));
        }
        text.push_str("}\n");
        Ok(text)
    }

    /// `skills.save({name, description, code})` from a program: checked, then stored.
    pub(crate) async fn save(&self, agent: &str, args: Value) -> Result<Value, ToolError> {
        let field = |name: &str| match args.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(ToolError::tool(format!(
                "skills.save({{name, description, code}}): `{name}` must be a string"
            ))),
        };
        let (name, description, code) = (field("name")?, field("description")?, field("code")?);
        // On a thread with a large stack: parsing and stripping a module recurse per level.
        let (done, checked) = tokio::sync::oneshot::channel();
        let book = self.clone();
        std::thread::Builder::new()
            .name("sluice-skill-check".into())
            .stack_size(CHECK_STACK_BYTES)
            .spawn(move || {
                let _ = done.send(book.check(name, description, code));
            })
            .map_err(|_| ToolError::tool("skills.save: the check could not start; retry"))?;
        let skill = checked
            .await
            .map_err(|_| ToolError::tool("skills.save: the check failed inside the broker"))?
            .map_err(ToolError::tool)?;
        let owner = self.owner(agent);
        let record = serde_json::to_vec(&skill)
            .map_err(|_| ToolError::tool("skills.save: the skill could not be encoded"))?;
        let (vault, name) = (self.tokenizer.vault().clone(), skill.name.clone());
        let max = self.settings.max_skills;
        let version = blocking(move || vault.skill_save(&owner, &name, &record, max))
            .await
            .map_err(|_| ToolError::tool("skills.save failed inside the broker"))?
            .map_err(|e| {
                ToolError::unavailable(format!("skills.save: the skill store failed: {e}"))
            })?
            .ok_or_else(|| {
                ToolError::tool(format!(
                    "skills.save: {max} skills are saved already, the limit ([skills] max_skills); delete one with `sluice skills delete` or save under an existing name"
                ))
            })?;
        // Not `name`: the outcome scan would take a value under that key for a person's name.
        Ok(json!({ "skill": format!("skills.{}", skill.name), "version": version }))
    }

    /// The runnable body of skill `name` of `agent`, with its version.
    pub(crate) async fn load(&self, agent: &str, name: &str) -> Result<Skill, ToolError> {
        let skills = self
            .list(agent)
            .await
            .map_err(|e| ToolError::unavailable(e.to_string()))?;
        let names: Vec<&str> = skills.iter().map(|s| s.name.as_str()).collect();
        let message = if names.is_empty() {
            format!(
                "skills.{name}: no skill of that name is saved for this agent (none are saved; save one with skills.save)"
            )
        } else {
            format!(
                "skills.{name}: no skill of that name is saved for this agent; saved: {}",
                names.join(", ")
            )
        };
        skills
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| ToolError::tool(message))
    }

    /// Validates a skill completely (name, description, size, syntax, no data in it).
    fn check(&self, name: String, description: String, code: String) -> Result<Skill, String> {
        let valid_name = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if !valid_name {
            return Err(format!(
                "skills.save: the name {name:?} is not usable; a name is a JavaScript identifier of 1 to {MAX_NAME_LEN} ASCII letters, digits, '_' or '$' (e.g. \"syncLead\")"
            ));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(format!(
                "skills.save: the name {name:?} is reserved; choose another"
            ));
        }
        if description.trim().is_empty() || description.len() > MAX_DESCRIPTION_LEN {
            return Err(format!(
                "skills.save({name:?}): the description must say what the skill does, in 1 to {MAX_DESCRIPTION_LEN} bytes"
            ));
        }
        if code.len() > self.settings.max_code_bytes {
            return Err(format!(
                "skills.save({name:?}): the code is {} bytes, over the limit of {} ([skills] max_code_bytes)",
                code.len(),
                self.settings.max_code_bytes
            ));
        }
        let detectors = self.tokenizer.detectors();
        for (what, text) in [
            ("name", &name),
            ("description", &description),
            ("code", &code),
        ] {
            if let Some(finding) = detectors.find(text).first() {
                return Err(format!(
                    "skills.save({name:?}): the {what} contains a literal {} value; a skill is kept beyond this session, so it must not hold data — pass values in its argument",
                    finding.kind
                ));
            }
            if crate::vault::find_placeholders(text).next().is_some() {
                return Err(format!(
                    "skills.save({name:?}): the {what} contains a placeholder; placeholders mean something only in their own session — pass them in the skill's argument"
                ));
            }
        }
        let module = prepare_module(&code)
            .map_err(|e| format!("skills.save({name:?}): the code is not a usable module: {e}"))?;
        let saved = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Skill {
            name,
            description,
            code,
            js: module.js,
            param_type: module.param_type,
            return_type: module.return_type,
            types: module.types,
            saved,
            version: 0,
        })
    }
}

/// The first line of `text`, safe inside a `/** */` comment.
fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim()
        .replace("*/", "*\\/")
}

/// Checks a skill name a caller (the operator CLI) sent.
pub(crate) fn validate_name(name: &str) -> Result<(), InvalidRequest> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(InvalidRequest::new(
            "name",
            format!("a skill name is 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(name: &str) -> Skill {
        Skill {
            name: name.into(),
            description: "d".into(),
            code: String::new(),
            js: String::new(),
            param_type: "unknown".into(),
            return_type: "Promise<unknown>".into(),
            types: Vec::new(),
            saved: 0,
            version: 1,
        }
    }

    #[test]
    fn agent_skill_names_map_to_the_agent_skills_form_or_to_none() {
        assert_eq!(skill("syncLead").kebab_name().as_deref(), Some("sync-lead"));
        assert_eq!(
            skill("SyncLead2").kebab_name().as_deref(),
            Some("sync-lead2")
        );
        assert_eq!(skill("sync_lead").kebab_name(), None);
        assert!(
            skill("syncLead")
                .manifest()
                .starts_with("---\nname: sync-lead\n")
        );
    }

    #[test]
    fn an_agent_named_like_a_group_never_shares_that_groups_skills() {
        let detectors = detectors::Detectors::default();
        let dir = tempfile::tempdir().unwrap();
        let vault = crate::vault::Vault::open(
            dir.path(),
            &crate::vault::MasterKey::from_bytes([3; crate::vault::MASTER_KEY_LEN]),
        )
        .unwrap();
        let mut settings = SkillSettings {
            share: SkillShare::Group,
            ..SkillSettings::default()
        };
        settings.groups.insert("bot".into(), "sync".into());
        let book = SkillBook {
            tokenizer: Tokenizer::new(detectors, vault),
            settings: std::sync::Arc::new(settings),
        };
        assert_eq!(book.owner("bot"), "group:sync");
        assert_eq!(book.owner("group:sync"), "agent:group:sync");
        assert_eq!(book.owner("loner"), "agent:loner");
    }
}
