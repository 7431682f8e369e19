//! `[servers.NAME.fields]`: what an operator declares about the fields of a server's tool
//! results, e.g. that `leads[].owner` holds a person's NAME whatever the dictionary says.
//!
//! ```toml
//! [servers.crm.fields]
//! "leads[].owner" = "NAME"            # every tool of crm
//! [servers.crm.fields.getLead]
//! "assistant" = "NAME"                # only tools.crm.getLead
//! ```
//!
//! A string value declares a path for every tool of the server; a table declares paths
//! for the one tool it is named after. This module owns the shape and the checks that need
//! only the config (path syntax, kind names, with the line of the value); the checks that
//! need the backend's `tools/list` (the tool exists, its `outputSchema` has the path) live
//! with the hint resolution in `flow::fields`. It never decides what a value is.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Every declared field of one server, in file order.
#[derive(Debug, Clone, Default)]
pub struct FieldDeclarations(pub Vec<FieldDeclaration>);

/// One declared field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDeclaration {
    /// The tool it applies to; `None` for every tool of the server.
    pub tool: Option<String>,
    /// The path in the tool's result (`leads[].owner`; syntax in `docs/operations.md`).
    pub path: String,
    /// The kind its values are, e.g. `NAME`.
    pub kind: String,
    /// Byte range of the kind in the config text, for error positions.
    pub span: Option<Range<usize>>,
}

impl FieldDeclaration {
    /// How the declaration is written in the config, for messages:
    /// `[servers.crm.fields.getLead] "assistant"`.
    pub fn describe(&self, server: &str) -> String {
        match &self.tool {
            Some(tool) => format!("[servers.{server}.fields.{tool}] \"{}\"", self.path),
            None => format!("[servers.{server}.fields] \"{}\"", self.path),
        }
    }
}

impl FieldDeclarations {
    /// True when nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first declaration that is not valid on its own terms (path syntax, kind name)
    /// and why; `kinds` are the kind names the detectors can produce.
    pub(crate) fn check(
        &self,
        server: &str,
        kinds: &[&str],
    ) -> Result<(), (Option<Range<usize>>, String)> {
        for decl in &self.0 {
            if let Some(tool) = &decl.tool
                && tool.trim().is_empty()
            {
                return Err((
                    decl.span.clone(),
                    format!("[servers.{server}.fields]: a tool name may not be empty"),
                ));
            }
            if !kinds.contains(&decl.kind.as_str()) {
                let suggestion = crate::suggest::closest(&decl.kind, kinds.iter().copied())
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_default();
                return Err((
                    decl.span.clone(),
                    format!(
                        "{} = \"{}\": unknown kind{suggestion}; the kinds are {} (declare \
                         others in [[detectors.custom]])",
                        decl.describe(server),
                        decl.kind,
                        kinds.join(", ")
                    ),
                ));
            }
            let kind = detectors::Kind::from_name(&decl.kind);
            if let Err(e) = detectors::FieldHints::new().path(&decl.path, kind) {
                return Err((decl.span.clone(), format!("{}: {e}", decl.describe(server))));
            }
        }
        Ok(())
    }
}

/// One value of a `fields` table: a kind (every tool) or one tool's table.
enum Entry {
    Kind(String),
    Tool(Vec<(String, toml::Spanned<String>)>),
}

impl<'de> de::Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a kind name such as \"NAME\", or a table of one tool's fields")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
                Ok(Entry::Kind(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                let mut out = Vec::new();
                while let Some(path) = map.next_key::<String>()? {
                    out.push((path, map.next_value::<toml::Spanned<String>>()?));
                }
                Ok(Entry::Tool(out))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

impl<'de> de::Deserialize<'de> for FieldDeclarations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = FieldDeclarations;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of field paths and kinds, e.g. \"leads[].owner\" = \"NAME\"")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let entry = map.next_value::<toml::Spanned<Entry>>()?;
                    let span = entry.span();
                    match entry.into_inner() {
                        Entry::Kind(kind) => out.push(FieldDeclaration {
                            tool: None,
                            path: key,
                            kind,
                            span: Some(span),
                        }),
                        Entry::Tool(fields) => {
                            for (path, kind) in fields {
                                out.push(FieldDeclaration {
                                    tool: Some(key.clone()),
                                    path,
                                    span: Some(kind.span()),
                                    kind: kind.into_inner(),
                                });
                            }
                        }
                    }
                }
                Ok(FieldDeclarations(out))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}
