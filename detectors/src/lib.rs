//! PII detection for Sluice: emails, phone numbers, person names and custom
//! kinds, in plain text and in JSON. Pure: no I/O, no global mutable state,
//! and no panics on any input.
//!
//! # Usage
//! ```
//! use detectors::{CustomKind, Detectors, Kind};
//!
//! let det = Detectors::builder()
//!     .regions(["US", "GB", "DE"])
//!     .custom(CustomKind::regex("EMPLOYEE_ID", r"\bEMP-\d{6}\b"))
//!     .build()?;
//! let text = "Ask Maria Gonzalez (maria@acme.com, +1 415 555 2671) about EMP-004211.";
//! let findings = det.find(text);
//! let kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
//! assert_eq!(kinds, ["NAME", "EMAIL", "PHONE", "EMPLOYEE_ID"]);
//!
//! // Swap values for placeholders, as the broker does at ingress.
//! let mut n = 0;
//! let redacted = det.redact(text, |f| { n += 1; format!("[{}_{n}]", f.kind.as_str()) });
//! assert_eq!(redacted, "Ask [NAME_1] ([EMAIL_2], [PHONE_3]) about [EMPLOYEE_ID_4].");
//!
//! // JSON keeps its structure; person-ish keys make their values names.
//! let value = serde_json::json!({"owner": "Zhou Xiaoming", "city": "Paris", "tel": "020 7946 0958"});
//! let out = det.redact_json(&value, |f| format!("[{}]", f.kind.as_str()));
//! assert_eq!(out, serde_json::json!({"owner": "[NAME]", "city": "Paris", "tel": "[PHONE]"}));
//! # Ok::<(), detectors::Error>(())
//! ```
//!
//! # Design
//! **One pass per string.** A 256-entry byte-class table drives a single
//! scanner loop over each string. Bytes that cannot start anything (most
//! lowercase letters, spaces, punctuation) cost one table lookup. The
//! interesting bytes dispatch to anchored detectors that look only at their
//! neighbourhood and tell the loop where to resume:
//! - `@` (and `\u0040`, `%40`, `[at]`) → the email detector walks back over
//!   the local part and forward over the domain;
//! - a digit, `+` or `(` at a word boundary → the phone detector reads one
//!   phone-shaped run, applies shape and context filters, and validates it;
//! - an upper-case letter at a word boundary → the name detector reads the run
//!   of capitalized words and looks each token up in one hash map holding the
//!   whole dictionary and rule vocabulary;
//! - a letter of another script (Cyrillic, Greek, Arabic, Hebrew, Indic, CJK,
//!   Hangul, Thai) at a word or script boundary → the foreign-script name rules;
//! - `:` or `=` after a person label (`name=…`, `owner: …`) → the labelled-value
//!   rule for values the run rules cannot see (lowercase names, `key=value`).
//!
//! Custom kinds and the optional IBAN, CARD and SECRET kinds are the
//! exception: they run as extra passes (one combined regex for custom regexes
//! and SECRET, one automaton for word lists, two anchored scanners for IBAN and
//! CARD), and only when enabled.
//!
//! **Overlaps are resolved deterministically.** Findings are sorted by
//! position; of two overlapping findings an EMAIL beats a NAME or PHONE inside
//! it (`maria.gonzalez@…`), otherwise the longer wins, and on equal length
//! EMAIL beats SECRET, IBAN and CARD, which beat custom kinds, which beat
//! PHONE, which beats NAME.
//!
//! **Phones** are validated against libphonenumber metadata taken from the
//! `phonenumber` crate, compiled once per calling code into anchored regexes
//! (see the `phone` module for why we do not call `phonenumber::parse` per
//! candidate). National numbers are tried against the configured regions in
//! order; the first region that validates decides the E.164 form. A number
//! written with `+` or `00` is validated for whichever country its calling
//! code names, whatever the configured regions. **Default regions**:
//! [`DEFAULT_REGIONS`] (US, GB, DE, FR, ES, IT, IN, CA, AU, BR); set others
//! with [`DetectorsBuilder::regions`] (the broker's `[detectors] regions`).
//! `tel:`/`callto:`/`sms:` URIs, extensions (`ext. 12`, `x12`, `;ext=12`) and
//! no-break, thin and narrow no-break spaces inside a number are read as
//! written. Shape filters reject dates (also compact `20250302`), times, IPs,
//! versions, amounts (`48213.44`, `1,234.56`), card numbers, SSNs, ZIP+4 and
//! CEP codes and ISBNs; the words before a number (`order`, `invoice`, `#`,
//! `ISBN`, a currency versus `tel`, `call`, `mobile`) decide ambiguous runs; a
//! bare digit run with no separators counts only with a phone cue or a
//! phone-ish JSON key.
//!
//! **Names** use a bundled dictionary (US Census 1990 and Brazilian 2010
//! Census name statistics plus per-locale lists; see `data/README.md`) and
//! rules over structure: capitalization, adjacency, titles, cue words in
//! several languages ("Dear", "Hallo", "Привет", sign-offs), "Surname, Given",
//! middle initials, honorifics (さん, 님), what follows a name (an address in
//! brackets, "… says", "… is out"), possessives, and changes of script; see
//! the `name` module for the rules and their known blind spots. Firm names
//! ("Arnold, Moore and Harrison"), legal forms (GmbH, S.p.A., PartG mbB),
//! street names and heading words are not names. In JSON, a string under a
//! person-ish key (`name`, `owner`, `assignee`, `*_by`, `Имя`, `姓名`,
//! `nazwisko`, …) is a NAME even when no dictionary knows it, unless it is
//! obviously not a person (empty, numeric, an email, a URL, a company with a
//! legal form, a header label such as "From"). Company-ish and place-ish keys
//! (`company`, `city`, `status`) suppress NAME findings in their values.
//!
//! **Field hints.** A caller that knows more about a document — a tool's
//! `outputSchema`, an operator's `leads[].owner = "NAME"` — passes a
//! [`FieldHints`] to [`Detectors::find_json_with`],
//! [`Detectors::redact_json_with`] or [`Detectors::redact_json_in_place_with`].
//!
//! **Optional kinds** (off by default): IBAN (mod-97), CARD (Luhn and an
//! issuer prefix) and SECRET (well-known token formats, random-looking values
//! after a credential cue or under a credential key, optionally any
//! high-entropy token); [`Kind::group`] names their policy group (`financial`,
//! `secret`).
//!
//! **JSON** is walked iteratively (no recursion), so depth is bounded only by
//! memory. Object keys are scanned too, as plain text.
//!
//! **Cost model.** No allocation happens for a string in which nothing is
//! found. Each finding costs two small `String`s (and, in JSON, its path). The
//! name dictionary and the per-country phone rules are built once per process
//! on first use, not by [`DetectorsBuilder::build`]: the dictionary on the
//! first capitalized word a name rule looks up, the phone rules (libphonenumber
//! metadata, then two regexes per region) on the first phone-shaped run that
//! needs validating. A short-lived process such as a one-shot `sluice exec`
//! whose output holds no such text pays for neither; see
//! [`Detectors::name_dictionary_built`] and `docs/BENCHMARKS.md`. In JSON, key classes are memoized per call (tool results repeat
//! the same keys in every row) and paths are rendered incrementally.
//! [`Detectors::redact_json`] must copy every string of its input to build
//! the new value; [`Detectors::redact_json_in_place`] touches only the
//! strings that hold findings and is about twice as fast.
//!
//! Measured with `cargo bench -p detectors` on CRM-like records (see
//! `benches/throughput.rs` and `docs/BENCHMARKS.md`): the structural name
//! rules cost about a fifth more instructions per byte than the dictionary
//! rules alone (107 versus 88 million per 2 MB of records, counted with
//! callgrind); dense rows with four PII values per 370 bytes are slower.
//!
//! # What this crate does not do
//! It finds what looks like PII; it does not decide what may flow where (the
//! broker's Cedar policies do) and it does not store values (the vault does).

#![deny(missing_docs)]

mod checked;
mod columns;
mod custom;
mod email;
mod error;
mod fields;
mod json;
mod name;
mod phone;
mod secret;

use std::borrow::Cow;
use std::fmt;

pub use crate::custom::CustomKind;
pub use crate::error::Error;
pub use crate::fields::FieldHints;
pub use crate::json::JsonFinding;

use crate::name::NameHint;
use crate::phone::PhoneHint;

/// The kind of a finding.
///
/// EMAIL, PHONE and NAME are on by default; IBAN, CARD and SECRET are
/// optional built-in kinds (off by default, see [`DetectorsBuilder::ibans`],
/// [`DetectorsBuilder::cards`] and [`DetectorsBuilder::secrets`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// An email address.
    Email,
    /// A phone number valid in one of the configured regions (or written with `+`).
    Phone,
    /// A person's name.
    Name,
    /// A custom kind from configuration, by its UPPER_SNAKE name.
    Custom(String),
    /// An IBAN whose mod-97 check digits hold.
    Iban,
    /// A payment-card number with a major-network issuer prefix that passes the Luhn check.
    Card,
    /// An API key, access token, password or private key.
    Secret,
}

impl Kind {
    /// The kind's name: "EMAIL", "PHONE", "NAME", "IBAN", "CARD", "SECRET" or the custom name.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Name => "NAME",
            Kind::Iban => "IBAN",
            Kind::Card => "CARD",
            Kind::Secret => "SECRET",
            Kind::Custom(name) => name,
        }
    }

    /// The built-in kind with this name (`"NAME"` → [`Kind::Name`]); any other
    /// UPPER_SNAKE name is a [`Kind::Custom`].
    pub fn from_name(name: &str) -> Kind {
        match name {
            "EMAIL" => Kind::Email,
            "PHONE" => Kind::Phone,
            "NAME" => Kind::Name,
            "IBAN" => Kind::Iban,
            "CARD" => Kind::Card,
            "SECRET" => Kind::Secret,
            other => Kind::Custom(other.to_string()),
        }
    }

    /// The policy group a built-in kind belongs to: `contact_info` (EMAIL,
    /// PHONE, NAME), `financial` (IBAN, CARD) or `secret` (SECRET); custom
    /// kinds get theirs from configuration.
    pub fn group(&self) -> Option<&'static str> {
        match self {
            Kind::Email | Kind::Phone | Kind::Name => Some("contact_info"),
            Kind::Iban | Kind::Card => Some("financial"),
            Kind::Secret => Some("secret"),
            Kind::Custom(_) => None,
        }
    }

    /// Tie-break priority when two findings of equal length overlap (higher wins).
    fn priority(&self) -> u8 {
        match self {
            Kind::Email => 4,
            Kind::Secret | Kind::Iban | Kind::Card => 3,
            Kind::Custom(_) => 2,
            Kind::Phone => 1,
            Kind::Name => 0,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected value in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Byte offset where the match starts in the scanned string.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
    /// What was found.
    pub kind: Kind,
    /// The matched text exactly as it appears in the input.
    pub text: String,
    /// The canonical value: EMAIL with a lower-cased domain, PHONE in E.164,
    /// NAME and custom kinds trimmed.
    pub normalized: String,
    /// For PHONE, the ISO 3166-1 region the number belongs to (e.g. "US").
    pub region: Option<&'static str>,
}

impl Finding {
    /// A finding of `kind` whose canonical value is its text as written (NAME, custom
    /// kinds, whole-value field hints), starting at byte `start`.
    pub(crate) fn verbatim(kind: Kind, start: usize, text: &str) -> Finding {
        Finding {
            start,
            end: start + text.len(),
            kind,
            text: text.to_owned(),
            normalized: text.to_owned(),
            region: None,
        }
    }

    /// The byte range of the match.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// NAME findings for the byte spans `spans` of `text` (spans off a char boundary are
/// skipped).
pub(crate) fn push_names(
    text: &str,
    spans: impl IntoIterator<Item = (usize, usize)>,
    out: &mut Vec<Finding>,
) {
    for (s, e) in spans {
        if let Some(t) = text.get(s..e) {
            out.push(Finding::verbatim(Kind::Name, s, t));
        }
    }
}

/// The hints of the plain JSON methods: none.
static NO_HINTS: std::sync::LazyLock<FieldHints> = std::sync::LazyLock::new(FieldHints::new);

/// The regions used when none are configured.
pub const DEFAULT_REGIONS: [&str; 10] =
    ["US", "GB", "DE", "FR", "ES", "IT", "IN", "CA", "AU", "BR"];

/// Configures and builds a [`Detectors`].
#[derive(Clone, Debug)]
pub struct DetectorsBuilder {
    regions: Vec<String>,
    customs: Vec<CustomKind>,
    emails: bool,
    phones: bool,
    names: bool,
    ibans: bool,
    cards: bool,
    secrets: bool,
    secret_prefixes: Vec<String>,
    secret_entropy: Option<f64>,
}

impl Default for DetectorsBuilder {
    fn default() -> Self {
        DetectorsBuilder {
            regions: DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect(),
            customs: Vec::new(),
            emails: true,
            phones: true,
            names: true,
            ibans: false,
            cards: false,
            secrets: false,
            secret_prefixes: Vec::new(),
            secret_entropy: None,
        }
    }
}

impl DetectorsBuilder {
    /// Sets the regions (ISO 3166-1 alpha-2, e.g. "US") for national phone formats, in priority order.
    pub fn regions<I, S>(mut self, regions: I) -> DetectorsBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.regions = regions
            .into_iter()
            .map(|r| r.as_ref().to_string())
            .collect();
        self
    }

    /// Adds a custom kind (a regex or a word list).
    pub fn custom(mut self, kind: CustomKind) -> DetectorsBuilder {
        self.customs.push(kind);
        self
    }

    /// Enables or disables EMAIL detection (default: on).
    pub fn emails(mut self, yes: bool) -> DetectorsBuilder {
        self.emails = yes;
        self
    }

    /// Enables or disables PHONE detection (default: on).
    pub fn phones(mut self, yes: bool) -> DetectorsBuilder {
        self.phones = yes;
        self
    }

    /// Enables or disables NAME detection (default: on).
    pub fn names(mut self, yes: bool) -> DetectorsBuilder {
        self.names = yes;
        self
    }

    /// Enables or disables IBAN detection (default: off); only mod-97-valid IBANs are reported.
    pub fn ibans(mut self, yes: bool) -> DetectorsBuilder {
        self.ibans = yes;
        self
    }

    /// Enables or disables CARD detection (default: off); only Luhn-valid numbers with an issuer prefix are reported.
    pub fn cards(mut self, yes: bool) -> DetectorsBuilder {
        self.cards = yes;
        self
    }

    /// Enables or disables SECRET detection (default: off): well-known token
    /// formats, and random-looking values after a cue such as `api_key=`.
    pub fn secrets(mut self, yes: bool) -> DetectorsBuilder {
        self.secrets = yes;
        self
    }

    /// Adds token prefixes of your own (e.g. `"acme_live_"`) to the SECRET formats; implies nothing unless SECRET is on.
    pub fn secret_prefixes<I, S>(mut self, prefixes: I) -> DetectorsBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.secret_prefixes
            .extend(prefixes.into_iter().map(|p| p.as_ref().to_string()));
        self
    }

    /// Also reports any token of 32+ base64-ish characters whose Shannon
    /// entropy reaches `bits_per_char` (e.g. 4.5) without a cue; `None`
    /// (default) turns that off. Hex digests and UUIDs stay below 4.0.
    pub fn secret_entropy(mut self, bits_per_char: Option<f64>) -> DetectorsBuilder {
        self.secret_entropy = bits_per_char;
        self
    }

    /// Validates the configuration and builds the detectors.
    pub fn build(&self) -> Result<Detectors, Error> {
        let mut regions = phone::Regions::default();
        if self.phones {
            for r in &self.regions {
                if !regions.push(r.trim()) {
                    return Err(Error::UnknownRegion { region: r.clone() });
                }
            }
            if regions.is_empty() {
                return Err(Error::NoRegions);
            }
        }
        let customs = custom::Customs::build(&self.customs)?;
        let secrets = if self.secrets {
            Some(secret::Secrets::build(
                &self.secret_prefixes,
                3.0,
                self.secret_entropy,
            )?)
        } else {
            None
        };
        let mut table = [0u8; 256];
        if self.emails {
            table[usize::from(b'@')] = C_AT;
            // The lead byte of the fullwidth at-sign U+FF20.
            table[0xEF] = C_NONASCII;
            table[usize::from(b'\\')] = C_ESCAPE;
            table[usize::from(b'%')] = C_PERCENT;
            table[usize::from(b'[')] = C_OPEN;
            table[usize::from(b'{')] = C_OPEN;
            table[usize::from(b'(')] = C_OPEN;
        }
        if self.phones {
            for b in b'0'..=b'9' {
                table[usize::from(b)] = C_DIGIT;
            }
            table[usize::from(b'+')] = C_DIGIT;
            table[usize::from(b'(')] = if self.emails { C_OPEN } else { C_DIGIT };
        }
        if self.names {
            for b in b'A'..=b'Z' {
                table[usize::from(b)] = C_UPPER;
            }
            for b in 0xC0u8..=0xFF {
                table[usize::from(b)] = C_NONASCII;
            }
            table[usize::from(b':')] = C_LABEL;
            table[usize::from(b'=')] = C_LABEL;
        }
        Ok(Detectors {
            regions,
            customs,
            table,
            emails: self.emails,
            phones: self.phones,
            names: self.names,
            ibans: self.ibans,
            cards: self.cards,
            secrets,
        })
    }
}

/// A small fast hash (FNV-1a / FxHash mix) for the crate's small fixed lookup tables and per-call memo maps:
/// keys are short words, so a simple fast hash beats SipHash. Tables are
/// fixed or size-capped, so adversarial keys cost only extra probes.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

pub(crate) struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes at a time (FxHash-style mixing), then the tail byte-wise.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

// Byte classes of the scanner loop.
const C_AT: u8 = 1;
const C_ESCAPE: u8 = 2;
const C_PERCENT: u8 = 3;
const C_OPEN: u8 = 4;
const C_DIGIT: u8 = 5;
const C_UPPER: u8 = 6;
const C_NONASCII: u8 = 7;
const C_LABEL: u8 = 8;

/// Hints from the JSON key a string sits under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hint {
    pub(crate) name: NameHint,
    pub(crate) phone: PhoneHint,
}

impl Hint {
    pub(crate) const NONE: Hint = Hint {
        name: NameHint::None,
        phone: PhoneHint::None,
    };
}

/// A configured set of detectors; cheap to share across threads (`Send + Sync`).
#[derive(Debug)]
pub struct Detectors {
    regions: phone::Regions,
    customs: custom::Customs,
    table: [u8; 256],
    emails: bool,
    phones: bool,
    names: bool,
    ibans: bool,
    cards: bool,
    secrets: Option<secret::Secrets>,
}

impl fmt::Debug for phone::Regions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors::new()
    }
}

impl Detectors {
    /// A builder with the defaults: all kinds on, [`DEFAULT_REGIONS`], no custom kinds.
    pub fn builder() -> DetectorsBuilder {
        DetectorsBuilder::default()
    }

    /// Detectors with the default configuration.
    pub fn new() -> Detectors {
        match DetectorsBuilder::default().build() {
            Ok(d) => d,
            // The defaults are known-good regions; this arm only keeps `new` panic-free.
            Err(_) => Detectors {
                regions: phone::Regions::default(),
                customs: custom::Customs::default(),
                table: [0; 256],
                emails: false,
                phones: false,
                names: false,
                ibans: false,
                cards: false,
                secrets: None,
            },
        }
    }

    /// Whether this process has built the name dictionary yet. It is built on the first
    /// dictionary lookup, not with the detectors, so a process that never scans a
    /// capitalized word never pays for it; for diagnostics and for tests of that.
    pub fn name_dictionary_built() -> bool {
        name::dictionary_built()
    }

    /// The configured phone regions, in priority order.
    pub fn regions(&self) -> Vec<&'static str> {
        self.regions.ids().collect()
    }

    /// Finds all PII in `text`, sorted by position, without overlaps.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        self.scan(text, Hint::NONE, &mut out);
        out
    }

    /// Like [`find`](Self::find) but appends to `out`, reusing its allocation.
    pub fn find_into(&self, text: &str, out: &mut Vec<Finding>) {
        self.scan(text, Hint::NONE, out);
    }

    /// Returns `text` with every finding replaced by `replace(finding)`; borrowed when nothing was found.
    pub fn redact<'t, F>(&self, text: &'t str, mut replace: F) -> Cow<'t, str>
    where
        F: FnMut(&Finding) -> String,
    {
        let mut buf = Vec::new();
        self.redact_with(text, Hint::NONE, &mut buf, &mut replace)
    }

    /// Finds all PII in a JSON value, with the path of each string it sits in.
    pub fn find_json(&self, value: &serde_json::Value) -> Vec<JsonFinding> {
        json::find(self, &NO_HINTS, value)
    }

    /// Like [`find_json`](Self::find_json), with per-field kinds from `hints` (a tool's schema or operator config).
    pub fn find_json_with(
        &self,
        value: &serde_json::Value,
        hints: &FieldHints,
    ) -> Vec<JsonFinding> {
        json::find(self, hints, value)
    }

    /// Returns a copy of `value` with every finding in strings (keys too) replaced by `replace(finding)`.
    ///
    /// Works at any depth (no recursion). Note that `serde_json::Value`'s own
    /// `Drop` is recursive: values nested tens of thousands deep must be taken
    /// apart iteratively by their owner (serde_json's parser refuses depth > 128).
    pub fn redact_json<F>(&self, value: &serde_json::Value, mut replace: F) -> serde_json::Value
    where
        F: FnMut(&Finding) -> String,
    {
        json::redact(self, &NO_HINTS, value, &mut replace)
    }

    /// Like [`redact_json`](Self::redact_json), with per-field kinds from `hints`.
    pub fn redact_json_with<F>(
        &self,
        value: &serde_json::Value,
        hints: &FieldHints,
        mut replace: F,
    ) -> serde_json::Value
    where
        F: FnMut(&Finding) -> String,
    {
        json::redact(self, hints, value, &mut replace)
    }

    /// Like [`redact_json`](Self::redact_json) but rewrites `value` in place, copying nothing that is clean (faster; `replace` may be called in a different order).
    pub fn redact_json_in_place<F>(&self, value: &mut serde_json::Value, mut replace: F)
    where
        F: FnMut(&Finding) -> String,
    {
        json::redact_in_place(self, &NO_HINTS, value, &mut replace)
    }

    /// Like [`redact_json_in_place`](Self::redact_json_in_place), with per-field kinds from `hints`.
    pub fn redact_json_in_place_with<F>(
        &self,
        value: &mut serde_json::Value,
        hints: &FieldHints,
        mut replace: F,
    ) where
        F: FnMut(&Finding) -> String,
    {
        json::redact_in_place(self, hints, value, &mut replace)
    }

    pub(crate) fn redact_with<'t>(
        &self,
        text: &'t str,
        hint: Hint,
        buf: &mut Vec<Finding>,
        replace: &mut dyn FnMut(&Finding) -> String,
    ) -> Cow<'t, str> {
        buf.clear();
        self.scan(text, hint, buf);
        replace_spans(text, buf, replace)
    }

    pub(crate) fn phone_bare(&self, digits: &str) -> Option<phone::Validated> {
        if self.phones {
            phone::validate_bare(digits, &self.regions)
        } else {
            None
        }
    }

    pub(crate) fn names_enabled(&self) -> bool {
        self.names
    }

    /// The scanner loop: one pass over `text`, appending findings to `out`.
    pub(crate) fn scan(&self, text: &str, hint: Hint, out: &mut Vec<Finding>) {
        let base = out.len();
        let bytes = text.as_bytes();
        let n = bytes.len();
        let names_on = self.names && hint.name != NameHint::NotPerson;
        let mut i = 0;
        // The first "=" the loop meets (with names on, "=" is a label byte): the DN check
        // below runs only where there is one, without a search of its own.
        let mut first_eq: Option<usize> = None;
        let table = &self.table;
        while i < n {
            // Skip eight uninteresting bytes per step (most of a JSON value is
            // lowercase text, punctuation and spaces); one OR of table entries
            // costs less than eight predictable branches.
            while let Some(chunk) = bytes.get(i..i + 8) {
                let any = chunk
                    .iter()
                    .fold(0u8, |acc, &b| acc | table[usize::from(b)]);
                if any != 0 {
                    // Straight to the chunk's first interesting byte: stepping over the
                    // bytes before it one at a time re-tested the whole chunk at each.
                    i += chunk
                        .iter()
                        .position(|&b| table[usize::from(b)] != 0)
                        .unwrap_or(0);
                    break;
                }
                i += 8;
            }
            let Some(&b) = bytes.get(i) else {
                break;
            };
            let class = table[usize::from(b)];
            if class == 0 {
                i += 1;
                continue;
            }
            match class {
                C_AT => match email::at_sign(text, i, 1) {
                    Some(m) => i = push_email(text, m, out),
                    // "@Darren can you check": a mention names a person.
                    None if names_on && mention_at(text, i) => {
                        i = self.found_name(text, i + 1, name::scan_mention(text, i + 1), out);
                    }
                    None => i += 1,
                },
                C_ESCAPE => {
                    let m = if bytes[i..].starts_with(b"\\u0040") {
                        email::at_sign(text, i, 6)
                    } else {
                        None
                    };
                    match m {
                        Some(m) => i = push_email(text, m, out),
                        None => i += 1,
                    }
                }
                C_PERCENT => {
                    let m = if bytes[i..].starts_with(b"%40") {
                        email::at_sign(text, i, 3)
                    } else {
                        None
                    };
                    match m {
                        Some(m) => i = push_email(text, m, out),
                        None => i += 1,
                    }
                }
                C_OPEN => {
                    if let Some(m) = email::obfuscated(text, i) {
                        i = push_email(text, m, out);
                    } else if bytes[i] == b'(' && self.phones {
                        i = self.phone_at(text, i, hint, out);
                    } else {
                        i += 1;
                    }
                }
                C_DIGIT => {
                    i = match phone::inside_word(bytes, i) {
                        Some(next) => next,
                        None => self.phone_at(text, i, hint, out),
                    }
                }
                C_LABEL => {
                    if b == b'=' && first_eq.is_none() {
                        first_eq = Some(i);
                    }
                    let hit = names_on && name::label_may_start(bytes, i);
                    i = match hit.then(|| name::labelled_value(text, i)).flatten() {
                        Some((s, e)) => self.found_name(text, i, name::Scanned::hit(s, e), out),
                        None => i + 1,
                    }
                }
                C_UPPER => {
                    if names_on && name_boundary(text, i) {
                        i = match name::slash_name_at(text, i) {
                            Some((s, e)) => self.found_name(text, i, name::Scanned::hit(s, e), out),
                            None => self.name_at(text, i, base, out),
                        };
                    } else {
                        i += 1;
                    }
                }
                C_NONASCII if b == 0xEF && bytes[i..].starts_with(email::FULLWIDTH_AT) => {
                    match email::at_sign(text, i, email::FULLWIDTH_AT.len()) {
                        Some(m) if self.emails => i = push_email(text, m, out),
                        _ => i += email::FULLWIDTH_AT.len(),
                    }
                }
                C_NONASCII => {
                    let c = text.get(i..).and_then(|s| s.chars().next());
                    match c {
                        Some(c)
                            if names_on
                                && name::is_foreign_letter(c)
                                && foreign_boundary(text, i, c) =>
                        {
                            i = self.found_name(text, i, name::scan_foreign(text, i), out);
                        }
                        Some(c) if names_on && c.is_uppercase() && name_boundary(text, i) => {
                            i = self.name_at(text, i, base, out);
                        }
                        Some(c) => i += c.len_utf8(),
                        None => i += 1,
                    }
                }
                _ => i += 1,
            }
        }
        // "my name is irina azarova": the one lower-case cue worth a second look.
        // Only in prose-length strings: a substring search per short field (IDs, dates,
        // e-mails) costs more than it finds there.
        if names_on
            && n >= 32
            && let Some((s, e)) = name::lower_name_after_name_is(text)
            && !out[base..].iter().any(|f| f.start < e && s < f.end)
            && let Some(t) = text.get(s..e)
        {
            out.push(Finding::verbatim(Kind::Name, s, t));
        }
        // "cn=Yong Bae,ou=people,dc=example,dc=com": the common name of an LDAP or X.500
        // distinguished name (RFC 4514), when it is shaped like a person's name (hosts,
        // groups and containers — "CN=www.example.com", "CN=Domain Admins" — are not).
        // (A DN has "=" and, after it, ","; a URL's query string has no ",".)
        if names_on
            && n >= 12
            && let Some(eq) = first_eq
            && text.get(eq..).is_some_and(|r| r.contains(','))
        {
            for (s, e) in name::common_names_in_dn(text) {
                if !out[base..].iter().any(|f| f.start < e && s < f.end)
                    && let Some(t) = text.get(s..e)
                {
                    out.push(Finding::verbatim(Kind::Name, s, t));
                }
            }
        }
        // Names beside e-mails, in lists and in tables (`columns.rs`): only where
        // something was found already.
        if names_on && out.len() > base {
            columns::names_in_text(text, base, out);
        }
        // "Lília Calazans: \"hi it's Lília\"", "loop in Shuying Huan … added Shuying": a
        // word of a name found in this text names the same person where it recurs.
        if names_on && out.len() > base {
            let mut spans: Vec<(usize, usize)> = Vec::new();
            name::repeated_mentions(text, &out[base..], &mut spans);
            push_names(text, spans, out);
        }
        if self.ibans || self.cards || self.secrets.is_some() {
            self.scan_optional(text, out);
        }
        if !self.customs.is_empty() {
            let mut spans = Vec::new();
            self.customs.find(text, &mut spans);
            for (s, e, idx) in spans {
                let (Some(matched), Some(name)) = (text.get(s..e), self.customs.names.get(idx))
                else {
                    continue;
                };
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: Kind::Custom(name.clone()),
                    text: matched.to_string(),
                    normalized: matched.trim().to_string(),
                    region: None,
                });
            }
        }
        resolve_overlaps(out, base);
    }

    /// The optional kinds (IBAN, CARD, SECRET): one extra pass each, only when enabled.
    fn scan_optional(&self, text: &str, out: &mut Vec<Finding>) {
        let mut push = |start: usize, end: usize, kind: Kind, normalized: Option<String>| {
            if let Some(matched) = text.get(start..end) {
                out.push(Finding {
                    start,
                    end,
                    kind,
                    text: matched.to_string(),
                    normalized: normalized.unwrap_or_else(|| matched.trim().to_string()),
                    region: None,
                });
            }
        };
        if self.ibans || self.cards {
            let mut found = Vec::new();
            if self.ibans {
                checked::find_ibans(text, &mut found);
                for m in found.drain(..) {
                    push(m.start, m.end, Kind::Iban, Some(m.normalized));
                }
            }
            if self.cards {
                checked::find_cards(text, &mut found);
                for m in found.drain(..) {
                    push(m.start, m.end, Kind::Card, Some(m.normalized));
                }
            }
        }
        if let Some(secrets) = &self.secrets {
            let mut found = Vec::new();
            secrets.find(text, &mut found);
            for m in found {
                push(m.start, m.end, Kind::Secret, None);
            }
        }
    }

    pub(crate) fn secrets(&self) -> Option<&secret::Secrets> {
        self.secrets.as_ref()
    }

    fn phone_at(&self, text: &str, i: usize, hint: Hint, out: &mut Vec<Finding>) -> usize {
        let s = phone::scan_at(text.as_bytes(), i, &self.regions, hint.phone);
        if let Some(m) = s.found
            && let Some(matched) = text.get(m.start..m.end)
        {
            out.push(Finding {
                start: m.start,
                end: m.end,
                kind: Kind::Phone,
                text: matched.to_string(),
                normalized: m.valid.e164,
                region: Some(m.valid.region),
            });
        }
        s.next.max(i + 1)
    }

    /// A name run at `i`; findings of this text start at `out[base]`.
    fn name_at(&self, text: &str, i: usize, base: usize, out: &mut Vec<Finding>) -> usize {
        let scanned = if continues_name_list(text, i, out.get(base..).unwrap_or(&[])) {
            name::scan_listed(text, i)
        } else {
            name::scan_at(text, i)
        };
        self.found_name(text, i, scanned, out)
    }

    fn found_name(&self, text: &str, i: usize, s: name::Scanned, out: &mut Vec<Finding>) -> usize {
        if let Some(m) = s.found
            && let Some(matched) = text.get(m.start..m.end)
        {
            out.push(Finding {
                start: m.start,
                end: m.end,
                kind: Kind::Name,
                text: matched.to_string(),
                normalized: matched.trim().to_string(),
                region: None,
            });
        }
        // Always resume on a char boundary past `i`.
        let mut next = s.next.max(i + 1);
        while next < text.len() && !text.is_char_boundary(next) {
            next += 1;
        }
        next
    }
}

fn push_email(text: &str, m: email::EmailMatch, out: &mut Vec<Finding>) -> usize {
    let end = m.end;
    if let Some(matched) = text.get(m.start..m.end) {
        out.push(Finding {
            start: m.start,
            end: m.end,
            kind: Kind::Email,
            text: matched.to_string(),
            normalized: m.normalized,
            region: None,
        });
    }
    end
}

/// Whether the run at `i` follows a name found just before it in a list
/// ("Ana Souza, Costică Gheorghiu", "Yamazaki, Keiko; Bae, Su", "… and Tess Lokker").
#[inline]
fn continues_name_list(text: &str, i: usize, found: &[Finding]) -> bool {
    let Some(prev) = found.last() else {
        return false;
    };
    if prev.kind != Kind::Name || prev.end > i || i - prev.end > 6 {
        return false;
    }
    matches!(
        text.get(prev.end..i),
        Some(", " | "; " | " and " | ", and " | " und " | " et " | " y " | " e " | " en " | " ↔ ")
    )
}

/// An `@` that starts a mention: at the start or after a space or bracket, an upper-case letter next.
fn mention_at(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    let before_ok = i == 0 || matches!(bytes[i - 1], b' ' | b'\n' | b'(' | b'\t');
    before_ok
        && text
            .get(i + 1..)
            .and_then(|s| s.chars().next())
            .is_some_and(char::is_uppercase)
}

/// A capitalized word may start a name only at a word boundary.
fn name_boundary(text: &str, i: usize) -> bool {
    let Some(prev) = text.get(..i).and_then(|s| s.chars().next_back()) else {
        return true;
    };
    if prev.is_alphanumeric() {
        // "请联系Maria": a change of script is a boundary.
        if !prev.is_ascii() && name::no_space_script(prev) {
            return true;
        }
        // "\nMaria" inside raw JSON text: the 'n' belongs to an escape.
        let b = text.as_bytes();
        return matches!(prev, 'n' | 'r' | 't') && i >= 2 && b[i - 2] == b'\\';
    }
    !matches!(
        prev,
        '@' | '.' | '_' | '-' | '/' | '\\' | '#' | '&' | '\'' | '’' | '+' | '='
    )
}

/// A word in another script starts at a non-letter or at a change of script ("Charestさん", "请联系王伟").
fn foreign_boundary(text: &str, i: usize, c: char) -> bool {
    match text.get(..i).and_then(|s| s.chars().next_back()) {
        None => true,
        Some(p) if name::is_word_char(p) => {
            name::no_space_script(p) != name::no_space_script(c) || p.is_ascii()
        }
        Some(p) => !matches!(p, '@' | '.' | '_' | '/' | '\\' | '#' | '&' | '+' | '='),
    }
}

/// Sorts `out[base..]` and removes overlaps deterministically, in place.
fn resolve_overlaps(out: &mut Vec<Finding>, base: usize) {
    if out.len().saturating_sub(base) < 2 {
        return;
    }
    let order = |a: &Finding, b: &Finding| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(b.kind.priority().cmp(&a.kind.priority()))
    };
    if !out[base..].is_sorted_by(|a, b| order(a, b).is_le()) {
        out[base..].sort_by(order);
    }
    let mut kept = base;
    for r in base + 1..out.len() {
        if out[r].start < out[kept].end {
            if beats(&out[r], &out[kept]) {
                out.swap(r, kept);
            }
        } else {
            kept += 1;
            out.swap(r, kept);
        }
    }
    out.truncate(kept + 1);
}

/// Whether `a` should replace the overlapping `b`.
fn beats(a: &Finding, b: &Finding) -> bool {
    let email_over_other = |x: &Finding, y: &Finding| {
        x.kind == Kind::Email && matches!(y.kind, Kind::Name | Kind::Phone)
    };
    if email_over_other(a, b) {
        return true;
    }
    if email_over_other(b, a) {
        return false;
    }
    let (la, lb) = (a.end - a.start, b.end - b.start);
    la > lb || (la == lb && a.kind.priority() > b.kind.priority())
}

/// Builds `text` with each finding's span replaced; borrows when there is none.
fn replace_spans<'t>(
    text: &'t str,
    findings: &[Finding],
    replace: &mut dyn FnMut(&Finding) -> String,
) -> Cow<'t, str> {
    if findings.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16 * findings.len());
    let mut last = 0;
    for f in findings {
        if f.start < last {
            continue;
        }
        out.push_str(text.get(last..f.start).unwrap_or(""));
        out.push_str(&replace(f));
        last = f.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(det: &Detectors, text: &str) -> Vec<(String, String)> {
        det.find(text)
            .into_iter()
            .map(|f| (f.kind.as_str().to_string(), f.text))
            .collect()
    }

    #[test]
    fn detectors_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Detectors>();
    }

    #[test]
    fn placeholders_are_not_findings() {
        let det = Detectors::new();
        assert!(
            det.find("Send [EMAIL_1] to [NAME_12] at [PHONE_3] ([EMPLOYEE_ID_4])")
                .is_empty()
        );
    }

    #[test]
    fn email_wins_over_name_inside_it() {
        let det = Detectors::new();
        assert_eq!(
            kinds(&det, "Mail Maria.Gonzalez@Acme.com now"),
            [("EMAIL".to_string(), "Maria.Gonzalez@Acme.com".to_string())]
        );
    }

    #[test]
    fn findings_are_sorted_and_normalized() {
        let det = Detectors::new();
        let f = det.find("Call Ngozi Okafor on +44 20 7946 0958 or ngozi@EXAMPLE.org");
        let got: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.kind.as_str(), f.normalized.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("NAME", "Ngozi Okafor"),
                ("PHONE", "+442079460958"),
                ("EMAIL", "ngozi@example.org")
            ]
        );
        assert_eq!(f[1].region, Some("GB"));
    }

    #[test]
    fn redact_borrows_when_nothing_is_found() {
        let det = Detectors::new();
        assert!(matches!(
            det.redact("nothing here, 42 items", |_| String::new()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn builder_rejects_bad_config_with_actionable_messages() {
        let e = Detectors::builder().regions(["XX"]).build().unwrap_err();
        assert!(e.to_string().contains("ISO 3166-1"), "{e}");
        let e = Detectors::builder()
            .custom(CustomKind::regex("employee_id", "x"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::BadKindName { .. }), "{e}");
        let e = Detectors::builder()
            .custom(CustomKind::regex("EMPLOYEE_ID", "("))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidRegex { .. }), "{e}");
        let e = Detectors::builder()
            .custom(CustomKind::regex("EMPLOYEE_ID", "x*"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::EmptyMatch { .. }), "{e}");
        let e = Detectors::builder()
            .custom(CustomKind::words("EMAIL", ["x"]))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::BadKindName { .. }), "{e}");
        let e = Detectors::builder()
            .custom(CustomKind::words("CODENAME", ["", " "]))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::EmptyWordList { .. }), "{e}");
        let e = Detectors::builder()
            .regions(Vec::<String>::new())
            .build()
            .unwrap_err();
        assert_eq!(e, Error::NoRegions);
    }

    #[test]
    fn custom_kinds_from_regex_and_words_are_found() {
        let det = Detectors::builder()
            .custom(CustomKind::regex("EMPLOYEE_ID", r"\bEMP-\d{6}\b"))
            .custom(CustomKind::words("PROJECT", ["bluebird"]).case_insensitive(true))
            .build()
            .unwrap();
        assert_eq!(
            kinds(&det, "EMP-004211 on Project Bluebird, not bluebirds"),
            [
                ("EMPLOYEE_ID".to_string(), "EMP-004211".to_string()),
                ("PROJECT".to_string(), "Bluebird".to_string())
            ]
        );
    }

    #[test]
    fn regions_decide_national_numbers() {
        let us_only = Detectors::builder().regions(["US"]).build().unwrap();
        assert!(us_only.find("tel 020 7946 0958").is_empty());
        let gb = Detectors::builder().regions(["GB"]).build().unwrap();
        assert_eq!(gb.find("tel 020 7946 0958")[0].normalized, "+442079460958");
        // International numbers are valid whatever the regions.
        assert_eq!(us_only.find("tel +44 20 7946 0958").len(), 1);
    }

    #[test]
    fn disabled_kinds_are_not_reported() {
        let det = Detectors::builder()
            .names(false)
            .phones(false)
            .build()
            .unwrap();
        assert_eq!(
            kinds(&det, "Maria Gonzalez +1 415 555 2671 maria@x.io"),
            [("EMAIL".to_string(), "maria@x.io".to_string())]
        );
    }

    #[test]
    fn json_keys_hint_names_and_keys_are_scanned() {
        let det = Detectors::new();
        let v = json!({
            "assignee": "Tsegaye Wolde",
            "company": {"name": "Jackson Miller"},
            "customer": {"first_name": "xochitl", "phone": "4155552671"},
            "maria@example.com": {"status": "Active"},
            "notes": ["Met Dr. Quispe", "Smith & Sons invoice 2024-01-02"]
        });
        let found: Vec<(String, bool, String, String)> = det
            .find_json(&v)
            .into_iter()
            .map(|f| {
                (
                    f.path,
                    f.in_key,
                    f.finding.kind.as_str().to_string(),
                    f.finding.text,
                )
            })
            .collect();
        let expect = |p: &str, k: bool, kind: &str, t: &str| {
            (p.to_string(), k, kind.to_string(), t.to_string())
        };
        assert_eq!(
            found,
            [
                expect("", true, "EMAIL", "maria@example.com"),
                expect("assignee", false, "NAME", "Tsegaye Wolde"),
                expect("customer.first_name", false, "NAME", "xochitl"),
                expect("customer.phone", false, "PHONE", "4155552671"),
                expect("notes[0]", false, "NAME", "Quispe"),
            ]
        );
    }

    #[test]
    fn structure_of_tool_results_decides_names_in_all_three_walkers() {
        let det = Detectors::new();
        let v = json!({
            // A table whose header is a separate array: cells read under their column.
            "result": {"columns": ["Full name", {"name": "Account"}, "Seats"],
                       "rows": [["Xanthe Quorrin", "Zulvex Labs", 3], ["Ovrin Talesk", "Qarrow", 5]]},
            // Objects that say what they are.
            "events": [
                {"actor": {"type": "service", "display": "Atlas Tracker"},
                 "target": {"type": "user", "display": "Qiorra Vantelle"}}
            ],
            "via": {"to": {"name": "Bluefield", "address": "support@bluefield.example"}},
            // The addressee of a shipping address; a status among capitalized words.
            "order": {"shipping_address": {"name": "Kennith Howe", "city": "Springfield"}},
            "Status": {"select": {"name": "In progress"}},
            // A distinguished name's common name; a host or a group there is no person.
            "ldap": {"manager": "cn=Yorvan Questa,ou=people,dc=example,dc=com",
                     "group": "CN=Domain Admins,CN=Users,DC=corp,DC=example",
                     "cert": "CN=www.example.com,O=Example Inc"},
            // jCard properties (RFC 7095): the formatted name and the name parts.
            "vcard": ["vcard", [["fn", {}, "text", "Illary Vosk"],
                                ["n", {}, "text", ["Vosk", "Illary", "", "", ""]],
                                ["org", {}, "text", "Zulvex Labs"]]]
        });
        let mut names: Vec<(String, String)> = det
            .find_json(&v)
            .into_iter()
            .filter(|f| f.finding.kind == Kind::Name)
            .map(|f| (f.path, f.finding.text))
            .collect();
        names.sort();
        let expect = |p: &str, t: &str| (p.to_string(), t.to_string());
        assert_eq!(
            names,
            [
                expect("events[0].target.display", "Qiorra Vantelle"),
                expect("ldap.manager", "Yorvan Questa"),
                expect("order.shipping_address.name", "Kennith Howe"),
                expect("result.rows[0][0]", "Xanthe Quorrin"),
                expect("result.rows[1][0]", "Ovrin Talesk"),
                expect("vcard[1][0][3]", "Illary Vosk"),
                expect("vcard[1][1][3][0]", "Vosk"),
                expect("vcard[1][1][3][1]", "Illary"),
            ]
        );
        // The copying and the in-place redaction agree with `find_json` and each other.
        let label = |f: &Finding| format!("[{}]", f.kind);
        let copy = det.redact_json(&v, label);
        let mut in_place = v.clone();
        det.redact_json_in_place(&mut in_place, label);
        assert_eq!(copy, in_place);
        assert_eq!(copy["result"]["rows"][1][0], json!("[NAME]"));
        assert_eq!(copy["result"]["rows"][1][1], json!("Qarrow"));
        assert_eq!(copy["events"][0]["target"]["display"], json!("[NAME]"));
        assert_eq!(
            copy["events"][0]["actor"]["display"],
            json!("Atlas Tracker")
        );
        assert_eq!(copy["order"]["shipping_address"]["name"], json!("[NAME]"));
        assert_eq!(copy["vcard"][1][1][3][0], json!("[NAME]"));
        assert_eq!(copy["vcard"][1][2][3], json!("Zulvex Labs"));
        assert_eq!(
            copy["ldap"]["manager"],
            json!("cn=[NAME],ou=people,dc=example,dc=com")
        );
    }

    #[test]
    fn in_place_redaction_matches_copying_redaction() {
        let det = Detectors::new();
        let v = json!({
            "rows": [{"name": "Ana Souza", "phone": 4155552671u64, "notes": "Call Dr. Okafor at +44 20 7946 0958"}],
            "ana@x.com": {"owner": "Wei Chen"},
            "company": {"name": "Jackson Miller"},
            "n": [1, 2.5, null, true]
        });
        // The two may call `replace` in different orders; the result is the same.
        let label = |f: &Finding| format!("[{}:{}]", f.kind, f.normalized);
        let copy = det.redact_json(&v, label);
        let mut in_place = v.clone();
        det.redact_json_in_place(&mut in_place, label);
        assert_eq!(copy, in_place);
        assert_ne!(copy, v);
    }

    #[test]
    fn renamed_keys_keep_their_hints_when_redacting_in_place() {
        // Found by fuzzing (detectors_json): in place, values under a key with a finding
        // were classified by the *placeholder* text, and `[NAME_1]` reads as a person key.
        let det = Detectors::new();
        let label = |f: &Finding| format!("[{}_1]", f.kind);
        for v in [
            json!({"Maria Gonzalez": "bluebird"}),
            json!({"Maria,Gonzalez]@Acme.com": "bluebird", "x": {"Ngozi Okafor": "Paris"}}),
        ] {
            let copy = det.redact_json(&v, label);
            let mut in_place = v.clone();
            det.redact_json_in_place(&mut in_place, label);
            assert_eq!(copy, in_place, "{v}");
            assert!(copy.to_string().contains("bluebird"), "{copy}");
        }
    }

    #[test]
    fn optional_kinds_are_off_by_default_and_found_when_enabled() {
        let text =
            "IBAN DE89 3704 0044 0532 0130 00, card 4111-1111-1111-1111, key AKIAIOSFODNN7EXAMPLE";
        let off = Detectors::new();
        assert!(
            kinds(&off, text)
                .iter()
                .all(|(k, _)| k != "IBAN" && k != "CARD" && k != "SECRET")
        );
        let on = Detectors::builder()
            .ibans(true)
            .cards(true)
            .secrets(true)
            .build()
            .unwrap();
        let f = on.find(text);
        let got: Vec<(&str, &str, Option<&str>)> = f
            .iter()
            .map(|f| (f.kind.as_str(), f.normalized.as_str(), f.kind.group()))
            .collect();
        assert_eq!(
            got,
            [
                ("IBAN", "DE89370400440532013000", Some("financial")),
                ("CARD", "4111111111111111", Some("financial")),
                ("SECRET", "AKIAIOSFODNN7EXAMPLE", Some("secret")),
            ]
        );
        assert_eq!(Kind::from_name("CARD"), Kind::Card);
        let e = Detectors::builder()
            .custom(CustomKind::regex("IBAN", "x"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::BadKindName { .. }), "{e}");
        let e = Detectors::builder()
            .secrets(true)
            .secret_prefixes(["x"])
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::BadSecretPrefix { .. }), "{e}");
    }

    #[test]
    fn credential_keys_make_random_values_secrets() {
        let det = Detectors::builder().secrets(true).build().unwrap();
        let v = json!({"api_key": "Zx81kQ2mP0aLw9", "password": "changeme", "sort_key": "Zx81kQ2mP0aLw9"});
        let out = det.redact_json(&v, |f| format!("[{}]", f.kind));
        assert_eq!(
            out,
            json!({"api_key": "[SECRET]", "password": "changeme", "sort_key": "Zx81kQ2mP0aLw9"})
        );
    }

    #[test]
    fn field_hints_decide_kinds_in_all_three_json_methods() {
        let det = Detectors::builder().ibans(true).build().unwrap();
        let hints = FieldHints::new()
            .path("leads[].owner", Kind::Name)
            .unwrap()
            .path("leads[].acct", Kind::Custom("ACCOUNT_NO".into()))
            .unwrap()
            .key("reach", Kind::Phone);
        // "owner" alone is a person key already; "xyz qwerty" is no dictionary name.
        let v = json!({
            "leads": [{"owner": "Rios - ME", "acct": 99120044, "reach": "4155552671", "label": "mango tree"}],
            "top": {"acct": 5, "reach": "4155552671"}
        });
        let label = |f: &Finding| format!("[{}]", f.kind);
        let copy = det.redact_json_with(&v, &hints, label);
        assert_eq!(
            copy,
            json!({
                "leads": [{"owner": "[NAME]", "acct": "[ACCOUNT_NO]", "reach": "[PHONE]", "label": "mango tree"}],
                "top": {"acct": 5, "reach": "[PHONE]"}
            })
        );
        let mut in_place = v.clone();
        det.redact_json_in_place_with(&mut in_place, &hints, label);
        assert_eq!(copy, in_place);
        let paths: Vec<String> = det
            .find_json_with(&v, &hints)
            .into_iter()
            .map(|f| format!("{}={}", f.path, f.finding.kind))
            .collect();
        assert_eq!(
            paths,
            [
                "leads[0].owner=NAME",
                "leads[0].acct=ACCOUNT_NO",
                "leads[0].reach=PHONE",
                "top.reach=PHONE"
            ]
        );
        // Without hints the bare digits are not phones and the number is no finding.
        assert!(
            det.find_json(&v)
                .iter()
                .all(|f| f.finding.kind == Kind::Name)
        );
    }

    #[test]
    fn roles_under_address_objects_are_people_and_header_labels_are_not() {
        let det = Detectors::new();
        let v = json!({
            "shipping_address": {"recipient": "Μάγδα Ζαΐμη", "city": "Groenlo"},
            "headers": [{"name": "From", "value": "x"}, {"name": "Date", "value": "y"}, {"name": "To", "value": "z"}],
            "description": "Dial-in: +44 20 7946 0958"
        });
        let got: Vec<(String, String)> = det
            .find_json(&v)
            .into_iter()
            .map(|f| (f.path, f.finding.kind.as_str().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("shipping_address.recipient".to_string(), "NAME".to_string()),
                ("description".to_string(), "PHONE".to_string()),
            ]
        );
    }

    fn names_in(det: &Detectors, text: &str) -> Vec<String> {
        det.find(text)
            .into_iter()
            .filter(|f| f.kind == Kind::Name)
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn mentions_passenger_names_lists_and_lower_case_names_after_cues_are_names() {
        let det = Detectors::new();
        let cases: &[(&str, &[&str])] = &[
            ("Reviewers: @Jacques @Bob", &["Jacques", "Bob"]),
            (
                "Passenger SHIELDS/ALEJANDRO MR, seat 14C",
                &["SHIELDS/ALEJANDRO"],
            ),
            ("Dear guzi broe,\nyour password was reset.", &["guzi broe"]),
            (
                "my name is irina azarova and I need help",
                &["irina azarova"],
            ),
            (
                "Participants (3): Bukola Uzor, Costică Gheorghiu, Jung-Ja Jang",
                &["Bukola Uzor", "Costică Gheorghiu", "Jung-Ja Jang"],
            ),
            (
                "Caller: Sássia Bjerke, callback at five",
                &["Sássia Bjerke"],
            ),
            ("Idriss Maillé joined the channel", &["Idriss Maillé"]),
        ];
        for (text, want) in cases {
            assert_eq!(names_in(&det, text), *want, "{text}");
        }
    }

    #[test]
    fn products_job_titles_slashed_acronyms_and_lower_case_phrases_are_not_names() {
        let det = Detectors::new();
        for text in [
            "Product update: Vega Sensor v1.2 is now available.",
            "Migration to the Orion Dashboard completed.",
            "Use TCP/IP, AND/OR and CEO/CFO here.",
            "Dear all,\nthe office is closed.",
            "Hi there, thanks so much!",
            "the file name is invalid",
            "the name is missing, please fix",
            "Jefa de Compras wanted in Madrid.",
            "email me @ home",
        ] {
            assert_eq!(names_in(&det, text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn name_keys_under_things_are_not_people_and_name_parts_are() {
        let det = Detectors::new();
        let v = json!({
            "products": [{"name": "Vega Sensor"}, {"name": "Grace Period Plan"}],
            "teams": [{"name": "Site Reliability", "lead": "Ana Souza"}],
            "categories": [{"name": "Victoria Sponge Mix"}],
            "mitarbeiter": {"Abteilung": "Vertrieb Nord", "Vorgesetzter": "Hanno Kaljulaid"},
            "patient": {"name": [{"family": "Okafor", "given": ["Chidi"]}]},
            "record": {"name": [{"family": "Xyzzyx", "given": ["Qwopa"]}]},
            "passengers": [{"name": "SHIELDS/ALEJANDRO", "title": "MR"}],
            "fields": [{"label": "Full name", "value": "qwopa xyzzyx"}, {"label": "Topic", "value": "Vega Sensor"}]
        });
        // The copying and the in-place redaction read name/value pairs alike.
        let label = |f: &Finding| format!("[{}]", f.kind);
        let mut in_place = v.clone();
        det.redact_json_in_place(&mut in_place, label);
        assert_eq!(det.redact_json(&v, label), in_place);
        assert_eq!(in_place["fields"][0]["value"], json!("[NAME]"));
        let mut found: Vec<String> = det
            .find_json(&v)
            .into_iter()
            .filter(|f| f.finding.kind == Kind::Name)
            .map(|f| format!("{}={}", f.path, f.finding.text))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "fields[0].value=qwopa xyzzyx",
                "mitarbeiter.Vorgesetzter=Hanno Kaljulaid",
                "passengers[0].name=SHIELDS/ALEJANDRO",
                "patient.name[0].family=Okafor",
                "patient.name[0].given[0]=Chidi",
                "record.name[0].family=Xyzzyx",
                "record.name[0].given[0]=Qwopa",
                "teams[0].lead=Ana Souza",
            ]
        );
    }

    #[test]
    fn person_keys_holding_teams_files_logins_roles_or_things_are_not_names() {
        let det = Detectors::new();
        let v = json!({
            "owner": "Sales Team",
            "assignee": {"name": "Support Queue"},
            "files": [{"name": "report.pdf"}],
            "user": "jdoe",
            "reporter": "Head of Sales",
            "labels": [{"name": "Bug"}],
            "board": {"name": "Roadmap"},
            "milestone": {"title": "Release Candidate"},
            "author": "Ana Souza"
        });
        let found: Vec<String> = det
            .find_json(&v)
            .into_iter()
            .map(|f| format!("{}={}", f.path, f.finding.text))
            .collect();
        assert_eq!(found, ["author=Ana Souza"]);
    }

    #[test]
    fn name_part_abbreviated_and_activity_keys_hold_names_and_config_objects_do_not() {
        let det = Detectors::new();
        let v = json!({
            "rows": [{"cust_fn": "Tankut", "cust_ln": "Roman", "acct_mgr": "Mizuki Onishi"}],
            "person": {"familyName": "Morales", "name": {"formatted": "Rosalía Morales"}},
            "result": [{"姓": "王", "Фамилия": "Иванова"}],
            "activities": [{"actor": "İlkut Beşerler"}],
            "config": {"name": "Sales Cloud", "owner": "Field Sales", "displayName": "Key Risks",
                       "approver": "Scrum Master"},
            "reviewer": "Data Protection Officer"
        });
        let mut found: Vec<String> = det
            .find_json(&v)
            .into_iter()
            .map(|f| format!("{}={}", f.path, f.finding.text))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "activities[0].actor=İlkut Beşerler",
                "person.familyName=Morales",
                "person.name.formatted=Rosalía Morales",
                "result[0][\"Фамилия\"]=Иванова",
                "result[0][\"姓\"]=王",
                "rows[0].acct_mgr=Mizuki Onishi",
                "rows[0].cust_fn=Tankut",
                "rows[0].cust_ln=Roman",
            ]
        );
    }

    #[test]
    fn names_in_minutes_chats_bibliographies_and_repeated_mentions_are_found() {
        let det = Detectors::new();
        let cases: &[(&str, &[&str])] = &[
            ("Next of kin: Regina Nijs (mother)", &["Regina Nijs"]),
            (
                "Absent: Taddeo Aquilina, Rosa Cirilli",
                &["Taddeo Aquilina", "Rosa Cirilli"],
            ),
            ("Assigned to Dieke", &["Dieke"]),
            (
                "Internal note: spoke to Eyvindur on the phone",
                &["Eyvindur"],
            ),
            (
                "Saludos cordiales,\nRomain Daneau\nAurora Insurance A/S",
                &["Romain Daneau"],
            ),
            (
                "Attendees\nXinfei Guan\nRodel Aquino",
                &["Xinfei Guan", "Rodel Aquino"],
            ),
            (
                "Authors: Zhongli, J.; Mendes, C.",
                &["Zhongli, J.", "Mendes, C."],
            ),
            (
                "Attendees: Yamazaki, Keiko; Esfahani, Issam; Bae, Su",
                &["Yamazaki, Keiko", "Esfahani, Issam", "Bae, Su"],
            ),
            ("[10:02] Sinnathambi: running 5 min late", &["Sinnathambi"]),
            ("<Semen> anyone seen the invoice?", &["Semen"]),
            (
                "Voicemail from Lília Calazans: hi it's Lília, call me back",
                &["Lília Calazans", "Lília"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(names_in(&det, text), *want, "{text}");
        }
        for text in [
            "Le 13.04.2023, le contrat a été signé.",
            "Owner: Field Sales",
            "Interview with the Scrum Master",
            "Telefon: tel:+353-46-361-3663",
            "Note: see below",
            "Zendesk: ticket created from email",
            "Opened by Zapier on Monday",
            "Signed by DocuSign",
            "Kayleigh Johnson joined Johnson & Johnson in 2018.",
        ] {
            let found = names_in(&det, text);
            assert!(
                found.iter().all(|n| *n == "Kayleigh Johnson"),
                "{text}: {found:?}"
            );
        }
    }

    #[test]
    fn names_in_other_scripts_are_found_after_cues_honorifics_and_script_changes() {
        let det = Detectors::new();
        let cases: &[(&str, &[&str])] = &[
            ("Thanks 희준기, escalated.", &["희준기"]),
            (
                "Interview with قاسم بن عبد الكريم for the role.",
                &["قاسم بن عبد الكريم"],
            ),
            ("Action item: עומר פרץ to send the SOW.", &["עומר פרץ"]),
            (
                "attendees D. Huerta, रोहित अग्रवाल, Yuriy Atamanchuk.",
                &["D. Huerta", "रोहित अग्रवाल", "Yuriy Atamanchuk"],
            ),
            ("Dear Иван Петров,", &["Иван Петров"]),
            ("Привет, Dorothea!", &["Dorothea"]),
            ("木内あいこさんから電話がありました", &["木内あいこ"]),
            ("Demont Charestさんから電話", &["Demont Charest"]),
            ("请联系王伟，电话", &["王伟"]),
            (
                "Mit freundlichen Grüßen\nXaviera Mormino\nTessera",
                &["Xaviera Mormino"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(names_in(&det, text), *want, "{text}");
        }
        // Text in one script with no cue stays untouched.
        assert!(names_in(&det, "Заказ отправлен вчера вечером").is_empty());
        assert!(names_in(&det, "회의 자료를 보내주세요").is_empty());
    }

    #[test]
    fn surname_comma_given_initials_and_capitalized_surnames_are_names() {
        let det = Detectors::new();
        let cases: &[(&str, &[&str])] = &[
            (
                "Logged call with Okafor, Ngozi — 12 min.",
                &["Okafor, Ngozi"],
            ),
            (
                "Callback requested, ask for Kyra, Miguel.",
                &["Kyra, Miguel"],
            ),
            ("Priority changed by B. Nasution at noon.", &["B. Nasution"]),
            (
                "Owner changed from Remzi NYFELER to Sudie Lamb.",
                &["Remzi NYFELER", "Sudie Lamb"],
            ),
            ("confirmed with Rodhger Ostrom.", &["Rodhger Ostrom"]),
            (
                "opened by Rodel M. Pangilinan today",
                &["Rodel M. Pangilinan"],
            ),
            (
                "On Monday, Tess I. Kleinhesling <tk@wp.pl> wrote:",
                &["Tess I. Kleinhesling"],
            ),
            (
                "Escalated — Vadvirág Keresztes says the refund is late.",
                &["Vadvirág Keresztes"],
            ),
            ("the QBR moved; Kelemen confirmed.", &["Kelemen"]),
            (
                "can you send me Delina Gutzwiller's number?",
                &["Delina Gutzwiller"],
            ),
            ("Le Roux, Celian님, 회의", &["Le Roux, Celian"]),
            ("Hi, this is Klothilda. Please call me.", &["Klothilda"]),
            ("Thanks! Best, Yujin | +44 20 7946 0958", &["Yujin"]),
            ("Gatuslav is out until Monday", &["Gatuslav"]),
            (
                "looping in Afaq Novruzlu who owns the account",
                &["Afaq Novruzlu"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(names_in(&det, text), *want, "{text}");
        }
    }

    #[test]
    fn firms_legal_forms_streets_and_meeting_words_are_not_names() {
        let det = Detectors::new();
        for text in [
            "Engagement letter from Leblanc, Bradley and van Maurik signed.",
            "Counsel: Arnold, Moore and Harrison",
            "Counsel: Ketting & Sharpe",
            "Sync with Catalyst K.K. today",
            "Ruiz Vildekes Rechtsanwälte PartG mbB",
            "Via degli Carlo Saviotti, 87",
            "ul. Fryderyka Chopina 12",
            "Dial-in: +44 20 7946 0958",
            "Berlin, Germany",
            "Counsel: Bauer, van Buuren and Snyder",
            "Shipped to Via Lucio Colletti 4",
            "Hi team, the vendor from Oakridge called again",
            "Best practices: Project Zephyrix is out of scope",
        ] {
            assert!(
                names_in(&det, text).is_empty(),
                "{text}: {:?}",
                names_in(&det, text)
            );
        }
        // A list of people is still people.
        assert_eq!(names_in(&det, "Thanks Maria, Anna and Tom!").len(), 3);
    }

    #[test]
    fn labelled_values_and_lowercase_names_after_labels_are_names() {
        let det = Detectors::new();
        let cases: &[(&str, &[&str])] = &[
            ("GET /crm?name=Maria+Gonzalez&id=3", &["Maria+Gonzalez"]),
            ("level=info owner=\"ana souza\" msg=ok", &["ana souza"]),
            ("contact: maria gonzalez, ext 4", &["maria gonzalez"]),
            ("name=Xiadani", &["Xiadani"]),
            ("owner=Amelia Hartley;status=open", &["Amelia Hartley"]),
            ("level=info owner=Ana msg=ok", &["Ana"]),
        ];
        for (text, want) in cases {
            assert_eq!(names_in(&det, text), *want, "{text}");
        }
        for text in [
            "File name: report.pdf",
            "status: open",
            "from: the warehouse",
            "time=10:30 user=jdoe",
            "assignee: unassigned",
            "https://example.com/a?b=c",
        ] {
            assert!(
                names_in(&det, text).is_empty(),
                "{text}: {:?}",
                names_in(&det, text)
            );
        }
    }

    #[test]
    fn keys_in_other_languages_and_scripts_mark_person_values() {
        let det = Detectors::new();
        let v = json!({"Имя": "ксения лобанова", "姓名": "王伟", "nazwisko": "brzęczyszczykiewicz", "ansprechpartner": "jürgen weiß", "Stadt": "Köln"});
        let paths: Vec<String> = det.find_json(&v).into_iter().map(|f| f.path).collect();
        assert_eq!(paths.len(), 4, "{paths:?}");
        assert!(!paths.iter().any(|p| p == "Stadt"));
    }

    #[test]
    fn redact_json_keeps_structure_and_rewrites_keys() {
        let det = Detectors::new();
        let v =
            json!({"rows": [{"name": "Ana Souza", "n": 3, "ok": true, "x": null}], "ana@x.com": 1});
        let out = det.redact_json(&v, |f| format!("[{}]", f.kind));
        assert_eq!(
            out,
            json!({"rows": [{"name": "[NAME]", "n": 3, "ok": true, "x": null}], "[EMAIL]": 1})
        );
    }
}
