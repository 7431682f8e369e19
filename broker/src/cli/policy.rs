//! `sluice policy validate|test|explain`: the policy author's tools.

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use super::{CliError, ConfigArg, exit, runtime};
use sluice::config::Config;
use sluice::flow::{Broker, SessionId, ToolRef};
use sluice::policy::{
    self, CallRequest, EntityModel, Explanation, FlowRequest, PolicyEngine, PolicyRequest,
};

/// Arguments of `sluice policy`.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum PolicyCommand {
    /// Parse and strictly validate a policy directory against its schema.
    Validate(DirArgs),
    /// Run the test cases in DIR/tests/*.json against the policies of DIR.
    Test(DirArgs),
    /// Decide one request and show the deciding and considered policies.
    Explain(Box<ExplainArgs>),
    /// Format the *.cedar files of DIR with Cedar's formatter (in place; --check only
    /// lists the files that would change and exits 1 if any would).
    Format(FormatArgs),
    /// Print the Cedar schema in force: the policy directory's schema plus the argument
    /// types generated from the configured backends' tool input schemas.
    Schema(DirArgs),
}

#[derive(Debug, clap::Args)]
struct FormatArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Policy directory (default: `[policy] dir` of the config).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    check: bool,
    /// Longest line the formatter aims for.
    #[arg(long, value_name = "N", default_value_t = 80)]
    line_width: usize,
}

#[derive(Debug, clap::Args)]
struct DirArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Policy directory (default: `[policy] dir` of the config, else the embedded defaults).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ExplainArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Policy directory (default: `[policy] dir` of the config, else the embedded defaults).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The principal.
    #[arg(long, value_name = "NAME", default_value = "anonymous")]
    agent: String,
    /// The destination tool, `server/tool`.
    #[arg(long, value_name = "SERVER/TOOL")]
    tool: String,
    /// `call` (may the agent call the tool) or `flow` (may a value go into its arguments);
    /// default: `flow` when a kind or placeholder is given, else `call`.
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Flow: the value's kind, e.g. EMAIL.
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Flow: the server the value came from.
    #[arg(long, value_name = "SERVER")]
    source: Option<String>,
    /// Flow: a placeholder of `--session`; its kind, source and value facts come from the vault.
    #[arg(long, value_name = "PLACEHOLDER", requires = "session")]
    placeholder: Option<String>,
    /// The vault session of `--placeholder`.
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Flow: where in the arguments the value sits, e.g. `to[0]`.
    #[arg(long, value_name = "PATH", default_value = "")]
    arg_path: String,
    /// Flow: the email's domain, e.g. example.com.
    #[arg(long, value_name = "DOMAIN")]
    email_domain: Option<String>,
    /// Flow: the phone number's ISO region, e.g. DE.
    #[arg(long, value_name = "REGION")]
    phone_country: Option<String>,
    /// Flow: the tool the value was first read from, `server/tool`.
    #[arg(long, value_name = "SERVER/TOOL")]
    source_tool: Option<String>,
    /// Flow: where in that tool's result, e.g. `contacts[0].email`.
    #[arg(long, value_name = "PATH")]
    source_path: Option<String>,
    /// The call's arguments as JSON (`context.args` of argument rules; the call facts are
    /// derived from them). Tool input schemas come from the configured backends.
    #[arg(long, value_name = "JSON")]
    args: Option<String>,
}

/// Runs `sluice policy …`.
pub(super) fn run(args: PolicyArgs) -> Result<u8, CliError> {
    match args.command {
        PolicyCommand::Validate(a) => validate(a),
        PolicyCommand::Test(a) => test(a),
        PolicyCommand::Schema(a) => schema(a),
        PolicyCommand::Explain(a) => explain(*a),
        PolicyCommand::Format(a) => format(a),
    }
}

/// The directory to use: explicit, else the config's, else `None` (embedded defaults).
fn policy_dir(config: &ConfigArg, explicit: Option<PathBuf>) -> Result<Option<PathBuf>, CliError> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    let (config, _) = Config::discover(config.config.as_deref()).map_err(CliError::usage)?;
    Ok(config.policy.dir)
}

fn describe(dir: Option<&Path>) -> String {
    dir.map_or("the embedded default policies".to_owned(), |d| {
        d.display().to_string()
    })
}

fn validate(args: DirArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let dir = args.dir.or_else(|| config.policy.dir.clone());
    // Against the config's entities: a literal naming an unknown kind is an error, an
    // unknown agent, group, server or tool a warning (tools are known once backends run:
    // `sluice config check` checks those too).
    let (engine, warnings) = PolicyEngine::load(dir.as_deref())
        .and_then(|engine| engine.with_model_checked(EntityModel::from_config(&config)))
        .map_err(CliError::usage)?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let ids: Vec<&str> = engine.policy_ids().collect();
    println!(
        "{}: {} policies valid against the schema (strict): {}",
        describe(dir.as_deref()),
        ids.len(),
        ids.join(", ")
    );
    for (tool, waiting) in engine.pending_rules() {
        // Typed by the tool's input schema, which only its backend knows.
        println!(
            "argument rules waiting for the input schema of {tool}: {} (validated when its server lists it: `sluice config check` or `sluice policy schema --config …`; until then its calls are refused)",
            waiting.join(", ")
        );
    }
    println!("policy set hash: {}", engine.policy_set_hash());
    Ok(exit::OK)
}

fn format(args: FormatArgs) -> Result<u8, CliError> {
    let Some(dir) = policy_dir(&args.config, args.dir)? else {
        return Err(CliError::usage(anyhow!(
            "no policy directory: give one (sluice policy format DIR) or set [policy] dir"
        )));
    };
    let config = cedar_policy_formatter::Config {
        line_width: args.line_width,
        indent_width: 2,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| CliError::usage(anyhow!("cannot read {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cedar") && p.is_file())
        .collect();
    paths.sort();
    // Format everything first, so a file that does not parse changes nothing.
    let mut changed = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(anyhow!("cannot read {}: {e}", path.display())))?;
        let pretty = cedar_policy_formatter::policies_str_to_pretty(&text, &config)
            .map_err(|e| CliError::usage(anyhow!("{}: cannot format: {e}", path.display())))?;
        if pretty != text {
            changed.push((path, pretty));
        }
    }
    if args.check {
        for (path, _) in &changed {
            println!("not formatted: {}", path.display());
        }
        println!("{} of {} files need formatting", changed.len(), paths.len());
        return Ok(if changed.is_empty() {
            exit::OK
        } else {
            exit::RUNTIME
        });
    }
    for (path, pretty) in &changed {
        std::fs::write(path, pretty)
            .map_err(|e| CliError::runtime(anyhow!("cannot write {}: {e}", path.display())))?;
        println!("formatted {}", path.display());
    }
    println!(
        "{} of {} files formatted, {} already were",
        changed.len(),
        paths.len(),
        paths.len() - changed.len()
    );
    Ok(exit::OK)
}

fn test(args: DirArgs) -> Result<u8, CliError> {
    let dir = policy_dir(&args.config, args.dir)?;
    let report = policy::run_tests(dir.as_deref()).map_err(CliError::usage)?;
    for case in &report.cases {
        if case.passed {
            println!(
                "ok    {}: {} ({})",
                case.file.display(),
                case.name,
                case.decision.reason
            );
        } else {
            println!(
                "FAIL  {}: {}: {}",
                case.file.display(),
                case.name,
                case.message
            );
        }
    }
    println!(
        "{} passed, {} failed ({})",
        report.passed(),
        report.failed(),
        describe(dir.as_deref())
    );
    if report.cases.is_empty() {
        eprintln!(
            "sluice: no test cases found; add {}/tests/*.json",
            describe(dir.as_deref())
        );
        return Ok(exit::RUNTIME);
    }
    Ok(if report.all_passed() {
        exit::OK
    } else {
        exit::RUNTIME
    })
}

/// `sluice policy schema`: the directory's schema and the argument types generated from
/// the configured backends' tools (listed live).
fn schema(args: DirArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let dir = args.dir.or_else(|| config.policy.dir.clone());
    let engine = PolicyEngine::load(dir.as_deref())
        .and_then(|e| e.with_model(EntityModel::from_config(&config)))
        .map_err(CliError::usage)?;
    let model = if config.servers.is_empty() {
        engine.model().clone()
    } else {
        let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
        runtime()?.block_on(broker.live_policy_model())
    };
    let fragment = policy::args::fragment(&model);
    let mut text = engine.schema_text();
    if !fragment.is_empty() {
        text.push('\n');
        text.push_str(&fragment);
    }
    print!("{text}");
    // The policies must validate against it, as at load.
    engine.with_model(model).map_err(CliError::usage)?;
    Ok(exit::OK)
}

fn explain(args: ExplainArgs) -> Result<u8, CliError> {
    let (config, _) = Config::discover(args.config.config.as_deref()).map_err(CliError::usage)?;
    let dir = args.dir.clone().or_else(|| config.policy.dir.clone());
    let mut engine = PolicyEngine::load(dir.as_deref())
        .and_then(|e| e.with_model(EntityModel::from_config(&config)))
        .map_err(CliError::usage)?;
    let call_args: Option<serde_json::Value> = args
        .args
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| CliError::usage(anyhow!("--args is not JSON: {e}")))?;
    if engine.pending_rules().next().is_some() && !config.servers.is_empty() {
        // Argument rules are typed by the real tools: ask the backends.
        let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
        let model = runtime()?.block_on(broker.live_policy_model());
        engine = engine.with_model(model).map_err(CliError::usage)?;
    }
    // Placeholders in --args are text here: their values stay in the vault.
    let facts = call_args
        .as_ref()
        .map(|a| policy::CallFacts::gather_default(a, &std::collections::HashMap::new()));
    let tool_ref = ToolRef::parse(&args.tool, "tool").map_err(CliError::usage)?;
    let (server, tool) = (tool_ref.server.as_str(), tool_ref.tool.as_str());
    // Facts of a real placeholder come from the broker (its value never reaches here).
    let mut kind = args.kind.clone();
    let mut source = args.source.clone();
    let mut email_domain = args.email_domain.clone();
    let mut phone_country = args.phone_country.clone();
    let mut source_tool = args.source_tool.clone();
    let mut source_path = args.source_path.clone();
    if let (Some(text), Some(session)) = (&args.placeholder, &args.session) {
        let session = SessionId::parse(session).map_err(CliError::usage)?;
        let broker = Broker::from_config_without_sandbox(&config).map_err(CliError::usage)?;
        let facts = runtime()?
            .block_on(broker.placeholder_facts(&session, text))
            .map_err(CliError::from_broker)?;
        email_domain = facts.facts.email_domain.or(email_domain);
        phone_country = facts
            .facts
            .phone_country
            .map(str::to_owned)
            .or(phone_country);
        kind = Some(facts.kind.to_string());
        source = Some(facts.source);
        source_tool = facts.source_tool.or(source_tool);
        source_path = facts.source_path.or(source_path);
    }
    let action = match args.action.as_deref() {
        Some("call") => "call",
        Some("flow") => "flow",
        Some(other) => {
            return Err(CliError::usage(anyhow!(
                "--action must be call or flow (got {other:?})"
            )));
        }
        None if kind.is_some() => "flow",
        None => "call",
    };
    let placeholder = args
        .placeholder
        .clone()
        .unwrap_or_else(|| "[PLACEHOLDER_1]".into());
    let request = if action == "call" {
        PolicyRequest::Call(CallRequest {
            agent: &args.agent,
            server,
            tool,
            args: call_args.as_ref(),
            call: facts.as_ref(),
        })
    } else {
        let (Some(kind), Some(source)) = (kind.as_deref(), source.as_deref()) else {
            return Err(CliError::usage(anyhow!(
                "a flow needs --kind and --source (or --placeholder with --session)"
            )));
        };
        PolicyRequest::Flow(FlowRequest {
            agent: &args.agent,
            server,
            tool,
            kind,
            source,
            placeholder: &placeholder,
            arg_path: &args.arg_path,
            email_domain: email_domain.as_deref(),
            phone_country: phone_country.as_deref(),
            source_tool: source_tool.as_deref(),
            source_path: source_path.as_deref(),
            call: facts.as_ref(),
        })
    };
    let (kind, source) = match &request {
        PolicyRequest::Flow(f) => (Some(f.kind), Some(f.source)),
        PolicyRequest::Call(_) => (None, None),
    };
    for (note, _) in engine
        .model()
        .unknown_names(&args.agent, server, tool, kind, source)
    {
        println!("note: {note}");
    }
    let explanation = engine.explain(&request);
    print_explanation(&request, &explanation);
    if engine.askable(&explanation.decision) {
        println!(
            "ask: every deciding policy is @on_deny(\"ask\"), so a human may approve this call (docs/policy-authoring.md)"
        );
    }
    Ok(if explanation.decision.allowed {
        exit::OK
    } else {
        exit::DENIED
    })
}

fn print_explanation(request: &PolicyRequest<'_>, e: &Explanation) {
    match request {
        PolicyRequest::Call(c) => println!(
            "request: Agent::{:?} call Tool::\"{}/{}\"",
            c.agent, c.server, c.tool
        ),
        PolicyRequest::Flow(f) => {
            println!(
                "request: Agent::{:?} flow {} from server '{}' into Tool::\"{}/{}\" at `{}`",
                f.agent, f.kind, f.source, f.server, f.tool, f.arg_path
            );
            if let Some(d) = f.email_domain {
                println!("         email_domain = {d:?}");
            }
            if let Some(c) = f.phone_country {
                println!("         phone_country = {c:?}");
            }
            if let Some(t) = f.source_tool {
                println!("         source_tool = {t:?}");
            }
            if let Some(p) = f.source_path {
                println!("         source_path = {p:?}");
            }
        }
    }
    let call = match request {
        PolicyRequest::Call(c) => c.call,
        PolicyRequest::Flow(f) => f.call,
    };
    if let Some(call) = call {
        // Facts only: domains, hosts, countries and argument names, never a value.
        println!("         call = {call:?}");
    }
    println!(
        "decision: {} — {}",
        if e.decision.allowed { "ALLOW" } else { "DENY" },
        e.decision.reason
    );
    for error in &e.decision.errors {
        println!("  evaluation error (policy skipped): {error}");
    }
    if !e.deciding.is_empty() {
        println!("deciding policies:");
        for p in &e.deciding {
            println!("  {} {} at {}", p.effect, p.id, p.location);
            for line in p.text.lines() {
                println!("    | {line}");
            }
        }
    }
    let others: Vec<String> = e
        .considered
        .iter()
        .filter(|c| !e.deciding.iter().any(|d| d.id == c.id))
        .map(|c| format!("{} {} ({})", c.effect, c.id, c.location))
        .collect();
    if !others.is_empty() {
        println!("also evaluated, did not apply:");
        for o in others {
            println!("  {o}");
        }
    }
    println!(
        "{} policies evaluated for this destination; {} skipped by the destination index",
        e.considered.len(),
        e.skipped
    );
}
