//! Placeholders (`[EMAIL_1]`): strict parsing, finding them in text, and neutralizing
//! placeholder-shaped text that arrives from a backend.
//!
//! Everything here is pure and total: any `&str` is accepted, nothing panics, and the
//! work is linear in the length of the text.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::{MAX_KIND_LEN, VaultError};

/// The most decimal digits a placeholder number may have (every 19-digit number fits a `u64`).
const MAX_DIGITS: usize = 19;

/// What neutralization puts in place of a forged placeholder's `[` (U+27E6).
pub const NEUTRAL_OPEN: char = '⟦';
/// What neutralization puts in place of a forged placeholder's `]` (U+27E7).
pub const NEUTRAL_CLOSE: char = '⟧';

/// A placeholder such as `[EMAIL_1]`: a kind and a number (from 1) within one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placeholder {
    kind: Box<str>,
    n: u64,
}

impl Placeholder {
    /// A placeholder for a validated kind (UPPER_SNAKE) and a number of at least 1.
    pub fn new(kind: &str, n: u64) -> Result<Self, VaultError> {
        validate_kind(kind)?;
        if n == 0 {
            return Err(VaultError::InvalidPlaceholder {
                reason: "placeholder numbers start at 1",
            });
        }
        Ok(Self {
            kind: kind.into(),
            n,
        })
    }

    /// Parses exactly one placeholder: `[KIND_n]` and nothing else (no spaces, no leading zeros).
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let inner = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or(VaultError::InvalidPlaceholder {
                reason: "it must start with '[' and end with ']'",
            })?;
        let (kind, digits) = inner
            .rsplit_once('_')
            .ok_or(VaultError::InvalidPlaceholder {
                reason: "there is no '_' between kind and number",
            })?;
        validate_kind(kind).map_err(|_| VaultError::InvalidPlaceholder {
            reason: "the kind is not UPPER_SNAKE",
        })?;
        let n = parse_number(digits)?;
        Ok(Self {
            kind: kind.into(),
            n,
        })
    }

    /// The kind, e.g. `EMAIL`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The number within its session and kind (from 1).
    pub fn n(&self) -> u64 {
        self.n
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}_{}]", self.kind, self.n)
    }
}

impl FromStr for Placeholder {
    type Err = VaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A decimal number from 1, without sign, spaces or leading zeros, that fits a `u64`.
fn parse_number(digits: &str) -> Result<u64, VaultError> {
    const BAD: VaultError = VaultError::InvalidPlaceholder {
        reason: "the number must be decimal digits from 1, without leading zeros",
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(BAD);
    }
    if digits.len() > MAX_DIGITS {
        return Err(VaultError::InvalidPlaceholder {
            reason: "the number is too large",
        });
    }
    digits.parse().map_err(|_| BAD)
}

/// Checks that a kind is UPPER_SNAKE: words of `A-Z0-9` joined by single `_`, starting
/// with a letter, at most [`MAX_KIND_LEN`] bytes.
pub(super) fn validate_kind(kind: &str) -> Result<(), VaultError> {
    let bad = |reason| Err(VaultError::InvalidKind { reason });
    if kind.is_empty() {
        return bad("it is empty");
    }
    if kind.len() > MAX_KIND_LEN {
        return bad("it is too long");
    }
    if !kind.starts_with(|c: char| c.is_ascii_uppercase()) {
        return bad("it must start with a letter A-Z");
    }
    if !kind
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return bad("it may contain only A-Z, 0-9 and '_'");
    }
    if kind.ends_with('_') || kind.contains("__") {
        return bad("'_' must separate words (no trailing or doubled '_')");
    }
    Ok(())
}

/// A byte that may appear between a placeholder's brackets.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end (exclusive) of the run of word bytes starting at `from`.
fn word_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| !is_word(b))
        .map_or(bytes.len(), |p| from + p)
}

/// Bracketed candidates `[word]`: (range of the whole candidate including brackets).
///
/// Word bytes never include `[`, so after a candidate (or a failed one) scanning resumes
/// at the end of its word and the whole pass is linear.
fn bracketed(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            let open = pos + bytes[pos..].iter().position(|&b| b == b'[')?;
            let end = word_end(bytes, open + 1);
            pos = end;
            if end > open + 1 && bytes.get(end) == Some(&b']') {
                pos = end + 1;
                return Some(open..end + 1);
            }
        }
        None
    })
}

/// Every strictly valid placeholder in `text`, anywhere inside longer strings, with its byte range.
///
/// This is what the broker resolves in tool arguments; text that merely looks similar
/// (`[EMAIL_01]`, `[email_1]`, `⟦EMAIL_1⟧`) is not a placeholder.
pub fn find_placeholders(text: &str) -> impl Iterator<Item = (Range<usize>, Placeholder)> + '_ {
    bracketed(text).filter_map(|range| {
        let placeholder = Placeholder::parse(&text[range.clone()]).ok()?;
        Some((range, placeholder))
    })
}

/// Whether a bracketed word is placeholder-shaped: it ends in `_` and at least one digit.
///
/// Deliberately looser than [`Placeholder::parse`] (any case, leading zeros, any length),
/// so that near-misses are neutralized as well and a future, more lenient parser cannot
/// turn backend text into a live placeholder.
fn is_placeholder_shaped(word: &str) -> bool {
    let digits = word.len() - word.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && word[..word.len() - digits].ends_with('_')
}

/// Rewrites placeholder-shaped text from a backend so it can never resolve (invariant 4).
///
/// Every `[word_digits]` (word bytes `A-Za-z0-9_`, any case) becomes `⟦word_digits⟧`
/// (U+27E6/U+27E7). The result contains no placeholder [`find_placeholders`] would find,
/// applying it twice changes nothing, and text without such shapes is returned borrowed.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    for range in bracketed(text) {
        let word = &text[range.start + 1..range.end - 1];
        if !is_placeholder_shaped(word) {
            continue;
        }
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 8));
        buf.push_str(&text[copied..range.start]);
        buf.push(NEUTRAL_OPEN);
        buf.push_str(word);
        buf.push(NEUTRAL_CLOSE);
        copied = range.end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Range<usize>, String)> {
        find_placeholders(text)
            .map(|(r, p)| (r, p.to_string()))
            .collect()
    }

    #[test]
    fn parse_accepts_exact_placeholders_and_displays_them_back() {
        for text in [
            "[EMAIL_1]",
            "[PHONE_42]",
            "[CREDIT_CARD_7]",
            "[IPV4_3]",
            "[A_1_2]",
        ] {
            let p = Placeholder::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
        }
        let p: Placeholder = "[CREDIT_CARD_7]".parse().unwrap();
        assert_eq!((p.kind(), p.n()), ("CREDIT_CARD", 7));
        let max = format!("[EMAIL_{}]", 9_999_999_999_999_999_999u64);
        assert_eq!(
            Placeholder::parse(&max).unwrap().n(),
            9_999_999_999_999_999_999
        );
    }

    #[test]
    fn parse_rejects_anything_but_the_exact_format() {
        let huge = format!("[EMAIL_{}]", "9".repeat(10_000));
        for text in [
            "",
            "[",
            "[]",
            "[_1]",
            "[EMAIL]",
            "[EMAIL_]",
            "[EMAIL_0]",
            "[EMAIL_01]",
            "[EMAIL_-1]",
            "[EMAIL_+1]",
            "[email_1]",
            "[Email_1]",
            "[ EMAIL_1]",
            "[EMAIL_1 ]",
            "[EMAIL _1]",
            " [EMAIL_1]",
            "[EMAIL_1] ",
            "[EMAIL_1]]",
            "[[EMAIL_1]",
            "EMAIL_1",
            "(EMAIL_1)",
            "⟦EMAIL_1⟧",
            "[EMAIL__1]",
            "[_EMAIL_1]",
            "[1EMAIL_1]",
            "[EMAIL_1_]",
            "[EMAIL_١]",
            "[ЕMAIL_1]",
            "[EMAIL_18446744073709551616]",
            "[EMAIL_99999999999999999999]",
            &huge,
        ] {
            assert!(Placeholder::parse(text).is_err(), "accepted {text:?}");
        }
        let long_kind = format!("[{}_1]", "A".repeat(MAX_KIND_LEN + 1));
        assert!(Placeholder::parse(&long_kind).is_err());
    }

    #[test]
    fn new_validates_kind_and_number() {
        assert!(Placeholder::new("EMAIL", 1).is_ok());
        assert!(Placeholder::new("EMAIL", 0).is_err());
        assert!(Placeholder::new("email", 1).is_err());
        assert!(Placeholder::new("", 1).is_err());
        assert!(Placeholder::new("EMAIL_", 1).is_err());
    }

    #[test]
    fn find_placeholders_finds_them_inside_longer_strings() {
        let text = "to: [EMAIL_1],[EMAIL_2]; cc x[PHONE_10]y [EMAIL_01] [NAME_3";
        assert_eq!(
            found(text),
            vec![
                (4..13, "[EMAIL_1]".to_owned()),
                (14..23, "[EMAIL_2]".to_owned()),
                (29..39, "[PHONE_10]".to_owned()),
            ]
        );
        assert_eq!(found("[[EMAIL_1]]"), vec![(1..10, "[EMAIL_1]".to_owned())]);
        assert_eq!(found("é[NAME_2]ü"), vec![(2..10, "[NAME_2]".to_owned())]);
        assert!(found("").is_empty());
        assert!(found("[[[[").is_empty());
    }

    #[test]
    fn neutralize_rewrites_forged_placeholders_so_none_is_found() {
        let note = "customer said: mail [EMAIL_3] or call [PHONE_1], ref [email_2] [X_007]";
        let clean = neutralize(note);
        assert_eq!(
            clean,
            "customer said: mail ⟦EMAIL_3⟧ or call ⟦PHONE_1⟧, ref ⟦email_2⟧ ⟦X_007⟧"
        );
        assert!(find_placeholders(&clean).next().is_none());
        assert_eq!(neutralize(&clean), clean, "neutralize is idempotent");
    }

    #[test]
    fn neutralize_leaves_other_text_alone_and_borrows() {
        for text in [
            "",
            "plain text",
            "[1, 2, 3]",
            "[EMAIL]",
            "[a b_1]",
            "array[i_]",
            "⟦EMAIL_1⟧",
        ] {
            assert!(matches!(neutralize(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn neutralize_is_total_idempotent_and_leaves_no_placeholder_on_random_text() {
        use rand::{Rng, SeedableRng};
        let alphabet: Vec<char> = "[]_019AEZaez ⟦⟧é\u{200b}".chars().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let len = rng.random_range(0..24);
            let text: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let once = neutralize(&text);
            assert!(
                find_placeholders(&once).next().is_none(),
                "{text:?} -> {once:?}"
            );
            assert_eq!(neutralize(&once), once, "not idempotent on {text:?}");
        }
    }
}
