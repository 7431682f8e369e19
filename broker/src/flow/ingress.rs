//! Ingress: every value that comes back from a backend is made safe before the sandbox
//! (and so the model) sees it.
//!
//! 1. **Neutralize** placeholder-shaped text that arrived from outside (`[EMAIL_3]` in a
//!    CRM note becomes `⟦EMAIL_3⟧`), so it can never resolve as a minted placeholder
//!    (invariant 4).
//! 2. **Detect** emails, phones, names and custom kinds (JSON-aware: keys, key hints).
//! 3. **Mint** a placeholder for each value in the vault, with its source server as
//!    provenance, under one flush — the placeholder is durable before anyone sees it.
//! 4. **Replace** each value with its placeholder, keeping the JSON structure.
//!
//! Fail closed: if minting fails, the data is dropped and the caller gets an error.

use std::collections::HashMap;

use detectors::{Detectors, FieldHints, Finding};
use serde_json::Value;

use super::known::KnownValues;
use crate::vault::{Origin, Vault, VaultError, neutralize};

/// Detects and tokenizes values for one vault.
#[derive(Clone)]
pub struct Tokenizer {
    detectors: std::sync::Arc<Detectors>,
    vault: Vault,
    /// Whether known values are matched (always, except to measure what it costs).
    match_known: bool,
    /// Every session's known values, matched before detection (see [`super::known`]).
    known: std::sync::Arc<KnownValues>,
    /// Field hints per (server, tool): output schemas and `[servers.NAME.fields]`.
    fields: std::sync::Arc<super::fields::FieldHintTable>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vault", &self.vault)
            .finish()
    }
}

/// The value a finding is minted as: a phone number exactly as written (a national number
/// is ambiguous across regions, and its E.164 form is a guess that must never be written
/// back into a destination), everything else in its canonical form (an email with a
/// lower-cased domain, a trimmed name).
fn vault_value(finding: &Finding) -> &str {
    match finding.kind {
        detectors::Kind::Phone => finding.text.trim(),
        _ => finding.normalized.as_str(),
    }
}

/// What stands in for a value whose placeholder could not be found (never expected; it
/// keeps the failure closed instead of letting the value through).
fn redacted(finding: &Finding) -> String {
    format!("[{}_REDACTED]", finding.kind.as_str())
}

impl Tokenizer {
    /// A tokenizer over `detectors` minting into `vault`.
    pub fn new(detectors: Detectors, vault: Vault) -> Self {
        Tokenizer {
            detectors: std::sync::Arc::new(detectors),
            vault,
            match_known: true,
            known: std::sync::Arc::new(KnownValues::default()),
            fields: std::sync::Arc::default(),
        }
    }

    /// Uses `fields` for the field hints of tool results (see [`super::fields`]).
    pub fn with_fields(mut self, fields: super::fields::FieldHintTable) -> Self {
        self.fields = std::sync::Arc::new(fields);
        self
    }

    /// The field declarations and the hints resolved from them.
    pub fn fields(&self) -> &super::fields::FieldHintTable {
        &self.fields
    }

    /// The vault placeholders are minted in.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The PII detectors.
    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    /// Ingress of a backend's JSON result: neutralizes placeholder-shaped text from
    /// outside, then tokenizes. Blocks on the vault's flush: call from `spawn_blocking`.
    pub fn ingest_json(
        &self,
        session: &str,
        source: &str,
        value: Value,
    ) -> Result<Value, VaultError> {
        self.ingest_tool_json(session, source, None, &FieldHints::new(), value)
    }

    /// Ingress of the result of `source`'s `tool` with that tool's field hints: what every
    /// tool call's result goes through.
    pub fn ingest_tool_json(
        &self,
        session: &str,
        source: &str,
        tool: Option<&str>,
        hints: &FieldHints,
        mut value: Value,
    ) -> Result<Value, VaultError> {
        neutralize_json(&mut value);
        self.tokenize_tool_json(session, source, tool, hints, value)
    }

    /// Ingress of a backend's text (e.g. an error message); see [`Tokenizer::ingest_json`].
    pub fn ingest_text(
        &self,
        session: &str,
        source: &str,
        text: &str,
    ) -> Result<String, VaultError> {
        let folded = fold_lookalikes(text);
        self.tokenize_text(session, source, &neutralize(&folded))
    }

    /// Tokenizes a JSON value for `session`, recording `source` as provenance. Placeholders
    /// already in it are kept (use [`Tokenizer::ingest_json`] for data from outside).
    /// Blocks on the vault's flush.
    pub fn tokenize_json(
        &self,
        session: &str,
        source: &str,
        value: Value,
    ) -> Result<Value, VaultError> {
        self.tokenize_tool_json(session, source, None, &FieldHints::new(), value)
    }

    /// Tokenizes the result of `source`'s `tool` with its field hints; each new value's
    /// provenance records the tool and the field path it was first read from.
    fn tokenize_tool_json(
        &self,
        session: &str,
        source: &str,
        tool: Option<&str>,
        hints: &FieldHints,
        mut value: Value,
    ) -> Result<Value, VaultError> {
        self.replace_known_json(session, &mut value);
        let findings = self.detectors.find_json_with(&value, hints);
        if findings.is_empty() {
            return Ok(value);
        }
        // A value's provenance is where it was first seen: its first finding's field path
        // (`rows[0].email`, `.` for a bare string).
        let origin = Origin {
            server: source,
            tool,
        };
        let map = self.mint(
            session,
            origin,
            findings.iter().map(|f| {
                let path = if f.path.is_empty() {
                    "."
                } else {
                    f.path.as_str()
                };
                (&f.finding, Some(path))
            }),
        )?;
        self.detectors
            .redact_json_in_place_with(&mut value, hints, |f| {
                map.get(&(f.kind.as_str(), vault_value(f)))
                    .cloned()
                    .unwrap_or_else(|| redacted(f))
            });
        Ok(value)
    }

    /// Tokenizes text; see [`Tokenizer::tokenize_json`].
    pub fn tokenize_text(
        &self,
        session: &str,
        source: &str,
        text: &str,
    ) -> Result<String, VaultError> {
        let replaced = self.replace_known(session, text);
        let text = replaced.as_ref();
        let findings = self.detectors.find(text);
        if findings.is_empty() {
            return Ok(text.to_owned());
        }
        let origin = Origin {
            server: source,
            tool: None,
        };
        let map = self.mint(session, origin, findings.iter().map(|f| (f, None)))?;
        Ok(self
            .detectors
            .redact(text, |f| {
                map.get(&(f.kind.as_str(), vault_value(f)))
                    .cloned()
                    .unwrap_or_else(|| redacted(f))
            })
            .into_owned())
    }

    /// `text` with every value the session already holds replaced by its placeholder,
    /// however it is cased, spaced or glued to other text.
    pub fn replace_known<'t>(&self, session: &str, text: &'t str) -> std::borrow::Cow<'t, str> {
        if !self.knows_values(session) {
            return std::borrow::Cow::Borrowed(text);
        }
        let values = self.known.session(session);
        let mut values = values.lock().unwrap_or_else(|e| e.into_inner());
        match values.replace(text) {
            std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(text),
            std::borrow::Cow::Owned(replaced) => std::borrow::Cow::Owned(replaced),
        }
    }

    /// [`Tokenizer::replace_known`] over every string and key of `value`.
    pub fn replace_known_json(&self, session: &str, value: &mut Value) {
        if !self.knows_values(session) {
            return;
        }
        let values = self.known.session(session);
        let mut values = values.lock().unwrap_or_else(|e| e.into_inner());
        values.replace_json(value);
    }

    /// Whether the session has known values to match.
    pub fn knows_values(&self, session: &str) -> bool {
        if !self.match_known {
            return false;
        }
        self.known.sync_epoch(self.vault.purge_epoch());
        self.known.knows(session)
    }

    /// Turns known-value matching off (`false`) — only to measure what it costs: without
    /// it an echo that defeats the detectors comes back raw.
    pub fn match_known(mut self, on: bool) -> Self {
        self.match_known = on;
        self
    }

    /// Learns a value restored (or resolved) in `session`, so an echo of it is replaced.
    pub fn remember(&self, session: &str, kind: &str, value: &str, placeholder: &str) {
        let values = self.known.session(session);
        let mut values = values.lock().unwrap_or_else(|e| e.into_inner());
        values.add(&detectors::Kind::from_name(kind), value, placeholder);
    }

    /// Forgets a session's known values (it was purged).
    pub fn forget(&self, session: &str) {
        self.known.forget(session);
    }

    fn mint<'f>(
        &self,
        session: &str,
        origin: Origin<'_>,
        findings: impl Iterator<Item = (&'f Finding, Option<&'f str>)>,
    ) -> Result<HashMap<(&'f str, &'f str), String>, VaultError> {
        let items: Vec<(&'f str, &'f str, Option<&'f str>)> = findings
            .map(|(f, path)| (f.kind.as_str(), vault_value(f), path))
            .collect();
        let placeholders = self
            .vault
            .mint_all_from(session, origin, items.iter().copied())?;
        let items: Vec<(&'f str, &'f str)> = items.into_iter().map(|(k, v, _)| (k, v)).collect();
        for (kind, _) in &items {
            crate::metrics::METRICS.tokenized.add(&[("kind", kind)], 1);
        }
        {
            let values = self.known.session(session);
            let mut values = values.lock().unwrap_or_else(|e| e.into_inner());
            for ((kind, value), placeholder) in items.iter().zip(&placeholders) {
                values.add(
                    &detectors::Kind::from_name(kind),
                    value,
                    &placeholder.to_string(),
                );
            }
        }
        Ok(items
            .into_iter()
            .zip(placeholders)
            .map(|(key, p)| (key, p.to_string()))
            .collect())
    }
}

/// Characters that hide a value from the detectors without changing how it reads:
/// zero-width and invisible formatting characters are dropped, and look-alikes of `@`
/// and `.` become the ASCII characters. Applied to backend text before detection, so
/// `ame\u{200B}lia@example.com` and `amelia＠example.com` are tokenized whole. The model
/// sees the folded text; nothing it could use to recover a value is lost.
pub fn fold_lookalikes(text: &str) -> std::borrow::Cow<'_, str> {
    fn folded(c: char) -> Option<Option<char>> {
        match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
            | '\u{180E}' => Some(None),
            '\u{FF20}' | '\u{FE6B}' => Some(Some('@')),
            '\u{FF0E}' | '\u{FE52}' | '\u{2024}' => Some(Some('.')),
            // No-break, thin and other fixed-width spaces read as a space: folded, a name
            // or number written with them is found like one written with spaces.
            '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => Some(Some(' ')),
            _ => None,
        }
    }
    if text.is_ascii() || !text.chars().any(|c| folded(c).is_some()) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .filter_map(|c| match folded(c) {
                Some(replacement) => replacement,
                None => Some(c),
            })
            .collect(),
    )
}

/// Neutralizes placeholder-shaped text in every string and key of `value` and folds
/// look-alike characters ([`fold_lookalikes`]), iteratively (tool results can nest deeper
/// than the stack).
pub fn neutralize_json(value: &mut Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(f) = fold_lookalikes(s) {
                    *s = f;
                }
                if let std::borrow::Cow::Owned(n) = neutralize(s) {
                    *s = n;
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => {
                if map.keys().any(|k| {
                    matches!(neutralize(k), std::borrow::Cow::Owned(_))
                        || matches!(fold_lookalikes(k), std::borrow::Cow::Owned(_))
                }) {
                    let old = std::mem::take(map);
                    *map = old
                        .into_iter()
                        .map(|(k, v)| (neutralize(&fold_lookalikes(&k)).into_owned(), v))
                        .collect();
                }
                stack.extend(map.values_mut());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}
