//! Custom kinds from configuration: a regex or a word list under an
//! UPPER_SNAKE kind name.
//!
//! All custom regexes are compiled into **one** alternation (one named group
//! per kind) and all word lists into at most two Aho–Corasick automata (case
//! sensitive and insensitive), so custom kinds add one regex pass and one
//! automaton pass per string however many kinds are configured. When no
//! custom kind is configured, they cost nothing.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

use crate::Error;

/// A custom kind to detect: a name plus a regex or a word list.
#[derive(Clone, Debug)]
pub struct CustomKind {
    pub(crate) name: String,
    pub(crate) source: Source,
}

#[derive(Clone, Debug)]
pub(crate) enum Source {
    Regex(String),
    Words {
        words: Vec<String>,
        case_insensitive: bool,
    },
}

impl CustomKind {
    /// A kind matched by a regex (syntax of the `regex` crate).
    pub fn regex(name: impl Into<String>, pattern: impl Into<String>) -> CustomKind {
        CustomKind {
            name: name.into(),
            source: Source::Regex(pattern.into()),
        }
    }

    /// A kind matched by whole words or phrases from a list (case-sensitive by default).
    pub fn words<I, S>(name: impl Into<String>, words: I) -> CustomKind
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CustomKind {
            name: name.into(),
            source: Source::Words {
                words: words.into_iter().map(Into::into).collect(),
                case_insensitive: false,
            },
        }
    }

    /// Makes a word-list kind match ASCII letters case-insensitively (no effect on regex kinds).
    pub fn case_insensitive(mut self, yes: bool) -> CustomKind {
        if let Source::Words {
            case_insensitive, ..
        } = &mut self.source
        {
            *case_insensitive = yes;
        }
        self
    }

    /// The kind name, e.g. "EMPLOYEE_ID".
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Checks that a kind name is UPPER_SNAKE_CASE and not a built-in kind.
pub(crate) fn check_kind_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::BadKindName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name.as_bytes()[0].is_ascii_uppercase() {
        return bad("it must start with an upper-case letter A-Z");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return bad("it may contain only A-Z, 0-9 and _");
    }
    if matches!(
        name,
        "EMAIL" | "PHONE" | "NAME" | "IBAN" | "CARD" | "SECRET"
    ) {
        return bad("it is a built-in kind");
    }
    Ok(())
}

/// A span found by a custom kind: (start, end, index into the kind names).
pub(crate) type CustomSpan = (usize, usize, usize);

/// The compiled custom kinds.
#[derive(Debug, Default)]
pub(crate) struct Customs {
    pub(crate) names: Vec<String>,
    regex: Option<(Regex, Vec<(String, usize)>)>,
    words: Vec<(AhoCorasick, Vec<usize>)>,
}

impl Customs {
    pub(crate) fn build(kinds: &[CustomKind]) -> Result<Customs, Error> {
        let mut names: Vec<String> = Vec::new();
        let mut alternation: Vec<String> = Vec::new();
        let mut groups: Vec<(String, usize)> = Vec::new();
        let mut sensitive: (Vec<String>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut insensitive: (Vec<String>, Vec<usize>) = (Vec::new(), Vec::new());
        for kind in kinds {
            check_kind_name(&kind.name)?;
            if names.contains(&kind.name) {
                return Err(Error::DuplicateKind {
                    name: kind.name.clone(),
                });
            }
            let idx = names.len();
            names.push(kind.name.clone());
            match &kind.source {
                Source::Regex(pattern) => {
                    let re = Regex::new(pattern).map_err(|e| Error::InvalidRegex {
                        kind: kind.name.clone(),
                        message: e.to_string(),
                    })?;
                    if re.is_match("") {
                        return Err(Error::EmptyMatch {
                            kind: kind.name.clone(),
                        });
                    }
                    let group = format!("sluice_custom_{idx}");
                    alternation.push(format!("(?P<{group}>{pattern})"));
                    groups.push((group, idx));
                }
                Source::Words {
                    words,
                    case_insensitive,
                } => {
                    let target = if *case_insensitive {
                        &mut insensitive
                    } else {
                        &mut sensitive
                    };
                    let before = target.0.len();
                    for w in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
                        target.0.push(w.to_string());
                        target.1.push(idx);
                    }
                    if target.0.len() == before {
                        return Err(Error::EmptyWordList {
                            kind: kind.name.clone(),
                        });
                    }
                }
            }
        }
        let regex = if alternation.is_empty() {
            None
        } else {
            let re = Regex::new(&alternation.join("|")).map_err(|e| Error::InvalidRegex {
                kind: names.join(", "),
                message: e.to_string(),
            })?;
            Some((re, groups))
        };
        let mut words = Vec::new();
        for (set, ci) in [(sensitive, false), (insensitive, true)] {
            if set.0.is_empty() {
                continue;
            }
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .ascii_case_insensitive(ci)
                .build(&set.0)
                .map_err(|e| Error::WordList {
                    message: e.to_string(),
                })?;
            words.push((ac, set.1));
        }
        Ok(Customs {
            names,
            regex,
            words,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Appends the custom spans of `text` to `out`.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<CustomSpan>) {
        if let Some((re, groups)) = &self.regex {
            for caps in re.captures_iter(text) {
                for (group, idx) in groups {
                    if let Some(m) = caps.name(group) {
                        if m.start() < m.end() {
                            out.push((m.start(), m.end(), *idx));
                        }
                        break;
                    }
                }
            }
        }
        for (ac, kinds) in &self.words {
            for m in ac.find_iter(text) {
                if word_bounded(text, m.start(), m.end())
                    && let Some(&idx) = kinds.get(m.pattern().as_usize())
                {
                    out.push((m.start(), m.end(), idx));
                }
            }
        }
    }
}

/// True when `start..end` is not part of a longer word.
fn word_bounded(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
}
