//! `sluice config check`: the dry run a user makes before `serve`. It parses the config,
//! validates the policies against the schema and the config's entities, starts each
//! backend and lists its tools, and reports per server ok or failed.
//!
//! It never creates the data directory, the vault or the audit log: nothing it does
//! leaves state behind except what the backends themselves do when started.

use std::time::Instant;

use anyhow::Context;

use super::{CliError, ConfigArg, exit, runtime};
use sluice::auth::Principals;
use sluice::backends::Backends;
use sluice::config::{Config, ConfigSource, ServerConfig};

/// Arguments of `sluice config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Dry run: parse the config, validate policies, start each backend and list its
    /// tools. Exit 0 when everything works, 2 for an invalid config or policy set, 1 when
    /// a backend fails.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    config: ConfigArg,
}

/// Runs `sluice config …`.
pub(super) fn run(args: ConfigArgs) -> Result<u8, CliError> {
    match args.command {
        ConfigCommand::Check(args) => check(args),
    }
}

/// How a server is reached, for the report (an HTTP URL without credentials or query).
pub(crate) fn describe_server(server: &ServerConfig) -> String {
    match (&server.command, &server.url) {
        (Some(command), _) => format!("stdio `{command}`"),
        (None, Some(url)) => sluice::backends::redacted_url(url),
        (None, None) => "no transport".to_owned(),
    }
}

fn check(args: CheckArgs) -> Result<u8, CliError> {
    let (config, source) =
        Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    match &source {
        ConfigSource::File(path) => println!("config   {}: ok", path.display()),
        ConfigSource::Defaults => println!("config   no sluice.toml: embedded defaults"),
    }
    // Keys matter only to the network fronts (an unset api_key_env stops `serve --http`
    // and `--grpc`, not `--stdio` or `exec`), so this is a warning here.
    if let Err(error) = Principals::from_config(&config) {
        println!("warning  [agents]: {error} (`serve --http`/`--grpc` would not start)");
    }
    if let Some(warning) = refusal_warning(&config) {
        println!("warning  {warning}");
    }
    let store = sluice::setup::policy_store(&config).map_err(CliError::usage)?;
    let engine = store.engine();
    let ids: Vec<&str> = engine.policy_ids().collect();
    println!(
        "policies {}: {} valid against the schema: {}",
        config
            .policy
            .dir
            .as_deref()
            .map_or("embedded defaults".to_owned(), |d| d.display().to_string()),
        ids.len(),
        ids.join(", ")
    );
    if config.servers.is_empty() {
        println!("servers  none configured");
        return Ok(exit::OK);
    }
    let backends = Backends::from_config(&config.servers)
        .context("invalid [servers]")
        .map_err(CliError::usage)?;
    let runtime = runtime()?;
    let mut bad_fields = 0;
    let failed = runtime.block_on(async {
        let checks = config.servers.iter().map(|(name, server)| {
            let backends = &backends;
            async move {
                let started = Instant::now();
                let tools = backends.tools(name).await;
                (name, server, tools, started.elapsed())
            }
        });
        let results = futures::future::join_all(checks).await;
        // Policies against the tools the backends really offer.
        let mut model = sluice::setup::entity_model(&config);
        for (name, _, tools, _) in &results {
            for tool in tools.iter().flat_map(|tools| tools.iter()) {
                // With its input schema: argument rules are validated against it.
                model.set_tool_input(
                    name,
                    &tool.name,
                    serde_json::Value::Object((*tool.input_schema).clone()),
                );
            }
        }
        let literal_warnings = match engine.with_model_checked(model) {
            Ok((_, warnings)) => warnings.iter().map(ToString::to_string).collect(),
            Err(error) => vec![error.to_string()],
        };
        let mut failed = 0;
        let fields = sluice::flow::fields::FieldHintTable::from_config(&config);
        for (name, server, tools, took) in results {
            let how = describe_server(server);
            match tools {
                Ok(tools) => {
                    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
                    names.sort_unstable();
                    println!(
                        "ok       {name} ({how}, trust {}): {} tools in {} ms: {}",
                        server.trust,
                        names.len(),
                        took.as_millis(),
                        names.join(", ")
                    );
                    for error in fields.check(name, &tools) {
                        bad_fields += 1;
                        println!("INVALID  {error}");
                    }
                }
                Err(error) => {
                    failed += 1;
                    println!("FAILED   {name} ({how}): {}", error.message);
                }
            }
        }
        backends.shutdown().await;
        for warning in literal_warnings {
            println!("warning  {warning}");
        }
        failed
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if bad_fields > 0 {
        println!("{bad_fields} field declarations do not fit their tools' output schemas");
        return Ok(exit::USAGE);
    }
    if failed > 0 {
        println!("{failed} of {} servers failed", config.servers.len());
        Ok(exit::RUNTIME)
    } else {
        println!("all {} servers ok", config.servers.len());
        Ok(exit::OK)
    }
}

/// The warning `serve --http`/`--grpc` gives when no request could ever authenticate.
pub(crate) fn refusal_warning(config: &Config) -> Option<String> {
    let keyed = config
        .agents
        .values()
        .any(|a| a.api_key_env.is_some() || a.api_key_sha256.is_some());
    if keyed || config.auth.anonymous.is_some() {
        return None;
    }
    Some(
        "no agent has an API key and [auth] anonymous is not set, so `serve --http` and \
         `--grpc` refuse every request (401 / UNAUTHENTICATED); add \
         `[agents.NAME] api_key_env = \"VAR\"` (or `api_key_sha256`) and send \
         `Authorization: Bearer <key>`, or set `[auth] anonymous = \"NAME\"` on a trusted network"
            .to_owned(),
    )
}
