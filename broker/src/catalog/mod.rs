//! The tool catalog: every backend tool, its TypeScript declaration, and keyword search over them.
//!
//! The model never sees backend `tools/list` output. It calls `search`, and this module answers
//! with TypeScript declarations of the tools that match, at one of three [`Detail`] levels, so the
//! agent's context grows with what it looks for rather than with how many tools exist.
//!
//! # Design
//!
//! * **Build once, query often.** [`Catalog::from_servers`] turns the backends' `rmcp` tool
//!   lists into [`Entry`]s and a precomputed inverted index (BM25F: per-field weights for tool
//!   name, server name, description, parameter names and parameter docs). Each posting holds its
//!   finished score contribution, so a query walks only its terms' postings; 5,000 tools answer
//!   in microseconds. Building touches no schema beyond its top-level properties and renders no
//!   TypeScript, so a rebuild after a backend reconnects is cheap.
//! * **Render lazily.** TypeScript is generated per hit at query time: a search returns a handful
//!   of tools, and most tools are never shown.
//! * **Normalize generously, rank conservatively.** Words are split at camelCase, snake_case,
//!   kebab-case and digits, lowercased, stop words dropped and lightly stemmed; a small synonym
//!   table (update/set/change, get/read/fetch, lead/contact, …) widens the query at reduced
//!   weight. A query word scores a tool once, by its best variant. A query that *is* a tool's
//!   name (`updateLead`, `crm.updateLead`) always ranks that tool first, and a bonus for covering
//!   all of a tool name's words favours `updateLead` over `updateLeadStatus` for "update lead".
//! * **Never trust a schema.** Backend schemas are input. TypeScript generation is bounded in
//!   depth, `$ref` expansion and output size; anything unusual becomes `unknown`. The output is
//!   meant to be read by the model (types are stripped on the host), but it is always valid
//!   TypeScript syntax.
//!
//! # Trade-offs
//!
//! Keyword search with synonyms rather than embeddings: no model download, deterministic, and
//! sub-millisecond, at the cost of missing paraphrases the synonym table does not know. Recursive
//! `$ref`s render as `unknown` past the first repetition instead of named type aliases, which
//! keeps each tool's declaration self-contained.
//!
//! This module owns no I/O and never calls a backend: it is handed tool lists and returns text.

mod search;
mod typescript;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

use self::search::{Field, Index, IndexBuilder};
use self::typescript::{Renderer, Style};

/// How much of each tool a rendering shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    /// One line per tool: its accessor, e.g. `tools.crm.updateLead`.
    Names,
    /// A declaration with a one-line doc and compact argument and return types.
    #[default]
    Signatures,
    /// Full doc comments, a doc comment for every field, and complete types.
    Full,
}

impl Detail {
    /// Every level, from least to most text.
    pub const ALL: [Detail; 3] = [Detail::Names, Detail::Signatures, Detail::Full];

    /// The name used on the wire: `names`, `signatures` or `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Names => "names",
            Detail::Signatures => "signatures",
            Detail::Full => "full",
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detail level name that is not `names`, `signatures` or `full`.
#[derive(Debug, thiserror::Error)]
#[error("unknown detail level {0:?}: use \"names\", \"signatures\" or \"full\"")]
pub struct UnknownDetail(pub String);

impl FromStr for Detail {
    type Err = UnknownDetail;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Detail::ALL
            .into_iter()
            .find(|detail| detail.as_str() == text)
            .ok_or_else(|| UnknownDetail(text.to_string()))
    }
}

/// One backend tool as the sandbox sees it.
#[derive(Clone, Debug)]
pub struct Entry {
    server: String,
    name: String,
    accessor: String,
    title: Option<String>,
    description: Option<String>,
    input_schema: Arc<JsonObject>,
    output_schema: Option<Arc<JsonObject>>,
    /// Whether the server is declared as `declare namespace tools.<server>` (server and every
    /// tool name declarable) rather than as a quoted member of `interface Tools`.
    namespace_form: bool,
}

impl Entry {
    /// The backend server's configured name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The tool's name as the backend lists it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JavaScript expression that reaches the tool: `tools.crm.updateLead` or
    /// `tools["my-server"]["tool-name"]`.
    pub fn accessor(&self) -> &str {
        &self.accessor
    }

    /// The tool's description, if the backend gave one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The JSON Schema of the tool's arguments.
    pub fn input_schema(&self) -> &JsonObject {
        &self.input_schema
    }

    /// The JSON Schema of the tool's structured result, if the backend declared one.
    pub fn output_schema(&self) -> Option<&JsonObject> {
        self.output_schema.as_deref()
    }

    /// This tool alone, as complete TypeScript (or just its accessor at [`Detail::Names`]).
    pub fn render(&self, detail: Detail) -> String {
        render_entries(&[self], detail)
    }

    /// The declaration of this tool as it sits inside its server's block, `indent` levels deep.
    fn member(&self, detail: Detail, indent: usize) -> String {
        let pad = typescript::pad(indent);
        if detail == Detail::Names {
            return format!("{pad}{}\n", self.accessor);
        }
        let style = if detail == Detail::Full {
            Style::Full
        } else {
            Style::Compact
        };
        let text = self
            .description
            .as_deref()
            .or(self.title.as_deref())
            .unwrap_or_default();
        let doc = match style {
            Style::Compact => vec![typescript::one_line(text)]
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect(),
            Style::Full => typescript::all_lines(text),
        };
        let required = matches!(self.input_schema.get("required"), Some(Value::Array(names)) if !names.is_empty());
        let args = Renderer::new(&self.input_schema, style).root_type(indent);
        let returns = match &self.output_schema {
            Some(schema) => Renderer::new(schema, style).root_type(indent),
            None => "unknown".to_string(),
        };
        let optional = if required { "" } else { "?" };
        let head = if self.namespace_form {
            format!("function {}", self.name)
        } else {
            typescript::property_name(&self.name)
        };
        format!(
            "{}{pad}{head}(args{optional}: {args}): Promise<{returns}>;\n",
            typescript::doc_comment(&doc, indent)
        )
    }
}

/// A search result: the entry, its relevance score and its rendering at the requested detail.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    /// The matching tool.
    pub entry: &'a Entry,
    /// Relevance; only comparable within one query's results.
    pub score: f32,
    /// [`Entry::render`] at the requested detail: complete TypeScript for this tool alone.
    pub rendered: String,
}

/// The size of a rendering, for deciding which detail level fits a context budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeEstimate {
    /// Exact length in bytes.
    pub bytes: usize,
    /// Approximate model tokens (about four bytes each for declaration-like text).
    pub tokens: usize,
}

impl SizeEstimate {
    /// The estimate for `text`.
    pub fn of(text: &str) -> Self {
        SizeEstimate {
            bytes: text.len(),
            tokens: text.len().div_ceil(4),
        }
    }
}

/// Every tool of every backend, with a search index over them.
#[derive(Debug)]
pub struct Catalog {
    entries: Vec<Entry>,
    index: Index,
    sizes: [OnceLock<SizeEstimate>; 3],
}

impl Catalog {
    /// Builds the catalog from each server's name and its `tools/list` result.
    pub fn from_servers<I>(servers: I) -> Catalog
    where
        I: IntoIterator<Item = (String, Vec<Tool>)>,
    {
        let mut entries = Vec::new();
        let mut builder = IndexBuilder::default();
        for (server, tools) in servers {
            let namespace_form = typescript::is_declarable(&server)
                && tools
                    .iter()
                    .all(|tool| typescript::is_declarable(&tool.name));
            for tool in tools {
                let entry = Entry::new(&server, tool, namespace_form);
                index_entry(&mut builder, &entry);
                entries.push(entry);
            }
        }
        Catalog {
            entries,
            index: builder.build(),
            sizes: Default::default(),
        }
    }

    /// How many tools the catalog holds.
    pub fn tool_count(&self) -> usize {
        self.entries.len()
    }

    /// Every entry, in the order the servers listed them.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The whole catalog as TypeScript (or accessor lines at [`Detail::Names`]).
    pub fn render(&self, detail: Detail) -> String {
        let entries: Vec<&Entry> = self.entries.iter().collect();
        render_entries(&entries, detail)
    }

    /// The size of [`Catalog::render`] at `detail`, computed on first use and then remembered.
    pub fn estimate(&self, detail: Detail) -> SizeEstimate {
        let slot = &self.sizes[detail as usize];
        *slot.get_or_init(|| SizeEstimate::of(&self.render(detail)))
    }

    /// Up to `limit` tools matching `query`, best first, each rendered at `detail`.
    ///
    /// An empty query (or one with only stop words) lists the first `limit` tools.
    pub fn search(&self, query: &str, detail: Detail, limit: usize) -> Vec<Hit<'_>> {
        let mut ranked = self.index.search(query, limit);
        if ranked.is_empty() && search::words(query).next().is_none() {
            ranked = (0..self.entries.len().min(limit))
                .map(|doc| (doc as u32, 0.0))
                .collect();
        }
        ranked
            .into_iter()
            .filter_map(|(doc, score)| {
                let entry = self.entries.get(doc as usize)?;
                Some(Hit {
                    entry,
                    score,
                    rendered: entry.render(detail),
                })
            })
            .collect()
    }
}

/// What `search` answers: the hits for `query` rendered at `detail`, or a one-line
/// comment saying nothing matched and how many tools there are.
pub fn search_text(catalog: &Catalog, query: &str, detail: Detail, limit: usize) -> String {
    let hits = catalog.search(query, detail, limit);
    if hits.is_empty() {
        return match catalog.tool_count() {
            0 => "// no tools: no backend servers are configured or reachable".to_owned(),
            n => format!("// no tools match {query:?} ({n} tools in the catalog)"),
        };
    }
    render_hits(&hits, detail)
}

/// Hits as one TypeScript text, grouped by server (servers in order of their best hit).
pub fn render_hits(hits: &[Hit<'_>], detail: Detail) -> String {
    let entries: Vec<&Entry> = hits.iter().map(|hit| hit.entry).collect();
    render_entries(&entries, detail)
}

impl Entry {
    fn new(server: &str, tool: Tool, namespace_form: bool) -> Entry {
        let name = tool.name.into_owned();
        let accessor = if typescript::is_identifier(server) && typescript::is_identifier(&name) {
            format!("tools.{server}.{name}")
        } else {
            format!("tools{}{}", js_index(server), js_index(&name))
        };
        Entry {
            server: server.to_string(),
            name,
            accessor,
            title: tool
                .title
                .or_else(|| tool.annotations.and_then(|a| a.title)),
            description: tool.description.map(|d| d.into_owned()),
            input_schema: tool.input_schema,
            output_schema: tool.output_schema,
            namespace_form,
        }
    }
}

/// `.name` when `name` is an identifier, else `["name"]`.
fn js_index(name: &str) -> String {
    if typescript::is_identifier(name) {
        format!(".{name}")
    } else {
        format!("[{}]", Value::from(name))
    }
}

/// Adds one entry's searchable text to the index.
fn index_entry(builder: &mut IndexBuilder, entry: &Entry) {
    builder.begin(&entry.server, &entry.name);
    for text in [&entry.title, &entry.description].into_iter().flatten() {
        builder.add(Field::Description, text);
    }
    if let Some(Value::Object(properties)) = entry.input_schema.get("properties") {
        for (name, schema) in properties {
            builder.add(Field::Param, name);
            if let Some(doc) = schema.get("description").and_then(Value::as_str) {
                builder.add(Field::ParamDoc, doc);
            }
        }
    }
}

/// `entries` as one text: accessor lines at [`Detail::Names`], else one block per server.
fn render_entries(entries: &[&Entry], detail: Detail) -> String {
    if detail == Detail::Names {
        return entries
            .iter()
            .map(|entry| entry.member(detail, 0))
            .collect();
    }
    let mut order: Vec<Vec<&Entry>> = Vec::new();
    let mut slots: HashMap<&str, usize> = HashMap::new();
    for &entry in entries {
        let slot = *slots.entry(entry.server.as_str()).or_insert_with(|| {
            order.push(Vec::new());
            order.len() - 1
        });
        order[slot].push(entry);
    }
    let mut out = String::new();
    for group in order {
        let Some(first) = group.first() else {
            continue;
        };
        if first.namespace_form {
            out.push_str(&format!("declare namespace tools.{} {{\n", first.server));
            for entry in &group {
                out.push_str(&entry.member(detail, 1));
            }
            out.push_str("}\n");
        } else {
            out.push_str(&format!(
                "interface Tools {{\n  {}: {{\n",
                typescript::property_name(&first.server)
            ));
            for entry in &group {
                out.push_str(&entry.member(detail, 2));
            }
            out.push_str("  };\n}\n");
        }
    }
    out
}

#[cfg(test)]
mod synthetic;
#[cfg(test)]
mod tests;
