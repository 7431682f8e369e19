//! PHONE: candidate extraction from text, shape and context filters, and
//! validation against libphonenumber metadata.
//!
//! # Why not call `phonenumber::parse` per candidate
//! `phonenumber::parse` + `is_valid` costs 5–40 µs per call and serializes on a
//! global regex-cache mutex, which alone would cap throughput far below the
//! 200 MB/s target on phone-dense JSON. We instead take the *metadata* of the
//! `phonenumber` crate (the national-number patterns of every number type,
//! national prefixes and country codes of libphonenumber) and compile it once
//! per country code into anchored `regex` automata (lazily, lock-free after
//! first use). Validating a national significant number is then one or two DFA
//! matches (~100 ns). The result agrees with `phonenumber::is_valid` on the
//! numbers we extract (a unit test cross-checks it); what we skip is
//! libphonenumber's lenient parsing (letters-as-digits, carrier codes,
//! RFC 3966 URIs), which the candidate extractor never produces anyway.
//!
//! This module never panics: candidates are bounded ASCII digit strings, and
//! metadata patterns that fail to compile are skipped (that region then simply
//! never validates).

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{DATABASE, Metadata};
use regex::Regex;

/// Compiled validation rules for one region.
pub(crate) struct RegionRules {
    /// ISO region id, e.g. "US".
    pub(crate) id: &'static str,
    /// Country calling code, e.g. 1.
    pub(crate) code: u16,
    national_prefix: Option<&'static str>,
    lengths: &'static [u16],
    general: Regex,
    types: Regex,
}

impl RegionRules {
    fn valid(&self, nsn: &str) -> bool {
        let len = u16::try_from(nsn.len()).unwrap_or(u16::MAX);
        (self.lengths.is_empty() || self.lengths.contains(&len))
            && self.general.is_match(nsn)
            && self.types.is_match(nsn)
    }
}

const MAX_CODE: usize = 1000;
static BY_CODE: [OnceLock<Box<[RegionRules]>>; MAX_CODE] = [const { OnceLock::new() }; MAX_CODE];

/// The compiled rules of every region sharing a calling code (built on first use).
fn rules_for_code(code: u16) -> &'static [RegionRules] {
    match BY_CODE.get(usize::from(code)) {
        Some(slot) => slot.get_or_init(|| build_code(code)),
        None => &[],
    }
}

fn build_code(code: u16) -> Box<[RegionRules]> {
    let db: &'static phonenumber::metadata::Database = &DATABASE;
    match db.by_code(&code) {
        Some(metas) => metas.into_iter().filter_map(build_region).collect(),
        None => Box::new([]),
    }
}

/// Compiles a metadata pattern as a full-match regex. The metadata is written
/// with insignificant whitespace (as in libphonenumber's XML), hence `x` mode.
fn anchored(pattern: &str) -> Option<Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

fn build_region(meta: &'static Metadata) -> Option<RegionRules> {
    let d = meta.descriptors();
    let general = anchored(d.general().national_number().as_str())?;
    let types: Vec<&str> = [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.national_number().as_str())
    .collect();
    if types.is_empty() {
        return None;
    }
    let types = anchored(&types.join("|"))?;
    Some(RegionRules {
        id: meta.id(),
        code: meta.country_code(),
        national_prefix: meta.national_prefix(),
        lengths: d.general().possible_length(),
        general,
        types,
    })
}

/// Looks a region's compiled rules up; `None` when libphonenumber does not know it.
fn region(id: &str, code: u16) -> Option<&'static RegionRules> {
    rules_for_code(code).iter().find(|r| r.id == id)
}

/// The configured regions, in priority order. Their ids are checked when the detectors are
/// built; their rules (the phonenumber metadata and two regexes per region: ~100 ms of CPU
/// for the default regions) are compiled only when a candidate first needs national
/// validation, so a process that never sees a phone-shaped run never pays for them.
#[derive(Default)]
pub(crate) struct Regions {
    ids: Vec<(&'static str, u16)>,
    rules: OnceLock<Box<[&'static RegionRules]>>,
}

impl Regions {
    /// Adds a region by id (ignoring repeats); `false` when libphonenumber does not know it.
    pub(crate) fn push(&mut self, id: &str) -> bool {
        let Ok(i) = KNOWN_REGIONS.binary_search_by(|(known, _)| known.cmp(&id)) else {
            return false;
        };
        let Some(&(id, code)) = KNOWN_REGIONS.get(i) else {
            return false;
        };
        if !self.ids.iter().any(|(x, _)| *x == id) {
            self.ids.push((id, code));
        }
        true
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The region ids, in priority order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ids.iter().map(|(id, _)| *id)
    }

    /// The compiled rules, built on first call.
    fn rules(&self) -> &[&'static RegionRules] {
        self.rules.get_or_init(|| {
            self.ids
                .iter()
                .filter_map(|&(id, code)| region(id, code))
                .collect()
        })
    }

    /// Whether the rules have been compiled (they are on the first national validation).
    #[cfg(test)]
    fn compiled(&self) -> bool {
        self.rules.get().is_some()
    }
}

/// Every region id libphonenumber's metadata (as shipped in the `phonenumber` crate) has
/// validation rules for, sorted, with its calling code. A unit test checks it against the
/// metadata, so a `phonenumber` upgrade that changes the set fails the build's tests.
#[rustfmt::skip]
const KNOWN_REGIONS: &[(&str, u16)] = &[
    ("001", 979), ("AC", 247), ("AD", 376), ("AE", 971), ("AF", 93), ("AG", 1), ("AI", 1), ("AL", 355),
    ("AM", 374), ("AO", 244), ("AR", 54), ("AS", 1), ("AT", 43), ("AU", 61), ("AW", 297), ("AX", 358),
    ("AZ", 994), ("BA", 387), ("BB", 1), ("BD", 880), ("BE", 32), ("BF", 226), ("BG", 359), ("BH", 973),
    ("BI", 257), ("BJ", 229), ("BL", 590), ("BM", 1), ("BN", 673), ("BO", 591), ("BQ", 599), ("BR", 55),
    ("BS", 1), ("BT", 975), ("BW", 267), ("BY", 375), ("BZ", 501), ("CA", 1), ("CC", 61), ("CD", 243),
    ("CF", 236), ("CG", 242), ("CH", 41), ("CI", 225), ("CK", 682), ("CL", 56), ("CM", 237), ("CN", 86),
    ("CO", 57), ("CR", 506), ("CU", 53), ("CV", 238), ("CW", 599), ("CX", 61), ("CY", 357), ("CZ", 420),
    ("DE", 49), ("DJ", 253), ("DK", 45), ("DM", 1), ("DO", 1), ("DZ", 213), ("EC", 593), ("EE", 372),
    ("EG", 20), ("EH", 212), ("ER", 291), ("ES", 34), ("ET", 251), ("FI", 358), ("FJ", 679), ("FK", 500),
    ("FM", 691), ("FO", 298), ("FR", 33), ("GA", 241), ("GB", 44), ("GD", 1), ("GE", 995), ("GF", 594),
    ("GG", 44), ("GH", 233), ("GI", 350), ("GL", 299), ("GM", 220), ("GN", 224), ("GP", 590), ("GQ", 240),
    ("GR", 30), ("GT", 502), ("GU", 1), ("GW", 245), ("GY", 592), ("HK", 852), ("HN", 504), ("HR", 385),
    ("HT", 509), ("HU", 36), ("ID", 62), ("IE", 353), ("IL", 972), ("IM", 44), ("IN", 91), ("IO", 246),
    ("IQ", 964), ("IR", 98), ("IS", 354), ("IT", 39), ("JE", 44), ("JM", 1), ("JO", 962), ("JP", 81),
    ("KE", 254), ("KG", 996), ("KH", 855), ("KI", 686), ("KM", 269), ("KN", 1), ("KP", 850), ("KR", 82),
    ("KW", 965), ("KY", 1), ("KZ", 7), ("LA", 856), ("LB", 961), ("LC", 1), ("LI", 423), ("LK", 94),
    ("LR", 231), ("LS", 266), ("LT", 370), ("LU", 352), ("LV", 371), ("LY", 218), ("MA", 212), ("MC", 377),
    ("MD", 373), ("ME", 382), ("MF", 590), ("MG", 261), ("MH", 692), ("MK", 389), ("ML", 223), ("MM", 95),
    ("MN", 976), ("MO", 853), ("MP", 1), ("MQ", 596), ("MR", 222), ("MS", 1), ("MT", 356), ("MU", 230),
    ("MV", 960), ("MW", 265), ("MX", 52), ("MY", 60), ("MZ", 258), ("NA", 264), ("NC", 687), ("NE", 227),
    ("NF", 672), ("NG", 234), ("NI", 505), ("NL", 31), ("NO", 47), ("NP", 977), ("NR", 674), ("NU", 683),
    ("NZ", 64), ("OM", 968), ("PA", 507), ("PE", 51), ("PF", 689), ("PG", 675), ("PH", 63), ("PK", 92),
    ("PL", 48), ("PM", 508), ("PR", 1), ("PS", 970), ("PT", 351), ("PW", 680), ("PY", 595), ("QA", 974),
    ("RE", 262), ("RO", 40), ("RS", 381), ("RU", 7), ("RW", 250), ("SA", 966), ("SB", 677), ("SC", 248),
    ("SD", 249), ("SE", 46), ("SG", 65), ("SH", 290), ("SI", 386), ("SJ", 47), ("SK", 421), ("SL", 232),
    ("SM", 378), ("SN", 221), ("SO", 252), ("SR", 597), ("SS", 211), ("ST", 239), ("SV", 503), ("SX", 1),
    ("SY", 963), ("SZ", 268), ("TA", 290), ("TC", 1), ("TD", 235), ("TG", 228), ("TH", 66), ("TJ", 992),
    ("TK", 690), ("TL", 670), ("TM", 993), ("TN", 216), ("TO", 676), ("TR", 90), ("TT", 1), ("TV", 688),
    ("TW", 886), ("TZ", 255), ("UA", 380), ("UG", 256), ("US", 1), ("UY", 598), ("UZ", 998), ("VA", 39),
    ("VC", 1), ("VE", 58), ("VG", 1), ("VI", 1), ("VN", 84), ("VU", 678), ("WF", 681), ("WS", 685),
    ("XK", 383), ("YE", 967), ("YT", 262), ("ZA", 27), ("ZM", 260), ("ZW", 263),
];

/// A validated phone number.
pub(crate) struct Validated {
    pub(crate) e164: String,
    pub(crate) region: &'static str,
}

fn e164(code: u16, nsn: &str, region: &'static str) -> Validated {
    // Written out by hand: `format!` cost ~1,000 instructions per phone found.
    let mut e164 = String::with_capacity(4 + nsn.len());
    e164.push('+');
    let (hundreds, tens, ones) = (code / 100, code / 10 % 10, code % 10);
    for (digit, shown) in [(hundreds, code >= 100), (tens, code >= 10), (ones, true)] {
        if shown {
            e164.push(char::from(b'0' + (digit % 10) as u8));
        }
    }
    e164.push_str(nsn);
    Validated { e164, region }
}

/// Validates digits written after `+` (or an international prefix).
fn validate_international(digits: &str) -> Option<Validated> {
    for cc_len in 1..=3 {
        let (cc, nsn) = (digits.get(..cc_len)?, digits.get(cc_len..)?);
        let Ok(code) = cc.parse::<u16>() else {
            return None;
        };
        let rules = rules_for_code(code);
        if rules.is_empty() {
            continue;
        }
        for r in rules {
            if r.valid(nsn) {
                return Some(e164(code, nsn, r.id));
            }
            // "+44 (0)20 …": a trunk prefix written inside the international form.
            if let Some(rest) = r.national_prefix.and_then(|p| nsn.strip_prefix(p))
                && r.valid(rest)
            {
                return Some(e164(code, rest, r.id));
            }
        }
        // Calling codes are prefix-free: a known code that fails means invalid.
        return None;
    }
    None
}

/// Validates a nationally written number against the configured regions, in order.
fn validate_national(digits: &str, regions: &Regions) -> Option<Validated> {
    let regions = regions.rules();
    for r in regions {
        if let Some(rest) = r.national_prefix.and_then(|p| digits.strip_prefix(p))
            && r.valid(rest)
        {
            return Some(e164(r.code, rest, r.id));
        }
    }
    for r in regions {
        if r.valid(digits) {
            return Some(e164(r.code, digits, r.id));
        }
    }
    None
}

/// What the surrounding JSON key says about phones in a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhoneHint {
    /// No opinion.
    None,
    /// The key names a phone (`phone`, `mobile`, `fax`…): accept bare digit runs.
    Phone,
    /// The key names an identifier (`order_id`, `isbn`, `zip`…): only `+` numbers count.
    NotPhone,
}

/// A phone found in text.
pub(crate) struct PhoneMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) valid: Validated,
}

/// Result of looking at a candidate: maybe a match, and where to resume scanning.
pub(crate) struct Scanned {
    pub(crate) found: Option<PhoneMatch>,
    pub(crate) next: usize,
}

const MAX_DIGITS: usize = 17;

#[inline]
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Whether the (non-ASCII) character starting at `k` glues to a number: a
/// letter of a spaced script does ("№12345678", "ab١٢٣"), while CJK text and
/// fullwidth punctuation, which put no spaces around numbers, do not
/// ("电话+33 1 23 45 67 89，", "（+81-3-1234-5678）").
fn glues_at(bytes: &[u8], k: usize) -> bool {
    let tail = &bytes[k..bytes.len().min(k + 4)];
    let c = match std::str::from_utf8(tail) {
        Ok(s) => s.chars().next(),
        Err(e) => std::str::from_utf8(&tail[..e.valid_up_to()])
            .ok()
            .and_then(|s| s.chars().next()),
    };
    match c {
        Some(c) => c.is_alphanumeric() && !crate::name::no_space_script(c),
        None => true,
    }
}

/// Whether the non-ASCII character ending right before `k` glues to a number.
fn glues_before(bytes: &[u8], k: usize) -> bool {
    let mut s = k.saturating_sub(1);
    while s > 0 && k - s < 4 && bytes[s] & 0xC0 == 0x80 {
        s -= 1;
    }
    glues_at(&bytes[..k], s)
}

/// A byte after a number that glues it to a word.
#[inline]
fn word_after(bytes: &[u8], k: usize) -> bool {
    match bytes.get(k) {
        Some(&b) if b >= 0x80 => glues_at(bytes, k),
        Some(&b) => is_word_byte(b),
        None => false,
    }
}

#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')')
}

/// Length of a Unicode space that typesetting puts inside numbers and names
/// (no-break U+00A0, figure U+2007, thin U+2009, hair U+200A, narrow no-break
/// U+202F) at `k`, or 0. These read as a plain space.
#[inline]
pub(crate) fn unicode_space_len(bytes: &[u8], k: usize) -> usize {
    match bytes.get(k) {
        Some(0xC2) if bytes.get(k + 1) == Some(&0xA0) => 2,
        Some(0xE2)
            if bytes.get(k + 1) == Some(&0x80)
                && matches!(bytes.get(k + 2), Some(0x87 | 0x89 | 0x8A | 0xAF)) =>
        {
            3
        }
        _ => 0,
    }
}

/// A separator at `k`: the byte it reads as and its length in bytes.
#[inline]
fn sep_at(bytes: &[u8], k: usize) -> Option<(u8, usize)> {
    let b = *bytes.get(k)?;
    if is_sep(b) {
        return Some((b, 1));
    }
    if b >= 0xC2 {
        let l = unicode_space_len(bytes, k);
        if l > 0 {
            return Some((b' ', l));
        }
    }
    None
}

/// Where to resume when the digit at `start` sits inside a word or a code ("T10",
/// "lead_0012", "10:33", "INV-2024", "q1"): the common ways [`left_boundary`] fails,
/// decided from the two bytes before it without a call into [`scan_at`]. `None`
/// when a candidate may start here or the bytes need the full check (non-ASCII, a
/// letter before `:` that may end a `tel:` scheme, an escape like `\n`).
#[inline]
pub(crate) fn inside_word(bytes: &[u8], start: usize) -> Option<usize> {
    let prev = *bytes.get(start.checked_sub(1)?)?;
    let prev2 = start.checked_sub(2).and_then(|p| bytes.get(p)).copied();
    let ascii_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let inside = if ascii_word(prev) {
        !(prev2 == Some(b'\\') && matches!(prev, b'n' | b'r' | b't'))
    } else if prev == b':' {
        prev2.is_some_and(|b| b.is_ascii_digit() || b == b'_')
    } else if matches!(prev, b'-' | b'.' | b'/' | b',' | b'+') {
        prev2.is_some_and(ascii_word)
    } else {
        false
    };
    if !inside {
        return None;
    }
    // As `scan_at` does: skip the whole run at once.
    let mut j = start + 1;
    while j < bytes.len() && ascii_word(bytes[j]) {
        j += 1;
    }
    Some(j)
}

/// Examines the phone-shaped run starting at `start` (a digit, `+` or `(`).
pub(crate) fn scan_at(bytes: &[u8], start: usize, regions: &Regions, hint: PhoneHint) -> Scanned {
    let n = bytes.len();
    if !left_boundary(bytes, start) {
        // Inside a word or code ("lead_0012", "T10:33"): skip the whole run at once.
        let mut j = start + 1;
        while j < n && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        return Scanned {
            found: None,
            next: j,
        };
    }
    let mut j = start;
    let plus = bytes.get(j) == Some(&b'+');
    if plus {
        j += 1;
        if bytes.get(j) == Some(&b' ') {
            j += 1;
        }
    }
    // Quick pass over the maximal run of digits and separators (a superset of
    // what the detailed parse below reads): identifier-keyed values and runs
    // with fewer than 7 digits (years, amounts, short IDs) are skipped whole.
    // A span without separator breaks that runs straight into a word
    // ("2024-03-12T10:33", "12345678px") cannot hold a phone either.
    {
        let mut k = j;
        let mut count = 0usize;
        let mut sep_run = 0usize;
        let mut breaks = false;
        let mut last_digit_end = j;
        let mut prev_space = false;
        while k < n {
            if bytes[k].is_ascii_digit() {
                count += 1;
                sep_run = 0;
                last_digit_end = k + 1;
                prev_space = false;
                k += 1;
            } else if let Some((sep, len)) = sep_at(bytes, k) {
                sep_run += 1;
                breaks |= sep_run > 2 || (sep == b' ' && prev_space);
                prev_space = sep == b' ';
                k += len;
            } else {
                break;
            }
        }
        let glued = last_digit_end == k && (word_after(bytes, k) || bytes.get(k) == Some(&b'%'));
        if count < 7 || (hint == PhoneHint::NotPhone && !plus) || (glued && !breaks) {
            return Scanned {
                found: None,
                next: k.max(start + 1),
            };
        }
    }
    let mut digits = [0u8; MAX_DIGITS];
    let mut nd = 0usize;
    let mut too_long = false;
    // Digit groups: (length, separator before the group).
    let mut groups: [(u8, u8); 12] = [(0, 0); 12];
    let mut ng = 0usize;
    let mut last_digit_end = start;
    let mut sep_run = 0usize;
    let mut spaces = 0usize;
    let mut pending_sep = 0u8;
    while j < n {
        let (b, sep_len) = match sep_at(bytes, j) {
            Some((sep, len)) => (sep, len),
            None => (bytes[j], 1),
        };
        if b.is_ascii_digit() {
            if sep_run > 0 || ng == 0 {
                if ng < groups.len() {
                    groups[ng] = (0, pending_sep);
                    ng += 1;
                } else {
                    too_long = true;
                }
            }
            if ng > 0 {
                groups[ng - 1].0 = groups[ng - 1].0.saturating_add(1);
            }
            if nd < MAX_DIGITS {
                digits[nd] = b;
                nd += 1;
            } else {
                too_long = true;
            }
            sep_run = 0;
            spaces = 0;
            pending_sep = 0;
            last_digit_end = j + 1;
            j += 1;
        } else if is_sep(b) {
            if sep_run == 0 || (pending_sep == b' ' && b != b' ') {
                pending_sep = b;
            }
            sep_run += 1;
            if b == b' ' {
                spaces += 1;
            }
            if sep_run > 3 || (spaces > 1 && pending_sep == b' ') {
                break;
            }
            // "(0)" inside an international number is a trunk prefix, not a digit.
            if plus
                && b == b'('
                && bytes.get(j + 1) == Some(&b'0')
                && bytes.get(j + 2) == Some(&b')')
            {
                j += 3;
                continue;
            }
            j += sep_len;
        } else {
            break;
        }
    }
    let end = last_digit_end;
    let next = end.max(start + 1);
    let miss = Scanned { found: None, next };
    if nd == 0 || too_long || nd < 7 {
        return miss;
    }
    let digits = &digits[..nd];
    let groups = &groups[..ng];
    // Right boundary: not glued to a word, a decimal, a time or a percentage.
    if let Some(&b) = bytes.get(end)
        && unicode_space_len(bytes, end) == 0
    {
        let after = bytes.get(end + 1).copied().unwrap_or(b' ');
        if word_after(bytes, end)
            || (matches!(b, b'-' | b'.' | b'/' | b',' | b':') && after.is_ascii_digit())
            || (matches!(b, b'-' | b'/' | b'_') && is_word_byte(after))
            || b == b'%'
        {
            return miss;
        }
    }
    // Extension: "ext. 123", "x123", "#123".
    let mut span_end = end;
    if let Some(ext_end) = extension_end(bytes, end) {
        span_end = ext_end;
    }
    let separators_used = ng > 1;
    let intl = plus || (digits.starts_with(b"00") && separators_used);
    if !intl && looks_like_non_phone(bytes, start, end, digits, groups) {
        return miss;
    }
    // Cheap hint checks first; the context look-behind only when it can matter.
    if hint == PhoneHint::NotPhone && !plus {
        return miss;
    }
    if hint != PhoneHint::Phone {
        let ctx = context_before(bytes, start);
        let bare = !plus && !separators_used;
        // A bare run of digits is an identifier unless something says phone.
        if ctx == Context::NotPhone || (bare && ctx != Context::Phone) {
            return miss;
        }
    }
    // Digits are ASCII by construction.
    let Ok(digits) = std::str::from_utf8(digits) else {
        return miss;
    };
    let valid = if plus {
        validate_international(digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        validate_international(rest).or_else(|| validate_national(digits, regions))
    } else if let Some(rest) = digits.strip_prefix("011") {
        validate_national(digits, regions).or_else(|| validate_international(rest))
    } else {
        validate_national(digits, regions)
    };
    match valid {
        Some(valid) => Scanned {
            found: Some(PhoneMatch {
                start,
                end: span_end,
                valid,
            }),
            next: span_end,
        },
        None => miss,
    }
}

/// True when a candidate may start at `start`: not inside a word, a decimal or a code.
fn left_boundary(bytes: &[u8], start: usize) -> bool {
    let Some(&prev) = start.checked_sub(1).and_then(|p| bytes.get(p)) else {
        return true;
    };
    let prev2 = start.checked_sub(2).and_then(|p| bytes.get(p)).copied();
    if prev == 0xA0 && prev2 == Some(0xC2) {
        return true; // no-break space
    }
    if prev >= 0x80 {
        return !glues_before(bytes, start);
    }
    if is_word_byte(prev) {
        // A JSON escape such as "\n" right before the number is not a word.
        return prev2 == Some(b'\\') && matches!(prev, b'n' | b'r' | b't');
    }
    // An RFC 3966 URI: "tel:+1-415-555-2671", "callto:", "sms:".
    if prev == b':' && start >= 4 && bytes[start - 2].is_ascii_alphabetic() {
        let scheme = &bytes[..start - 1];
        let is = |s: &[u8]| {
            scheme.len() >= s.len()
                && scheme[scheme.len() - s.len()..].eq_ignore_ascii_case(s)
                && (scheme.len() == s.len() || {
                    // "电话tel:+44…": a glued CJK word is no part of the scheme.
                    let b = scheme[scheme.len() - s.len() - 1];
                    !(b.is_ascii_alphanumeric() || b == b'_')
                })
        };
        if is(b"tel") || is(b"callto") || is(b"sms") || is(b"fax") || is(b"phone") {
            return true;
        }
    }
    if matches!(prev, b'-' | b'.' | b'/' | b',' | b'+' | b':' | b'_') {
        return !prev2.is_some_and(is_word_byte);
    }
    !matches!(prev, b'$' | b'=' | b'%' | b'&')
}

/// End of an extension written right after a number, if any.
fn extension_end(bytes: &[u8], end: usize) -> Option<usize> {
    let mut j = end;
    while bytes.get(j) == Some(&b' ') && j < end + 2 {
        j += 1;
    }
    let rest = bytes.get(j..)?;
    let lower = |k: usize| rest.get(k).map(|b| b.to_ascii_lowercase());
    let mut k = if rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b";ext=") {
        5
    } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"extension") {
        9
    } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"ext") {
        3
    } else if lower(0) == Some(b'x') || lower(0) == Some(b'#') {
        1
    } else {
        return None;
    };
    while matches!(rest.get(k), Some(b'.' | b':' | b' ')) && k < 12 {
        k += 1;
    }
    let d0 = k;
    while rest.get(k).is_some_and(u8::is_ascii_digit) && k - d0 < 7 {
        k += 1;
    }
    if k == d0 || rest.get(k).is_some_and(|b| is_word_byte(*b)) {
        return None;
    }
    Some(j + k)
}

/// Shape checks: dates, IPs, versions, card numbers, SSNs, ZIP+4, ISBNs.
fn looks_like_non_phone(
    bytes: &[u8],
    start: usize,
    end: usize,
    digits: &[u8],
    groups: &[(u8, u8)],
) -> bool {
    let mut lens_buf = [0u8; 12];
    let mut seps_buf = [0u8; 12];
    for (i, g) in groups.iter().enumerate().take(12) {
        lens_buf[i] = g.0;
        seps_buf[i] = g.1;
    }
    let lens = &lens_buf[..groups.len().min(12)];
    let seps = if lens.is_empty() {
        &seps_buf[..0]
    } else {
        &seps_buf[1..lens.len()]
    };
    let all_sep = |s: u8| !seps.is_empty() && seps.iter().all(|&x| x == s);
    let num = |from: usize, len: usize| -> u32 {
        digits
            .get(from..from + len)
            .map(|d| d.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0')))
            .unwrap_or(0)
    };
    // Dates: 2024-05-12, 12.05.2024, 12/05/2024, and "2024-05-12 10" (date then hour).
    if lens.len() >= 3 {
        let (a, b, c) = (lens[0], lens[1], lens[2]);
        let date_sep = seps
            .first()
            .is_some_and(|s| matches!(s, b'-' | b'.' | b'/'))
            && seps.first() == seps.get(1);
        if date_sep {
            if a == 4 && b <= 2 && c <= 2 {
                let y = num(0, 4);
                if (1900..=2100).contains(&y) {
                    return true;
                }
            }
            if a <= 2 && b <= 2 && c == 4 {
                return true;
            }
            if a <= 2 && b <= 2 && c == 2 && lens.len() == 3 {
                return true;
            }
        }
    }
    // IP addresses and dotted versions: groups of 1–3 digits joined by dots.
    if all_sep(b'.') && lens.contains(&1) {
        return true;
    }
    if all_sep(b'.') && lens.len() == 4 && lens.iter().all(|&l| l <= 3) {
        // An IPv4 address has octets ≤ 255; "612.37.58.70" is a Spanish mobile.
        let mut at = 0;
        let octets_ok = lens.iter().all(|&l| {
            let v = num(at, usize::from(l));
            at += usize::from(l);
            v <= 255
        });
        if octets_ok {
            return true;
        }
    }
    // Card-like: 13+ digits in groups of four, or Luhn-valid long runs.
    if digits.len() >= 13 && (lens.iter().all(|&l| l == 4) || luhn(digits)) {
        return true;
    }
    // US SSN 123-45-6789, ZIP+4 94105-1234 and Brazilian CEP 01310-100.
    if all_sep(b'-') && (lens == [3, 2, 4] || lens == [5, 4] || lens == [5, 3]) {
        return true;
    }
    // Amounts: "48213.44", "1,234,567.89", "12.345.678,90".
    // (A dotted French number "06.12.34.56.78" uses one separator throughout.)
    let last_sep = seps.last().copied();
    if matches!(last_sep, Some(b'.' | b','))
        && lens.last().is_some_and(|&l| l == 2)
        && (lens.len() == 2 || seps[..seps.len() - 1].iter().any(|&x| Some(x) != last_sep))
    {
        return true;
    }
    // Compact dates: 20250302 (YYYYMMDD).
    if lens.len() == 1 && digits.len() == 8 {
        let (y, m, d) = (num(0, 4), num(4, 2), num(6, 2));
        if (1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) {
            return true;
        }
    }
    // After a currency sign: "€ 1 234 567", "R$ 4155552671".
    let before = &bytes[..start];
    let trimmed = before.trim_ascii_end();
    if trimmed.ends_with(b"$")
        || trimmed.ends_with("€".as_bytes())
        || trimmed.ends_with("£".as_bytes())
        || trimmed.ends_with("¥".as_bytes())
        || trimmed.ends_with("₹".as_bytes())
    {
        return true;
    }
    // ISBN-13.
    if digits.len() == 13 && (digits.starts_with(b"978") || digits.starts_with(b"979")) {
        return true;
    }
    // Years ranges "2019-2024", times "1030-1130".
    if lens == [4, 4] && all_sep(b'-') {
        return true;
    }
    // Preceded by a version marker: v1.2.3, build 10.0.19041.
    if start > 0 && matches!(bytes[start - 1], b'v' | b'V') {
        return true;
    }
    let _ = end;
    false
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Context {
    None,
    Phone,
    NotPhone,
}

const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "cellphone",
    "fax",
    "call",
    "ph",
    "whatsapp",
    "sms",
    "text",
    "dial",
    "ring",
    "reach",
    "contact",
    "tlf",
    "telefon",
    "telefono",
    "teléfono",
    "téléphone",
    "telefone",
    "handy",
    "móvil",
    "movil",
    "portable",
    "celular",
    "cellulare",
    "numero",
    "número",
    "nummer",
    "landline",
    "hotline",
    "direct",
    "office",
    "home",
    "work",
    "m",
    "t",
    "f",
    "p",
    "tel.",
    "on",
    "at",
];

const NOT_PHONE_WORDS: &[&str] = &[
    "order",
    "orders",
    "invoice",
    "inv",
    "po",
    "p.o",
    "isbn",
    "issn",
    "ref",
    "reference",
    "id",
    "ticket",
    "case",
    "account",
    "acct",
    "sku",
    "serial",
    "tracking",
    "transaction",
    "txn",
    "iban",
    "vat",
    "tax",
    "zip",
    "postal",
    "postcode",
    "ssn",
    "card",
    "policy",
    "claim",
    "batch",
    "lot",
    "part",
    "item",
    "model",
    "version",
    "build",
    "ip",
    "port",
    "amount",
    "total",
    "usd",
    "eur",
    "gbp",
    "inr",
    "chf",
    "jpy",
    "cny",
    "rmb",
    "brl",
    "sek",
    "nok",
    "dkk",
    "pln",
    "aud",
    "cad",
    "rub",
    "zar",
    "mxn",
    "huf",
    "czk",
    "weight",
    "refund",
    "over",
    "qty",
    "quantity",
    "receipt",
    "booking",
    "confirmation",
    "reservation",
    "shipment",
    "parcel",
    "awb",
    "product",
    "customer",
    "member",
    "employee",
    "badge",
    "license",
    "licence",
    "passport",
    "patent",
    "doi",
    "pmid",
    "isin",
    "cusip",
    "lei",
    "ein",
    "tin",
    "routing",
    "swift",
    "bic",
    "sort",
    "contract",
    "project",
    "rma",
    "job",
    "run",
    "request",
    "req",
    "ver",
    "release",
    "rev",
    "revision",
    "uuid",
    "guid",
    "hash",
    "checksum",
    "code",
    "pin",
    "otp",
    "price",
    "cost",
    "balance",
    "salary",
    "revenue",
    "between",
    "year",
    "years",
    "since",
    "until",
    "page",
    "pages",
    "pp",
];

#[derive(Clone, Copy)]
enum WordRole {
    Phone,
    NotPhone,
    Transparent,
}

/// The cue words before a number, in one table (checked nearest word first).
static CONTEXT_WORDS: LazyLock<HashMap<&'static [u8], WordRole, crate::Fnv>> =
    LazyLock::new(|| {
        let mut map: HashMap<&'static [u8], WordRole, crate::Fnv> = HashMap::default();
        for (list, role) in [
            (TRANSPARENT_WORDS, WordRole::Transparent),
            (NOT_PHONE_WORDS, WordRole::NotPhone),
            (PHONE_WORDS, WordRole::Phone),
        ] {
            for w in list {
                map.insert(w.as_bytes(), role);
            }
        }
        map
    });

/// Words that neither confirm nor refute: "order number …", "phone no. …".
const TRANSPARENT_WORDS: &[&str] = &["number", "no", "nr", "num", "nº", "n", "is", "me", "us"];

/// Looks at up to four words before the candidate and reports the nearest cue.
fn context_before(bytes: &[u8], start: usize) -> Context {
    let lo = start.saturating_sub(48);
    let window = &bytes[lo..start];
    let mut end = window.len();
    let mut words = 0;
    let mut hash = false;
    while end > 0 && words < 4 {
        // Skip separators; a '#' before the number marks an identifier unless a phone word follows.
        while end > 0 && !window[end - 1].is_ascii_alphanumeric() && window[end - 1] < 0x80 {
            let b = window[end - 1];
            if b == b'#' {
                hash = true;
            }
            if matches!(b, b'\n' | b'"' | b'|' | b';' | b'{' | b'[' | b',') {
                end = 0;
                break;
            }
            end -= 1;
        }
        let mut s = end;
        while s > 0 && (window[s - 1].is_ascii_alphanumeric() || window[s - 1] >= 0x80) {
            s -= 1;
        }
        if s == end {
            break;
        }
        let word = &window[s..end];
        if word.len() <= 16 && !word.iter().all(u8::is_ascii_digit) {
            let mut buf = [0u8; 16];
            for (d, c) in buf.iter_mut().zip(word) {
                *d = c.to_ascii_lowercase();
            }
            let lw = &buf[..word.len()];
            match CONTEXT_WORDS.get(lw) {
                Some(WordRole::Phone) => return Context::Phone,
                Some(WordRole::NotPhone) => return Context::NotPhone,
                Some(WordRole::Transparent) => {}
                None => break,
            }
        }
        end = s;
        words += 1;
    }
    if hash {
        Context::NotPhone
    } else {
        Context::None
    }
}

/// Validates a whole JSON number or string under a phone key (bare digits allowed).
pub(crate) fn validate_bare(digits: &str, regions: &Regions) -> Option<Validated> {
    if digits.len() < 7 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    validate_national(digits, regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_regions() -> Regions {
        let mut regions = Regions::default();
        for r in ["US", "GB", "DE", "FR", "ES", "IT", "IN", "CA", "AU", "BR"] {
            assert!(regions.push(r), "{r} is unknown");
        }
        regions
    }

    fn find(text: &str) -> Option<String> {
        let regions = default_regions();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_digit() || b == b'+' || b == b'(' {
                let s = scan_at(bytes, i, &regions, PhoneHint::None);
                if let Some(m) = s.found {
                    return Some(m.valid.e164);
                }
                i = s.next;
            } else {
                i += 1;
            }
        }
        None
    }

    #[test]
    fn all_default_regions_are_known() {
        assert_eq!(default_regions().rules().len(), 10);
    }

    #[test]
    fn international_and_national_formats_validate_to_e164() {
        assert_eq!(
            find("call +1 415 555 2671").as_deref(),
            Some("+14155552671")
        );
        assert_eq!(find("(415) 555-2671").as_deref(), Some("+14155552671"));
        assert_eq!(find("020 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(
            find("+44 (0)20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(find("0044 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(find("+33 6 12 34 56 78").as_deref(), Some("+33612345678"));
        assert_eq!(find("+49 30 12345678").as_deref(), Some("+493012345678"));
        assert_eq!(find("+91 98765 43210").as_deref(), Some("+919876543210"));
        assert_eq!(find("+55 11 91234-5678").as_deref(), Some("+5511912345678"));
    }

    #[test]
    fn iso_dates_are_not_phones() {
        assert_eq!(find("due 2024-05-12 10:30"), None);
        assert_eq!(find("on 12.05.2024"), None);
        assert_eq!(find("12/05/2024"), None);
    }

    #[test]
    fn ip_addresses_and_versions_are_not_phones() {
        assert_eq!(find("host 192.168.100.200"), None);
        assert_eq!(find("v10.0.19041.1"), None);
        assert_eq!(find("version 4.17.21"), None);
    }

    #[test]
    fn tel_uris_unicode_spaces_and_uri_extensions_are_phones() {
        assert_eq!(
            find("<a href=\"tel:+1-415-555-2671\">").as_deref(),
            Some("+14155552671")
        );
        assert_eq!(find("TEL:020-7946-0958").as_deref(), Some("+442079460958"));
        assert_eq!(
            find("+44\u{a0}20\u{a0}7946\u{a0}0958 today").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            find("+33\u{202f}6\u{202f}12\u{202f}34\u{202f}56\u{202f}78").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            find("+49\u{2009}30\u{2009}12345678").as_deref(),
            Some("+493012345678")
        );
        let regions = default_regions();
        let text = "tel:+1-415-555-2671;ext=42";
        let s = scan_at(text.as_bytes(), 4, &regions, PhoneHint::None);
        assert_eq!(s.found.map(|m| m.end), Some(text.len()));
        // "hotel:" is not a scheme.
        assert_eq!(find("hotel:4155552671"), None);
    }

    #[test]
    fn amounts_compact_dates_and_postal_codes_are_not_phones() {
        assert_eq!(find("refund of CHF 48213.44 today"), None);
        assert_eq!(find("total 1,234,567.89"), None);
        assert_eq!(find("Summe 12.345.678,90"), None);
        assert_eq!(find("ships on 20250302"), None);
        assert_eq!(find("due on 20240720."), None);
        assert_eq!(find("CEP 42526-208 De Rijp"), None);
        assert_eq!(find("paid R$ 4155552671"), None);
        // One separator throughout is a phone, not an amount.
        assert!(find("tel 06.12.34.56.78").is_some());
    }

    #[test]
    fn numbers_inside_cjk_text_and_fullwidth_punctuation_are_found() {
        assert_eq!(
            find("请联系王伟，电话+33 1 23 45 67 89，邮箱").as_deref(),
            Some("+33123456789")
        );
        assert_eq!(
            find("電話がありました（+81-3-1234-5678）。").as_deref(),
            Some("+81312345678")
        );
        assert_eq!(
            find("电话tel:+353-85-012-6315，邮箱").as_deref(),
            Some("+353850126315")
        );
        // Dotted groups above 255 are no IPv4 address.
        assert!(find("phone 612.37.58.70").is_some());
        // A letter of a spaced script still glues: "ab4155552671".
        assert_eq!(find("№ab+4155552671"), None);
    }

    #[test]
    fn order_numbers_and_cards_are_not_phones() {
        assert_eq!(find("Order #415-555-2671"), None);
        assert_eq!(find("invoice 415 555 2671"), None);
        assert_eq!(find("4111 1111 1111 1111"), None);
        assert_eq!(find("ISBN 978-3-16-148410-0"), None);
        assert_eq!(find("4155552671"), None);
    }

    #[test]
    fn fast_validation_agrees_with_phonenumber_crate() {
        let samples = [
            ("4155552671", "US"),
            ("2025550143", "US"),
            ("02079460958", "GB"),
            ("07700900123", "GB"),
            ("03012345678", "DE"),
            ("0612345678", "FR"),
            ("612345678", "ES"),
            ("0212345678", "IT"),
            ("09876543210", "IN"),
            ("0412345678", "AU"),
            ("11912345678", "BR"),
            ("6135550123", "CA"),
            ("1234567", "US"),
            ("5550143", "US"),
            ("0000000000", "GB"),
        ];
        for (digits, r) in samples {
            let mut one = Regions::default();
            assert!(one.push(r), "region {r} missing");
            let ours = validate_national(digits, &one).map(|v| v.e164);
            let id: Result<phonenumber::country::Id, _> = r.parse();
            let theirs = id
                .ok()
                .and_then(|id| phonenumber::parse(Some(id), digits).ok())
                .filter(phonenumber::is_valid)
                .map(|p| p.format().mode(phonenumber::Mode::E164).to_string());
            assert_eq!(ours, theirs, "{digits} in {r}");
        }
    }

    #[test]
    fn known_regions_are_the_regions_the_metadata_has_rules_for() {
        let db: &'static phonenumber::metadata::Database = &DATABASE;
        // As `region` resolved an id before: the metadata's entry for the id, then that
        // calling code's rules ("001" has several codes; the metadata names one).
        let mut expected: Vec<(&'static str, u16)> = (0..MAX_CODE as u16)
            .flat_map(|code| rules_for_code(code).iter().map(|r| r.id))
            .filter_map(|id| Some((id, db.by_id(id)?.country_code())))
            .filter(|&(id, code)| region(id, code).is_some())
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let listed: String = expected
            .iter()
            .map(|(id, code)| format!("(\"{id}\", {code}), "))
            .collect();
        assert_eq!(
            KNOWN_REGIONS,
            expected.as_slice(),
            "KNOWN_REGIONS should be: {listed}"
        );
        // Every listed region resolves to its own rules, and nothing else does.
        for &(id, code) in KNOWN_REGIONS {
            assert_eq!(db.by_id(id).map(|m| m.country_code()), Some(code), "{id}");
            assert!(region(id, code).is_some(), "{id}");
        }
        let mut regions = Regions::default();
        assert!(!regions.push("XX") && !regions.push("us") && !regions.push(""));
        assert!(regions.is_empty());
    }

    #[test]
    fn region_rules_are_compiled_only_when_a_number_needs_validation() {
        let regions = default_regions();
        assert!(!regions.compiled());
        // Not phone-shaped: rejected before validation.
        assert!(scan_at(b"v2", 1, &regions, PhoneHint::None).found.is_none());
        assert!(
            scan_at(b"2025-05-12", 0, &regions, PhoneHint::None)
                .found
                .is_none()
        );
        assert!(!regions.compiled());
        assert!(
            scan_at(b"(415) 555-2671", 0, &regions, PhoneHint::None)
                .found
                .is_some()
        );
        assert!(regions.compiled());
    }
}
