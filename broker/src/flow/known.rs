//! Known values: every value the vault holds for a session, recognised wherever and
//! however it comes back — the second half of invariant 1.
//!
//! Detectors find values by their shape; an echo need not keep it. A CRM that stores a
//! restored email and answers `no lead with id "ada@example.org & Co"`, a note that glues
//! a name to other text, a `key=value` form, a phone rewritten with other separators: the
//! detectors may miss each, yet the value is one the vault already holds. So before
//! detection, every text from a backend (and the program's outcome) is matched against
//! the session's known values and each occurrence is replaced by the placeholder it
//! already has.
//!
//! # Matching
//!
//! Text and values are *folded* the same way — lowercase, full-width forms to ASCII,
//! whitespace (no-break and thin spaces included), zero-width characters and the
//! separators `- . ( ) _ /` and dashes dropped — and every folded value is searched in the
//! folded text with one Aho-Corasick automaton (leftmost-longest), also inside longer
//! tokens. A match is mapped back to the exact span of the original text. Phone numbers
//! are also matched by their digits alone and without their first one to three digits (a
//! country code, or a trunk prefix), so `+44 20 7946 0958` is found in `020-7946-0958`.
//! Folded values shorter than [`MIN_FOLDED`] (names: [`MIN_FOLDED_NAME`]) are not matched:
//! they would replace ordinary words.
//!
//! # Cost
//!
//! Values are added as they are minted or restored; the automaton is rebuilt lazily, and
//! values added since the last build (at most [`UNBUILT_MAX`]) are searched directly, so a
//! burst of new values never rebuilds it per value. A session with no known values costs
//! one map lookup. `docs/BENCHMARKS.md` has ingress with 10, 1,000 and 10,000 values.
//!
//! This module holds raw values in memory (never on disk, in logs or in `Debug`), as the
//! vault's own open records do while in use.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};
use detectors::Kind;
use serde_json::Value;

/// Shortest folded value matched, in bytes.
pub const MIN_FOLDED: usize = 5;
/// Shortest folded name matched, in bytes (short names are common words inside others).
pub const MIN_FOLDED_NAME: usize = 6;
/// Fewest digits a phone pattern has.
const MIN_PHONE_DIGITS: usize = 7;
/// Values searched without the automaton before it is rebuilt.
pub const UNBUILT_MAX: usize = 32;
/// Sessions whose values are kept in memory at once (least recently used go first).
const MAX_SESSIONS: usize = 4096;

/// One pattern: a folded form of a value and the placeholder that replaces it.
struct Pattern {
    folded: String,
    placeholder: Arc<str>,
}

/// The known values of one session.
#[derive(Default)]
pub struct SessionValues {
    patterns: Vec<Pattern>,
    /// Placeholders already known, so a value is added once.
    seen: std::collections::HashSet<Arc<str>>,
    automaton: Option<AhoCorasick>,
    /// How many patterns the automaton covers.
    built: usize,
}

impl std::fmt::Debug for SessionValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionValues")
            .field("patterns", &self.patterns.len())
            .finish_non_exhaustive()
    }
}

impl SessionValues {
    /// Learns `value` of `kind`, replaced by `placeholder` from now on.
    pub fn add(&mut self, kind: &Kind, value: &str, placeholder: &str) {
        if self.seen.contains(placeholder) {
            return;
        }
        let placeholder: Arc<str> = Arc::from(placeholder);
        self.seen.insert(Arc::clone(&placeholder));
        for folded in patterns_of(kind, value) {
            self.patterns.push(Pattern {
                folded,
                placeholder: Arc::clone(&placeholder),
            });
        }
    }

    /// How many values are known.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn rebuild_if_needed(&mut self) {
        if self.patterns.len() - self.built <= UNBUILT_MAX {
            return;
        }
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(self.patterns.iter().map(|p| p.folded.as_str()));
        // The patterns are short, bounded strings; a build failure would only mean
        // the automaton is too large, and then the direct search still covers them.
        if let Ok(automaton) = built {
            self.automaton = Some(automaton);
            self.built = self.patterns.len();
        }
    }

    /// `text` with every known value replaced by its placeholder.
    pub fn replace<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        if self.patterns.is_empty() || text.len() < MIN_PHONE_DIGITS.min(MIN_FOLDED) {
            return Cow::Borrowed(text);
        }
        self.rebuild_if_needed();
        let folded = Folded::of(text);
        if folded.text.is_empty() {
            return Cow::Borrowed(text);
        }
        // Folded-text spans and the placeholder for each, leftmost-longest, not overlapping.
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        if let Some(automaton) = &self.automaton {
            for m in automaton.find_iter(&folded.text) {
                hits.push((m.start(), m.end(), m.pattern().as_usize()));
            }
        }
        for (i, pattern) in self.patterns.iter().enumerate().skip(self.built) {
            for (start, _) in folded.text.match_indices(pattern.folded.as_str()) {
                hits.push((start, start + pattern.folded.len(), i));
            }
        }
        if hits.is_empty() {
            return Cow::Borrowed(text);
        }
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut covered = 0;
        for (start, end, i) in hits {
            if start < covered {
                continue;
            }
            let (from, to) = folded.original(start, end);
            if from < copied {
                continue;
            }
            out.push_str(&text[copied..from]);
            out.push_str(&self.patterns[i].placeholder);
            copied = to;
            covered = end;
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// Replaces known values in every string and key of `value`.
    pub fn replace_json(&mut self, value: &mut Value) {
        if self.patterns.is_empty() {
            return;
        }
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    if let Cow::Owned(replaced) = self.replace(s) {
                        *s = replaced;
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    let renamed = map.keys().any(|k| matches!(self.replace(k), Cow::Owned(_)));
                    if renamed {
                        let old = std::mem::take(map);
                        for (k, v) in old {
                            let key = self.replace(&k).into_owned();
                            map.insert(key, v);
                        }
                    }
                    stack.extend(map.values_mut());
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
    }
}

/// The folded patterns of one value.
fn patterns_of(kind: &Kind, value: &str) -> Vec<String> {
    let folded = Folded::of(value).text;
    let min = match kind {
        Kind::Name => MIN_FOLDED_NAME,
        _ => MIN_FOLDED,
    };
    let mut out = Vec::new();
    if kind == &Kind::Phone {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        for drop in 0..=3 {
            if digits.len() >= drop + MIN_PHONE_DIGITS {
                out.push(digits[drop..].to_owned());
            }
        }
    }
    if folded.len() >= min && !out.contains(&folded) {
        out.push(folded);
    }
    out
}

/// Whether `c` is left out of folded text.
fn dropped(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.'
                | '('
                | ')'
                | '_'
                | '/'
                | '\u{2010}'..='\u{2015}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{00AD}'
                | '\u{3002}'
                | '\u{FF0E}'
                | '\u{FF0D}'
        )
}

/// Full-width ASCII forms to ASCII.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A folded copy of a text with, for each folded byte, where its character lies in the
/// original.
struct Folded {
    text: String,
    /// Original byte offset where the character of each folded byte starts.
    starts: Vec<u32>,
    /// Original byte offset just past that character.
    ends: Vec<u32>,
}

impl Folded {
    fn of(text: &str) -> Folded {
        let mut folded = Folded {
            text: String::with_capacity(text.len()),
            starts: Vec::with_capacity(text.len()),
            ends: Vec::with_capacity(text.len()),
        };
        for (at, c) in text.char_indices() {
            if dropped(c) {
                continue;
            }
            let end = (at + c.len_utf8()) as u32;
            for lower in narrow(c).to_lowercase() {
                let before = folded.text.len();
                folded.text.push(lower);
                for _ in before..folded.text.len() {
                    folded.starts.push(at as u32);
                    folded.ends.push(end);
                }
            }
        }
        folded
    }

    /// The original span of folded bytes `start..end`.
    fn original(&self, start: usize, end: usize) -> (usize, usize) {
        (self.starts[start] as usize, self.ends[end - 1] as usize)
    }
}

/// One session's values, shared by the calls that match against them.
type Shared = Arc<Mutex<SessionValues>>;

/// Every session's known values, shared by the tokenizer's clones.
#[derive(Default)]
pub struct KnownValues {
    sessions: Mutex<HashMap<String, (u64, Shared)>>,
    tick: std::sync::atomic::AtomicU64,
    /// The vault's purge epoch these values were learned under.
    epoch: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KnownValues(..)")
    }
}

impl KnownValues {
    /// The values of `session` (created empty), most recently used kept.
    pub fn session(&self, session: &str) -> Arc<Mutex<SessionValues>> {
        let now = self.tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((used, values)) = sessions.get_mut(session) {
            *used = now;
            return Arc::clone(values);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        let values = Arc::new(Mutex::new(SessionValues::default()));
        sessions.insert(session.to_owned(), (now, Arc::clone(&values)));
        values
    }

    /// Whether anything is known for `session` (without creating it).
    pub fn knows(&self, session: &str) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(session)
            .is_some_and(|(_, values)| values.lock().map(|v| !v.is_empty()).unwrap_or(true))
    }

    /// Drops everything when the vault's purge epoch moved (a purge on another replica):
    /// a purged session's values must not come back as its old placeholders.
    pub fn sync_epoch(&self, epoch: u64) {
        let seen = self.epoch.swap(epoch, std::sync::atomic::Ordering::SeqCst);
        if seen != epoch {
            let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            sessions.clear();
        }
    }

    /// Forgets a session (it was purged).
    pub fn forget(&self, session: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(values: &[(Kind, &str, &str)]) -> SessionValues {
        let mut known = SessionValues::default();
        for (kind, value, placeholder) in values {
            known.add(kind, value, placeholder);
        }
        known
    }

    #[test]
    fn echoes_in_any_case_width_spacing_or_glued_to_text_become_their_placeholder() {
        let mut k = known(&[
            (Kind::Email, "ada.lovelace@example.org", "[EMAIL_1]"),
            (Kind::Name, "Ada Lovelace", "[NAME_1]"),
            (Kind::Phone, "+44 20 7946 0958", "[PHONE_1]"),
        ]);
        for (text, want) in [
            (
                r#"no lead with id "ada.lovelace@example.org & Co""#,
                r#"no lead with id "[EMAIL_1] & Co""#,
            ),
            ("owner=ADA.LOVELACE@EXAMPLE.ORG;", "owner=[EMAIL_1];"),
            ("xxada.lovelace@example.orgyy", "xx[EMAIL_1]yy"),
            (
                "ａｄａ．ｌｏｖｅｌａｃｅ＠ｅｘａｍｐｌｅ．ｏｒｇ",
                "[EMAIL_1]",
            ),
            ("name=Ada\u{00A0}Lovelace", "name=[NAME_1]"),
            ("AdaLovelace123", "[NAME_1]123"),
            ("call 020-7946-0958 now", "call 0[PHONE_1] now"),
            ("tel:+442079460958", "tel:[PHONE_1]"),
            ("+44\u{2009}20\u{2009}7946\u{2009}0958", "[PHONE_1]"),
            ("0044 20 7946 0958", "00[PHONE_1]"),
        ] {
            assert_eq!(k.replace(text), want, "{text}");
        }
        assert_eq!(k.replace("nothing known here"), "nothing known here");
    }

    #[test]
    fn many_values_match_through_the_automaton_and_the_unbuilt_tail() {
        let mut k = SessionValues::default();
        for i in 0..200 {
            k.add(
                &Kind::Email,
                &format!("person{i}@example.org"),
                &format!("[EMAIL_{i}]"),
            );
            // Interleave matching with adding, as ingress does.
            if i % 50 == 0 {
                assert_eq!(
                    k.replace(&format!("x person{i}@example.org")),
                    format!("x [EMAIL_{i}]")
                );
            }
        }
        assert_eq!(
            k.replace("person7@example.org and person199@example.org"),
            "[EMAIL_7] and [EMAIL_199]"
        );
        assert_eq!(k.len(), 200);
    }

    #[test]
    fn short_values_are_not_matched_inside_ordinary_words() {
        let mut k = known(&[(Kind::Name, "Li Na", "[NAME_1]")]);
        assert_eq!(k.replace("Carolina"), "Carolina");
    }

    #[test]
    fn json_strings_and_keys_are_scanned() {
        let mut k = known(&[(Kind::Email, "bob@example.com", "[EMAIL_2]")]);
        let mut value = serde_json::json!({"note": ["x BOB@example.com"], "bob@example.com": 1});
        k.replace_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"note": ["x [EMAIL_2]"], "[EMAIL_2]": 1})
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let k = known(&[(Kind::Email, "secret@example.com", "[EMAIL_1]")]);
        assert!(!format!("{k:?}").contains("secret"));
    }
}
