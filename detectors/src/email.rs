//! EMAIL: addresses anchored on an at-sign (`@`, JSON `\u0040`, URL `%40`) or an
//! obfuscated `[at]` / `(at)` / `{at}`, validated for practical syntax.
//!
//! The local part follows the WHATWG `valid e-mail address` production (the
//! grammar browsers use for `<input type=email>`), minus quoted strings; the
//! domain needs two or more labels of letters, digits and hyphens (Unicode
//! letters allowed for IDNs) and a plausible top-level label: 2–24 letters or
//! an `xn--` A-label, not a file extension such as `png` (`icon@2x.png`).
//!
//! Scanning is anchored: the caller finds the at-sign with its byte-class
//! table and this module walks at most 64 bytes back and 253 bytes forward,
//! so adversarial input (`@@@@…`) stays linear.

/// An address found in text.
pub(crate) struct EmailMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) normalized: String,
}

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;

/// File extensions that look like top-level labels after an at-sign
/// (`logo@2x.png`, `lodash@4.17.min.js`): never an address.
const NOT_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "css", "js", "mjs",
    "ts", "tsx", "jsx", "map", "json", "xml", "yaml", "yml", "toml", "txt", "pdf", "zip", "gz",
    "tgz", "rar", "exe", "dll", "html", "htm", "php", "java", "class", "wasm", "mp3", "mp4", "mov",
    "wav", "lock", "csv", "docx", "xlsx", "pptx", "heic",
];

#[inline]
fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b)
}

#[inline]
fn is_local_char(c: char) -> bool {
    if c.is_ascii() {
        is_local_byte(c as u8)
    } else {
        // Accented Latin letters (RFC 6531 addresses such as jürgen@…), but not
        // other scripts, so "请联系maria@x.cn" keeps only the Latin address.
        ('\u{c0}'..='\u{24f}').contains(&c) && c.is_alphabetic()
    }
}

/// Start of the local part ending right before `at`, if any.
fn local_start(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let before = text.get(..at)?;
    let mut s = at;
    // ASCII fast path; fall back to decoding at the first non-ASCII byte.
    while s > 0 && bytes[s - 1] < 0x80 && is_local_byte(bytes[s - 1]) && at - s <= MAX_LOCAL {
        s -= 1;
    }
    if s > 0 && bytes[s - 1] >= 0x80 {
        let mut count = before[s..].chars().count();
        for (i, c) in before[..s].char_indices().rev() {
            if !is_local_char(c) {
                break;
            }
            count += 1;
            if count > MAX_LOCAL {
                break;
            }
            s = i;
        }
    }
    // A local part wholly in another script ("예지@…", "Ανδρονίκη@…", RFC 6531):
    // the letters of that one script, so a cue glued in front in another
    // script stays out.
    if s == at
        && let Some(last) = before.chars().next_back()
        && crate::name::is_foreign_letter(last)
    {
        let script = crate::name::script_of(last);
        for (count, (i, c)) in before.char_indices().rev().enumerate() {
            let ok = crate::name::is_mark(c)
                || (c.is_alphanumeric() && crate::name::script_of(c) == script)
                || matches!(c, '.' | '_' | '-');
            if !ok || count >= MAX_LOCAL {
                break;
            }
            s = i;
        }
    }
    if before[s..].chars().count() > MAX_LOCAL {
        return None; // longer than any valid local part
    }
    // A JSON escape glued to the address: "\\nmaria@…" → the 'n' belongs to "\\n".
    if s >= 1
        && bytes[s - 1] == b'\\'
        && matches!(bytes.get(s), Some(b'n' | b'r' | b't' | b'b' | b'f'))
    {
        s += 1;
    }
    // "a..b@x" is invalid; keep what follows the last ".." as the address.
    if let Some(p) = bytes[s..at].windows(2).rposition(|w| w == b"..") {
        s += p + 2;
    }
    // Leading punctuation is framing ('quoted', {braced}, =assigned), not address.
    while s < at && (bytes[s] < 0x80 && !(bytes[s].is_ascii_alphanumeric() || bytes[s] == b'_')) {
        s += 1;
    }
    if s >= at || bytes[at - 1] == b'.' {
        return None;
    }
    Some(s)
}

/// One domain label starting at `j`: returns its end.
fn label_end(text: &str, j: usize) -> usize {
    let bytes = text.as_bytes();
    let mut k = j;
    while k < bytes.len() && k - j <= 63 {
        let b = bytes[k];
        if b.is_ascii_alphanumeric() || b == b'-' {
            k += 1;
        } else if b >= 0x80 {
            match text.get(k..).and_then(|s| s.chars().next()) {
                Some(c) if c.is_alphanumeric() => k += c.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    k
}

fn plausible_tld(tld: &str) -> bool {
    if tld.len() > 4 && tld.as_bytes()[..4].eq_ignore_ascii_case(b"xn--") {
        return true;
    }
    if tld.is_ascii() {
        (2..=24).contains(&tld.len())
            && tld.bytes().all(|b| b.is_ascii_alphabetic())
            && (tld.len() > 5 || !NOT_TLDS.iter().any(|x| x.eq_ignore_ascii_case(tld)))
    } else {
        tld.chars().all(char::is_alphabetic) && tld.chars().count() >= 2
    }
}

fn valid_label(label: &str) -> bool {
    !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-')
}

/// Length of a label separator at `k`: `.`, or the ideographic (U+3002),
/// fullwidth (U+FF0E) and halfwidth ideographic (U+FF61) full stops that
/// CJK input methods type and IDNA maps to `.`; 0 when there is none.
fn dot_len(bytes: &[u8], k: usize) -> usize {
    match bytes.get(k) {
        Some(b'.') => 1,
        Some(0xE3) if bytes.get(k + 1..k + 3) == Some(&[0x80, 0x82]) => 3,
        Some(0xEF)
            if bytes.get(k + 1..k + 3) == Some(&[0xBC, 0x8E])
                || bytes.get(k + 1..k + 3) == Some(&[0xBD, 0xA1]) =>
        {
            3
        }
        _ => 0,
    }
}

/// The fullwidth commercial at (U+FF20) that CJK text uses for `@`.
pub(crate) const FULLWIDTH_AT: &[u8] = "＠".as_bytes();

/// Parses a plain dotted domain starting at `from`: (end, labels).
fn domain(text: &str, from: usize) -> Option<(usize, Vec<(usize, usize)>)> {
    let bytes = text.as_bytes();
    let mut labels = Vec::with_capacity(4);
    let mut j = from;
    loop {
        let e = label_end(text, j);
        if e == j {
            break;
        }
        labels.push((j, e));
        if e - from > MAX_DOMAIN {
            return None;
        }
        let d = dot_len(bytes, e);
        if d > 0 && e + d < bytes.len() && label_end(text, e + d) > e + d {
            j = e + d;
        } else {
            j = e;
            break;
        }
    }
    Some((j, labels))
}

fn check_labels(text: &str, labels: &[(usize, usize)]) -> Option<()> {
    if labels.len() < 2 {
        return None;
    }
    for &(s, e) in labels {
        if !valid_label(text.get(s..e)?) {
            return None;
        }
    }
    let &(s, e) = labels.last()?;
    plausible_tld(text.get(s..e)?).then_some(())
}

/// An address around the at-sign occupying `at..at + at_len`.
pub(crate) fn at_sign(text: &str, at: usize, at_len: usize) -> Option<EmailMatch> {
    let start = local_start(text, at)?;
    let (end, labels) = domain(text, at + at_len)?;
    check_labels(text, &labels)?;
    let local = text.get(start..at)?;
    let dom = text.get(at + at_len..end)?;
    let mut normalized = String::with_capacity(local.len() + 1 + dom.len());
    normalized.push_str(local);
    normalized.push('@');
    if dom.is_ascii() {
        normalized.extend(dom.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        let dom = dom.replace(['。', '．', '｡'], ".");
        normalized.push_str(&dom.to_lowercase());
    }
    Some(EmailMatch {
        start,
        end,
        normalized,
    })
}

/// Matches `word` (e.g. "at", "dot") wrapped in `[]`, `()` or `{}` at `i`; returns the end.
fn bracketed(bytes: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let close = match bytes.get(i)? {
        b'[' => b']',
        b'(' => b')',
        b'{' => b'}',
        _ => return None,
    };
    let inner = bytes.get(i + 1..i + 1 + word.len())?;
    (inner.eq_ignore_ascii_case(word) && bytes.get(i + 1 + word.len()) == Some(&close))
        .then_some(i + 2 + word.len())
}

fn skip_space(bytes: &[u8], mut j: usize, max: usize) -> usize {
    let lim = j + max;
    while j < lim && bytes.get(j) == Some(&b' ') {
        j += 1;
    }
    j
}

/// An obfuscated address around `[at]`-style markers opening at `open`:
/// `maria [at] example [dot] com`, `maria(at)example.com`.
pub(crate) fn obfuscated(text: &str, open: usize) -> Option<EmailMatch> {
    let bytes = text.as_bytes();
    let after_at = bracketed(bytes, open, b"at")?;
    let mut l_end = open;
    if l_end > 0 && bytes[l_end - 1] == b' ' {
        l_end -= 1;
    }
    let start = local_start(text, l_end)?;
    let mut j = skip_space(bytes, after_at, 1);
    let mut labels = Vec::with_capacity(4);
    loop {
        let e = label_end(text, j);
        if e == j || e - after_at > MAX_DOMAIN {
            break;
        }
        labels.push((j, e));
        j = e;
        if bytes.get(e) == Some(&b'.') && label_end(text, e + 1) > e + 1 {
            j = e + 1;
            continue;
        }
        let k = skip_space(bytes, e, 1);
        if let Some(d) = bracketed(bytes, k, b"dot") {
            let k2 = skip_space(bytes, d, 1);
            if label_end(text, k2) > k2 {
                j = k2;
                continue;
            }
        }
        break;
    }
    check_labels(text, &labels)?;
    let local = text.get(start..l_end)?;
    let mut normalized = String::with_capacity(32);
    normalized.push_str(local);
    normalized.push('@');
    for (n, &(s, e)) in labels.iter().enumerate() {
        if n > 0 {
            normalized.push('.');
        }
        normalized.push_str(&text.get(s..e)?.to_lowercase());
    }
    Some(EmailMatch {
        start,
        end: j,
        normalized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<String> {
        let b = text.as_bytes();
        for i in 0..b.len() {
            let m = match b[i] {
                b'@' => at_sign(text, i, 1),
                b'\\' if b[i..].starts_with(b"\\u0040") => at_sign(text, i, 6),
                b'%' if b[i..].starts_with(b"%40") => at_sign(text, i, 3),
                b'[' | b'(' | b'{' => obfuscated(text, i),
                _ => None,
            };
            if let Some(m) = m {
                return Some(format!("{}|{}", &text[m.start..m.end], m.normalized));
            }
        }
        None
    }

    #[test]
    fn plain_address_is_found_and_domain_lowercased() {
        assert_eq!(
            first("write to Maria.Gonzalez@Example.COM.").as_deref(),
            Some("Maria.Gonzalez@Example.COM|Maria.Gonzalez@example.com")
        );
    }

    #[test]
    fn mailto_and_json_escaped_forms_are_found() {
        assert_eq!(
            first("mailto:bob@acme.io").as_deref(),
            Some("bob@acme.io|bob@acme.io")
        );
        assert_eq!(
            first(r#"{\"to\":\"bob@acme.io\"}"#).as_deref(),
            Some("bob@acme.io|bob@acme.io")
        );
        assert_eq!(
            first(r"line\nbob@acme.io").as_deref(),
            Some("bob@acme.io|bob@acme.io")
        );
        assert_eq!(
            first(r"bob\u0040acme.io").as_deref(),
            Some(r"bob\u0040acme.io|bob@acme.io")
        );
        assert_eq!(
            first("bob%40acme.io").as_deref(),
            Some("bob%40acme.io|bob@acme.io")
        );
    }

    #[test]
    fn obfuscated_addresses_are_found() {
        assert_eq!(
            first("maria [at] example [dot] com").as_deref(),
            Some("maria [at] example [dot] com|maria@example.com")
        );
        assert_eq!(
            first("maria(at)example.org").as_deref(),
            Some("maria(at)example.org|maria@example.org")
        );
    }

    #[test]
    fn handles_file_names_and_package_specs_are_not_emails() {
        assert_eq!(first("logo@2x.png"), None);
        assert_eq!(first("npm i lodash@4.17.21"), None);
        assert_eq!(first("ping @maria on slack"), None);
        assert_eq!(first("root@localhost"), None);
        assert_eq!(first("@scope/pkg"), None);
    }

    #[test]
    fn fullwidth_at_and_ideographic_full_stops_are_found() {
        let at = |text: &str| {
            let i = text.find('＠').unwrap();
            at_sign(text, i, 3).map(|m| format!("{}|{}", &text[m.start..m.end], m.normalized))
        };
        assert_eq!(
            at("連絡先：wang.wei＠example。com まで").as_deref(),
            Some("wang.wei＠example。com|wang.wei@example.com")
        );
        assert_eq!(
            first("li@mail．example．cn").as_deref(),
            Some("li@mail．example．cn|li@mail.example.cn")
        );
    }

    #[test]
    fn local_parts_in_other_scripts_are_found() {
        assert_eq!(
            first("opened by 번예지 (예지@café-lumière.fr).").as_deref(),
            Some("예지@café-lumière.fr|예지@café-lumière.fr")
        );
        assert_eq!(
            first("Ανδρονίκη@catalyst.nl").as_deref(),
            Some("Ανδρονίκη@catalyst.nl|Ανδρονίκη@catalyst.nl")
        );
        // A Latin address keeps a glued CJK cue out.
        assert_eq!(
            first("请联系maria@x.cn").as_deref(),
            Some("maria@x.cn|maria@x.cn")
        );
    }

    #[test]
    fn unicode_domains_are_accepted() {
        assert_eq!(
            first("jürgen@müller.de").as_deref(),
            Some("jürgen@müller.de|jürgen@müller.de")
        );
    }
}
