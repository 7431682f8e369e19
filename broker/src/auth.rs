//! Principals: who is calling. Agents are configured with API keys (kept only as SHA-256
//! hashes; a key itself comes from the environment), and every front (MCP over HTTP,
//! gRPC) turns a presented bearer token into an agent name here. Local stdio is one
//! trusted client and runs as the anonymous principal.

use std::collections::HashMap;

use ring::digest;

use crate::config::Config;

/// The principal of unauthenticated stdio clients, and of other fronts when
/// `[auth] anonymous` names no other.
pub const ANONYMOUS: &str = "anonymous";

/// Why a caller could not be authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, and the config names no anonymous principal.
    #[error(
        "authentication required: send `Authorization: Bearer <api key>` (gRPC: `authorization` metadata)"
    )]
    Missing,
    /// Credentials that match no agent.
    #[error("invalid API key")]
    Invalid,
}

/// A config that cannot define principals.
#[derive(Debug, thiserror::Error)]
#[error("[agents.{agent}] {message}")]
pub struct PrincipalsError {
    /// The agent.
    pub agent: String,
    /// What is wrong.
    pub message: String,
}

/// API-key hashes → agent names, and the anonymous principal if any.
#[derive(Debug, Clone, Default)]
pub struct Principals {
    by_key_hash: HashMap<[u8; 32], String>,
    anonymous: Option<String>,
}

impl Principals {
    /// Reads `[agents.*]` keys (`api_key_sha256`, or `api_key_env` read and hashed now)
    /// and `[auth] anonymous`.
    pub fn from_config(config: &Config) -> Result<Self, PrincipalsError> {
        let mut by_key_hash = HashMap::new();
        for (name, agent) in &config.agents {
            let bad = |message: String| PrincipalsError {
                agent: name.clone(),
                message,
            };
            let mut hashes = Vec::new();
            if let Some(hex) = &agent.api_key_sha256 {
                hashes.push(parse_hash(hex).ok_or_else(|| {
                    bad("api_key_sha256 must be 64 hex digits (sha256sum of the key)".into())
                })?);
            }
            if let Some(var) = &agent.api_key_env {
                let key = std::env::var(var).map_err(|_| {
                    bad(format!(
                        "api_key_env: the environment variable {var} is not set"
                    ))
                })?;
                if key.trim().is_empty() {
                    return Err(bad(format!("api_key_env: {var} is empty")));
                }
                hashes.push(hash_key(key.trim()));
            }
            for hash in hashes {
                if let Some(other) = by_key_hash.insert(hash, name.clone())
                    && other != *name
                {
                    return Err(bad(format!("has the same API key as agent '{other}'")));
                }
            }
        }
        Ok(Principals {
            by_key_hash,
            anonymous: config.auth.anonymous.clone(),
        })
    }

    /// Principals for a single trusted local client (stdio): everyone is [`ANONYMOUS`].
    pub fn local() -> Self {
        Principals {
            by_key_hash: HashMap::new(),
            anonymous: Some(ANONYMOUS.to_owned()),
        }
    }

    /// The agent a bearer token belongs to; without a token, the anonymous principal if
    /// the config names one.
    pub fn authenticate(&self, token: Option<&str>) -> Result<String, AuthError> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => self
                .by_key_hash
                .get(&hash_key(token))
                .cloned()
                .ok_or(AuthError::Invalid),
            None => self.anonymous.clone().ok_or(AuthError::Missing),
        }
    }

    /// The token of an `Authorization` header value (`Bearer <token>`, any case).
    pub fn bearer(header: &str) -> Option<&str> {
        let (scheme, token) = header.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }
}

/// SHA-256 of an API key.
pub fn hash_key(key: &str) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("t.toml")).expect("config")
    }

    #[test]
    fn keys_map_to_agents_and_unknown_keys_are_refused() {
        let hex: String = hash_key("s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let p = Principals::from_config(&config(&format!(
            "[agents.bot]\napi_key_sha256 = \"{hex}\"\n"
        )))
        .expect("principals");
        assert_eq!(p.authenticate(Some("s3cret")), Ok("bot".to_owned()));
        assert_eq!(p.authenticate(Some("wrong")), Err(AuthError::Invalid));
        assert_eq!(p.authenticate(None), Err(AuthError::Missing));
        assert_eq!(Principals::bearer("Bearer s3cret"), Some("s3cret"));
        assert_eq!(Principals::bearer("Basic abc"), None);
    }

    #[test]
    fn anonymous_only_when_configured() {
        let p = Principals::from_config(&config("[auth]\nanonymous = \"guest\"\n")).expect("p");
        assert_eq!(p.authenticate(None), Ok("guest".to_owned()));
        assert_eq!(
            Principals::local().authenticate(None),
            Ok(ANONYMOUS.to_owned())
        );
    }

    #[test]
    fn a_bad_hash_is_a_config_error() {
        let err = Principals::from_config(&config("[agents.bot]\napi_key_sha256 = \"xyz\"\n"))
            .expect_err("bad hash");
        assert!(err.to_string().contains("[agents.bot]"), "{err}");
    }
}
