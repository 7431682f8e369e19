//! Safe facts about values and whole calls: the one place that derives what policies may
//! know about a value without seeing it (an email's domain, a URL's host, an IBAN's
//! country, a phone's region) and, over a call's arguments, the sets of them.
//!
//! Facts are computed inside the broker from a placeholder's restored value or from a
//! literal the agent wrote; only the facts enter Cedar. This module never returns, logs
//! or formats a value: its types hold facts only.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

#[cfg(test)]
use cedar_policy::RestrictedExpression;
use detectors::{Detectors, Kind};
use serde_json::Value;

use crate::vault::find_placeholders;

/// Safe facts about one value that flow policy may see (never the value itself): the
/// domain of an email address, the region of a phone number. The one place that derives
/// them, for egress, call facts and `sluice policy explain` alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueFacts {
    /// An email's domain, lowercased (`context.email_domain`).
    pub email_domain: Option<String>,
    /// A phone number's ISO region (`context.phone_country`).
    pub phone_country: Option<&'static str>,
}

impl ValueFacts {
    /// The facts of `value` of `kind`.
    pub fn of(detectors: &Detectors, kind: &Kind, value: &str) -> ValueFacts {
        match kind {
            Kind::Email => ValueFacts {
                email_domain: email_domain(value),
                phone_country: None,
            },
            Kind::Phone => ValueFacts {
                email_domain: None,
                phone_country: phone_country(detectors, value),
            },
            _ => ValueFacts::default(),
        }
    }
}

/// The lowercase domain of an email address.
pub(crate) fn email_domain(value: &str) -> Option<String> {
    let (_, domain) = value.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

fn phone_country(detectors: &Detectors, value: &str) -> Option<&'static str> {
    detectors
        .find(value)
        .into_iter()
        .find(|f| f.kind == Kind::Phone)
        .and_then(|f| f.region)
}

/// The country of an IBAN (its first two letters), if `value` is IBAN-shaped.
fn iban_country(value: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = compact.as_bytes();
    let shaped = (15..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_alphabetic)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..].iter().all(u8::is_ascii_alphanumeric);
    shaped.then(|| compact[..2].to_ascii_uppercase())
}

/// The lowercase hosts of every `http://` or `https://` URL in `text`.
fn url_hosts(text: &str) -> impl Iterator<Item = String> + '_ {
    let lower = text.to_ascii_lowercase();
    let mut starts = Vec::new();
    for scheme in ["http://", "https://"] {
        starts.extend(lower.match_indices(scheme).map(|(i, s)| i + s.len()));
    }
    starts.sort_unstable();
    starts.into_iter().filter_map(move |start| {
        let rest = &text[start..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        // user:password@host:port → host
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        (!host.is_empty()).then_some(host)
    })
}

/// Finds literal emails and IBANs whatever kinds the operator tokenizes: facts about an
/// address or an account do not depend on the detector configuration.
static SHAPES: LazyLock<Option<Detectors>> = LazyLock::new(|| {
    Detectors::builder()
        .emails(true)
        .phones(false)
        .names(false)
        .ibans(true)
        .build()
        .ok()
});

/// Whether a top-level argument names recipients: `to`, `cc`, `bcc`, or any name
/// containing `recipient` (case-insensitive). Their email domains are
/// `recipient_domains`.
pub fn is_recipient_arg(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "to" | "cc" | "bcc") || lower.contains("recipient")
}

/// What a placeholder in the arguments stands for, as far as facts go: its kind and value.
/// The value is only read to derive facts and never leaves this module.
#[derive(Clone, Copy)]
pub struct Restored<'a> {
    /// The kind, e.g. `EMAIL`.
    pub kind: &'a str,
    /// The restored value.
    pub value: &'a str,
}

impl std::fmt::Debug for Restored<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restored")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Facts about a whole call's arguments, literal values and placeholders alike
/// (`context.call` in `call` and `flow` requests). Sets, so that a rule can say "every
/// recipient is ours": `["example.com"].containsAll(context.call.recipient_domains)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CallFacts {
    /// The domain of every email address anywhere in the arguments.
    pub email_domains: BTreeSet<String>,
    /// The domains of the email addresses in recipient arguments (see [`is_recipient_arg`]).
    pub recipient_domains: BTreeSet<String>,
    /// The host of every `http(s)://` URL in the arguments.
    pub url_hosts: BTreeSet<String>,
    /// The country code of every IBAN in the arguments.
    pub iban_countries: BTreeSet<String>,
    /// The region of every phone number a placeholder stands for.
    pub phone_countries: BTreeSet<String>,
    /// Top-level arguments holding an address-, URL- or account-shaped value the agent
    /// wrote itself (a literal).
    pub literal_args: BTreeSet<String>,
    /// Top-level arguments holding a placeholder minted in this session.
    pub placeholder_args: BTreeSet<String>,
}

impl CallFacts {
    /// The facts of `args`; `restored` maps each placeholder minted in the session (its
    /// text, e.g. `[EMAIL_1]`) to what it stands for. Placeholder-shaped text that is not
    /// in `restored` is literal text.
    pub fn gather(
        detectors: &Detectors,
        args: &Value,
        restored: &HashMap<String, Restored<'_>>,
    ) -> CallFacts {
        let mut facts = CallFacts::default();
        let mut stack: Vec<(&str, &Value)> = Vec::new();
        match args {
            Value::Object(map) => {
                for (key, value) in map {
                    facts.text(detectors, key, key, restored);
                    stack.push((key.as_str(), value));
                }
            }
            other => stack.push((".", other)),
        }
        while let Some((arg, value)) = stack.pop() {
            match value {
                Value::String(s) => facts.text(detectors, arg, s, restored),
                Value::Array(items) => stack.extend(items.iter().map(|v| (arg, v))),
                Value::Object(map) => {
                    for (key, value) in map {
                        facts.text(detectors, arg, key, restored);
                        stack.push((arg, value));
                    }
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
        facts
    }

    /// [`CallFacts::gather`] with the default detectors (for test cases and `explain`,
    /// which have no configured ones).
    pub fn gather_default(args: &Value, restored: &HashMap<String, Restored<'_>>) -> CallFacts {
        static DEFAULT: LazyLock<Detectors> = LazyLock::new(Detectors::new);
        CallFacts::gather(&DEFAULT, args, restored)
    }

    fn text(
        &mut self,
        detectors: &Detectors,
        arg: &str,
        text: &str,
        restored: &HashMap<String, Restored<'_>>,
    ) {
        let recipient = is_recipient_arg(arg);
        // Placeholders: facts of the restored value; their text is blanked so the rest
        // is what the agent wrote.
        let mut literal: Option<String> = None;
        for (range, placeholder) in find_placeholders(text) {
            let Some(r) = restored.get(&placeholder.to_string()) else {
                continue;
            };
            self.placeholder_args.insert(arg.to_owned());
            let kind = Kind::from_name(r.kind);
            self.value(detectors, &kind, r.value, recipient);
            let blanked = literal.get_or_insert_with(|| text.to_owned());
            blanked.replace_range(range.clone(), &" ".repeat(range.len()));
        }
        let text = literal.as_deref().unwrap_or(text);
        let mut wrote = false;
        if let Some(shapes) = SHAPES.as_ref()
            && (text.contains('@') || text.len() >= 15)
        {
            for f in shapes.find(text) {
                match f.kind {
                    Kind::Email => {
                        if let Some(d) = email_domain(&f.normalized) {
                            if recipient {
                                self.recipient_domains.insert(d.clone());
                            }
                            self.email_domains.insert(d);
                            wrote = true;
                        }
                    }
                    Kind::Iban => {
                        if let Some(c) = iban_country(&f.normalized) {
                            self.iban_countries.insert(c);
                            wrote = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        if text.contains("://") {
            for host in url_hosts(text) {
                self.url_hosts.insert(host);
                wrote = true;
            }
        }
        if wrote {
            self.literal_args.insert(arg.to_owned());
        }
    }

    fn value(&mut self, detectors: &Detectors, kind: &Kind, value: &str, recipient: bool) {
        let facts = ValueFacts::of(detectors, kind, value);
        if let Some(d) = facts.email_domain {
            if recipient {
                self.recipient_domains.insert(d.clone());
            }
            self.email_domains.insert(d);
        }
        if let Some(c) = facts.phone_country {
            self.phone_countries.insert(c.to_owned());
        }
        if *kind == Kind::Iban
            && let Some(c) = iban_country(value)
        {
            self.iban_countries.insert(c);
        }
        for host in url_hosts(value) {
            self.url_hosts.insert(host);
        }
    }

    /// The facts as a Cedar record value (`context.call`): the fields of `mask` (bit `i`
    /// for [`CALL_FACT_FIELDS`]`[i]`), since a fact no policy reads cannot change a
    /// decision and each one costs a set to build. The value Cedar would interpret from
    /// the record expression of the same facts (`to_cedar`, kept for the tests), made
    /// without the expression (see `engine::context_of`).
    pub(crate) fn to_value(&self, mask: u8) -> cedar_policy_core::ast::Value {
        use cedar_policy_core::ast::Value as CedarValue;
        let pairs = self.fields(mask).map(|(name, set)| {
            let values = set.iter().map(|v| CedarValue::from(v.as_str()));
            (name, CedarValue::set(values, None))
        });
        CedarValue::record(pairs, None)
    }

    /// The facts as a Cedar record expression: the reference [`CallFacts::to_value`] is
    /// tested against.
    #[cfg(test)]
    pub(crate) fn to_cedar(&self, mask: u8) -> Result<RestrictedExpression, String> {
        let pairs = self.fields(mask).map(|(name, set)| {
            let values = set
                .iter()
                .map(|v| RestrictedExpression::new_string(v.clone()));
            (name.to_owned(), RestrictedExpression::new_set(values))
        });
        RestrictedExpression::new_record(pairs).map_err(|e| e.to_string())
    }

    /// The sets in the order of [`CALL_FACT_FIELDS`].
    fn sets(&self) -> [&BTreeSet<String>; 7] {
        [
            &self.email_domains,
            &self.recipient_domains,
            &self.url_hosts,
            &self.iban_countries,
            &self.phone_countries,
            &self.literal_args,
            &self.placeholder_args,
        ]
    }

    /// The fields of `mask` (bit `i` for [`CALL_FACT_FIELDS`]`[i]`) with their sets.
    fn fields(&self, mask: u8) -> impl Iterator<Item = (&'static str, &BTreeSet<String>)> {
        CALL_FACT_FIELDS
            .into_iter()
            .zip(self.sets())
            .enumerate()
            .filter(move |(i, _)| mask & (1 << i) != 0)
            .map(|(_, field)| field)
    }

    /// A stable key of the facts, for the decision cache.
    pub(crate) fn cache_key(&self, key: &mut String) {
        for set in self.sets() {
            key.push_str(&set.len().to_string());
            key.push('{');
            for v in set {
                key.push_str(&v.len().to_string());
                key.push(':');
                key.push_str(v);
            }
            key.push('}');
        }
    }
}

/// The names of the call-fact fields: a policy mentioning one makes call facts part of
/// the decision (and of the cache key).
pub(crate) const CALL_FACT_FIELDS: [&str; 7] = [
    "email_domains",
    "recipient_domains",
    "url_hosts",
    "iban_countries",
    "phone_countries",
    "literal_args",
    "placeholder_args",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domain_is_bare_and_lowercase() {
        assert_eq!(
            email_domain("Bob@Example.COM").as_deref(),
            Some("example.com")
        );
        assert_eq!(email_domain("no-at-sign"), None);
        assert_eq!(email_domain("x@"), None);
    }

    #[test]
    fn call_facts_cover_literals_and_placeholders_and_say_which_is_which() {
        let detectors = Detectors::new();
        let restored = HashMap::from([(
            "[EMAIL_1]".to_owned(),
            Restored {
                kind: "EMAIL",
                value: "ann@partner.example",
            },
        )]);
        let args = serde_json::json!({
            "to": ["bob@Evil.example", "[EMAIL_1]"],
            "body": "see https://files.attacker.example:8443/x?y and [EMAIL_1]",
            "iban": "DE89 3704 0044 0532 0130 00",
            "note": "[EMAIL_9] is not ours",
        });
        let facts = CallFacts::gather(&detectors, &args, &restored);
        assert_eq!(
            facts.recipient_domains,
            BTreeSet::from(["evil.example".to_owned(), "partner.example".to_owned()])
        );
        assert!(facts.email_domains.contains("partner.example"));
        assert_eq!(
            facts.url_hosts,
            BTreeSet::from(["files.attacker.example".to_owned()])
        );
        assert_eq!(facts.iban_countries, BTreeSet::from(["DE".to_owned()]));
        assert_eq!(
            facts.placeholder_args,
            BTreeSet::from(["to".to_owned(), "body".to_owned()])
        );
        assert_eq!(
            facts.literal_args,
            BTreeSet::from(["to".to_owned(), "body".to_owned(), "iban".to_owned()])
        );
    }

    #[test]
    fn restored_debug_never_shows_the_value() {
        let r = Restored {
            kind: "EMAIL",
            value: "secret@example.com",
        };
        assert!(!format!("{r:?}").contains("secret"));
    }
}
