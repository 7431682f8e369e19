//! Builds the broker from a [`Config`]: the one place that turns configuration into parts.

use sandbox_host::{Limits, Sandbox, SandboxConfig};

use crate::backends::Backends;
use crate::config::Config;
use crate::flow::Broker;
use crate::flow::ingress::Tokenizer;
use crate::policy::{EntityModel, PolicyEngine, PolicyStore};
use crate::store::postgres::{Migrate, PgOptions, PgStore};
use crate::vault::{MasterKey, Vault};
use anyhow::Context;
use detectors::{CustomKind, Detectors};
use std::sync::Arc;

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
        .unwrap_or(crate::flow::DEFAULT_CONCURRENT_PER_AGENT);
    Ok(Broker::new(
        Some(sandbox),
        backends,
        tokenizer(config)?,
        std::sync::Arc::new(policy_store(config)?),
        Some(std::sync::Arc::new(audit_log(config)?)),
        limits.clone(),
    )
    .with_concurrent_per_agent(per_agent)
    .with_state(workspace_limits(config), skill_settings(config)))
}

/// `[workspace]` over the defaults.
pub fn workspace_limits(config: &Config) -> crate::flow::workspace::WorkspaceLimits {
    let defaults = crate::flow::workspace::WorkspaceLimits::default();
    crate::flow::workspace::WorkspaceLimits {
        max_value_bytes: config
            .workspace
            .max_value_bytes
            .unwrap_or(defaults.max_value_bytes),
        max_keys: config.workspace.max_keys.unwrap_or(defaults.max_keys),
    }
}

/// `[skills]` over the defaults, with each agent's first group.
pub fn skill_settings(config: &Config) -> crate::flow::skills::SkillSettings {
    let defaults = crate::flow::skills::SkillSettings::default();
    crate::flow::skills::SkillSettings {
        share: config.skills.share.unwrap_or_default(),
        groups: config
            .agents
            .iter()
            .filter_map(|(name, agent)| Some((name.clone(), agent.groups.first()?.clone())))
            .collect(),
        max_code_bytes: config
            .skills
            .max_code_bytes
            .unwrap_or(defaults.max_code_bytes),
        max_skills: config.skills.max_skills.unwrap_or(defaults.max_skills),
    }
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
    )
    .with_state(workspace_limits(config), skill_settings(config)))
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

/// Opens the audit log: `[store] postgres` (this process's own chain), else
/// `<data_dir>/audit.jsonl`.
pub fn audit_log(config: &Config) -> anyhow::Result<crate::audit::AuditLog> {
    let key = master_key(config)?;
    // The audit store commits asynchronously: a record survives this process dying (the
    // database has it), not a database crash — the same promise as the unsynced file.
    if let Some(store) = postgres(config, Migrate::Apply, false)? {
        return crate::audit::AuditLog::open_postgres(Arc::new(store), &key)
            .context("cannot open the audit log");
    }
    crate::audit::AuditLog::open(&config.data_dir(), &key).context("cannot open the audit log")
}

/// Opens the vault (`[store] postgres`, else sled in the data dir) with the default detectors.
pub fn tokenizer(config: &Config) -> anyhow::Result<Tokenizer> {
    Ok(
        Tokenizer::new(detectors(config)?, vault(config, Migrate::Apply)?)
            .with_fields(crate::flow::fields::FieldHintTable::from_config(config)),
    )
}

/// Opens the vault: PostgreSQL when `[store]` names one (migrating per `migrate`), else
/// the embedded sled store in the data dir.
pub fn vault(config: &Config, migrate: Migrate) -> anyhow::Result<Vault> {
    let key = master_key(config)?;
    if let Some(store) = postgres(config, migrate, true)? {
        return Ok(Vault::with_store(Arc::new(store), &key)?);
    }
    Ok(Vault::open(&config.data_dir(), &key)?)
}

/// The master key: `SLUICE_MASTER_KEY`, else `<data_dir>/master.key` — created on first
/// use only for the embedded store. Replicas on PostgreSQL must share one key, so a
/// fresh random one would be wrong there: it has to be provisioned.
pub fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    let data_dir = config.data_dir();
    if let Some(key) = MasterKey::from_env()? {
        return Ok(key);
    }
    let shared = config
        .store
        .postgres_url()
        .map_err(anyhow::Error::msg)?
        .is_some();
    if shared && !data_dir.join(MasterKey::FILE_NAME).exists() {
        anyhow::bail!(
            "[store] postgres is set but there is no master key: every replica must use the same one; set {} to it (base64 of 32 bytes, e.g. from `head -c 32 /dev/urandom | base64`, the same on every replica) or place it in {}",
            MasterKey::ENV,
            data_dir.join(MasterKey::FILE_NAME).display()
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    Ok(MasterKey::load_or_create(&data_dir)?)
}

/// Binds a shared store to the master key the operator gave (`SLUICE_MASTER_KEY`, or
/// `master.key` in the data dir); `Ok(false)` when none was given. The first key a
/// database sees is the only one it accepts, so binding it when migrating (rather than at
/// the first replica's start) means a replica started with an old key during a key
/// cut-over is refused instead of claiming the new database. Migrating needs no key (a
/// schema owner need not hold it); then the first replica to start binds its key.
pub fn bind_master_key(config: &Config, store: PgStore) -> anyhow::Result<bool> {
    let given =
        MasterKey::from_env()?.is_some() || config.data_dir().join(MasterKey::FILE_NAME).exists();
    if !given {
        return Ok(false);
    }
    let key = master_key(config)?;
    Vault::with_store(Arc::new(store), &key)?;
    Ok(true)
}

/// Connects to `[store] postgres` if configured. `synchronous_commit = false` only for
/// the audit log (see [`audit_log`]).
pub fn postgres(
    config: &Config,
    migrate: Migrate,
    synchronous_commit: bool,
) -> anyhow::Result<Option<PgStore>> {
    let section = &config.store;
    let Some(url) = section.postgres_url().map_err(anyhow::Error::msg)? else {
        return Ok(None);
    };
    crate::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if let Some(path) = &section.ca_file {
        for der in crate::tls::read_ca_certificates(path).context("cannot load [store] ca_file")? {
            roots
                .add(rustls_pki_types::CertificateDer::from(der))
                .with_context(|| {
                    format!(
                        "[store] ca_file {}: a certificate is not usable",
                        path.display()
                    )
                })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot configure TLS for PostgreSQL")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let options = PgOptions {
        pool_size: section.pool_size.unwrap_or(8),
        timeout: std::time::Duration::from_millis(section.timeout_ms.unwrap_or(5000).max(1)),
        tls,
        migrate,
        synchronous_commit,
        // The vault caches (see store::postgres::Cache); the audit log only appends.
        cache: synchronous_commit,
    };
    Ok(Some(PgStore::connect(&url, options)?))
}

/// The PII detectors `[detectors]` asks for.
pub fn detectors(config: &Config) -> anyhow::Result<Detectors> {
    let section = &config.detectors;
    let mut builder = Detectors::builder();
    if let Some(regions) = &section.regions {
        builder = builder.regions(regions.iter().map(String::as_str));
    }
    for kind in &section.enable {
        builder = match kind.as_str() {
            "IBAN" => builder.ibans(true),
            "CARD" => builder.cards(true),
            "SECRET" => builder.secrets(true),
            // Config::parse rejects any other name with its line.
            other => anyhow::bail!("[detectors] enable: \"{other}\" is not an optional kind"),
        };
    }
    if let Some(bits) = section.secret_entropy {
        if !(1.0..=8.0).contains(&bits) {
            anyhow::bail!(
                "[detectors] secret_entropy = {bits}: must be between 1.0 and 8.0 bits per character (4.5 is a good start)"
            );
        }
        builder = builder.secret_entropy(Some(bits));
    }
    builder = builder.secret_prefixes(section.secret_prefixes.iter());
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
