//! Builds the broker from a [`Config`]: the one place that turns configuration into parts.

use sandbox_host::{Limits, Sandbox, SandboxConfig};

use crate::backends::Backends;
use crate::config::Config;
use crate::flow::Broker;
use crate::flow::ingress::Tokenizer;
use crate::policy::{EntityModel, PolicyEngine, PolicyStore};
use crate::vault::{MasterKey, Vault};
use anyhow::Context;
use detectors::{CustomKind, Detectors};

/// The default per-execute limits, from `[sandbox]` over the built-in defaults.
pub fn limits(config: &Config) -> Limits {
    let section = &config.sandbox;
    let mut limits = Limits::default();
    if let Some(ms) = section.timeout_ms {
        limits.timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(mb) = section.memory_mb {
        limits.memory_bytes = mb << 20;
    }
    if let Some(bytes) = section.max_output_bytes {
        limits.max_output_bytes = bytes;
    }
    if let Some(calls) = section.max_calls {
        limits.max_calls = calls;
    }
    if let Some(bytes) = section.max_code_bytes {
        limits.max_code_bytes = bytes;
    }
    limits
}

/// Builds the broker. `limits` are the defaults; the sandbox accepts any heap budget up to
/// the larger of them and 512 MiB.
pub fn broker(config: &Config, limits: &Limits) -> anyhow::Result<Broker> {
    let defaults = SandboxConfig::default();
    let sandbox = Sandbox::new(SandboxConfig {
        max_concurrent: config
            .sandbox
            .max_concurrent
            .unwrap_or(defaults.max_concurrent),
        max_memory_bytes: defaults.max_memory_bytes.max(limits.memory_bytes),
        cache_dir: config.sandbox.cache_dir.clone().or(defaults.cache_dir),
        default_limits: limits.clone(),
    })?;
    let backends = Backends::from_config(&config.servers)?;
    let per_agent = config
        .sandbox
        .max_concurrent_per_agent
        .unwrap_or(crate::flow::broker::DEFAULT_CONCURRENT_PER_AGENT);
    Ok(Broker::new(
        Some(sandbox),
        backends,
        tokenizer(config)?,
        std::sync::Arc::new(policy_store(config)?),
        Some(std::sync::Arc::new(audit_log(config)?)),
        limits.clone(),
    )
    .with_concurrent_per_agent(per_agent))
}

/// Builds a broker that never runs programs (no sandbox): what the data-only commands
/// (`tokenize`, `detokenize`, `search`, `vault`, `policy explain`) need, without the cost of
/// preparing the engine.
pub fn broker_without_sandbox(config: &Config) -> anyhow::Result<Broker> {
    let backends = Backends::from_config(&config.servers)?;
    Ok(Broker::new(
        None,
        backends,
        tokenizer(config)?,
        std::sync::Arc::new(policy_store(config)?),
        Some(std::sync::Arc::new(audit_log(config)?)),
        limits(config),
    ))
}

/// The entities policies see: servers (trust, tags), agents (groups) and kinds from the
/// config. Tools join when the catalog is loaded; an unknown tool of a known server is
/// still decided as a member of its server.
pub fn entity_model(config: &Config) -> EntityModel {
    EntityModel::from_config(config)
}

/// Loads `[policy] dir` (or the embedded defaults) over the config's entity model, and
/// the shadow candidate if one is configured.
pub fn policy_store(config: &Config) -> anyhow::Result<PolicyStore> {
    let dir = config.policy.dir.as_deref();
    let (engine, warnings) = PolicyEngine::load(dir)
        .and_then(|engine| engine.with_model_checked(entity_model(config)))
        .context("invalid flow policies")?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let store = PolicyStore::new(engine);
    if let Some(shadow) = &config.policy.shadow_dir {
        store
            .load_shadow(Some(shadow))
            .context("invalid shadow policies ([policy] shadow_dir)")?;
    }
    Ok(store)
}

/// Opens the audit log in the data dir (creating the master key on first use).
pub fn audit_log(config: &Config) -> anyhow::Result<crate::audit::AuditLog> {
    let data_dir = config.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let key = MasterKey::load_or_create(&data_dir)?;
    crate::audit::AuditLog::open(&data_dir, &key).context("cannot open the audit log")
}

/// Opens the vault in the data dir (creating the master key on first use) with the
/// default detectors.
pub fn tokenizer(config: &Config) -> anyhow::Result<Tokenizer> {
    let data_dir = config.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let key = MasterKey::load_or_create(&data_dir)?;
    let vault = Vault::open(&data_dir, &key)?;
    Ok(Tokenizer::new(detectors(config)?, vault))
}

/// The PII detectors `[detectors]` asks for.
pub fn detectors(config: &Config) -> anyhow::Result<Detectors> {
    let section = &config.detectors;
    let mut builder = Detectors::builder();
    if let Some(regions) = &section.regions {
        builder = builder.regions(regions.iter().map(String::as_str));
    }
    for custom in &section.custom {
        let kind = match (&custom.regex, &custom.words) {
            (Some(pattern), _) => CustomKind::regex(custom.kind.clone(), pattern.clone()),
            (None, Some(words)) => CustomKind::words(custom.kind.clone(), words.iter().cloned())
                .case_insensitive(custom.case_insensitive),
            (None, None) => {
                anyhow::bail!("[[detectors.custom]] {} has no regex or words", custom.kind)
            }
        };
        builder = builder.custom(kind);
    }
    builder.build().context("invalid [detectors] configuration")
}
