//! Name evidence from the shape of the data, not from key lists or sentence templates:
//! it holds on tool results nobody here wrote.
//!
//! - **Columns**: in an array of records, a column whose person-shaped values are
//!   mostly names by the other evidence holds names ([`person_columns`]).
//! - **Sibling e-mails**: a value whose words spell the local part of an e-mail beside
//!   it (`"ad": "Agdta"` next to `agdta.rincon@…`; `Maozhu An <maozhu_an@…>`) is
//!   that person's name ([`Mailboxes`], [`names_beside_emails`]).
//! - **Mentions across strings**: a word of a name found in one string of a tool result
//!   names the same person where it recurs in a later string ([`DocNames`]; not inside
//!   long lists of records).
//! - **Lists and tables in text**: the other items of a list of names and the cells under
//!   a person header of a table inside a string ([`list_names`], [`table_names`]).
//!
//! This module never decides alone that a value is a person: columns and sibling
//! e-mails only route a value to the person-value checks a person key would use
//! (`name::plausible_person_value`: legal forms, teams, roles, English words are still
//! refused), and list and table items must pass the same checks. It must stay cheap: it
//! looks at a bounded sample of rows, allocates nothing when nothing matches, reads an
//! object's e-mails only when a value could be a name, and looks at text only where
//! something was found already.

use serde_json::Value;

use crate::name;
use crate::{Detectors, Finding, Hint, Kind};

/// Rows of an array sampled to decide whether a column holds names.
const COLUMN_SAMPLE: usize = 32;
/// Fewest rows (and fewest values already found as names) for a column decision.
const COLUMN_MIN: usize = 3;

/// Whether `v` looks like a person's name written out: one to four capitalized words
/// (or words of a script without case) of letters and name punctuation, no digits,
/// not all capitals ("OPEN", "IN PROGRESS" are codes).
pub(crate) fn person_shaped(v: &str) -> bool {
    let v = v.trim();
    if v.len() < 2 || v.len() > 60 {
        return false;
    }
    if v.is_ascii() {
        return ascii_person_shaped(v.as_bytes());
    }
    let mut words = 1;
    let mut lower = false;
    let mut at_start = true;
    for c in v.chars() {
        if c == ' ' {
            if at_start {
                // Two spaces in a row.
                return false;
            }
            words += 1;
            if words > 4 {
                return false;
            }
            at_start = true;
            continue;
        }
        if at_start {
            at_start = false;
            if c.is_ascii() {
                if !c.is_ascii_uppercase() {
                    return false;
                }
                continue;
            }
            if !(c.is_uppercase() || c.is_alphabetic() && !c.is_lowercase()) {
                return false;
            }
            lower |= !c.is_uppercase();
            continue;
        }
        if c.is_ascii_lowercase() {
            lower = true;
        } else if c.is_ascii() {
            if !(c.is_ascii_uppercase() || matches!(c, '.' | '-' | '\'')) {
                return false;
            }
        } else if c.is_lowercase() || c.is_alphabetic() && !c.is_uppercase() {
            lower = true;
        } else if !(c.is_alphabetic() || name::is_mark(c) || c == '’') {
            return false;
        }
    }
    lower && !at_start
}

/// [`person_shaped`] for ASCII text, byte by byte.
fn ascii_person_shaped(v: &[u8]) -> bool {
    let mut words = 1;
    let mut lower = false;
    let mut at_start = true;
    for &c in v {
        if c == b' ' {
            if at_start {
                return false;
            }
            words += 1;
            if words > 4 {
                return false;
            }
            at_start = true;
        } else if at_start {
            if !c.is_ascii_uppercase() {
                return false;
            }
            at_start = false;
        } else if c.is_ascii_lowercase() {
            lower = true;
        } else if !(c.is_ascii_uppercase() || matches!(c, b'.' | b'-' | b'\'')) {
            return false;
        }
    }
    lower && !at_start
}

/// Mailboxes of roles, not people: a value never matches them.
const ROLE_LOCALS: &[&str] = &[
    "info",
    "sales",
    "support",
    "noreply",
    "no",
    "reply",
    "donotreply",
    "admin",
    "contact",
    "hello",
    "office",
    "billing",
    "team",
    "hr",
    "jobs",
    "careers",
    "marketing",
    "press",
    "help",
    "helpdesk",
    "service",
    "services",
    "mail",
    "postmaster",
    "webmaster",
    "accounts",
    "accounting",
    "finance",
    "legal",
    "security",
    "privacy",
    "orders",
    "booking",
    "bookings",
    "reservations",
    "enquiries",
    "inquiries",
    "feedback",
    "news",
    "newsletter",
    "notifications",
    "alerts",
    "bounce",
    "root",
    "it",
    "ops",
    "dev",
    "kontakt",
    "vertrieb",
    "contacto",
    "ventas",
    "hola",
    "bonjour",
    "post",
    "invoice",
    "invoices",
    "payments",
    "hi",
    "hey",
    "store",
    "shop",
];

/// The lower-case ASCII letters `c` is written as in an e-mail local part: itself, its
/// letter without diacritics, or (`german`) the two-letter spelling (`ö` → `oe`).
fn spell(c: char, german: bool, out: &mut [u8; 2]) -> usize {
    if c.is_ascii_alphabetic() {
        out[0] = c.to_ascii_lowercase() as u8;
        return 1;
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    let two: Option<&[u8; 2]> = match lower {
        'ä' if german => Some(b"ae"),
        'ö' | 'ø' if german => Some(b"oe"),
        'ü' if german => Some(b"ue"),
        'å' if german => Some(b"aa"),
        'ß' => Some(b"ss"),
        'æ' => Some(b"ae"),
        'þ' => Some(b"th"),
        _ => None,
    };
    if let Some(t) = two {
        *out = *t;
        return 2;
    }
    let one = match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => b'a',
        'ç' | 'ć' | 'č' => b'c',
        'ď' | 'đ' | 'ð' => b'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => b'e',
        'ğ' => b'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'İ' => b'i',
        'ł' | 'ľ' | 'ĺ' => b'l',
        'ñ' | 'ń' | 'ň' => b'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => b'o',
        'ř' | 'ŕ' => b'r',
        'ś' | 'š' | 'ş' | 'ș' => b's',
        'ť' | 'ţ' | 'ț' => b't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => b'u',
        'ý' | 'ÿ' => b'y',
        'ź' | 'ż' | 'ž' => b'z',
        // Apostrophes and hyphens inside a name are dropped in mailboxes ("obrien").
        '\'' | '’' | '-' | '.' => return 0,
        _ => return usize::MAX,
    };
    out[0] = one;
    1
}

/// What is left of `token` once `word` (folded) is taken off its front, if it is there.
fn strip_word<'t>(token: &'t str, word: &str, german: bool) -> Option<&'t str> {
    let t = token.as_bytes();
    let mut i = 0;
    let mut buf = [0u8; 2];
    for c in word.chars() {
        let n = spell(c, german, &mut buf);
        if n == usize::MAX {
            return None;
        }
        let part = buf.get(..n)?;
        if !t.get(i..i + n)?.eq_ignore_ascii_case(part) {
            return None;
        }
        i += n;
    }
    token.get(i..)
}

/// `word` with and without two-letter spellings taken off the front of `token`.
fn strip_any<'t>(token: &'t str, word: &str) -> Option<&'t str> {
    strip_word(token, word, false).or_else(|| strip_word(token, word, true))
}

fn initial_of(word: &str) -> Option<u8> {
    let mut buf = [0u8; 2];
    let c = word.chars().next()?;
    (spell(c, false, &mut buf) == 1).then_some(buf[0])
}

/// A cheap first test for [`value_matches_local`]: some word of `value` has its first
/// three letters (its initial, for a two-letter word) somewhere in `local`, or starts with a
/// letter that is no ASCII (spelled otherwise in a mailbox, so not ruled out here).
fn shares_a_start(value: &str, local: &str) -> bool {
    let l = local.as_bytes();
    value.split(' ').any(|w| {
        let w = w.as_bytes();
        let p = &w[..w.len().min(3)];
        !p.is_ascii() || !p.is_empty() && l.windows(p.len()).any(|x| x.eq_ignore_ascii_case(p))
    })
}

/// The local part of an e-mail, split at `.`, `_`, `-` and digits, without a `+tag`.
fn local_tokens(local: &str) -> ([&str; 4], usize) {
    let local = local.split('+').next().unwrap_or(local);
    let mut out = [""; 4];
    let mut n = 0;
    for t in local.split(|c: char| matches!(c, '.' | '_' | '-') || c.is_ascii_digit()) {
        if t.is_empty() {
            continue;
        }
        if n == out.len() {
            return (out, 0);
        }
        out[n] = t;
        n += 1;
    }
    (out, n)
}

/// Whether `value` is one e-mail address of a role, not a person (`support@…`,
/// `noreply@…`, `sales-team@…`): a word of its local part is a role mailbox word.
pub(crate) fn is_role_mailbox(value: &str) -> bool {
    let v = value.trim();
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || !domain.contains('.')
        || domain.contains('@')
        || v.contains(char::is_whitespace)
    {
        return false;
    }
    let (tokens, n) = local_tokens(local);
    role_words(&tokens[..n])
}

/// Whether a word of a mailbox's local part names a role (`support`, `noreply`, …).
fn role_words(tokens: &[&str]) -> bool {
    tokens
        .iter()
        .any(|t| ROLE_LOCALS.iter().any(|r| r.eq_ignore_ascii_case(t)))
}

/// Whether the words of `value` spell the e-mail local part `local` the way people's
/// mailboxes are made: `given.surname`, `g.surname`, `gsurname`, `surname.given`,
/// `given_surname`, `given-surname`, `given`, `surname` (case- and accent-insensitive);
/// a lone word only with a second part (`agdta.rincon`, `mngo`). Role mailboxes
/// (`info@`, `sales@`, `noreply@`) match nothing.
pub(crate) fn value_matches_local(value: &str, local: &str) -> bool {
    if !shares_a_start(value, local) {
        return false;
    }
    let (tokens, nt) = local_tokens(local);
    let tokens = &tokens[..nt];
    // Mailboxes in other scripts are compared by no rule here.
    if !local.is_ascii() || tokens.is_empty() || role_words(tokens) {
        return false;
    }
    let mut words = [""; 4];
    let mut nw = 0;
    for w in value.split([' ', ',']) {
        let w = w.trim_matches(|c| c == '.' || c == '\'' || c == '’');
        if w.is_empty() {
            continue;
        }
        if nw == words.len() {
            return false;
        }
        words[nw] = w;
        nw += 1;
    }
    let words = &words[..nw];
    let full = |t: &str, w: &str| w.chars().count() >= 2 && strip_any(t, w) == Some("");
    let initial = |t: &str, w: &str| {
        t.len() == 1 && initial_of(w) == Some(t.as_bytes()[0].to_ascii_lowercase())
    };
    match (words, tokens) {
        ([], _) => false,
        // "Agdta" beside agdta.rincon@, "Ngo" beside mngo@ or ngo.m@.
        ([w], ts) => {
            w.chars().count() >= 3
                && (ts.len() >= 2
                    && (full(ts[0], w) || full(ts[ts.len() - 1], w))
                    && ts
                        .iter()
                        .all(|t| t.bytes().all(|b| b.is_ascii_alphabetic()))
                    || ts.len() == 1
                        && (strip_any(&ts[0][1.min(ts[0].len())..], w) == Some("")
                            && ts[0].len() > 3))
        }
        // given.surname, g.surname, surname.given, s.given …: every part is a word or an
        // initial of one, and one part is a whole word.
        (ws, ts) if ts.len() >= 2 => {
            ts.iter()
                .all(|t| ws.iter().any(|w| full(t, w) || initial(t, w)))
                && ts
                    .iter()
                    .any(|t| t.len() >= 2 && ws.iter().any(|w| full(t, w)))
        }
        // One token: gsurname, givensurname, surnamegiven, given, surname.
        (ws, [t]) => {
            let (Some(g), Some(s)) = (ws.first(), ws.last()) else {
                return false;
            };
            let then = |rest: Option<&str>, w: &str| {
                rest.is_some_and(|r| r.is_empty() || full(r, w) || initial(r, w))
            };
            full(t, g)
                || full(t, s)
                || then(strip_any(t, g), s)
                || then(strip_any(t, s), g)
                || (t.len() > 2
                    && initial_of(g) == Some(t.as_bytes()[0].to_ascii_lowercase())
                    && strip_any(&t[1..], s) == Some(""))
        }
        _ => false,
    }
}

/// The local part of an e-mail address in `s` (`a.b@c.de`, `Name <a.b@c.de>`), if any.
fn email_local(s: &str) -> Option<&str> {
    if s.len() > 254 {
        return None;
    }
    let at = s.find('@')?;
    let head = &s[..at];
    let local = head.rsplit(['<', ' ', '(', ':', '"']).next()?;
    let domain = s.get(at + 1..)?;
    (!local.is_empty() && domain.contains('.')).then_some(local)
}

/// A short value that starts like a name (a capital or a letter of another script).
fn name_start(s: &str) -> bool {
    s.len() <= 60
        && s.as_bytes()
            .first()
            .is_some_and(|&b| b.is_ascii_uppercase() || b >= 0x80)
}

/// Whether a JSON value could be a name that a sibling e-mail spells (cheap shape test).
#[inline]
pub(crate) fn name_candidate(s: &str) -> bool {
    // "Xy…", "X. Y…", "O'…" or another script: codes in capitals ("OPEN", "CTO") are out
    // at the second byte.
    let b = s.as_bytes();
    name_start(s)
        && b.get(1).is_some_and(|&c| {
            c.is_ascii_lowercase() || c >= 0x80 || matches!(c, b'.' | b'\'' | b' ')
        })
        && person_shaped(s)
        && !name::is_role_or_department(s.trim())
}

/// The mailboxes (e-mail local parts) of the e-mail values of one JSON object, copied
/// into fixed storage: nothing is allocated, and the object may be changed after.
pub(crate) struct Mailboxes {
    buf: [u8; 96],
    ends: [(u8, u8); 2],
    n: usize,
}

impl Mailboxes {
    /// The mailboxes of the string `values` (of one object) that hold an e-mail address.
    pub(crate) fn of<'v>(values: impl IntoIterator<Item = &'v Value>) -> Mailboxes {
        let mut m = Mailboxes {
            buf: [0; 96],
            ends: [(0, 0); 2],
            n: 0,
        };
        let mut used = 0;
        for v in values.into_iter().take(64) {
            if let Value::String(s) = v
                && m.n < m.ends.len()
                && s.len() <= 254
                && s.as_bytes().contains(&b'@')
                && let Some(l) = email_local(s)
                && used + l.len() <= m.buf.len()
            {
                m.buf[used..used + l.len()].copy_from_slice(l.as_bytes());
                m.ends[m.n] = (used as u8, (used + l.len()) as u8);
                used += l.len();
                m.n += 1;
            }
        }
        m
    }

    /// Whether there are none.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether `s` is a person-shaped value that spells one of the mailboxes
    /// ([`value_matches_local`]).
    pub(crate) fn spelled_by(&self, s: &str) -> bool {
        // Cheapest tests first: a short value that starts like a name.
        self.n > 0
            && name_start(s)
            && person_shaped(s)
            && !s.as_bytes().contains(&b'@')
            && self.ends[..self.n].iter().any(|&(a, b)| {
                std::str::from_utf8(&self.buf[usize::from(a)..usize::from(b)])
                    .is_ok_and(|l| value_matches_local(s.trim(), l))
            })
    }
}

/// The findings of one string as spans sorted by start, with the running maximum of their
/// ends, so "which findings overlap `[s, e)`" costs a binary search and the overlaps
/// themselves. The list, table, mailbox and mention rules ask once per candidate, and a
/// long string holds hundreds of thousands of findings: a pass over all of them per
/// candidate made those rules quadratic (10 MB of text took minutes).
pub(crate) struct Spans {
    /// (start, end, is a NAME), by start.
    spans: Vec<(usize, usize, bool)>,
    /// `max_end[j]`: the largest end among `spans[..=j]`.
    max_end: Vec<usize>,
}

impl Spans {
    /// The index of `found` (any order).
    pub(crate) fn of(found: &[Finding]) -> Self {
        let mut spans: Vec<(usize, usize, bool)> = found
            .iter()
            .map(|f| (f.start, f.end, f.kind == Kind::Name))
            .collect();
        spans.sort_unstable();
        let mut max = 0;
        let max_end = spans
            .iter()
            .map(|&(_, e, _)| {
                max = max.max(e);
                max
            })
            .collect();
        Spans { spans, max_end }
    }

    /// The spans that overlap `[s, e)`, as (start, end, is a NAME).
    pub(crate) fn overlapping(
        &self,
        s: usize,
        e: usize,
    ) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        // Spans starting before `e`, walked back while an earlier one can still reach `s`.
        let before = self.spans.partition_point(|&(start, _, _)| start < e);
        (0..before)
            .rev()
            .take_while(move |&j| self.max_end[j] > s)
            .map(move |j| self.spans[j])
            .filter(move |&(_, end, _)| end > s)
    }
}

/// NAME findings appended to `out` for what the findings from `base` on make names of:
/// words before an e-mail that spell its mailbox ([`names_beside_emails`]), the other
/// items of lists of names ([`list_names`]) and cells under a person header
/// ([`table_names`]).
#[inline]
pub(crate) fn names_in_text(text: &str, base: usize, out: &mut Vec<Finding>) {
    // Most strings with a finding hold one e-mail or phone number and nothing else.
    if out.len() == base + 1 && out[base].kind != Kind::Email && out[base].kind != Kind::Name {
        return;
    }
    names_in_text_on(text, base, out);
}

#[inline(never)]
fn names_in_text_on(text: &str, base: usize, out: &mut Vec<Finding>) {
    let found = out.get(base..).unwrap_or_default();
    let (mut email, mut named, mut covered) = (false, false, 0);
    for f in found {
        email |= f.kind == Kind::Email;
        named |= f.kind == Kind::Name;
        covered += f.end - f.start;
    }
    let list = named && text.len() >= covered + 8;
    if !email && !list {
        return;
    }
    let index = Spans::of(found);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    if email {
        names_beside_emails(text, found, &index, &mut spans);
    }
    // A list needs room for more than the names found.
    if list {
        list_names(text, &index, &mut spans);
        if text.contains(['|', '\t']) {
            table_names(text, &index, &mut spans);
        }
    }
    spans.sort_unstable();
    spans.dedup();
    crate::push_names(text, spans, out);
}

/// "Maozhu An <maozhu_an@…>", "Given Surname (gsurname@…)": capitalized words right
/// before an e-mail in `<…>` or `(…)` that spell its local part are the person's name.
/// Spans overlapping a finding in `found` other than a shorter name are left out.
pub(crate) fn names_beside_emails(
    text: &str,
    found: &[Finding],
    index: &Spans,
    out: &mut Vec<(usize, usize)>,
) {
    for f in found.iter().filter(|f| f.kind == Kind::Email) {
        let Some(head) = text.get(..f.start) else {
            continue;
        };
        let h = head.trim_end();
        let Some(h) = h.strip_suffix(['<', '(']) else {
            continue;
        };
        let h = h.trim_end();
        let h = h.strip_suffix('"').unwrap_or(h);
        let end = h.len();
        // Up to four capitalized words back from the bracket.
        let mut start = end;
        for n in 0..4 {
            let Some(seg) = h.get(..start) else {
                break;
            };
            let seg = if n == 0 {
                seg
            } else {
                match seg.strip_suffix(' ') {
                    Some(x) => x,
                    None => break,
                }
            };
            let ws = seg.rfind(' ').map_or(0, |p| p + 1);
            let w = &seg[ws..];
            let bare = w.trim_start_matches('"');
            if !person_shaped(bare) {
                break;
            }
            start = ws + (w.len() - bare.len());
        }
        let Some(words) = text.get(start..end) else {
            continue;
        };
        let Some(local) = f.text.split('@').next() else {
            continue;
        };
        if words.is_empty() || !value_matches_local(words, local) {
            continue;
        }
        // Drop a leading word that spells no part of the mailbox ("Contact Maozhu An").
        let mut s = start;
        let mut rest = words;
        while let Some((first, tail)) = rest.split_once(' ') {
            let (ts, nt) = local_tokens(local);
            // A word is used when a part of the mailbox starts with it or its initial
            // ("Andrea Hold" <ahold@…>).
            let w = first.trim_matches('.');
            let used = ts[..nt]
                .iter()
                .any(|t| strip_any(t, w).is_some() || initial_of(w) == t.bytes().next());
            if used {
                break;
            }
            s += first.len() + 1;
            rest = tail;
        }
        let e = end;
        // A shorter name inside the span ("Andrea" of "Andrea Hold") gives way to it.
        if s < e
            && !index
                .overlapping(s, e)
                .any(|(gs, ge, is_name)| !is_name || ge - gs >= e - s)
        {
            out.push((s, e));
        }
    }
}

/// Cells of a table inside a string (markdown `| a | b |` rows or tab-separated lines)
/// under a header cell that names a person (`Owner`, `Assignee`, `Kontakt`): the
/// free-text twin of a JSON key. Cells must still pass the person-value checks.
pub(crate) fn table_names(text: &str, index: &Spans, out: &mut Vec<(usize, usize)>) {
    let mut person_cols: u64 = 0;
    let mut width = 0;
    let mut sep = b'|';
    let mut line_start = 0;
    for line in text.split('\n') {
        let start = line_start;
        line_start += line.len() + 1;
        let t = line.trim();
        let this_sep = if t.starts_with('|') || t.matches('|').count() >= 2 {
            b'|'
        } else if t.contains('\t') {
            b'\t'
        } else {
            // A line that is no row ends the table.
            person_cols = 0;
            continue;
        };
        let cells = || {
            let mut off = 0;
            line.split(char::from(this_sep)).map(move |c| {
                let s = off;
                off += c.len() + 1;
                (s, c)
            })
        };
        // Markdown wraps rows in bars: the empty edge cells are not columns.
        let skip_edge = |c: &str, i: usize, n: usize| {
            this_sep == b'|' && (i == 0 || i + 1 == n) && c.trim().is_empty()
        };
        let n = cells().count();
        if person_cols == 0 || this_sep != sep {
            // A header: short cells, one of them a person key.
            sep = this_sep;
            width = n;
            person_cols = 0;
            for (i, (_, c)) in cells().enumerate().take(64) {
                let c = c.trim();
                if !skip_edge(c, i, n) && c.len() <= 32 && crate::json::is_person_key(c) {
                    person_cols |= 1 << i;
                }
            }
            continue;
        }
        if n != width
            || t.bytes()
                .all(|b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t'))
        {
            continue;
        }
        for (i, (off, c)) in cells().enumerate().take(64) {
            if person_cols >> i & 1 == 0 {
                continue;
            }
            let lead = c.len() - c.trim_start().len();
            let (s, e) = (start + off + lead, start + off + lead + c.trim().len());
            if s < e && name::plausible_person_value(c) && index.overlapping(s, e).next().is_none()
            {
                out.push((s, e));
            }
        }
    }
}

/// Items of lists in prose (`Participants (3): A B, C D, E F`, `In the room: …`, one per
/// line under `Attendees`) that are people's names because the list is: its label names
/// people (a person key: `Attendees`, `Reviewers`, `CC`), or most of its person-shaped
/// items (two at least, in a list of three or more) are names by other evidence. Lists
/// that mix one-word and longer items are left alone ("Cleveland, Richard, M. Porter"
/// cannot be told from "Surname, Given"). Items must pass the person-value checks.
pub(crate) fn list_names(text: &str, index: &Spans, out: &mut Vec<(usize, usize)>) {
    // Items: (start, end, breaks_before); a list runs between breaks.
    let mut items: [(usize, usize, u8); 24] = [(0, 0, 0); 24];
    let mut n = 0;
    let mut label: Option<&str> = None;
    let b = text.as_bytes();
    let mut i = 0;
    let mut item_start = 0;
    let flush = |items: &mut [(usize, usize, u8); 24],
                 n: &mut usize,
                 label: Option<&str>,
                 out: &mut Vec<(usize, usize)>| {
        judge_list(text, &items[..*n], label, index, out);
        *n = 0;
    };
    while i <= b.len() {
        let c = b.get(i).copied().unwrap_or(b'\n');
        // " and ", " & ", " und ", " et ", " y ", " e ", " og ", " och " join the last item.
        let joiner = c == b' ' && {
            let rest = &b[i + 1..];
            [
                &b"and "[..],
                b"& ",
                b"und ",
                b"et ",
                b"y ",
                b"e ",
                b"og ",
                b"och ",
                b"en ",
            ]
            .iter()
            .find(|w| rest.starts_with(w))
            .map(|w| w.len())
        }
        .is_some();
        if !(matches!(c, b',' | b';' | b'\n' | b'|' | b'\t' | b':' | b'(') || joiner) {
            i += 1;
            continue;
        }
        let raw = text.get(item_start..i).unwrap_or("");
        let lead = raw.len() - raw.trim_start().len();
        let mut it = raw.trim();
        let mut ends_sentence = false;
        if let Some(x) = it.strip_suffix(['.', '!', '?']) {
            // "M." is an initial, not a sentence end.
            if !x.ends_with(|ch: char| ch.is_uppercase())
                || x.len() > 1 && !x.as_bytes()[x.len() - 2].is_ascii_whitespace()
            {
                it = x;
                ends_sentence = true;
            }
        }
        let s = item_start + lead;
        let words = it.split_whitespace().count();
        match c {
            b':' => {
                // "Participants (3):", "In the room:": a label starts a new list.
                flush(&mut items, &mut n, label, out);
                if !it.is_empty() {
                    label = Some(it);
                }
            }
            b'(' => {
                // "Participants (3)": a count after the label; skip to the ')'.
                let close = text[i..].find(')').map_or(b.len(), |p| i + p);
                if n == 0 && label.is_none() && words <= 3 {
                    label = Some(it);
                } else if words > 0 && words <= 4 && n < items.len() {
                    items[n] = (s, s + it.len(), c);
                    n += 1;
                }
                i = close + 1;
                item_start = i;
                continue;
            }
            _ => {
                if words == 0 {
                    // "\n\n", ", ,": a blank line ends a list.
                    if c == b'\n' && n > 0 && b.get(i.wrapping_sub(1)) == Some(&b'\n') {
                        flush(&mut items, &mut n, label, out);
                        label = None;
                    }
                } else if words > 4 || n == items.len() {
                    flush(&mut items, &mut n, label, out);
                    label = None;
                } else if n == 0
                    && label.is_none()
                    && c == b'\n'
                    && words <= 2
                    && !ends_sentence
                    && person_list_label(it)
                {
                    // "Attendees" on a line of its own labels the lines below it.
                    label = Some(it);
                } else {
                    items[n] = (s, s + it.len(), if joiner { b',' } else { c });
                    n += 1;
                }
                if ends_sentence {
                    flush(&mut items, &mut n, label, out);
                    label = None;
                }
            }
        }
        i += if joiner {
            // Skip " and " itself.
            let rest = &b[i + 1..];
            1 + rest.iter().position(|&x| x == b' ').unwrap_or(0) + 1
        } else {
            1
        };
        item_start = i;
    }
    flush(&mut items, &mut n, label, out);
}

/// Whether a list label names people ("Attendees", "Participants", "Reviewers", "CC").
fn person_list_label(label: &str) -> bool {
    let l = label
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
    l.len() <= 40 && crate::json::is_person_key(l)
}

/// The list rule of [`list_names`] on one list.
fn judge_list(
    text: &str,
    items: &[(usize, usize, u8)],
    label: Option<&str>,
    index: &Spans,
    out: &mut Vec<(usize, usize)>,
) {
    if items.is_empty() {
        return;
    }
    // "Richmond, Brandon; Shin, Kyung": two kinds of separator inside one list, so a
    // comma may join a surname to its given name. Left alone.
    let inner = &items[..items.len() - 1];
    if inner.iter().any(|x| x.2 == b',') && inner.iter().any(|x| x.2 != b',') {
        return;
    }
    let covered = |&(s, e, _): &(usize, usize, u8)| {
        let named: usize = index
            .overlapping(s, e)
            .filter(|&(_, _, is_name)| is_name)
            .map(|(fs, fe, _)| fe.min(e) - fs.max(s))
            .sum();
        named * 5 >= (e - s) * 3
    };
    let mut shaped = 0;
    let mut named = 0;
    let mut one_word = 0;
    for it in items {
        let t = &text[it.0..it.1];
        if person_shaped(t) {
            shaped += 1;
        }
        named += usize::from(covered(it));
        one_word += usize::from(!t.contains(' '));
    }
    let by_label = label.is_some_and(person_list_label);
    let single = one_word == items.len();
    // One-word lists: more evidence ("Saludos, Stępień, Janina" is a sign-off and a name).
    let by_majority = items.len() >= 3
        && named >= if single { 3 } else { 2 }
        && named * 2 >= shaped
        && shaped * 3 >= items.len() * 2;
    if !(by_label || by_majority)
        || one_word != 0 && !single
        // "Patient: Clements, Major": two one-word items are one "Surname, Given".
        || single && items.len() == 2 && items[0].2 == b','
    {
        return;
    }
    for &(s, e, _) in items {
        let t = &text[s..e];
        // Under a label, the people come first: "Witness: A B, Krügerstraße 34, Bell Gardens".
        if by_label && !by_majority && !person_shaped(t) {
            break;
        }
        if person_shaped(t)
            && name::plausible_person_value(t)
            && index.overlapping(s, e).next().is_none()
        {
            out.push((s, e));
        }
    }
}

/// Columns of the records in `items` (an array) whose values are people's names:
/// keys of the first record, under which `neutral` says the key itself decides nothing,
/// whose sampled values are mostly person-shaped and mostly (two in three, at least
/// three) already found as names by the detectors. None, without allocating, when no
/// column qualifies.
pub(crate) fn person_columns(
    det: &Detectors,
    items: &[Value],
    mut neutral: impl FnMut(&str) -> bool,
) -> Option<Vec<String>> {
    if items.len() < COLUMN_MIN || !det.names_enabled() {
        return None;
    }
    let Value::Object(first) = &items[0] else {
        return None;
    };
    let sample = &items[..items.len().min(COLUMN_SAMPLE)];
    let mut out: Option<Vec<String>> = None;
    let mut scratch: Vec<Finding> = Vec::new();
    for (k, v) in first.iter().take(32) {
        let Value::String(s0) = v else {
            continue;
        };
        // Cheap before the key lookup: the first row's value must look like a name.
        if !person_shaped(s0) {
            continue;
        }
        let mut strings = 0;
        let mut shaped = 0;
        for row in sample {
            if let Some(Value::String(s)) = row.as_object().and_then(|m| m.get(k))
                && !s.trim().is_empty()
            {
                strings += 1;
                shaped += usize::from(person_shaped(s));
            }
        }
        if shaped < COLUMN_MIN || shaped * 3 < strings * 2 || !neutral(k) {
            continue;
        }
        let mut found = 0;
        for row in sample {
            let Some(Value::String(s)) = row.as_object().and_then(|m| m.get(k)) else {
                continue;
            };
            if !person_shaped(s) {
                continue;
            }
            scratch.clear();
            det.scan(s, Hint::NONE, &mut scratch);
            let t = s.trim();
            let named: usize = scratch
                .iter()
                .filter(|f| f.kind == Kind::Name)
                .map(|f| f.end - f.start)
                .sum();
            found += usize::from(named * 5 >= t.len() * 3);
        }
        if found >= COLUMN_MIN && found * 3 >= shaped * 2 {
            out.get_or_insert_with(Vec::new).push(k.clone());
        }
    }
    out
}

/// High bit set in each byte of `x` that is an ASCII capital or a non-ASCII byte.
fn word_start_bytes(x: u64) -> u64 {
    const HI: u64 = 0x8080_8080_8080_8080;
    let low = x & !HI;
    // Per byte, no carries: low + (0x80 - b'A') reaches 0x80 from 'A' on, low + (0x80 - b'[')
    // from past 'Z' on.
    let from_a = low.wrapping_add(0x3f3f_3f3f_3f3f_3f3f) & HI;
    let past_z = low.wrapping_add(0x2525_2525_2525_2525) & HI;
    (x & HI) | (from_a & !past_z)
}

/// Most words remembered: a tool result names a handful of people.
const DOC_WORDS: usize = 32;
/// Bytes of remembered words.
const DOC_BYTES: usize = 384;

/// Words of the names found so far in one tool result, looked for again in the strings after them: `"fullName": "Milad
/// Al-Hashimi"` then `"body": "… Milad to check with …"`. Fixed-size storage: nothing
/// is allocated.
pub(crate) struct DocNames {
    bytes: [u8; DOC_BYTES],
    used: usize,
    words: [(u16, u16); DOC_WORDS],
    n: usize,
    /// Bit `b % 64` set: some remembered word starts with byte `b` (a cheap first test).
    firsts: u64,
}

impl Default for DocNames {
    fn default() -> Self {
        DocNames {
            bytes: [0; DOC_BYTES],
            used: 0,
            words: [(0, 0); DOC_WORDS],
            n: 0,
            firsts: 0,
        }
    }
}

impl DocNames {
    fn word(&self, i: usize) -> &[u8] {
        let (s, e) = self.words[i];
        &self.bytes[usize::from(s)..usize::from(e)]
    }

    fn knows(&self, w: &[u8]) -> bool {
        (0..self.n).any(|i| self.word(i) == w)
    }

    /// Remembers the words of the names in `found` (cheap shape test only; the
    /// dictionary filters run when a word recurs).
    fn learn(&mut self, text: &str, found: &[Finding]) {
        for f in found.iter().filter(|f| f.kind == Kind::Name) {
            let Some(t) = text.get(f.start..f.end) else {
                continue;
            };
            for w in t.split([' ', ',', '\n', '/']) {
                let w = w.trim_end_matches('.');
                let b = w.as_bytes();
                if b.len() < 2
                    || b.len() > 40
                    || b[0].is_ascii_lowercase()
                    || b[0].is_ascii_punctuation()
                    || self.n == DOC_WORDS
                    || self.used + b.len() > DOC_BYTES
                    || self.knows(b)
                {
                    continue;
                }
                let s = self.used;
                self.bytes[s..s + b.len()].copy_from_slice(b);
                self.used += b.len();
                self.words[self.n] = (s as u16, self.used as u16);
                self.n += 1;
                self.firsts |= 1 << (b[0] % 64);
            }
        }
    }

    /// Adds NAME findings for remembered words that recur in `text` (under a key that
    /// does not rule names out), then remembers the names found in it. Inside a long
    /// list of records (`in_long_list`) it does nothing.
    #[inline]
    pub(crate) fn pass(
        &mut self,
        det: &Detectors,
        text: &str,
        in_long_list: bool,
        not_person: bool,
        found: &mut Vec<Finding>,
    ) {
        // Cheap exits first, inline: most values are short and hold nothing. In a long list
        // of records nothing is looked for: such lists are mostly IDs, dates and URLs, and
        // their names sit under person keys of each record (cost, see docs/BENCHMARKS.md).
        if not_person || in_long_list || found.is_empty() && (self.n == 0 || text.len() < 12) {
            return;
        }
        self.pass_on(det, text, found);
    }

    #[inline(never)]
    fn pass_on(&mut self, det: &Detectors, text: &str, found: &mut Vec<Finding>) {
        if !det.names_enabled() {
            return;
        }
        // A string that is all finding (a person value claimed whole) has no room for more.
        let covered: usize = found.iter().map(|f| f.end - f.start).sum();
        if self.n > 0 && text.len() >= covered + 3 {
            let base = found.len();
            self.mentions(text, found);
            if found.len() > base {
                found.sort_by_key(|f| f.start);
            }
        }
        if found.iter().any(|f| f.kind == Kind::Name) {
            self.learn(text, found);
        }
    }

    fn mentions(&self, text: &str, found: &mut Vec<Finding>) {
        // The spans found before this pass: what it adds lies before every later candidate.
        let index = Spans::of(found);
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // Eight bytes at a time past text with no capital and no non-ASCII byte
            // (most of a value is lower case, digits and punctuation).
            if let Some(chunk) = b.get(i..i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                if word_start_bytes(u64::from_le_bytes(w)) == 0 {
                    i += 8;
                    continue;
                }
            }
            let c = b[i];
            if !(c.is_ascii_uppercase() || c >= 0x80)
                || self.firsts >> (c % 64) & 1 == 0
                || i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] >= 0x80)
            {
                i += 1;
                continue;
            }
            // A candidate word: letters (and `-`, `'`) up to the next other byte.
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] >= 0x80 || b[j] == b'-' || b[j] == b'\'')
            {
                j += 1;
            }
            while j > i && matches!(b[j - 1], b'-' | b'\'') {
                j -= 1;
            }
            let w = &b[i..j];
            if self.knows(w)
                && let Some(word) = text.get(i..j)
                && name::is_mention_word(word)
                && name::mention_stands_alone(text, i, j)
                && index.overlapping(i, j).next().is_none()
            {
                found.push(Finding::verbatim(Kind::Name, i, word));
            }
            i = j.max(i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn span_overlaps_are_the_ones_a_full_pass_finds() {
        // Spans of every shape: nested, touching, long ones reaching far, repeats.
        let mut seed = 7u64;
        let mut next = |m: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            usize::try_from(seed >> 33).unwrap_or(0) % m
        };
        for round in 0..200 {
            let found: Vec<Finding> = (0..next(40))
                .map(|i| {
                    let start = next(200);
                    let end = start + 1 + if i % 7 == 0 { next(120) } else { next(6) };
                    Finding {
                        start,
                        end,
                        kind: if i % 3 == 0 { Kind::Email } else { Kind::Name },
                        text: String::new(),
                        normalized: String::new(),
                        region: None,
                    }
                })
                .collect();
            let index = Spans::of(&found);
            for s in 0..210 {
                for e in s + 1..s + 12 {
                    let mut got: Vec<_> = index.overlapping(s, e).collect();
                    let mut want: Vec<_> = found
                        .iter()
                        .filter(|f| f.start < e && s < f.end)
                        .map(|f| (f.start, f.end, f.kind == Kind::Name))
                        .collect();
                    got.sort_unstable();
                    want.sort_unstable();
                    assert_eq!(got, want, "round {round}, [{s}, {e})");
                }
            }
        }
    }

    /// NAME texts found in `v`, with their paths, the same by all three JSON walkers.
    fn names(v: &Value) -> Vec<(String, String)> {
        let det = Detectors::new();
        let found: Vec<(String, String)> = det
            .find_json(v)
            .into_iter()
            .filter(|f| f.finding.kind == Kind::Name)
            .map(|f| (f.path, f.finding.text))
            .collect();
        // The copying and the in-place redaction see exactly the names `find_json` sees.
        let mut seen = Vec::new();
        let copy = det.redact_json(v, |f| {
            if f.kind == Kind::Name {
                seen.push(f.text.clone());
            }
            "[X]".to_string()
        });
        let mut in_place = v.clone();
        let mut seen_in_place = Vec::new();
        det.redact_json_in_place(&mut in_place, |f| {
            if f.kind == Kind::Name {
                seen_in_place.push(f.text.clone());
            }
            "[X]".to_string()
        });
        let texts: Vec<String> = found.iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(seen, texts, "redact_json saw other names than find_json");
        assert_eq!(seen_in_place, texts, "redact_json_in_place saw other names");
        assert_eq!(copy, in_place);
        found
    }

    fn has(found: &[(String, String)], path: &str, text: &str) -> bool {
        found.iter().any(|(p, t)| p == path && t == text)
    }

    #[test]
    fn mailbox_spellings_of_a_persons_name_match() {
        for (value, local) in [
            ("Maozhu An", "maozhu_an"),
            ("Maozhu An", "maozhu.an"),
            ("Maozhu An", "an.maozhu"),
            ("Maozhu An", "m.an"),
            ("Maozhu An", "maozhu-an"),
            ("Dennis Kristensen", "kristensend"),
            ("Dennis Kristensen", "dkristensen"),
            ("Dennis Kristensen", "denniskristensen"),
            ("Jeppe Søndergaard", "jeppe"),
            ("Gille Cederschiöld", "gille_cederschioeld"),
            ("José Estévez", "jose.estevez+crm"),
            ("Agdta", "agdta.rincon"),
            ("Ngo", "mngo"),
            ("Zorblat Quenvik", "zorblat.quenvik42"),
        ] {
            assert!(value_matches_local(value, local), "{value} / {local}");
        }
        for (value, local) in [
            ("Sales", "sales"),
            ("Sales Team", "sales"),
            ("Paris Office", "info"),
            ("No Reply", "noreply"),
            ("Maria Gonzalez", "jsmith"),
            ("Maria Gonzalez", "support.maria"),
            ("Ann", "ann"),
            ("Zorblat Quenvik", "zq"),
            ("Berlin", "berlin"),
        ] {
            assert!(!value_matches_local(value, local), "{value} / {local}");
        }
    }

    #[test]
    fn a_value_spelling_a_sibling_mailbox_is_a_name_whatever_its_key() {
        let found = names(&json!({"ad": "Zorblat", "soyad": "Quenvik",
            "email": "zorblat.quenvik@example.pl"}));
        assert!(has(&found, "ad", "Zorblat"), "{found:?}");
        let found = names(&json!({"c1": "Yrsa Plitvik", "c2": "yplitvik@example.com"}));
        assert!(has(&found, "c1", "Yrsa Plitvik"), "{found:?}");
    }

    #[test]
    fn role_mailboxes_teams_and_places_beside_an_email_stay_unnamed() {
        for v in [
            json!({"label": "Sales", "email": "sales@acme.com"}),
            json!({"team": "Platform", "email": "platform@acme.io"}),
            json!({"desk": "Paris Office", "email": "info@acme.fr"}),
            json!({"c1": "No Reply", "email": "noreply@acme.fr"}),
            json!({"c1": "Sales Team", "email": "sales.team@acme.fr"}),
            json!({"city": "Quenvik", "email": "zorblat.quenvik@example.pl"}),
        ] {
            assert!(names(&v).is_empty(), "{v}: {:?}", names(&v));
        }
    }

    #[test]
    fn words_before_an_email_that_spell_its_mailbox_are_a_name() {
        let det = Detectors::new();
        for (text, name) in [
            (
                "From: Zorblat Quenvik <zorblat.quenvik@example.com>",
                "Zorblat Quenvik",
            ),
            (
                "cc Yrsa Plitvik (yplitvik@example.com) please",
                "Yrsa Plitvik",
            ),
            (
                "Contact Zorblat Quenvik <zquenvik@example.com>",
                "Zorblat Quenvik",
            ),
            (
                "\"Yrsa Plitvik\" <plitvik.yrsa@example.com>",
                "Yrsa Plitvik",
            ),
        ] {
            let found = det.find(text);
            assert!(
                found.iter().any(|f| f.kind == Kind::Name && f.text == name),
                "{text}: {found:?}"
            );
        }
        for text in [
            "Acme Support <support@acme.com>",
            "Sales Team <sales@acme.com>",
            "Paris Office (info@acme.fr)",
            "Write to Zorblat Quenvik Industries <hello@zq.com>",
        ] {
            let found = det.find(text);
            assert!(
                !found.iter().any(|f| f.kind == Kind::Name),
                "{text}: {found:?}"
            );
        }
    }

    fn rows(key: &str, values: &[&str]) -> Value {
        Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| json!({"id": i, key: v, "status": "open"}))
                .collect(),
        )
    }

    #[test]
    fn a_column_of_names_carries_its_unknown_names() {
        let v = rows(
            "c3",
            &[
                "Maria Gonzalez",
                "James Smith",
                "Zorblat Quenvik",
                "Priya Sharma",
                "Sophie Martin",
            ],
        );
        let found = names(&v);
        assert!(has(&found, "[2].c3", "Zorblat Quenvik"), "{found:?}");
        // Company names in a name column are still no people.
        let v = rows(
            "c3",
            &[
                "Maria Gonzalez",
                "James Smith",
                "Globex GmbH",
                "Priya Sharma",
                "Sophie Martin",
            ],
        );
        let found = names(&v);
        assert!(
            !found.iter().any(|(_, t)| t.contains("Globex")),
            "{found:?}"
        );
    }

    #[test]
    fn columns_of_cities_products_and_firms_do_not_turn_into_names() {
        for values in [
            &[
                "Austin",
                "Florence",
                "Charlotte",
                "Berlin",
                "Quenvik",
                "Madrid",
            ][..],
            &[
                "Echo Dot",
                "Surface Pro",
                "Galaxy Tab",
                "Zorblat Max",
                "Pixel Fold",
            ][..],
            &[
                "Acme Corp",
                "Globex GmbH",
                "Initech LLC",
                "Zorblat AG",
                "Umbrella Group",
            ][..],
            // Two names in six values: no majority.
            &[
                "Maria Gonzalez",
                "James Smith",
                "Zorblat Quenvik",
                "Quarterly Review",
                "Blue Ocean",
                "Red Team",
            ][..],
        ] {
            let found = names(&rows("c3", values));
            assert!(
                !found
                    .iter()
                    .any(|(_, t)| t.contains("Zorblat") || t.contains("Quenvik")),
                "{values:?}: {found:?}"
            );
        }
    }

    #[test]
    fn a_name_found_in_one_string_is_found_where_it_recurs_in_another() {
        let found = names(&json!({
            "contact": {"fullName": "Zorblat Quenvik"},
            "note": "Send the proposal to Zorblat on Monday."
        }));
        assert!(has(&found, "note", "Zorblat"), "{found:?}");
        // Not where a key rules names out, nor inside a firm's name.
        let found = names(&json!({
            "contact": {"fullName": "Zorblat Quenvik"},
            "company": "Quenvik Holdings",
            "note": "Signed with Quenvik GmbH today."
        }));
        assert!(
            !found.iter().any(|(p, _)| p == "company" || p == "note"),
            "{found:?}"
        );
    }

    #[test]
    fn names_are_looked_for_across_the_strings_of_a_short_list_not_of_a_long_one() {
        let list = |n: usize| {
            let mut rows: Vec<Value> = (0..n)
                .map(|i| json!({"owner": "Maria Gonzalez", "note": format!("row {i}")}))
                .collect();
            rows[0] = json!({"owner": "Zorblat Quenvik", "note": "x"});
            rows[2] = json!({"owner": "Maria Gonzalez", "note": "send the deck to Zorblat"});
            Value::Array(rows)
        };
        let found = names(&list(5));
        assert!(has(&found, "[2].note", "Zorblat"), "{found:?}");
        // A long list is records of their own (and most of the work of a large result).
        let found = names(&list(20));
        assert!(!found.iter().any(|(p, _)| p == "[2].note"), "{found:?}");
    }

    fn text_names(text: &str) -> Vec<String> {
        Detectors::new()
            .find(text)
            .into_iter()
            .filter(|f| f.kind == Kind::Name)
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn the_unknown_items_of_a_list_of_names_are_names() {
        for (text, name) in [
            (
                "Participants (3): Zorblat Quenvik, Maria Gonzalez, James Smith",
                "Zorblat Quenvik",
            ),
            (
                "Attendees\nMaria Gonzalez\nZorblat Quenvik\nYrsa Plitvik\n\nAgenda",
                "Yrsa Plitvik",
            ),
            ("Reviewers: Zorblat Quenvik, Yrsa Plitvik", "Yrsa Plitvik"),
            ("Present: Maria Gonzalez. Apologies: Zorblat.", "Zorblat"),
        ] {
            let found = text_names(text);
            assert!(found.iter().any(|t| t == name), "{text}: {found:?}");
        }
    }

    #[test]
    fn lists_of_places_firms_and_surname_given_pairs_do_not_split_into_names() {
        for (text, not) in [
            (
                "Witness: Maria Gonzalez, Krügerstraße 34, Quenvik Gardens",
                "Quenvik Gardens",
            ),
            ("Patient: Quenvik, Zorblat", "Zorblat"),
            ("Attendees: Quenvik, Zorblat; Plitvik, Yrsa", "Zorblat"),
            (
                "Ship to Berlin, Madrid, Quenvik and Austin by Friday.",
                "Quenvik",
            ),
            ("Vendors: Acme Corp, Globex GmbH, Zorblat AG", "Zorblat AG"),
            ("Saludos,\nQuenvik, Yrsa\nGerente de Ventas", "Saludos"),
        ] {
            let found = text_names(text);
            assert!(!found.iter().any(|t| t == not), "{text}: {found:?}");
        }
    }

    #[test]
    fn cells_under_a_person_header_of_a_table_in_a_string_are_names() {
        let text = "| Owner | Task | Due |\n|---|---|---|\n| Maria Gonzalez | Budget | 2024-01-02 |\n| Zorblat Quenvik | Quarterly Review | 2024-02-03 |";
        let found = text_names(text);
        assert!(found.iter().any(|t| t == "Zorblat Quenvik"), "{found:?}");
        assert!(
            !found.iter().any(|t| t.contains("Review") || t == "Budget"),
            "{found:?}"
        );
        // Without a person header, a column of products stays as it is.
        let text = "| Product | Maria Gonzalez |\n| Zorblat Max | 3 |\n| Quenvik Pro | 4 |";
        let found = text_names(text);
        assert!(
            !found
                .iter()
                .any(|t| t.contains("Zorblat") || t.contains("Quenvik")),
            "{found:?}"
        );
    }
}
