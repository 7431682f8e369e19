//! `sluice.toml`: the typed configuration. Unknown keys are rejected, and every error names
//! the file, the key and the line, so a typo never silently changes behaviour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod fields;
pub use fields::{FieldDeclaration, FieldDeclarations};

/// The file Sluice reads when no `--config` is given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "sluice.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Backend MCP servers by name (the name is the `tools.<name>` accessor).
    #[serde(default)]
    pub servers: BTreeMap<String, ServerConfig>,
    /// Where flow policies come from.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Principals (Cedar `Agent`s) by name: their groups and API keys.
    #[serde(default)]
    pub agents: BTreeMap<String, AgentConfig>,
    /// How network clients authenticate.
    #[serde(default)]
    pub auth: AuthSection,
    /// Sandbox limits and engine settings.
    #[serde(default)]
    pub sandbox: SandboxSection,
    /// What the PII detectors look for.
    #[serde(default)]
    pub detectors: DetectorsSection,
    /// How `sluice serve` listens.
    #[serde(default)]
    pub serve: ServeSection,
    /// Where Sluice keeps its state (vault, audit log); relative to the config file;
    /// default `.sluice` in the working directory.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// A shared store for the vault and the audit log (replicas); default: embedded sled.
    #[serde(default)]
    pub store: StoreSection,
    /// Limits of the per-session workspace programs keep state in.
    #[serde(default)]
    pub workspace: WorkspaceSection,
    /// Where saved skills are kept and how large they may be.
    #[serde(default)]
    pub skills: SkillsSection,
    /// A Claude-style `.mcp.json` whose `mcpServers` are added to `servers` (relative to
    /// this config file). Imported servers get trust "external" and tag "imported"; a
    /// `[servers.NAME]` table without `command` or `url` sets the trust, tags and timeouts
    /// of the imported server NAME instead. Naming a server's transport twice is an error.
    #[serde(default)]
    pub import_mcp_json: Option<PathBuf>,
    /// OpenTelemetry trace export (off unless `otlp_endpoint` is set).
    #[serde(default)]
    pub telemetry: TelemetrySection,
}

/// `[telemetry]`: OpenTelemetry traces over OTLP (HTTP/protobuf).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// The collector's OTLP/HTTP base URL, e.g. `http://otel-collector:4318` (spans go to
    /// `/v1/traces` under it; a URL with a path is used as is). Unset: no traces.
    #[serde(default, deserialize_with = "http_url")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of the exported spans (default `sluice`).
    pub service_name: Option<String>,
}

/// Where some values sit in the TOML text, for checks that run after parsing.
#[derive(Default, Deserialize)]
struct Spans {
    #[serde(default)]
    servers: BTreeMap<String, ServerSpans>,
    #[serde(default)]
    detectors: DetectorsSpans,
}

#[derive(Default, Deserialize)]
struct ServerSpans {
    trust: Option<toml::Spanned<String>>,
}

#[derive(Default, Deserialize)]
struct DetectorsSpans {
    enable: Option<toml::Spanned<Vec<String>>>,
}

/// One entry of a Claude-style `.mcp.json` `mcpServers` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct McpJsonServer {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "http_url")]
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct McpJson {
    #[serde(default)]
    mcp_servers: BTreeMap<String, McpJsonServer>,
}

/// One backend: either a stdio child process (`command`) or streamable HTTP (`url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Program to start for a stdio backend.
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment for the child process (`${VAR}` is expanded).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Endpoint of a streamable HTTP backend (`http://` or `https://`).
    #[serde(default, deserialize_with = "http_url")]
    pub url: Option<String>,
    /// PEM CA certificates trusted for this HTTPS backend besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// HTTP headers for it (`${VAR}` is expanded).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Trust level exposed to Cedar as `Server.trust`: one of [`STANDARD_TRUST_LEVELS`] or
    /// of `[policy] trust_levels`.
    #[serde(default = "default_trust")]
    pub trust: String,
    /// Free-form tags exposed to Cedar as `Server.tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Budget of one tool call, in milliseconds (default 60000).
    pub timeout_ms: Option<u64>,
    /// Budget for starting the server and the MCP handshake, in milliseconds (default 20000).
    pub connect_timeout_ms: Option<u64>,
    /// What some fields of its tools' results hold (`[servers.NAME.fields]`), e.g.
    /// `"leads[].owner" = "NAME"`; checked against each tool's `outputSchema`.
    #[serde(default)]
    pub fields: FieldDeclarations,
}

fn default_trust() -> String {
    "external".into()
}

/// The trust levels a server may have without declaring them in `[policy] trust_levels`.
pub const STANDARD_TRUST_LEVELS: &[&str] = &["internal", "external", "partner", "untrusted"];

/// A backend URL: `http://` or `https://` with a host, checked while parsing so the error
/// carries the line of the value. The message never repeats the URL (it may hold a token).
fn http_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(deserializer)?;
    check_http_url(&url).map_err(serde::de::Error::custom)?;
    Ok(Some(url))
}

fn check_http_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("a backend `url` must start with http:// or https://".into());
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        let hint = crate::suggest::closest(scheme, ["http", "https"])
            .map(|s| format!(" (did you mean {s}://?)"))
            .unwrap_or_default();
        return Err(format!(
            "unsupported URL scheme '{scheme}://' in a backend `url`: use http:// or https://{hint}"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("the backend `url` has no host after {scheme}://"));
    }
    url.parse::<http::Uri>()
        .map_err(|e| format!("the backend `url` is not a valid URL: {e}"))?;
    Ok(())
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Directory with `schema.cedarschema` and `*.cedar`; default: the embedded policies.
    pub dir: Option<PathBuf>,
    /// A candidate policy directory evaluated beside the live set; disagreements are
    /// logged and counted, never enforced.
    pub shadow_dir: Option<PathBuf>,
    /// Watch `dir` and `shadow_dir` and reload on change under `sluice serve` (default true).
    pub watch: Option<bool>,
    /// Trust levels servers may have besides the standard internal, external, partner and
    /// untrusted (e.g. `["vendor"]`); any other `trust` is a config error, so a typo such
    /// as "intrenal" never silently lands a server in no policy's scope.
    #[serde(default)]
    pub trust_levels: Vec<String>,
}

/// `[auth]`: authentication of MCP-over-HTTP and gRPC clients.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// The principal of requests without credentials; unset: such requests are refused.
    /// (Local stdio clients always run as `anonymous`.)
    pub anonymous: Option<String>,
}

/// `[store]`: where the vault and the audit log live. Without `postgres` (or
/// `postgres_env`), the embedded sled database and `audit.jsonl` under `data_dir`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// PostgreSQL connection URL, e.g. `postgres://sluice@db/sluice?sslmode=require`.
    /// Prefer `postgres_env` when the URL holds a password.
    pub postgres: Option<String>,
    /// The environment variable that holds the connection URL, e.g. `SLUICE_PG_URL`.
    pub postgres_env: Option<String>,
    /// PEM CA certificates trusted for the database's TLS certificate besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Pooled connections per replica (default 8).
    pub pool_size: Option<usize>,
    /// Deadline of one store operation, connecting included, in milliseconds (default 5000).
    pub timeout_ms: Option<u64>,
}

impl StoreSection {
    /// The PostgreSQL URL in force, if any: `postgres`, else the variable `postgres_env` names.
    pub fn postgres_url(&self) -> Result<Option<String>, String> {
        let invalid = |message: String| message;
        match (&self.postgres, &self.postgres_env) {
            (Some(_), Some(_)) => Err(invalid(
                "[store] sets both `postgres` and `postgres_env`; keep one".into(),
            )),
            (Some(url), None) => Ok(Some(url.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(url) if !url.trim().is_empty() => Ok(Some(url)),
                _ => Err(invalid(format!(
                    "[store] postgres_env = \"{var}\", but the environment variable {var} is unset or empty; export it with the connection URL (postgres://USER:PASSWORD@HOST/DATABASE)"
                ))),
            },
            (None, None) => Ok(None),
        }
    }
}

/// `[serve]`: the network fronts of `sluice serve`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// `Host` header values MCP over HTTP accepts (DNS-rebinding protection), each `host`
    /// (any port) or `host:port`; default: localhost, 127.0.0.1, ::1 and the bound address.
    /// An empty list accepts any host (only behind a proxy that checks it).
    pub allowed_hosts: Option<Vec<String>>,
    /// TLS for `--http` and `--grpc` (the metrics endpoint stays plain HTTP).
    pub tls: Option<TlsConfig>,
    /// Open MCP-over-HTTP sessions one agent may hold (default 1024); an `initialize` past it
    /// is refused with 429.
    pub max_sessions_per_agent: Option<usize>,
}

/// `[serve.tls]`: PEM files for the network fronts; relative paths are resolved from the
/// config file's directory, like every other path Sluice opens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain (leaf first).
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// If set, clients must present a certificate signed by one of these CAs (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// `[agents.NAME]`: one principal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Cedar groups the agent is in (`Sluice::Group`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// SHA-256 (hex) of the agent's API key; the key itself never goes in the config.
    pub api_key_sha256: Option<String>,
    /// Or: the environment variable holding the agent's API key (hashed when loaded).
    pub api_key_env: Option<String>,
}

/// `[sandbox]`: default limits of every execute.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// Wall-clock budget per execute, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// JS heap budget per execute, in MiB.
    pub memory_mb: Option<u64>,
    /// Console output plus result budget, in bytes.
    pub max_output_bytes: Option<usize>,
    /// Tool calls per execute.
    pub max_calls: Option<u32>,
    /// Largest accepted program, in bytes.
    pub max_code_bytes: Option<usize>,
    /// Executes running at once (more wait).
    pub max_concurrent: Option<u32>,
    /// Executes one agent may have running or waiting at once (default 2048); more are
    /// refused with a clear error, so one agent cannot queue without bound.
    pub max_concurrent_per_agent: Option<u32>,
    /// Where the compiled sandbox engine is cached.
    pub cache_dir: Option<PathBuf>,
}

/// `[workspace]`: limits of `workspace.set` (per session and agent).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSection {
    /// Largest value one key may hold, in bytes of JSON (default 65536).
    pub max_value_bytes: Option<usize>,
    /// Most keys one session's workspace may hold (default 1000).
    pub max_keys: Option<usize>,
}

/// `[skills]`: who shares saved skills and how large they may be.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillsSection {
    /// `"agent"` (default): each agent has its own skills; `"group"`: agents share the
    /// skills of their first group (`[agents.NAME] groups`), agents without one keep their own.
    pub share: Option<SkillShare>,
    /// Largest skill source accepted by `skills.save`, in bytes (default 65536).
    pub max_code_bytes: Option<usize>,
    /// Most skills one agent (or group) may keep (default 200).
    pub max_skills: Option<usize>,
}

/// Who shares a saved skill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkillShare {
    /// Each agent keeps its own skills.
    #[default]
    Agent,
    /// Agents share the skills of their first group.
    Group,
}

/// `[detectors]`: phone regions, the optional built-in kinds, and custom kinds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorsSection {
    /// ISO regions national phone numbers are validated against, in order
    /// (default: US, GB, DE, FR, ES, IT, IN, CA, AU, BR).
    pub regions: Option<Vec<String>>,
    /// Optional built-in kinds to turn on, by kind name: any of [`OPTIONAL_KINDS`]
    /// (EMAIL, PHONE and NAME are always on).
    #[serde(default)]
    pub enable: Vec<String>,
    /// Token prefixes of your own (e.g. `"acme_live_"`) added to the SECRET formats.
    #[serde(default)]
    pub secret_prefixes: Vec<String>,
    /// Also report any 32+ character token whose Shannon entropy reaches this many bits
    /// per character (e.g. 4.5) as SECRET, without a cue; off when unset.
    pub secret_entropy: Option<f64>,
    /// Extra kinds of sensitive value, each tokenized as `[KIND_n]`.
    #[serde(default)]
    pub custom: Vec<CustomKindConfig>,
}

/// The built-in kinds that are off unless `[detectors] enable` names them.
pub const OPTIONAL_KINDS: &[&str] = &["IBAN", "CARD", "SECRET"];

/// The kinds always on.
pub const DEFAULT_KINDS: &[&str] = &["EMAIL", "PHONE", "NAME"];

/// `[[detectors.custom]]`: a kind found by a regex or a word list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomKindConfig {
    /// UPPER_SNAKE kind name, e.g. `EMPLOYEE_ID`; placeholders are `[EMPLOYEE_ID_n]`.
    pub kind: String,
    /// A regular expression (Rust `regex` syntax) matching the values.
    pub regex: Option<String>,
    /// Or: the exact words or phrases to find.
    pub words: Option<Vec<String>>,
    /// Match `words` regardless of case.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Cedar kind groups the kind belongs to (`Sluice::KindGroup`), e.g. `["financial"]`.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A configuration that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The values parse but do not make sense together.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file (given with `--config` or found as `./sluice.toml`).
    File(PathBuf),
    /// No file: embedded defaults.
    Defaults,
}

impl Config {
    /// Loads `explicit` if given, else `./sluice.toml` if present, else the defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok((Config::default(), ConfigSource::Defaults)),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let mut config = Config::parse_unchecked(&text, &path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        if let Some(import) = config.import_mcp_json.clone() {
            config.import(&import, &path)?;
        }
        config.validate(&path)?;
        Ok((config, ConfigSource::File(path)))
    }

    /// Resolves every relative path Sluice itself opens against `base`, the config file's
    /// directory, so a config means the same from any working directory: `data_dir`,
    /// `import_mcp_json`, `[policy] dir`/`shadow_dir`, `[sandbox] cache_dir`, `[store]` and
    /// `[servers.*]` `ca_file`, `[serve.tls]` files. A backend's `command` and `args` are not
    /// paths Sluice opens: the child runs in the working directory and finds its command on
    /// `PATH`, as a shell would.
    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        let optional = |path: &mut Option<PathBuf>| {
            if let Some(path) = path {
                resolve(path);
            }
        };
        optional(&mut self.data_dir);
        optional(&mut self.import_mcp_json);
        optional(&mut self.policy.dir);
        optional(&mut self.policy.shadow_dir);
        optional(&mut self.sandbox.cache_dir);
        optional(&mut self.store.ca_file);
        for server in self.servers.values_mut() {
            optional(&mut server.ca_file);
        }
        if let Some(tls) = &mut self.serve.tls {
            resolve(&mut tls.cert);
            resolve(&mut tls.key);
            optional(&mut tls.client_ca);
        }
    }

    /// Adds the `mcpServers` of the `.mcp.json` at `file` (referenced from `config_path`).
    fn import(&mut self, file: &Path, config_path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let parsed: McpJson = serde_json::from_str(&text).map_err(|e| {
            // serde_json's message ends with its own "at line L column C": said once here.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            ConfigError::Parse {
                path: file.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message,
            }
        })?;
        for (name, server) in parsed.mcp_servers {
            if let Some(kind) = &server.kind {
                check_transport_type(&name, kind).map_err(|message| ConfigError::Invalid {
                    path: file.to_path_buf(),
                    message,
                })?;
            }
            let mut entry = ServerConfig {
                command: server.command,
                args: server.args,
                env: server.env,
                url: server.url,
                headers: server.headers,
                trust: default_trust(),
                tags: vec!["imported".into()],
                timeout_ms: None,
                connect_timeout_ms: None,
                ca_file: None,
                fields: FieldDeclarations::default(),
            };
            if let Some(local) = self.servers.get(&name) {
                if local.command.is_some() || local.url.is_some() {
                    return Err(ConfigError::Invalid {
                        path: config_path.to_path_buf(),
                        message: format!(
                            "server '{name}' is both in [servers] and in {}; name it once \
                             (a [servers.{name}] table with only trust, tags or timeouts \
                             adjusts the imported server)",
                            file.display()
                        ),
                    });
                }
                entry.trust = local.trust.clone();
                if !local.tags.is_empty() {
                    entry.tags = local.tags.clone();
                }
                entry.timeout_ms = local.timeout_ms;
                entry.connect_timeout_ms = local.connect_timeout_ms;
                entry.ca_file = local.ca_file.clone();
                entry.fields = local.fields.clone();
            }
            self.servers.insert(name, entry);
        }
        Ok(())
    }

    /// Parses and validates TOML `text` (without importing `import_mcp_json`); `path` is
    /// only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config = Config::parse_unchecked(text, path)?;
        config.validate(path)?;
        Ok(config)
    }

    /// Parses TOML `text` and checks what needs the text's positions (trust levels), but
    /// not what an import may still complete (servers' transports).
    fn parse_unchecked(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            at(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        // The same text parsed again for positions only; it parsed once, so this cannot
        // fail in a way that matters (positions are then just unknown).
        let spans: Spans = toml::from_str(text).unwrap_or_default();
        let levels = config.trust_levels();
        for (name, server) in &config.servers {
            if levels.contains(&server.trust.as_str()) {
                continue;
            }
            let suggestion = crate::suggest::closest(&server.trust, levels.iter().copied())
                .map(|level| format!(" (did you mean \"{level}\"?)"))
                .unwrap_or_default();
            let message = format!(
                "servers.{name}.trust = \"{}\" is not a trust level{suggestion}; the levels \
                 are {} (declare others in [policy] trust_levels)",
                server.trust,
                levels.join(", ")
            );
            let offset = spans
                .servers
                .get(name)
                .and_then(|s| s.trust.as_ref())
                .map(|t| t.span().start);
            return Err(match offset {
                Some(offset) => at(offset, message),
                None => ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message,
                },
            });
        }
        config.check_detector_kinds(&spans, &at, path)?;
        Ok(config)
    }

    /// Every kind name the detectors can produce: the built-in ones and the custom ones.
    pub fn kind_names(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = DEFAULT_KINDS.to_vec();
        kinds.extend(OPTIONAL_KINDS);
        kinds.extend(self.detectors.custom.iter().map(|c| c.kind.as_str()));
        kinds
    }

    /// `[detectors] enable` names optional kinds, and every `[servers.NAME.fields]`
    /// declaration has a valid path and a known kind; errors carry the value's line.
    fn check_detector_kinds(
        &self,
        spans: &Spans,
        at: &dyn Fn(usize, String) -> ConfigError,
        path: &Path,
    ) -> Result<(), ConfigError> {
        let located = |offset: Option<usize>, message: String| match offset {
            Some(offset) => at(offset, message),
            None => ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            },
        };
        let enable_at = spans.detectors.enable.as_ref().map(|s| s.span().start);
        for kind in &self.detectors.enable {
            if OPTIONAL_KINDS.contains(&kind.as_str()) {
                continue;
            }
            let message = if DEFAULT_KINDS.contains(&kind.as_str()) {
                format!(
                    "[detectors] enable: {kind} is always on; list only optional kinds ({})",
                    OPTIONAL_KINDS.join(", ")
                )
            } else {
                let suggestion = crate::suggest::closest(kind, OPTIONAL_KINDS.iter().copied())
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_default();
                format!(
                    "[detectors] enable: \"{kind}\" is not an optional kind{suggestion}; the optional kinds are {}",
                    OPTIONAL_KINDS.join(", ")
                )
            };
            return Err(located(enable_at, message));
        }
        let kinds = self.kind_names();
        for (name, server) in &self.servers {
            if let Err((span, message)) = server.fields.check(name, &kinds) {
                return Err(located(span.map(|s| s.start), message));
            }
        }
        Ok(())
    }

    /// The trust levels servers may have: the standard ones and `[policy] trust_levels`.
    pub fn trust_levels(&self) -> Vec<&str> {
        let mut levels: Vec<&str> = STANDARD_TRUST_LEVELS.to_vec();
        for level in &self.policy.trust_levels {
            if !levels.contains(&level.as_str()) {
                levels.push(level);
            }
        }
        levels
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        for (name, server) in &self.servers {
            if !is_identifier(name) {
                return Err(invalid(format!(
                    "[servers.{name}]: a server name must be letters, digits, '_' or '-' (it becomes tools.<name>)"
                )));
            }
            match (&server.command, &server.url) {
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "[servers.{name}]: set either `command` (stdio) or `url` (HTTP), not both"
                    )));
                }
                (None, None) => {
                    let imported = if self.import_mcp_json.is_some() {
                        " (or name a server of import_mcp_json to adjust its trust and tags)"
                    } else {
                        ""
                    };
                    return Err(invalid(format!(
                        "[servers.{name}]: set `command` for a stdio server or `url` for an HTTP server{imported}"
                    )));
                }
                _ => {}
            }
        }
        for level in &self.policy.trust_levels {
            if level == "unknown" {
                return Err(invalid(
                    "[policy] trust_levels: \"unknown\" is reserved for entities the config \
                     does not know; choose another name"
                        .into(),
                ));
            }
        }
        for name in self.agents.keys() {
            if !is_identifier(name) {
                return Err(invalid(format!(
                    "[agents.{name}]: an agent name must be letters, digits, '_' or '-'"
                )));
            }
        }
        for custom in &self.detectors.custom {
            if custom.regex.is_some() == custom.words.is_some() {
                return Err(invalid(format!(
                    "[[detectors.custom]] kind = \"{}\": set exactly one of `regex` or `words`",
                    custom.kind
                )));
            }
        }
        if let Some(mb) = self.sandbox.memory_mb
            && !(1..=4096).contains(&mb)
        {
            return Err(invalid(format!(
                "[sandbox] memory_mb = {mb}: must be between 1 and 4096"
            )));
        }
        if self.sandbox.timeout_ms == Some(0) {
            return Err(invalid("[sandbox] timeout_ms must be at least 1".into()));
        }
        Ok(())
    }

    /// The data directory: configured, else `./.sluice`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".sluice"))
    }
}

/// Whether an `.mcp.json` server's `type` is one Sluice speaks, and why not if not.
fn check_transport_type(name: &str, kind: &str) -> Result<(), String> {
    match kind {
        "stdio" | "http" | "streamable-http" | "streamableHttp" => Ok(()),
        "sse" => Err(format!(
            "mcpServers.{name}: the \"sse\" transport (HTTP+SSE, replaced by streamable HTTP \
             in MCP 2025-03-26) is not supported; if the server also serves streamable HTTP, \
             set \"type\": \"http\" and its streamable endpoint (often /mcp), or run it over stdio"
        )),
        other => Err(format!(
            "mcpServers.{name}: transport type \"{other}\" is not supported; use \"stdio\" \
             (command) or \"http\" (url)"
        )),
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
