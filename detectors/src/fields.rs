//! Field hints: what a caller knows about a JSON document's fields, beyond
//! what the key words say.
//!
//! A [`FieldHints`] maps fields to kinds, in two ways:
//! - **keys** (`.key("owner", Kind::Name)`): any object key of that name, at
//!   any depth, compared case-insensitively — what a tool's `outputSchema`
//!   property names give;
//! - **paths** (`.path("leads[].owner", Kind::Name)`): one field of the
//!   document, written as keys joined by `.`, `[]` (or `[*]`) for any array
//!   element, `[3]` for one element, `*` for any one key and `**` for any
//!   number of steps — what an operator declares per tool.
//!
//! What a hinted kind does to the value under it:
//! - `NAME`: the whole string is a name unless it is plainly not a person
//!   (empty, a number, an email, a URL, a company with a legal form) — the
//!   same rule as built-in person keys such as `owner`;
//! - `PHONE`: bare digit runs (and JSON numbers) count as phones, as under a
//!   `phone` key;
//! - `EMAIL`: no change (addresses are found anywhere);
//! - any other kind (IBAN, CARD, SECRET, custom): the whole non-empty string
//!   (or number) is a finding of that kind.
//!
//! Path matching is a small NFA over the path steps, kept as a bit set in each
//! value's scan state, so hints cost one pass over the active states per JSON
//! step and nothing when none are given.

use std::collections::HashMap;

use serde_json::Value;

use crate::{Error, Kind};

/// The most path steps (over all path patterns, plus one per pattern) the matcher holds.
pub(crate) const MAX_PATH_STATES: usize = 64;

/// One step of a path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    AnyKey,
    Index(Option<usize>),
    AnyDepth,
}

/// One step of the path to a value, as the walkers see it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At<'a> {
    Key(&'a str),
    Index(usize),
}

/// Per-field kinds for one tool's JSON results; see the module docs.
///
/// ```
/// use detectors::{Detectors, FieldHints, Kind};
///
/// let hints = FieldHints::new()
///     .path("leads[].owner", Kind::Name)?
///     .key("handy_nr", Kind::Phone);
/// let det = Detectors::new();
/// let v = serde_json::json!({"leads": [{"owner": "xiadani quispe", "handy_nr": "4155552671"}]});
/// let kinds: Vec<String> = det
///     .find_json_with(&v, &hints)
///     .iter()
///     .map(|f| format!("{}={}", f.path, f.finding.kind))
///     .collect();
/// assert_eq!(kinds, ["leads[0].owner=NAME", "leads[0].handy_nr=PHONE"]);
/// # Ok::<(), detectors::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct FieldHints {
    /// Lower-cased key → index into `kinds`.
    keys: HashMap<String, usize>,
    /// (steps, index into `kinds`, first state id).
    paths: Vec<(Vec<Step>, usize, usize)>,
    kinds: Vec<Kind>,
    states: usize,
}

/// The active path states of one value (a bit set over state ids).
pub(crate) type PathState = u64;

impl FieldHints {
    /// No hints.
    pub fn new() -> FieldHints {
        FieldHints::default()
    }

    /// True when no key or path is hinted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.paths.is_empty()
    }

    fn kind_index(&mut self, kind: Kind) -> usize {
        match self.kinds.iter().position(|k| *k == kind) {
            Some(i) => i,
            None => {
                self.kinds.push(kind);
                self.kinds.len() - 1
            }
        }
    }

    /// Hints every object key named `key` (case-insensitive), at any depth.
    pub fn key(mut self, key: &str, kind: Kind) -> FieldHints {
        let i = self.kind_index(kind);
        self.keys.insert(key.trim().to_lowercase(), i);
        self
    }

    /// Hints the field at `pattern` (e.g. `"leads[].owner"`, `"**.assignee"`); see the module docs for the syntax.
    pub fn path(mut self, pattern: &str, kind: Kind) -> Result<FieldHints, Error> {
        let steps = parse_path(pattern)?;
        let needed = self.states + steps.len() + 1;
        if needed > MAX_PATH_STATES {
            return Err(Error::TooManyFieldPaths {
                count: needed,
                max: MAX_PATH_STATES,
            });
        }
        let i = self.kind_index(kind);
        self.paths.push((steps, i, self.states));
        self.states = needed;
        Ok(self)
    }

    /// Hints derived from a tool's JSON Schema (MCP `outputSchema`): each
    /// property whose `x-pii-kind` names a kind, or whose description says
    /// what it holds ("full name of the assignee", "contact phone number"),
    /// becomes a path hint. Properties the key words already cover need no
    /// hint; schemas deeper than 32 levels are cut off there.
    pub fn from_output_schema(schema: &Value) -> FieldHints {
        let mut hints = FieldHints::new();
        let mut stack: Vec<(&Value, String, usize)> = vec![(schema, String::new(), 0)];
        while let Some((node, path, depth)) = stack.pop() {
            let Some(obj) = node.as_object() else {
                continue;
            };
            if depth > 32 {
                continue;
            }
            if !path.is_empty()
                && let Some(kind) = schema_kind(obj)
                && let Ok(h) = hints.clone().path(&path, kind)
            {
                hints = h;
            }
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    let step = if is_plain_key(name) {
                        name.clone()
                    } else {
                        format!("[{}]", Value::String(name.clone()))
                    };
                    let p = if path.is_empty() || step.starts_with('[') {
                        format!("{path}{step}")
                    } else {
                        format!("{path}.{step}")
                    };
                    stack.push((sub, p, depth + 1));
                }
            }
            if let Some(items) = obj.get("items") {
                stack.push((items, format!("{path}[]"), depth + 1));
            }
            for alt in ["anyOf", "oneOf", "allOf"] {
                if let Some(list) = obj.get(alt).and_then(Value::as_array) {
                    for sub in list {
                        stack.push((sub, path.clone(), depth + 1));
                    }
                }
            }
        }
        hints
    }

    /// Whether the JSON Schema `schema` (a tool's `outputSchema`) has a field at
    /// `pattern` (same syntax as [`FieldHints::path`]). Local `$ref`s and
    /// `anyOf`/`oneOf`/`allOf` are followed; a part of the schema that says nothing
    /// about its contents (`{}`, `{"type": "object"}`, `true`) admits any path below
    /// it. Errors only for a pattern that does not parse.
    pub fn schema_has_path(schema: &Value, pattern: &str) -> Result<bool, Error> {
        let steps = parse_path(pattern)?;
        let mut nodes = expand(schema, vec![schema]);
        for step in &steps {
            if nodes.iter().any(|n| is_open(n)) {
                return Ok(true);
            }
            let mut next: Vec<&Value> = Vec::new();
            for node in &nodes {
                match step {
                    Step::Key(k) => next.extend(children(node, Some(k))),
                    Step::AnyKey => next.extend(children(node, None)),
                    Step::Index(i) => next.extend(items(node, *i)),
                    Step::AnyDepth => {
                        // Zero or more steps: this node and every node below it.
                        let mut todo: Vec<(&Value, usize)> = vec![(*node, 0)];
                        while let Some((n, depth)) = todo.pop() {
                            next.push(n);
                            if depth >= SCHEMA_DEPTH {
                                continue;
                            }
                            for c in expand(schema, children(n, None))
                                .into_iter()
                                .chain(expand(schema, items(n, None)))
                            {
                                todo.push((c, depth + 1));
                            }
                        }
                    }
                }
            }
            nodes = expand(schema, next);
            if nodes.is_empty() {
                return Ok(false);
            }
        }
        Ok(!nodes.is_empty())
    }

    /// The kind hinted for a key anywhere (case-insensitive), as an index into the kind table.
    pub(crate) fn key_kind(&self, key: &str) -> Option<usize> {
        if self.keys.is_empty() {
            return None;
        }
        if key.bytes().all(|b| !b.is_ascii_uppercase()) {
            return self.keys.get(key).copied();
        }
        self.keys.get(&key.to_lowercase()).copied()
    }

    pub(crate) fn kind(&self, index: usize) -> Option<&Kind> {
        self.kinds.get(index)
    }

    /// The states active at the document root.
    pub(crate) fn root(&self) -> PathState {
        let mut s: PathState = 0;
        for (steps, _, base) in &self.paths {
            s |= self.closure(steps, *base, 0);
        }
        s
    }

    /// Bit for state `j` of the pattern starting at `base`, plus the states `**` skips to.
    fn closure(&self, steps: &[Step], base: usize, mut j: usize) -> PathState {
        let mut s: PathState = 0;
        loop {
            s |= 1u64 << (base + j);
            if matches!(steps.get(j), Some(Step::AnyDepth)) {
                j += 1;
            } else {
                return s;
            }
        }
    }

    /// The states after one step from `state`, and the kind of the first pattern that is complete.
    #[inline]
    pub(crate) fn step(&self, state: PathState, at: At<'_>) -> (PathState, Option<usize>) {
        if state == 0 {
            return (0, None);
        }
        self.step_slow(state, at)
    }

    fn step_slow(&self, state: PathState, at: At<'_>) -> (PathState, Option<usize>) {
        let mut next: PathState = 0;
        let mut kind = None;
        for (steps, k, base) in &self.paths {
            for j in 0..steps.len() {
                if state & (1u64 << (base + j)) == 0 {
                    continue;
                }
                let (advance, stay) = match (&steps[j], at) {
                    (Step::Key(name), At::Key(key)) => (name == key, false),
                    (Step::AnyKey, At::Key(_)) => (true, false),
                    (Step::Index(None), At::Index(_)) => (true, false),
                    (Step::Index(Some(n)), At::Index(i)) => (*n == i, false),
                    (Step::AnyDepth, _) => (false, true),
                    _ => (false, false),
                };
                if stay {
                    next |= self.closure(steps, *base, j);
                }
                if advance {
                    let c = self.closure(steps, *base, j + 1);
                    next |= c;
                    if c & (1u64 << (base + steps.len())) != 0 && kind.is_none() {
                        kind = Some(*k);
                    }
                }
            }
        }
        (next, kind)
    }
}

/// How deep `schema_has_path` follows `$ref`s and `**` (schemas can be recursive).
const SCHEMA_DEPTH: usize = 32;

/// `nodes` with local `$ref`s resolved and `anyOf`/`oneOf`/`allOf` branches added.
fn expand<'s>(root: &'s Value, nodes: Vec<&'s Value>) -> Vec<&'s Value> {
    let mut out = Vec::new();
    let mut todo: Vec<(&Value, usize)> = nodes.into_iter().map(|n| (n, 0)).collect();
    while let Some((n, depth)) = todo.pop() {
        if depth > SCHEMA_DEPTH || out.len() > 4096 {
            continue;
        }
        out.push(n);
        let Some(obj) = n.as_object() else {
            continue;
        };
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
        {
            todo.push((target, depth + 1));
        }
        for alt in ["anyOf", "oneOf", "allOf"] {
            if let Some(list) = obj.get(alt).and_then(Value::as_array) {
                todo.extend(list.iter().map(|sub| (sub, depth + 1)));
            }
        }
    }
    out
}

/// A schema node that says nothing about what is inside it, so any path below it may exist.
fn is_open(node: &Value) -> bool {
    match node {
        Value::Bool(b) => *b,
        Value::Object(obj) => {
            const SHAPING: [&str; 10] = [
                "properties",
                "patternProperties",
                "additionalProperties",
                "items",
                "prefixItems",
                "anyOf",
                "oneOf",
                "allOf",
                "$ref",
                "enum",
            ];
            let scalar = match obj.get("type") {
                Some(Value::String(t)) => t != "object" && t != "array",
                Some(Value::Array(ts)) => !ts.iter().any(|t| t == "object" || t == "array"),
                _ => false,
            };
            !scalar && !obj.contains_key("const") && !SHAPING.iter().any(|k| obj.contains_key(*k))
        }
        _ => false,
    }
}

/// The schemas of an object node's properties: `key`'s, or all of them.
fn children<'s>(node: &'s Value, key: Option<&str>) -> Vec<&'s Value> {
    let mut out = Vec::new();
    let Some(obj) = node.as_object() else {
        return out;
    };
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        match key {
            Some(k) => out.extend(props.get(k)),
            None => out.extend(props.values()),
        }
    }
    // Keys a schema admits without naming them: a map's value schema.
    if let Some(extra) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        out.push(extra);
    }
    if let Some(patterns) = obj.get("patternProperties").and_then(Value::as_object) {
        out.extend(patterns.values());
    }
    out
}

/// The schemas of an array node's elements: element `index`'s, or any element's.
fn items(node: &Value, index: Option<usize>) -> Vec<&Value> {
    let mut out = Vec::new();
    let Some(obj) = node.as_object() else {
        return out;
    };
    if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
        match index {
            Some(i) => out.extend(prefix.get(i)),
            None => out.extend(prefix.iter()),
        }
    }
    match obj.get("items") {
        Some(Value::Array(list)) => match index {
            Some(i) => out.extend(list.get(i)),
            None => out.extend(list.iter()),
        },
        Some(items @ (Value::Object(_) | Value::Bool(true))) => out.push(items),
        _ => {}
    }
    out
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !k.as_bytes()[0].is_ascii_digit()
}

/// What a schema property declares or describes, if it is PII.
fn schema_kind(obj: &serde_json::Map<String, Value>) -> Option<Kind> {
    if let Some(k) = obj.get("x-pii-kind").and_then(Value::as_str) {
        return Some(Kind::from_name(k.trim()));
    }
    let desc = obj.get("description").and_then(Value::as_str)?;
    if desc.len() > 400 {
        return None;
    }
    let d = desc.to_lowercase();
    let has = |w: &[&str]| w.iter().any(|x| d.contains(x));
    if has(&["phone", "telephone", "mobile number", "fax number"]) && !has(&["type", "count"]) {
        return Some(Kind::Phone);
    }
    if has(&["e-mail", "email"]) && has(&["address"]) {
        return Some(Kind::Email);
    }
    let personish = has(&[
        "person",
        "people",
        "full name",
        "first name",
        "last name",
        "given name",
        "family name",
        "surname",
        "contact",
        "owner",
        "assignee",
        "employee",
        "customer's name",
        "user's name",
        "author",
        "recipient",
        "sender",
        "patient",
    ]);
    let not_person = has(&[
        "company",
        "organization",
        "organisation",
        "file",
        "product",
        "project",
        "id ",
        "identifier",
        "city",
        "country",
        "team",
        "tool",
        "account name",
        "server",
        "host",
    ]);
    if personish && d.contains("name") && !not_person {
        return Some(Kind::Name);
    }
    None
}

fn parse_path(pattern: &str) -> Result<Vec<Step>, Error> {
    let bad = |reason| {
        Err(Error::BadFieldPath {
            pattern: pattern.to_string(),
            reason,
        })
    };
    let mut p = pattern.trim();
    p = p.strip_prefix('$').unwrap_or(p);
    p = p.strip_prefix('.').unwrap_or(p);
    if p.is_empty() {
        return bad("it is empty");
    }
    let b = p.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                if i + 1 >= b.len() || b[i + 1] == b'.' {
                    return bad("a `.` must be followed by a key");
                }
                i += 1;
            }
            b'[' => {
                let Some(close) = p[i..].find(']').map(|c| c + i) else {
                    return bad("a `[` is not closed");
                };
                let inner = p[i + 1..close].trim();
                if inner.is_empty() || inner == "*" {
                    steps.push(Step::Index(None));
                } else if let Ok(n) = inner.parse::<usize>() {
                    steps.push(Step::Index(Some(n)));
                } else if inner.starts_with('"') {
                    // A quoted key; find its real end (it may contain `]`).
                    let mut de =
                        serde_json::Deserializer::from_str(&p[i + 1..]).into_iter::<String>();
                    match de.next() {
                        Some(Ok(key)) => {
                            let end = i + 1 + de.byte_offset();
                            if b.get(end) != Some(&b']') {
                                return bad("a quoted key must be followed by `]`");
                            }
                            steps.push(Step::Key(key));
                            i = end + 1;
                            continue;
                        }
                        _ => return bad("a quoted key is not a valid JSON string"),
                    }
                } else {
                    return bad("inside `[]` write nothing, `*`, an index or a quoted key");
                }
                i = close + 1;
            }
            _ => {
                let end = p[i..].find(['.', '[']).map_or(p.len(), |e| e + i);
                let key = &p[i..end];
                steps.push(match key {
                    "*" => Step::AnyKey,
                    "**" => Step::AnyDepth,
                    k => Step::Key(k.to_string()),
                });
                i = end;
            }
        }
    }
    if matches!(steps.last(), Some(Step::AnyDepth)) {
        return bad("it may not end with `**`");
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(h: &FieldHints, path: &[At<'_>]) -> Option<Kind> {
        let mut s = h.root();
        let mut kind = None;
        for at in path {
            let (n, k) = h.step(s, *at);
            s = n;
            kind = k;
        }
        kind.and_then(|k| h.kind(k).cloned())
    }

    #[test]
    fn path_patterns_match_their_fields_only() {
        let h = FieldHints::new()
            .path("leads[].owner", Kind::Name)
            .unwrap()
            .path("**.iban", Kind::Iban)
            .unwrap()
            .path("$.meta[\"e-mail\"]", Kind::Email)
            .unwrap();
        use At::{Index, Key};
        assert_eq!(
            matches(&h, &[Key("leads"), Index(3), Key("owner")]),
            Some(Kind::Name)
        );
        assert_eq!(matches(&h, &[Key("leads"), Key("owner")]), None);
        assert_eq!(matches(&h, &[Key("owner")]), None);
        assert_eq!(
            matches(&h, &[Key("a"), Index(0), Key("b"), Key("iban")]),
            Some(Kind::Iban)
        );
        assert_eq!(matches(&h, &[Key("iban")]), Some(Kind::Iban));
        assert_eq!(
            matches(&h, &[Key("meta"), Key("e-mail")]),
            Some(Kind::Email)
        );
    }

    #[test]
    fn schema_paths_follow_properties_items_refs_and_open_parts() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "leads": {"type": "array", "items": {"$ref": "#/$defs/Lead"}},
                "meta": {"type": "object"},
                "count": {"type": "integer"}
            },
            "$defs": {"Lead": {"type": "object", "properties": {
                "owner": {"type": "string"},
                "contact": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"who": {"type": "string"}}}]}
            }}}
        });
        for p in [
            "leads[].owner",
            "leads[0].contact.who",
            "**.who",
            "meta.anything.below",
            "leads[*].*",
        ] {
            assert!(FieldHints::schema_has_path(&schema, p).unwrap(), "{p}");
        }
        for p in [
            "leads[].ownr",
            "leads.owner",
            "count.x",
            "owner",
            "leads[].**.nobody",
        ] {
            assert!(!FieldHints::schema_has_path(&schema, p).unwrap(), "{p}");
        }
        assert!(FieldHints::schema_has_path(&schema, "a..b").is_err());
    }

    #[test]
    fn bad_paths_are_rejected_with_the_reason() {
        for p in ["", "a..b", "a[", "a[x]", "a.**", "a[\"x\"y]"] {
            let e = FieldHints::new().path(p, Kind::Name).unwrap_err();
            assert!(matches!(e, Error::BadFieldPath { .. }), "{p}: {e}");
        }
        let mut h = FieldHints::new();
        let mut failed = false;
        for i in 0..100 {
            match h.clone().path(&format!("a{i}.b.c"), Kind::Name) {
                Ok(n) => h = n,
                Err(e) => {
                    assert!(matches!(e, Error::TooManyFieldPaths { .. }));
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed);
    }

    #[test]
    fn output_schema_descriptions_and_annotations_become_paths() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "leads": {"type": "array", "items": {"type": "object", "properties": {
                    "rep": {"type": "string", "description": "Full name of the person who owns the lead"},
                    "acct": {"type": "string", "x-pii-kind": "IBAN"},
                    "firm": {"type": "string", "description": "Company name"},
                    "reach": {"type": "string", "description": "Contact phone number"}
                }}}
            }
        });
        let h = FieldHints::from_output_schema(&schema);
        use At::{Index, Key};
        let at = |k| matches(&h, &[Key("leads"), Index(0), Key(k)]);
        assert_eq!(at("rep"), Some(Kind::Name));
        assert_eq!(at("acct"), Some(Kind::Iban));
        assert_eq!(at("firm"), None);
        assert_eq!(at("reach"), Some(Kind::Phone));
    }
}
