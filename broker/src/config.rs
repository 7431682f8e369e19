//! `sluice.toml`: the typed configuration. Unknown keys are rejected, and every error names
//! the file, the key and the line, so a typo never silently changes behaviour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// Sandbox limits and engine settings.
    #[serde(default)]
    pub sandbox: SandboxSection,
    /// Where Sluice keeps its state (vault, audit log); default `./.sluice`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
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
    /// Endpoint of a streamable HTTP backend.
    pub url: Option<String>,
    /// HTTP headers for it (`${VAR}` is expanded).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Trust level exposed to Cedar as `Server.trust`, e.g. "internal" or "external".
    #[serde(default = "default_trust")]
    pub trust: String,
    /// Free-form tags exposed to Cedar as `Server.tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Budget of one tool call, in milliseconds (default 60000).
    pub timeout_ms: Option<u64>,
    /// Budget for starting the server and the MCP handshake, in milliseconds (default 20000).
    pub connect_timeout_ms: Option<u64>,
}

fn default_trust() -> String {
    "external".into()
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Directory with `schema.cedarschema` and `*.cedar`; default: the embedded policies.
    pub dir: Option<PathBuf>,
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
    /// Where the compiled sandbox engine is cached.
    pub cache_dir: Option<PathBuf>,
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
        let config = Config::parse(&text, &path)?;
        Ok((config, ConfigSource::File(path)))
    }

    /// Parses and validates TOML `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        config.validate(path)?;
        Ok(config)
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
                    return Err(invalid(format!(
                        "[servers.{name}]: set `command` for a stdio server or `url` for an HTTP server"
                    )));
                }
                _ => {}
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
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("sluice.toml"))
    }

    #[test]
    fn contract_example_parses() {
        let config = parse(
            r#"
[servers.sheets]
command = "sheets-server"
args = ["--data", "examples/data/leads.csv"]
env = { LOG = "warn" }
trust = "internal"
[servers.crm]
url = "http://127.0.0.1:7001/mcp"
headers = { Authorization = "Bearer ${CRM_TOKEN}" }
trust = "internal"
[policy]
dir = "policies"
"#,
        )
        .expect("valid");
        assert_eq!(config.servers.len(), 2);
        assert_eq!(config.servers["sheets"].trust, "internal");
        assert_eq!(config.policy.dir.as_deref(), Some(Path::new("policies")));
    }

    #[test]
    fn unknown_key_is_rejected_with_file_key_and_line() {
        let err = parse("[servers.a]\ncommand = \"x\"\ncomand = \"y\"\n").expect_err("typo");
        let text = err.to_string();
        assert!(text.starts_with("sluice.toml:3:"), "{text}");
        assert!(text.contains("comand"), "{text}");
    }

    #[test]
    fn server_needs_exactly_one_transport() {
        assert!(parse("[servers.a]\ntrust = \"internal\"\n").is_err());
        assert!(parse("[servers.a]\ncommand = \"x\"\nurl = \"http://h/mcp\"\n").is_err());
    }

    #[test]
    fn out_of_range_memory_is_rejected() {
        let err = parse("[sandbox]\nmemory_mb = 0\n").expect_err("zero");
        assert!(err.to_string().contains("memory_mb"));
    }
}
