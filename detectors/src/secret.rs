//! SECRET: API keys, tokens and private keys — an optional kind.
//!
//! Three kinds of evidence, from strongest to weakest:
//! 1. **Well-known token formats**, recognised by their fixed prefix and body
//!    shape: AWS access key ids (`AKIA…`, `ASIA…`), GitHub (`ghp_`, `gho_`,
//!    `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack
//!    (`xoxb-`, `xoxp-`, `xoxa-`, `xapp-`…), Stripe secret and restricted keys
//!    (`sk_live_`, `rk_test_`…), OpenAI/Anthropic-style `sk-…`, Google API
//!    keys (`AIza…`), npm (`npm_`), Hugging Face (`hf_`), SendGrid (`SG.x.y`),
//!    Shopify (`shpat_`…), DigitalOcean (`dop_v1_`…), JSON Web Tokens
//!    (`eyJ….eyJ….sig`) and PEM private-key blocks. Operators add their own
//!    prefixes with [`DetectorsBuilder::secret_prefixes`](crate::DetectorsBuilder::secret_prefixes).
//! 2. **A cue and some randomness**: the value after `api_key=`, `token:`,
//!    `password=`, `client_secret:`, `Bearer` … when it is at least 8
//!    characters, mixes character classes and has at least the configured
//!    Shannon entropy per character (default 3.0 bits).
//! 3. **Entropy alone** (off unless
//!    [`DetectorsBuilder::secret_entropy`](crate::DetectorsBuilder::secret_entropy)
//!    is set): a token of 32+ base64-ish characters mixing upper case, lower
//!    case and digits whose entropy reaches the threshold. Hex digests and
//!    UUIDs cannot reach 4.0 bits per character, so a threshold above 4
//!    leaves them alone.
//!
//! All of it is one combined regex pass per string, and only when SECRET is on.

use regex::Regex;

use crate::Error;

/// The built-in token formats (each a full-token pattern).
const KNOWN: &[&str] = &[
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}",
    r"gh[pousr]_[A-Za-z0-9]{36,251}",
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"glpat-[A-Za-z0-9_\-]{20,64}",
    r"xox[abposre]-[A-Za-z0-9\-]{10,250}",
    r"xapp-\d-[A-Za-z0-9\-]{10,250}",
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}",
    r"sk-(?:proj-|ant-(?:api\d\d-|admin\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{20,250}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"npm_[A-Za-z0-9]{36}",
    r"hf_[A-Za-z0-9]{30,64}",
    r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}",
    r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
    r"do[por]_v1_[a-f0-9]{64}",
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
];

/// Words after which a value is a credential when it looks random enough.
const CUES: &str = r"(?i:api[_\-]?key|apikey|api[_\-]?secret|secret[_\-]?key|secret|client[_\-]?secret|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|token|password|passwd|pwd|private[_\-]?key|access[_\-]?key|bearer|authorization)";

/// The compiled SECRET rules.
#[derive(Debug)]
pub(crate) struct Secrets {
    re: Regex,
    min_entropy: f64,
    bare_entropy: Option<f64>,
}

/// A secret found in text.
pub(crate) struct SecretMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Secrets {
    /// Compiles the rules with operator prefixes and entropy thresholds.
    pub(crate) fn build(
        prefixes: &[String],
        min_entropy: f64,
        bare_entropy: Option<f64>,
    ) -> Result<Secrets, Error> {
        let mut known: Vec<String> = KNOWN.iter().map(|s| (*s).to_string()).collect();
        for p in prefixes {
            let p = p.trim();
            if p.len() < 3 {
                return Err(Error::BadSecretPrefix {
                    prefix: p.to_string(),
                });
            }
            known.push(format!("{}[A-Za-z0-9_\\-]{{12,250}}", regex::escape(p)));
        }
        let pattern = format!(
            r"(?P<pem>-----BEGIN [A-Z ]{{0,20}}PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,\-]+?-----END [A-Z ]{{0,20}}PRIVATE KEY-----)|(?:^|[^A-Za-z0-9_\-])(?P<known>{known})(?:$|[^A-Za-z0-9_\-])|\b{CUES}[\x22']?\s{{0,3}}(?:[:=]|\bis\b)?\s{{0,3}}[\x22']?(?:(?i:bearer|basic)\s+)?(?P<cued>[A-Za-z0-9+/_.~!@#$%^&*\-]{{8,512}}=*){bare}",
            known = known.join("|"),
            // Only scan for bare tokens when asked to: that alternative matches in most text.
            bare = if bare_entropy.is_some() {
                r"|(?P<bare>[A-Za-z0-9+/_\-]{32,512}={0,2})"
            } else {
                ""
            },
        );
        let re = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 24)
            .build()
            .map_err(|e| Error::BadSecretPrefix {
                prefix: format!("{prefixes:?} ({e})"),
            })?;
        Ok(Secrets {
            re,
            min_entropy,
            bare_entropy,
        })
    }

    /// Every secret in `text`, appended to `out`.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<SecretMatch>) {
        for caps in self.re.captures_iter(text) {
            let (m, ok) = if let Some(m) = caps.name("pem") {
                (m, true)
            } else if let Some(m) = caps.name("known") {
                (m, true)
            } else if let Some(m) = caps.name("cued") {
                (m, self.cued_value(m.as_str()))
            } else if let Some(m) = caps.name("bare") {
                let ok = self.bare_entropy.is_some_and(|min| {
                    let s = m.as_str();
                    let left_ok =
                        m.start() == 0 || !text.as_bytes()[m.start() - 1].is_ascii_alphanumeric();
                    left_ok && classes(s) >= 3 && entropy(s) >= min
                });
                (m, ok)
            } else {
                continue;
            };
            if ok {
                out.push(SecretMatch {
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }

    /// Whether a value after a credential cue is a credential (not "changeme" or "true").
    pub(crate) fn cued_value(&self, v: &str) -> bool {
        let v = v.trim_end_matches(['.', ',', ';', ')']);
        v.len() >= 8 && classes(v) >= 2 && entropy(v) >= self.min_entropy
    }
}

/// How many of lower case, upper case, digits and symbols a string uses.
fn classes(s: &str) -> u8 {
    let (mut l, mut u, mut d, mut o) = (0u8, 0u8, 0u8, 0u8);
    for b in s.bytes() {
        if b.is_ascii_lowercase() {
            l = 1;
        } else if b.is_ascii_uppercase() {
            u = 1;
        } else if b.is_ascii_digit() {
            d = 1;
        } else {
            o = 1;
        }
    }
    l + u + d + o
}

/// Shannon entropy in bits per byte.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &Secrets, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        s.find(text, &mut out);
        out.into_iter()
            .map(|m| text[m.start..m.end].to_string())
            .collect()
    }

    #[test]
    fn well_known_token_prefixes_are_secrets() {
        let s = Secrets::build(&[], 3.0, None).unwrap();
        for tok in [
            "AKIAIOSFODNN7EXAMPLE",
            "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",
            "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
        ] {
            let text = format!("config: {tok} end");
            assert_eq!(found(&s, &text), [tok], "{tok}");
        }
    }

    #[test]
    fn cued_random_values_are_secrets_but_plain_words_are_not() {
        let s = Secrets::build(&[], 3.0, None).unwrap();
        assert_eq!(found(&s, "api_key=Zx81kQ2mP0aLw9"), ["Zx81kQ2mP0aLw9"]);
        assert_eq!(
            found(&s, "Authorization: Bearer 7fG2kLm9QpX1vB8nW3"),
            ["7fG2kLm9QpX1vB8nW3"]
        );
        assert!(found(&s, "password: changeme").is_empty());
        assert!(found(&s, "the token is valid").is_empty());
    }

    #[test]
    fn operator_prefixes_and_bare_entropy_are_opt_in() {
        let plain = Secrets::build(&[], 3.0, None).unwrap();
        let tok = "acme_live_8fK2mQ9xLp3Rt7Vw";
        assert!(found(&plain, tok).is_empty());
        let with = Secrets::build(&["acme_live_".to_string()], 3.0, None).unwrap();
        assert_eq!(found(&with, tok), [tok]);
        let random = "Qm9vb2tLZXk5X2Zha2VfUmFuZG9tX3Rva2VuXzEyMzQ1Njc4";
        assert!(found(&plain, random).is_empty());
        let bare = Secrets::build(&[], 3.0, Some(4.2)).unwrap();
        assert_eq!(found(&bare, random), [random]);
        // A SHA-256 hex digest stays below 4 bits per character.
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(found(&bare, sha).is_empty());
    }

    #[test]
    fn private_key_blocks_are_secrets() {
        let s = Secrets::build(&[], 3.0, None).unwrap();
        let pem = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\\n-----END RSA PRIVATE KEY-----";
        assert_eq!(found(&s, &format!("key {pem} x")), [pem]);
    }
}
