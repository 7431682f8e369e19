//! JSON Schema → TypeScript type text.
//!
//! Owns the translation of one tool's input/output schema into TypeScript type syntax. It never
//! fails and never panics: anything it does not understand becomes `unknown`, recursion is bounded
//! by [`MAX_DEPTH`], `$ref` cycles are cut with a reference stack, and the text it may produce for
//! one schema is bounded by a byte budget, so a hostile schema costs at most a few kilobytes.

use serde_json::{Map, Value};

/// Deepest schema nesting rendered; deeper subschemas become `unknown`.
pub(crate) const MAX_DEPTH: usize = 24;
/// Most `$ref` expansions active at once on one path (stops ref chains that are not cycles).
const MAX_REF_DEPTH: usize = 8;
/// Most `enum` values spelled out; a longer enum renders as its base `type`.
const MAX_ENUM: usize = 256;
/// Bytes of type text after which remaining subschemas render as `unknown`.
const BUDGET: usize = 16 * 1024;
/// Maximum object nesting shown in compact (signature) mode; deeper objects render as `object`.
const COMPACT_OBJECT_DEPTH: usize = 3;
/// Longest one-line doc, in characters, before it is cut with an ellipsis.
const ONE_LINE_DOC: usize = 160;

/// How much of a schema to spell out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Style {
    /// One line, no field docs, nested objects cut at [`COMPACT_OBJECT_DEPTH`].
    Compact,
    /// Multi-line, a doc comment on every documented field, full depth.
    Full,
}

/// Operator precedence of a rendered type, to know when it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Prec {
    Union,
    Intersection,
    Atom,
}

/// A rendered type and its precedence.
struct Ty {
    text: String,
    prec: Prec,
}

impl Ty {
    fn atom(text: impl Into<String>) -> Self {
        Ty {
            text: text.into(),
            prec: Prec::Atom,
        }
    }

    fn unknown() -> Self {
        Ty::atom("unknown")
    }

    /// The text, parenthesized if it binds looser than `min`.
    fn at_least(self, min: Prec) -> String {
        if self.prec < min {
            format!("({})", self.text)
        } else {
            self.text
        }
    }
}

/// Renders the types of one schema document (whose root resolves local `$ref`s).
pub(crate) struct Renderer<'a> {
    root: &'a Map<String, Value>,
    style: Style,
    refs: Vec<&'a str>,
    used: usize,
}

impl<'a> Renderer<'a> {
    /// A renderer for the schema document `root` in the given style.
    pub(crate) fn new(root: &'a Map<String, Value>, style: Style) -> Self {
        Renderer {
            root,
            style,
            refs: Vec::new(),
            used: 0,
        }
    }

    /// The TypeScript type of the whole document, nested lines indented for `indent` levels.
    pub(crate) fn root_type(&mut self, indent: usize) -> String {
        self.object_schema(self.root, 0, indent, 0).text
    }

    fn ty(&mut self, schema: &'a Value, depth: usize, indent: usize, obj_depth: usize) -> Ty {
        if depth > MAX_DEPTH || self.used > BUDGET {
            return Ty::unknown();
        }
        let ty = match schema {
            Value::Bool(true) => Ty::unknown(),
            Value::Bool(false) => Ty::atom("never"),
            Value::Object(map) => self.object_schema(map, depth, indent, obj_depth),
            _ => Ty::unknown(),
        };
        self.used += ty.text.len();
        ty
    }

    fn object_schema(
        &mut self,
        map: &'a Map<String, Value>,
        depth: usize,
        indent: usize,
        obj_depth: usize,
    ) -> Ty {
        if let Some(Value::String(reference)) = map.get("$ref") {
            return self.reference(reference, depth, indent, obj_depth);
        }
        let mut parts: Vec<Ty> = Vec::new();
        if let Some(value) = map.get("const") {
            parts.push(literal(value));
        } else if let Some(Value::Array(values)) = map.get("enum")
            && values.len() <= MAX_ENUM
        {
            parts.push(self.union(values.iter().map(literal).collect()));
        } else if let Some(ty) = self.typed(map, depth, indent, obj_depth) {
            parts.push(ty);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = map.get(key) {
                let options = options
                    .iter()
                    .map(|option| self.ty(option, depth + 1, indent, obj_depth))
                    .collect();
                parts.push(self.union(options));
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for sub in all {
                parts.push(self.ty(sub, depth + 1, indent, obj_depth));
            }
        }
        parts.retain(|part| part.text != "unknown");
        let ty = match parts.len() {
            0 => Ty::unknown(),
            1 => parts.pop().unwrap_or_else(Ty::unknown),
            _ => Ty {
                text: parts
                    .into_iter()
                    .map(|part| part.at_least(Prec::Intersection))
                    .collect::<Vec<_>>()
                    .join(" & "),
                prec: Prec::Intersection,
            },
        };
        if map.get("nullable") == Some(&Value::Bool(true)) && ty.text != "unknown" {
            return self.union(vec![ty, Ty::atom("null")]);
        }
        ty
    }

    /// The type named by `type` (or implied by `properties`/`items`), if any.
    fn typed(
        &mut self,
        map: &'a Map<String, Value>,
        depth: usize,
        indent: usize,
        obj_depth: usize,
    ) -> Option<Ty> {
        let names: Vec<&str> = match map.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ if map.contains_key("properties") || map.contains_key("additionalProperties") => {
                vec!["object"]
            }
            _ if map.contains_key("items") || map.contains_key("prefixItems") => vec!["array"],
            _ => return None,
        };
        let types = names
            .into_iter()
            .map(|name| match name {
                "string" => Ty::atom("string"),
                "number" | "integer" => Ty::atom("number"),
                "boolean" => Ty::atom("boolean"),
                "null" => Ty::atom("null"),
                "array" => self.array(map, depth, indent, obj_depth),
                "object" => self.object(map, depth, indent, obj_depth),
                _ => Ty::unknown(),
            })
            .collect();
        Some(self.union(types))
    }

    fn reference(
        &mut self,
        reference: &'a str,
        depth: usize,
        indent: usize,
        obj_depth: usize,
    ) -> Ty {
        if self.refs.len() >= MAX_REF_DEPTH || self.refs.contains(&reference) {
            return Ty::unknown();
        }
        let Some(pointer) = reference.strip_prefix('#') else {
            return Ty::unknown();
        };
        self.refs.push(reference);
        let ty = if pointer.is_empty() {
            self.object_schema(self.root, depth + 1, indent, obj_depth)
        } else {
            match resolve(self.root, pointer) {
                Some(target) => self.ty(target, depth + 1, indent, obj_depth),
                None => Ty::unknown(),
            }
        };
        self.refs.pop();
        ty
    }

    fn array(
        &mut self,
        map: &'a Map<String, Value>,
        depth: usize,
        indent: usize,
        obj_depth: usize,
    ) -> Ty {
        let tuple = match (map.get("prefixItems"), map.get("items")) {
            (Some(Value::Array(prefix)), rest) => Some((prefix, rest)),
            (None, Some(Value::Array(prefix))) => Some((prefix, map.get("additionalItems"))),
            _ => None,
        };
        if let Some((prefix, rest)) = tuple {
            let mut elements: Vec<String> = prefix
                .iter()
                .map(|item| self.ty(item, depth + 1, indent, obj_depth).text)
                .collect();
            match rest {
                Some(Value::Bool(false)) => {}
                Some(rest @ Value::Object(_)) => {
                    let rest = self.ty(rest, depth + 1, indent, obj_depth);
                    elements.push(format!("...{}[]", rest.at_least(Prec::Atom)));
                }
                _ => elements.push("...unknown[]".to_string()),
            }
            return Ty::atom(format!("[{}]", elements.join(", ")));
        }
        let item = match map.get("items") {
            Some(items) => self.ty(items, depth + 1, indent, obj_depth),
            None => Ty::unknown(),
        };
        Ty::atom(format!("{}[]", item.at_least(Prec::Atom)))
    }

    fn object(
        &mut self,
        map: &'a Map<String, Value>,
        depth: usize,
        indent: usize,
        obj_depth: usize,
    ) -> Ty {
        let properties = match map.get("properties") {
            Some(Value::Object(properties)) => Some(properties),
            _ => None,
        };
        if self.style == Style::Compact && obj_depth >= COMPACT_OBJECT_DEPTH {
            return Ty::atom("object");
        }
        let extra = match map.get("additionalProperties") {
            Some(Value::Bool(true)) => Some(Ty::unknown()),
            Some(schema @ Value::Object(_)) => {
                Some(self.ty(schema, depth + 1, indent + 1, obj_depth + 1))
            }
            Some(_) => None,
            None if properties.is_none_or(Map::is_empty) => Some(Ty::unknown()),
            None => None,
        };
        let required: Vec<&str> = match map.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut members: Vec<String> = Vec::new();
        for (name, schema) in properties.into_iter().flatten() {
            if self.used > BUDGET {
                // Keep the type valid and honest: the rest exists but is not spelled out.
                members.push(self.member(None, "[key: string]: unknown", indent));
                break;
            }
            let ty = self.ty(schema, depth + 1, indent + 1, obj_depth + 1);
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            let line = format!("{}{optional}: {}", property_name(name), ty.text);
            let member = self.member(Some(schema), &line, indent);
            self.used += member.len();
            members.push(member);
        }
        if let Some(extra) = extra {
            members.push(self.member(None, &format!("[key: string]: {}", extra.text), indent));
        }
        if members.is_empty() {
            return Ty::atom("{}");
        }
        let text = match self.style {
            Style::Compact => format!("{{ {} }}", members.join("; ")),
            Style::Full => format!("{{\n{}{}}}", members.concat(), pad(indent)),
        };
        Ty::atom(text)
    }

    /// One object member: the bare line in compact style, doc + line + `;` in full style.
    fn member(&self, schema: Option<&Value>, line: &str, indent: usize) -> String {
        match self.style {
            Style::Compact => line.to_string(),
            Style::Full => {
                let mut out = String::new();
                if let Some(schema) = schema {
                    out.push_str(&doc_comment(&field_doc(schema), indent + 1));
                }
                out.push_str(&pad(indent + 1));
                out.push_str(line);
                out.push_str(";\n");
                out
            }
        }
    }

    /// A union of `types`, dropping duplicates; `unknown` absorbs everything.
    fn union(&self, types: Vec<Ty>) -> Ty {
        let mut members: Vec<Ty> = Vec::new();
        for ty in types {
            if ty.text == "unknown" {
                return Ty::unknown();
            }
            if !members.iter().any(|member| member.text == ty.text) {
                members.push(ty);
            }
        }
        match members.len() {
            0 => Ty::atom("never"),
            1 => members.pop().unwrap_or_else(Ty::unknown),
            _ => Ty {
                text: members
                    .into_iter()
                    .map(|member| member.at_least(Prec::Intersection))
                    .collect::<Vec<_>>()
                    .join(" | "),
                prec: Prec::Union,
            },
        }
    }
}

/// The subschema at JSON pointer `pointer` (e.g. `/$defs/Lead`) inside `root`.
fn resolve<'a>(root: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let (first, rest) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let first = first.replace("~1", "/").replace("~0", "~");
    root.get(&first)?.pointer(rest)
}

/// A TypeScript literal type for a JSON value; objects and arrays have none, so `unknown`.
fn literal(value: &Value) -> Ty {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            Ty::atom(value.to_string())
        }
        _ => Ty::unknown(),
    }
}

/// Doc lines for a field: its description (or title), `@format`, `@default`, `@deprecated`.
fn field_doc(schema: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let text = schema
        .get("description")
        .or_else(|| schema.get("title"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    lines.extend(text.lines().map(str::trim_end).map(String::from));
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        lines.push(format!("@format {format}"));
    }
    if let Some(default) = schema.get("default") {
        let mut default = default.to_string();
        truncate(&mut default, ONE_LINE_DOC);
        lines.push(format!("@default {default}"));
    }
    if schema.get("deprecated") == Some(&Value::Bool(true)) {
        lines.push("@deprecated".to_string());
    }
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

/// A `/** … */` comment at `indent`, one line when it fits; empty when there is nothing to say.
pub(crate) fn doc_comment(lines: &[String], indent: usize) -> String {
    let pad = pad(indent);
    match lines {
        [] => String::new(),
        [line] => format!("{pad}/** {} */\n", escape_doc(line)),
        _ => {
            let mut out = format!("{pad}/**\n");
            for line in lines {
                let line = escape_doc(line);
                if line.is_empty() {
                    out.push_str(&format!("{pad} *\n"));
                } else {
                    out.push_str(&format!("{pad} * {line}\n"));
                }
            }
            out.push_str(&format!("{pad} */\n"));
            out
        }
    }
}

/// The first line of a description, cut at [`ONE_LINE_DOC`] characters.
pub(crate) fn one_line(text: &str) -> String {
    let mut line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("")
        .to_string();
    truncate(&mut line, ONE_LINE_DOC);
    line
}

/// Every line of a description, trailing blank lines dropped.
pub(crate) fn all_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    lines
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn truncate(text: &mut String, max: usize) {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
        text.push('…');
    }
}

/// Text that cannot close the comment it sits in.
fn escape_doc(line: &str) -> String {
    line.replace("*/", "*\\/")
}

/// `name` as a property key: bare when it is an identifier, else a string literal.
pub(crate) fn property_name(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        Value::from(name).to_string()
    }
}

/// Whether `name` is an ASCII JavaScript identifier name (reserved words included: they are
/// valid after a `.` and as property keys).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Whether `name` can be declared with `function name` or `namespace name`.
pub(crate) fn is_declarable(name: &str) -> bool {
    is_identifier(name) && !RESERVED.contains(&name)
}

/// Words that cannot name a function or namespace in strict-mode TypeScript.
const RESERVED: &[&str] = &[
    "any",
    "arguments",
    "as",
    "await",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "never",
    "new",
    "null",
    "number",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Two spaces per indent level.
pub(crate) fn pad(indent: usize) -> String {
    "  ".repeat(indent)
}
