//! Keyword index over catalog entries: tokenizer, stemmer, synonyms and BM25F scoring.
//!
//! Owns everything about turning text into terms and ranking entries for a query. The postings
//! hold each (term, entry) pair's finished BM25F contribution, computed once at build, so a query
//! only walks the postings of its few terms and adds floats into a dense score array: no
//! allocation proportional to the catalog beyond that array, and no schema is touched.

use std::collections::HashMap;
use std::sync::LazyLock;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalization.
const B: f32 = 0.75;
/// Weight of a query word's synonyms relative to the word itself.
const SYNONYM_WEIGHT: f32 = 0.6;
/// Score added when the whole query is the tool's name (or `server.tool`): it always wins.
const EXACT_NAME_BOOST: f32 = 1000.0;
/// Score added, scaled by the share of the tool name's words the query covers, so that a
/// query naming every word of a short tool name beats a longer name it only partly names.
const NAME_COVERAGE_BOOST: f32 = 2.0;

/// A field of an entry, in the order of [`FIELD_WEIGHTS`].
#[derive(Clone, Copy)]
pub(crate) enum Field {
    /// The tool name.
    Name = 0,
    /// The server name.
    Server = 1,
    /// The tool's title and description.
    Description = 2,
    /// Names of the input's top-level properties.
    Param = 3,
    /// Descriptions of the input's top-level properties.
    ParamDoc = 4,
}

const FIELDS: usize = 5;
/// How much a term occurrence in each field counts, relative to the description.
const FIELD_WEIGHTS: [f32; FIELDS] = [3.0, 2.0, 1.0, 1.0, 0.5];

/// The text of one entry, split by field, as handed to [`Index::build`].
#[derive(Default)]
pub(crate) struct Document {
    fields: [Vec<u32>; FIELDS],
    name_terms: Vec<u32>,
    exact_keys: Vec<String>,
}

/// A precomputed inverted index with BM25F weights.
#[derive(Debug, Default)]
pub(crate) struct Index {
    terms: HashMap<String, u32>,
    postings: Vec<Vec<(u32, f32)>>,
    /// Each entry's distinct name terms, for the coverage bonus.
    name_terms: Vec<Vec<u32>>,
    /// Normalized `tool` and `server.tool` keys → entries, for the exact-name boost.
    exact: HashMap<String, Vec<u32>>,
}

/// Collects documents, interning their terms, then freezes them into an [`Index`].
#[derive(Default)]
pub(crate) struct IndexBuilder {
    terms: HashMap<String, u32>,
    documents: Vec<Document>,
}

impl IndexBuilder {
    /// Starts a new document; fields are added with [`IndexBuilder::add`].
    pub(crate) fn begin(&mut self, server: &str, tool: &str) {
        let mut document = Document::default();
        document.exact_keys.push(exact_key(tool));
        document
            .exact_keys
            .push(exact_key(&format!("{server}{tool}")));
        self.documents.push(document);
        self.add(Field::Name, tool);
        self.add(Field::Server, server);
    }

    /// Adds `text` to `field` of the current document.
    pub(crate) fn add(&mut self, field: Field, text: &str) {
        let Some(document) = self.documents.last_mut() else {
            return;
        };
        for word in words(text) {
            let next = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
            let id = *self.terms.entry(word).or_insert(next);
            document.fields[field as usize].push(id);
            if matches!(field, Field::Name) && !document.name_terms.contains(&id) {
                document.name_terms.push(id);
            }
        }
    }

    /// Computes every posting's BM25F contribution.
    pub(crate) fn build(self) -> Index {
        let count = self.documents.len();
        let mut average = [0f32; FIELDS];
        for document in &self.documents {
            for (field, terms) in document.fields.iter().enumerate() {
                average[field] += terms.len() as f32;
            }
        }
        for value in &mut average {
            *value = (*value / count.max(1) as f32).max(1.0);
        }
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); self.terms.len()];
        let mut weighted: HashMap<u32, f32> = HashMap::new();
        let mut name_terms = Vec::with_capacity(count);
        let mut exact: HashMap<String, Vec<u32>> = HashMap::new();
        for (doc, document) in self.documents.into_iter().enumerate() {
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            weighted.clear();
            for (field, terms) in document.fields.iter().enumerate() {
                let norm = (1.0 - B) + B * terms.len() as f32 / average[field];
                for &term in terms {
                    *weighted.entry(term).or_default() += FIELD_WEIGHTS[field] / norm;
                }
            }
            for (&term, &tf) in &weighted {
                if let Some(list) = postings.get_mut(term as usize) {
                    list.push((doc, tf));
                }
            }
            name_terms.push(document.name_terms);
            for key in document.exact_keys {
                if !key.is_empty() {
                    exact.entry(key).or_default().push(doc);
                }
            }
        }
        for list in &mut postings {
            let df = list.len() as f32;
            let idf = (1.0 + (count as f32 - df + 0.5) / (df + 0.5)).ln();
            for (_, weight) in list.iter_mut() {
                *weight = idf * *weight * (K1 + 1.0) / (*weight + K1);
            }
        }
        Index {
            terms: self.terms,
            postings,
            name_terms,
            exact,
        }
    }
}

impl Index {
    /// Up to `limit` `(entry, score)` pairs, best first, for `query`.
    pub(crate) fn search(&self, query: &str, limit: usize) -> Vec<(u32, f32)> {
        let count = self.name_terms.len();
        let mut scores = vec![0f32; count];
        let mut best = vec![0f32; count];
        let mut touched: Vec<u32> = Vec::new();
        let mut group_touched: Vec<u32> = Vec::new();
        let mut covered: Vec<u32> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for word in words(query) {
            if seen.contains(&word) {
                continue;
            }
            // One query word scores a document once, by its best-matching variant, so a
            // description that uses three synonyms does not outscore one that uses the word.
            for (variant, weight) in expand(&word) {
                let Some(&term) = self.terms.get(variant) else {
                    continue;
                };
                covered.push(term);
                let Some(list) = self.postings.get(term as usize) else {
                    continue;
                };
                for &(doc, score) in list {
                    let slot = &mut best[doc as usize];
                    let score = score * weight;
                    if *slot == 0.0 {
                        group_touched.push(doc);
                    }
                    if score > *slot {
                        *slot = score;
                    }
                }
            }
            for doc in group_touched.drain(..) {
                let index = doc as usize;
                if scores[index] == 0.0 {
                    touched.push(doc);
                }
                scores[index] += best[index];
                best[index] = 0.0;
            }
            seen.push(word);
        }
        for &doc in &touched {
            if let Some(names) = self
                .name_terms
                .get(doc as usize)
                .filter(|names| !names.is_empty())
            {
                let hits = names.iter().filter(|term| covered.contains(term)).count();
                let share = hits as f32 / names.len() as f32;
                scores[doc as usize] += NAME_COVERAGE_BOOST * share * share;
            }
        }
        if let Some(docs) = self.exact.get(&exact_key(query)) {
            for &doc in docs {
                if scores[doc as usize] == 0.0 {
                    touched.push(doc);
                }
                scores[doc as usize] += EXACT_NAME_BOOST;
            }
        }
        let mut ranked: Vec<(u32, f32)> = touched
            .into_iter()
            .map(|doc| (doc, scores[doc as usize]))
            .collect();
        let by_score = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if ranked.len() > limit && limit > 0 {
            ranked.select_nth_unstable_by(limit - 1, by_score);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(by_score);
        ranked.truncate(limit);
        ranked
    }
}

/// The lowercase alphanumerics of `text`, so `crm.updateLead` and `crm update-lead` meet.
fn exact_key(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Normalized search terms of `text`: split at non-alphanumerics, camelCase humps and
/// letter/digit boundaries, lowercased, stop words dropped, stemmed.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    split(text).filter_map(|word| {
        let word = word.to_lowercase();
        if STOP_WORDS.contains(&word.as_str()) {
            None
        } else {
            Some(stem(&word))
        }
    })
}

/// Raw pieces of `text` (not lowercased), splitting identifiers into their words.
fn split(text: &str) -> impl Iterator<Item = &str> + '_ {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut pieces = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if start < at {
                pieces.push(&text[start..at]);
            }
            start = at + c.len_utf8();
            continue;
        }
        if start == at {
            continue;
        }
        let previous = chars[i - 1].1;
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let boundary = (previous.is_lowercase() && c.is_uppercase())
            || (previous.is_alphabetic() && c.is_numeric())
            || (previous.is_numeric() && c.is_alphabetic())
            // "HTMLParser": the hump before the last capital of a run starts a new word.
            || (previous.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase));
        if boundary {
            pieces.push(&text[start..at]);
            start = at;
        }
    }
    if start < bytes.len() {
        pieces.push(&text[start..]);
    }
    pieces.into_iter()
}

/// Words too common to say anything about a tool. Single letters go too (`lead's` → `lead`, `s`).
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "how", "i", "in",
    "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "s", "that", "the", "their",
    "this", "to", "use", "using", "via", "want", "we", "what", "which", "with", "you", "your",
];

/// A light suffix stripper: plural `-s`/`-es`/`-ies`, `-ing`, `-ed`, then a final `-e`, then a
/// doubled final consonant. Crude, but applied to both sides, so only consistency matters.
pub(crate) fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() <= 3 {
        return word.to_string();
    }
    let mut w = word.to_string();
    if let Some(base) = w.strip_suffix("ies").filter(|base| base.len() >= 3) {
        w = format!("{base}y");
    } else if let Some(base) = w.strip_suffix("es").filter(|base| {
        base.len() >= 3
            && (base.ends_with('s')
                || base.ends_with('x')
                || base.ends_with('z')
                || base.ends_with("ch")
                || base.ends_with("sh"))
    }) {
        w = base.to_string();
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
    let mut stripped = false;
    for suffix in ["ing", "ed"] {
        if let Some(base) = w.strip_suffix(suffix).filter(|base| base.len() >= 3) {
            w = base.to_string();
            stripped = true;
            break;
        }
    }
    if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
        w.pop();
    }
    let bytes = w.as_bytes();
    if stripped && bytes.len() >= 4 {
        let (last, before) = (bytes[bytes.len() - 1], bytes[bytes.len() - 2]);
        if last == before && !b"aeioulsz".contains(&last) {
            w.pop();
        }
    }
    w
}

/// Groups of words a user may say for one another (stemmed before use).
const SYNONYMS: &[&[&str]] = &[
    &["email", "mail", "inbox"],
    &[
        "update", "set", "change", "modify", "edit", "patch", "rename",
    ],
    &[
        "get", "fetch", "read", "retrieve", "load", "show", "view", "lookup",
    ],
    &["list", "all", "enumerate", "browse"],
    &["delete", "remove", "destroy", "erase", "trash"],
    &["create", "add", "new", "insert", "make", "open"],
    &["lead", "prospect", "contact"],
    &["message", "post", "send", "msg"],
    &["search", "find", "query", "lookup"],
    &["spreadsheet", "sheet", "workbook"],
    &["row", "record"],
    &["issue", "ticket", "bug"],
    &["user", "member", "account"],
    &["document", "doc", "page"],
    &["repository", "repo"],
    &["event", "meeting", "appointment"],
    &["comment", "reply", "note"],
    &["employee", "staff", "worker"],
];

/// Stemmed word → stemmed synonyms.
static SYNONYM_MAP: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for group in SYNONYMS {
        let stems: Vec<String> = group.iter().map(|word| stem(word)).collect();
        for word in &stems {
            let entry = map.entry(word.clone()).or_default();
            for other in &stems {
                if other != word && !entry.contains(other) {
                    entry.push(other.clone());
                }
            }
        }
    }
    map
});

/// `word` with weight 1 and each synonym with [`SYNONYM_WEIGHT`].
fn expand(word: &str) -> impl Iterator<Item = (&str, f32)> {
    std::iter::once((word, 1.0)).chain(
        SYNONYM_MAP
            .get(word)
            .into_iter()
            .flatten()
            .map(|synonym| (synonym.as_str(), SYNONYM_WEIGHT)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        words(text).collect()
    }

    #[test]
    fn identifiers_split_into_words() {
        assert_eq!(all("updateLeadEmail"), ["updat", "lead", "email"]);
        assert_eq!(all("get_rows-v2"), ["get", "row", "v", "2"]);
        assert_eq!(all("HTMLParser"), ["html", "parser"]);
        assert_eq!(all("oauth2Token"), ["oauth", "2", "token"]);
    }

    #[test]
    fn stemming_meets_inflections() {
        for (a, b) in [
            ("update", "updating"),
            ("update", "updated"),
            ("rows", "row"),
            ("issues", "issue"),
            ("addresses", "address"),
            ("entries", "entry"),
            ("getting", "get"),
            ("posted", "post"),
            ("messages", "message"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} vs {b}");
        }
        assert_eq!(all("a lead's email"), ["lead", "email"]);
    }

    #[test]
    fn non_ascii_text_is_tokenized_without_panicking() {
        assert_eq!(all("Größe ändern — 日本語"), ["größe", "ändern", "日本語"]);
    }
}
