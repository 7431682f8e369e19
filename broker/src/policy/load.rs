//! Reading, splitting, parsing and strictly validating policy files.
//!
//! Files are split into statements here (on top-level `;`, outside strings and comments) and
//! each statement is parsed on its own, so every policy keeps its file, its line and its text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};

use super::{PolicyError, SourceLocation};

const EMBEDDED_SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");
const EMBEDDED_POLICIES: &[(&str, &str)] = &[(
    "default.cedar",
    include_str!("../../../policies/default.cedar"),
)];
const SCHEMA_FILE: &str = "schema.cedarschema";

/// One policy file's name and text.
#[derive(Clone)]
pub(crate) struct SourceFile {
    pub(crate) name: PathBuf,
    pub(crate) text: String,
}

/// One parsed policy with where it came from.
pub(crate) struct LoadedPolicy {
    pub(crate) id: String,
    pub(crate) policy: Policy,
    pub(crate) location: SourceLocation,
    pub(crate) text: String,
}

impl LoadedPolicy {
    pub(crate) fn effect_name(&self) -> &'static str {
        match self.policy.effect() {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
        }
    }
}

/// A validated policy set: the schema, the policies in load order and the set's hash.
pub(crate) struct LoadedSet {
    pub(crate) schema: Schema,
    pub(crate) policies: Vec<LoadedPolicy>,
    pub(crate) hash: String,
    /// The ids of the forbids marked `@on_deny("ask")` (see [`super::ask`]).
    pub(crate) askable: std::collections::HashSet<String>,
    /// The sources, kept to recompile against another generated fragment.
    pub(crate) sources: (SourceFile, Vec<SourceFile>),
    /// The generated argument-type fragment this set was validated with.
    pub(crate) fragment: String,
    /// Argument rules (policies scoped to `call:server/tool` actions) by tool id; indexes
    /// into `policies`.
    pub(crate) tool_rules: BTreeMap<String, Vec<usize>>,
    /// Argument rules whose tool's input schema is not known yet, by tool id: their ids.
    /// Not validated and not in `policies`; calls to such a tool are refused until the
    /// tool is listed (fail closed).
    pub(crate) pending: BTreeMap<String, Vec<String>>,
}

/// The tool ids of the `call:server/tool` actions a policy's action scope names.
pub(crate) fn tool_actions(policy: &Policy) -> Vec<String> {
    use cedar_policy::ActionConstraint;
    let of = |u: &cedar_policy::EntityUid| {
        (u.type_name().to_string() == super::model::ACTION)
            .then(|| {
                u.id()
                    .unescaped()
                    .strip_prefix(super::args::TOOL_ACTION_PREFIX)
                    .map(str::to_owned)
            })
            .flatten()
    };
    match policy.action_constraint() {
        ActionConstraint::Any => Vec::new(),
        ActionConstraint::Eq(u) => of(&u).into_iter().collect(),
        ActionConstraint::In(us) => us.iter().filter_map(of).collect(),
    }
}

/// Reads the schema and policy files of `dir`, or the embedded defaults.
pub(crate) fn read_sources(
    dir: Option<&Path>,
) -> Result<(SourceFile, Vec<SourceFile>), PolicyError> {
    let Some(dir) = dir else {
        let schema = SourceFile {
            name: PathBuf::from(format!("<embedded>/{SCHEMA_FILE}")),
            text: EMBEDDED_SCHEMA.to_owned(),
        };
        let files = EMBEDDED_POLICIES
            .iter()
            .map(|(name, text)| SourceFile {
                name: PathBuf::from(format!("<embedded>/{name}")),
                text: (*text).to_owned(),
            })
            .collect();
        return Ok((schema, files));
    };
    let schema_path = dir.join(SCHEMA_FILE);
    if !schema_path.is_file() {
        return Err(PolicyError::MissingSchema {
            dir: dir.to_path_buf(),
        });
    }
    let schema = read_file(&schema_path)?;
    let entries = std::fs::read_dir(dir).map_err(|source| PolicyError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PolicyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "cedar") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let files = paths
        .iter()
        .map(|p| read_file(p))
        .collect::<Result<_, _>>()?;
    Ok((schema, files))
}

fn read_file(path: &Path) -> Result<SourceFile, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(SourceFile {
        name: path.to_path_buf(),
        text,
    })
}

/// Parses, checks ids and strictly validates the given files against the schema plus the
/// generated argument-type `fragment` (see [`super::args::fragment`]).
pub(crate) fn compile(
    schema_file: &SourceFile,
    files: &[SourceFile],
    fragment: &str,
) -> Result<LoadedSet, PolicyError> {
    let schema = if fragment.is_empty() {
        parse_schema(schema_file)?
    } else {
        // The user's schema and the generated one are two fragments of one namespace.
        let fragments = [
            fragment_of(&schema_file.name, &schema_file.text)?,
            fragment_of(Path::new("<generated from the backends' tools>"), fragment)?,
        ];
        Schema::from_schema_fragments(fragments).map_err(|e| PolicyError::Schema {
            file: schema_file.name.clone(),
            message: e.to_string(),
        })?
    };

    let mut policies: Vec<LoadedPolicy> = Vec::new();
    let mut first_use: HashMap<String, usize> = HashMap::new();
    for file in files {
        let lines = LineIndex::new(&file.text);
        for (n, (start, end)) in split_statements(&file.text).into_iter().enumerate() {
            let location = lines.location(&file.name, &file.text, start);
            let text = &file.text[start..end];
            let provisional = PolicyId::new(format!("{}#{n}", file.name.display()));
            let policy = Policy::parse(Some(provisional), text).map_err(|errs| {
                // Each error at its own token, in Cedar's words and with Cedar's help.
                let mut at = None;
                let rendered: Vec<String> = errs
                    .iter()
                    .map(|e| {
                        let (loc, text) = render(e, &file.name, &file.text, start, &lines);
                        at = at.take().or(loc);
                        text
                    })
                    .collect();
                PolicyError::Syntax {
                    location: at.unwrap_or_else(|| location.clone()),
                    message: rendered.join("\n"),
                }
            })?;
            let Some(id) = policy.annotation("id").map(str::to_owned) else {
                return Err(PolicyError::MissingId { location });
            };
            if let Some(&first) = first_use.get(&id) {
                return Err(PolicyError::DuplicateId {
                    id,
                    location,
                    first: policies[first].location.clone(),
                });
            }
            first_use.insert(id.clone(), policies.len());
            let policy = policy.new_id(PolicyId::new(&id));
            policies.push(LoadedPolicy {
                id,
                policy,
                location,
                text: text.to_owned(),
            });
        }
    }

    // Argument rules: only `forbid`; those of tools whose input schema is not known yet
    // wait (and their tools are refused meanwhile).
    let declared: BTreeSet<String> = schema
        .actions()
        .filter_map(|a| {
            a.id()
                .unescaped()
                .strip_prefix(super::args::TOOL_ACTION_PREFIX)
                .map(str::to_owned)
        })
        .collect();
    let mut pending: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kept = Vec::with_capacity(policies.len());
    for p in policies {
        let tools = tool_actions(&p.policy);
        if !tools.is_empty() && p.policy.effect() == Effect::Permit {
            return Err(PolicyError::Validation {
                id: p.id.clone(),
                location: p.location.clone(),
                message: "argument rules (actions `call:server/tool`) can only forbid; grant calls with `action == Sluice::Action::\"call\"` and refuse with a `forbid` on the tool's action".to_owned(),
            });
        }
        let missing: Vec<&String> = tools.iter().filter(|t| !declared.contains(*t)).collect();
        if missing.is_empty() {
            kept.push(p);
        } else {
            for t in missing {
                pending.entry(t.clone()).or_default().push(p.id.clone());
            }
        }
    }
    let policies = kept;
    let mut tool_rules: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in policies.iter().enumerate() {
        for t in tool_actions(&p.policy) {
            tool_rules.entry(t).or_default().push(i);
        }
    }

    let mut set = PolicySet::new();
    for p in &policies {
        // Ids are unique (checked above), so `add` cannot fail on a clash.
        set.add(p.policy.clone())
            .map_err(|e| PolicyError::Validation {
                id: p.id.clone(),
                location: p.location.clone(),
                message: e.to_string(),
            })?;
    }
    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    for w in result.validation_warnings() {
        tracing::warn!("policy validation warning: {w}");
    }
    let mut errors: HashMap<String, Vec<&cedar_policy::ValidationError>> = HashMap::new();
    for e in result.validation_errors() {
        errors.entry(e.policy_id().to_string()).or_default().push(e);
    }
    // Report the first offending policy in file order, with all of its errors, each at its
    // own token (Cedar's spans are offsets into the policy's statement).
    if let Some(p) = policies.iter().find(|p| errors.contains_key(&p.id)) {
        let file = files
            .iter()
            .find(|f| f.name == p.location.file)
            .map_or("", |f| f.text.as_str());
        let start = statement_offset(file, &p.location);
        let lines = LineIndex::new(file);
        let mut at = None;
        let rendered: Vec<String> = errors
            .remove(&p.id)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let (loc, text) = render(e, &p.location.file, file, start, &lines);
                at = at.take().or(loc);
                text
            })
            .collect();
        return Err(PolicyError::Validation {
            id: p.id.clone(),
            location: at.unwrap_or_else(|| p.location.clone()),
            message: rendered.join("\n"),
        });
    }

    let askable = super::ask::askable_ids(&policies)?;
    let hash = hash_sources(schema_file, files, fragment);
    Ok(LoadedSet {
        schema,
        policies,
        hash,
        askable,
        sources: (schema_file.clone(), files.to_vec()),
        fragment: fragment.to_owned(),
        tool_rules,
        pending,
    })
}

fn parse_schema(schema_file: &SourceFile) -> Result<Schema, PolicyError> {
    match Schema::from_cedarschema_str(&schema_file.text) {
        Ok((schema, warnings)) => {
            for w in warnings {
                tracing::warn!(file = %schema_file.name.display(), "policy schema warning: {w}");
            }
            Ok(schema)
        }
        Err(e) => Err(PolicyError::Schema {
            file: schema_file.name.clone(),
            message: e.to_string(),
        }),
    }
}

fn fragment_of(name: &Path, text: &str) -> Result<cedar_policy::SchemaFragment, PolicyError> {
    match cedar_policy::SchemaFragment::from_cedarschema_str(text) {
        Ok((fragment, warnings)) => {
            for w in warnings {
                tracing::warn!(file = %name.display(), "policy schema warning: {w}");
            }
            Ok(fragment)
        }
        Err(e) => Err(PolicyError::Schema {
            file: name.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// SHA-256 over the schema and every file's name and text, hex encoded.
fn hash_sources(schema: &SourceFile, files: &[SourceFile], fragment: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    // The generated argument types are part of what was validated; without any, the
    // hash is what it always was.
    if !fragment.is_empty() {
        ctx.update(b"generated\0");
        ctx.update(&(fragment.len() as u64).to_le_bytes());
        ctx.update(fragment.as_bytes());
    }
    for f in std::iter::once(schema).chain(files) {
        let name = f
            .name
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        ctx.update(name.as_bytes());
        ctx.update(&[0]);
        ctx.update(&(f.text.len() as u64).to_le_bytes());
        ctx.update(f.text.as_bytes());
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Byte ranges of the policy statements in `text`: from the first token to the closing `;`
/// (or to the end, for a trailing statement without one, which then fails to parse).
fn split_statements(text: &str) -> Vec<(usize, usize)> {
    enum State {
        Code,
        Str { escaped: bool },
        LineComment,
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Code;
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            State::Code => match b {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'"' => {
                    start.get_or_insert(i);
                    state = State::Str { escaped: false };
                }
                b';' => {
                    let s = start.take().unwrap_or(i);
                    out.push((s, i + 1));
                }
                b if b.is_ascii_whitespace() => {}
                _ => {
                    start.get_or_insert(i);
                }
            },
            State::Str { escaped } => {
                state = match (escaped, b) {
                    (false, b'\\') => State::Str { escaped: true },
                    (false, b'"') => State::Code,
                    _ => State::Str { escaped: false },
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    state = State::Code;
                }
            }
        }
        i += 1;
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The byte offset in `text` of a 1-based line and character column.
fn statement_offset(text: &str, location: &SourceLocation) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(location.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let column = text
        .get(line_start..)
        .unwrap_or("")
        .char_indices()
        .nth(location.column.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    line_start + column
}

/// One Cedar diagnostic as the `cedar` CLI shows it, in plain text (never colour): the
/// message, the offending line with the labelled span underlined and the label beside it,
/// then Cedar's help. `base` is where the statement the spans count from starts in
/// `text`. Returns the location of the first label too.
fn render(
    diagnostic: &dyn miette::Diagnostic,
    file: &Path,
    text: &str,
    base: usize,
    lines: &LineIndex,
) -> (Option<SourceLocation>, String) {
    let mut out = diagnostic.to_string();
    let mut first = None;
    for label in diagnostic.labels().into_iter().flatten() {
        let start = (base + label.offset()).min(text.len());
        let location = lines.location(file, text, start);
        let line_start = lines.starts[location.line - 1];
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line_text = text.get(line_start..line_end).unwrap_or("");
        let span_end = (start + label.len()).clamp(start, line_end);
        let width = text
            .get(start..span_end)
            .map_or(1, |s| s.chars().count())
            .max(1);
        let gutter = location.line.to_string().len();
        let underline = format!(
            "{}{} {}",
            " ".repeat(location.column - 1),
            "^".repeat(width),
            label.label().unwrap_or("")
        );
        out.push_str(&format!(
            "\n {:gutter$} |\n {} | {}\n {:gutter$} | {}",
            "",
            location.line,
            line_text.trim_end(),
            "",
            underline.trim_end(),
        ));
        first.get_or_insert(location);
    }
    if let Some(help) = diagnostic.help() {
        out.push_str(&format!("\n  = help: {help}"));
    }
    (first, out.trim_end().to_owned())
}

/// Maps byte offsets of one file to 1-based line and column.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    fn location(&self, file: &Path, text: &str, offset: usize) -> SourceLocation {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let line_start = self.starts[line - 1];
        let column = text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        SourceLocation {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_strings_and_comments() {
        let text = "// a; comment\n@id(\"a;b\")\npermit(principal, action, resource);\n  forbid(principal, action, resource) when { \"x\\\";\" == \"y\" };\n// trailing";
        let parts = split_statements(text);
        assert_eq!(parts.len(), 2);
        assert!(text[parts[0].0..parts[0].1].starts_with("@id(\"a;b\")"));
        assert!(text[parts[1].0..parts[1].1].starts_with("forbid"));
        let idx = LineIndex::new(text);
        let loc = idx.location(Path::new("f.cedar"), text, parts[1].0);
        assert_eq!((loc.line, loc.column), (4, 3));
    }
}
