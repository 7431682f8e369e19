//! `sluice.toml` parsing and everything the broker builds from a parsed config without I/O.
//!
//! The input is the config text (inputs that are not UTF-8 are skipped: the loader reads
//! the file as a `String` and reports non-UTF-8 as a read error). Properties:
//! - `Config::parse` never panics; a parse error names the file and a line and column that
//!   exist in the text, with a non-empty message;
//! - an accepted config satisfies what `validate` promises (one transport per server,
//!   identifier names, exactly one of `regex`/`words`, limits in range);
//! - building limits, detectors, backends and the Cedar entity model from an accepted config
//!   returns `Ok` or an error, never panics.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sluice::backends::Backends;
use sluice::config::{Config, ConfigError};
use sluice::policy::PolicyEngine;

static POLICY: LazyLock<PolicyEngine> =
    LazyLock::new(|| PolicyEngine::load(None).expect("default policies"));

fn identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(text, Path::new("fuzz.toml")) {
        Ok(config) => config,
        Err(ConfigError::Parse {
            line,
            column,
            message,
            ..
        }) => {
            let lines = text.split('\n').count();
            assert!((1..=lines).contains(&line), "line {line} of {lines}");
            let line_len = text.split('\n').nth(line - 1).map_or(0, |l| l.len());
            assert!(
                (1..=line_len + 1).contains(&column),
                "column {column} on a line of {line_len} bytes"
            );
            assert!(!message.is_empty());
            return;
        }
        Err(ConfigError::Invalid { message, .. }) => {
            assert!(!message.is_empty());
            return;
        }
        Err(e @ ConfigError::Read { .. }) => panic!("parse cannot fail to read: {e}"),
    };
    for (name, server) in &config.servers {
        assert!(identifier(name), "server name {name:?}");
        assert!(
            server.command.is_some() != server.url.is_some(),
            "{name}: one transport"
        );
    }
    for name in config.agents.keys() {
        assert!(identifier(name), "agent name {name:?}");
    }
    for custom in &config.detectors.custom {
        assert!(custom.regex.is_some() != custom.words.is_some());
    }
    if let Some(mb) = config.sandbox.memory_mb {
        assert!((1..=4096).contains(&mb));
    }
    assert_ne!(config.sandbox.timeout_ms, Some(0));

    let _ = sluice::setup::limits(&config);
    let _ = sluice::setup::detectors(&config);
    let _ = Backends::from_config(&config.servers);
    let _ = POLICY.with_model(sluice::setup::entity_model(&config));
});
