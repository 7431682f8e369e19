//! Sluice: a policy-enforcing data-flow broker for MCP agents that work in code mode.
//!
//! Data flows one way: a front (the CLI, [`front::mcp`] over stdio and HTTP, or [`front::grpc`]) hands a program to the
//! [`flow::Broker`], which runs it in the [`sandbox_host`] sandbox and routes every tool
//! call the program makes through itself to the backends. See `docs/architecture.md`.

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
pub mod backends;
pub mod catalog;
pub mod config;
pub mod context_cost;
pub mod errors;
pub mod flow;
pub mod front;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod setup;
pub mod store;
pub mod suggest;
pub mod telemetry;
pub mod tls;
pub mod vault;

/// The layering rule of `docs/architecture.md`, checked on the sources: fronts and the
/// application (CLI, demo, load generator) reach the broker only through [`flow::Broker`]
/// and its request types, never through the vault, the detectors, the catalog, the
/// backends or `setup`.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    /// Files allowed one named import each, and why.
    const EXCEPTIONS: &[(&str, &str, &str)] = &[
        // The audit chain is verified with the master key the vault also uses.
        (
            "cli/audit.rs",
            "vault::MasterKey",
            "audit verify/export need the key",
        ),
        // `sluice vault` refuses to create a key where none exists.
        (
            "cli/vault.rs",
            "vault::MasterKey",
            "vault stats/purge check the key exists",
        ),
        // The demo plays the CRM's operator: it reads the backends directly to show
        // what they store, and verifies the audit chain it produced.
        (
            "demo.rs",
            "backends::Backends",
            "the operator's direct view",
        ),
        ("demo.rs", "vault::MasterKey", "the demo's audit check"),
        // `sluice config check` is a dry run of the parts: it loads the policies and
        // starts the backends without opening (or creating) a vault.
        (
            "cli/config.rs",
            "setup::policy_store",
            "dry run without a vault",
        ),
        (
            "cli/config.rs",
            "setup::entity_model",
            "dry run without a vault",
        ),
        (
            "cli/config.rs",
            "backends::Backends",
            "dry run without a vault",
        ),
        (
            "cli/config.rs",
            "backends::redacted_url",
            "how a server is reached",
        ),
    ];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn fronts_and_the_application_reach_the_broker_only_through_its_api() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for dir in ["front", "cli", "load"] {
            rust_files(&src.join(dir), &mut files);
        }
        files.push(src.join("demo.rs"));
        let forbidden = [
            "vault::",
            "setup::",
            "catalog::",
            "backends::",
            "detectors::",
        ];
        let mut breaks = Vec::new();
        for file in &files {
            let rel = file
                .strip_prefix(&src)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for module in forbidden {
                    for prefix in ["crate::", "sluice::", ""] {
                        let needle = format!("{prefix}{module}");
                        if prefix.is_empty() && module != "detectors::" {
                            continue;
                        }
                        if let Some(at) = code.find(&needle) {
                            let rest = &code[at + prefix.len()..];
                            let allowed = EXCEPTIONS
                                .iter()
                                .any(|(f, item, _)| *f == rel && rest.starts_with(item));
                            if !allowed {
                                breaks.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            files.len() > 20,
            "the scan found too few files: {}",
            files.len()
        );
        assert!(breaks.is_empty(), "layering broken:\n{}", breaks.join("\n"));
    }
}
