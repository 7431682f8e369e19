//! The CRM-sync demo (`sluice demo`): the example `sheets`, `crm` and `chat` servers as
//! real MCP servers (crm over streamable HTTP, the others as stdio child processes), the
//! agent program `examples/agents/crm-sync.js` run through the full broker on the default
//! policies, and what each party ended up with.
//!
//! This module runs the scenario and gathers the facts; `cli/demo.rs` prints them. The
//! demo checks its own claim: if any raw email, phone or name of the sheet appears in what
//! the model saw, [`run`] fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sandbox_host::Outcome;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use sluice::backends::Backends;

use sluice::config::{Config, ServerConfig};
use sluice::context_cost::count_tokens;
use sluice::flow::{Broker, Detail, ExecuteRequest, SearchRequest};
use sluice::policy::{ConsideredPolicy, FlowRequest, PolicyRequest};

/// The agent program the demo runs (also shipped as `examples/agents/crm-sync.js`).
pub const PROGRAM: &str = include_str!("../../examples/agents/crm-sync.js");

/// The principal the demo runs as.
pub const AGENT: &str = "crm-sync-agent";

/// The query the model would `search` with before writing the program.
const SEARCH_QUERY: &str = "update a lead's email and phone";

/// Where the demo keeps its state.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Keep vault, audit log, CRM database and chat log here (default: a temporary dir,
    /// removed afterwards).
    pub data_dir: Option<PathBuf>,
}

/// Everything the demo found out.
#[derive(Debug)]
pub struct DemoReport {
    /// What `search` returned to the model.
    pub search: String,
    /// The outcome of the program, exactly as the model receives it.
    pub outcome: Outcome,
    /// The CRM leads the program updated, read back from the CRM server directly.
    pub crm_leads: Vec<Value>,
    /// The messages the chat server received (from its own log).
    pub chat_messages: Vec<Value>,
    /// The chat denial as the program saw it, if the post was refused.
    pub chat_denial: Option<String>,
    /// Why Cedar denies EMAIL from sheets into chat/postMessage.
    pub chat_policy: Option<ConsideredPolicy>,
    /// The deciding reason of that decision.
    pub chat_reason: String,
    /// Audit records written during the demo.
    pub audit_records: u64,
    /// Context economy.
    pub economy: Economy,
    /// Where the state was kept (None: a removed temporary dir).
    pub kept_data_dir: Option<PathBuf>,
}

/// Tokens (o200k_base) the model saw in code mode against classic tool calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Economy {
    /// Code mode: the search result, the program the model wrote, and the outcome.
    pub code_mode: usize,
    /// Classic tool calling: every backend tool schema, and every call's arguments and
    /// raw result passing through the context.
    pub classic: usize,
}

/// Runs the scenario.
pub async fn run(options: DemoOptions) -> anyhow::Result<DemoReport> {
    let temp = match &options.data_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("cannot create a temporary directory")?),
    };
    let root: PathBuf = match (&options.data_dir, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => bail!("no data directory"),
    };
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let chat_log = root.join("chat.jsonl");
    // A fresh chat log per run, so part 3 shows what this run sent.
    let _ = std::fs::remove_file(&chat_log);

    let crm = HttpServer::start(
        &example_bin("crm-server")?,
        &["--db", &path_str(&root.join("crm"))?],
    )
    .await?;
    let config = demo_config(&root, &crm.url, &chat_log)?;
    let report = scenario(&config, &chat_log).await;
    crm.stop().await;
    let mut report = report?;
    report.kept_data_dir = options.data_dir;
    drop(temp);
    Ok(report)
}

async fn scenario(config: &Config, chat_log: &Path) -> anyhow::Result<DemoReport> {
    let broker = Broker::from_config(config)?;
    let session = broker.create_session(AGENT)?;
    let search = broker
        .search(SearchRequest {
            agent: AGENT.to_owned(),
            session: Some(session.clone()),
            query: SEARCH_QUERY.to_owned(),
            detail: Detail::Signatures,
            limit: Some(3),
        })
        .await;
    let executed = broker
        .execute(
            ExecuteRequest {
                agent: AGENT.to_owned(),
                session: Some(session),
                code: PROGRAM.to_owned(),
                timeout_ms: None,
                deadline: None,
            },
            None,
        )
        .await;
    broker.shutdown().await;
    let search = search?;
    let outcome = executed?.outcome;
    if let Some(error) = &outcome.error {
        bail!(
            "the demo program failed ({:?}): {}",
            error.kind,
            error.message
        );
    }

    // The operator's view: the same backends, called directly (no tokenization).
    let operator = Backends::from_config(&config.servers)?;
    let raw = operator_view(&operator).await;
    operator.shutdown().await;
    let raw = raw?;

    let model_saw = format!(
        "{search}\n{PROGRAM}\n{}",
        serde_json::to_string(&outcome).context("serializing the outcome")?
    );
    if let Some(leak) = raw.pii.iter().find(|v| model_saw.contains(v.as_str())) {
        bail!(
            "invariant broken: a raw value ({} chars) reached the model",
            leak.len()
        );
    }

    let updated: Vec<String> = outcome.result["updated"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let crm_leads: Vec<Value> = raw
        .leads
        .iter()
        .filter(|l| {
            l["id"]
                .as_str()
                .is_some_and(|id| updated.iter().any(|u| u == id))
        })
        .cloned()
        .collect();
    let chat_messages = read_jsonl(chat_log);
    let chat_denial = outcome.result["chat"]
        .as_str()
        .filter(|c| *c != "posted")
        .map(str::to_owned);

    let engine = broker.policy().engine();
    let explanation = engine.explain(&PolicyRequest::Flow(FlowRequest {
        agent: AGENT,
        server: "chat",
        tool: "postMessage",
        kind: "EMAIL",
        source: "sheets",
        placeholder: "[EMAIL_1]",
        arg_path: "text",
        email_domain: None,
        phone_country: None,
        ..FlowRequest::default()
    }));

    let key = sluice::vault::MasterKey::load(&config.data_dir())?;
    let audit_records = sluice::audit::verify(&config.data_dir(), &key)
        .map(|r| r.records)
        .unwrap_or(0);

    let classic = count_tokens(&raw.tool_schemas)
        + raw
            .call_traffic
            .iter()
            .map(|t| count_tokens(t))
            .sum::<usize>();
    Ok(DemoReport {
        economy: Economy {
            code_mode: count_tokens(&model_saw),
            classic,
        },
        search,
        outcome,
        crm_leads,
        chat_messages,
        chat_denial,
        chat_policy: explanation.deciding.first().cloned(),
        chat_reason: explanation.decision.reason,
        audit_records,
        kept_data_dir: None,
    })
}

/// What the backends hold, seen without Sluice in between.
struct OperatorView {
    /// Every raw email, phone and name the sheet returned for pending leads.
    pii: Vec<String>,
    /// The CRM's leads after the run.
    leads: Vec<Value>,
    /// The three servers' `tools/list`, as classic tool calling would load them.
    tool_schemas: String,
    /// The arguments and raw results of the calls the program made.
    call_traffic: Vec<String>,
}

async fn operator_view(backends: &Backends) -> anyhow::Result<OperatorView> {
    let tools = backends.all_tools().await;
    let schemas: BTreeMap<&str, &Vec<rmcp::model::Tool>> = tools
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_ref()))
        .collect();
    let tool_schemas = serde_json::to_string(&schemas).context("serializing tool schemas")?;

    let get_rows = json!({ "sheet": "q4-leads", "status": "pending" });
    let rows = backends
        .call("sheets", "getRows", get_rows.clone())
        .await
        .map_err(|e| anyhow!("reading the sheet back: {}", e.message))?;
    let leads = backends
        .call("crm", "listLeads", json!({}))
        .await
        .map_err(|e| anyhow!("reading the CRM back: {}", e.message))?;
    let leads = leads["leads"].as_array().cloned().unwrap_or_default();

    let mut pii = Vec::new();
    let mut call_traffic = vec![get_rows.to_string(), rows.to_string()];
    for row in rows["rows"].as_array().into_iter().flatten() {
        for field in ["email", "phone", "name"] {
            if let Some(v) = row[field].as_str().filter(|v| !v.is_empty()) {
                pii.push(v.to_owned());
            }
        }
        let args = json!({
            "id": row["crmId"], "email": row["email"], "phone": row["phone"],
            "status": "contacted", "note": format!("synced from sheet row {}", row["id"].as_str().unwrap_or("")),
        });
        call_traffic.push(args.to_string());
        if let Some(lead) = leads.iter().find(|l| l["id"] == row["crmId"]) {
            call_traffic.push(lead.to_string());
        }
    }
    Ok(OperatorView {
        pii,
        leads,
        tool_schemas,
        call_traffic,
    })
}

/// The demo's configuration: sheets and chat as stdio children, crm over HTTP.
fn demo_config(root: &Path, crm_url: &str, chat_log: &Path) -> anyhow::Result<Config> {
    let stdio = |bin: &str, args: Vec<String>, trust: &str| -> anyhow::Result<ServerConfig> {
        Ok(ServerConfig {
            command: Some(path_str(&example_bin(bin)?)?),
            args,
            env: BTreeMap::from([("LOG".to_owned(), "warn".to_owned())]),
            url: None,
            headers: BTreeMap::new(),
            trust: trust.to_owned(),
            tags: Vec::new(),
            timeout_ms: None,
            connect_timeout_ms: None,
            ca_file: None,
            fields: Default::default(),
        })
    };
    let mut config = Config {
        data_dir: Some(root.join("sluice")),
        ..Config::default()
    };
    config.servers.insert(
        "sheets".into(),
        stdio("sheets-server", Vec::new(), "internal")?,
    );
    config.servers.insert(
        "chat".into(),
        stdio(
            "chat-server",
            vec!["--log".into(), path_str(chat_log)?],
            "external",
        )?,
    );
    config.servers.insert(
        "crm".into(),
        ServerConfig {
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            url: Some(crm_url.to_owned()),
            headers: BTreeMap::new(),
            trust: "internal".into(),
            tags: Vec::new(),
            timeout_ms: None,
            connect_timeout_ms: None,
            ca_file: None,
            fields: Default::default(),
        },
    );
    Ok(config)
}

/// An example server over streamable HTTP on loopback, killed when stopped or dropped.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    async fn start(bin: &Path, args: &[&str]) -> anyhow::Result<HttpServer> {
        let mut child = Command::new(bin)
            .args(args)
            .args(["--http", "127.0.0.1:0"])
            .env("LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow!("no stderr from {}", bin.display()))?;
        let mut lines = BufReader::new(stderr).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| anyhow!("{} did not start serving HTTP", bin.display()))?;
        // Keep draining its stderr so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(HttpServer { child, url })
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// An example server binary: `$SLUICE_EXAMPLES_DIR`, else next to this executable (where
/// `cargo build --workspace --bins` puts them), else on `PATH`.
pub(crate) fn example_bin(name: &str) -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("SLUICE_EXAMPLES_DIR") {
        dirs.push(dir.into());
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "the example server '{name}' was not found next to sluice or on PATH; build it with `make build` (cargo build --release --workspace --bins) or set SLUICE_EXAMPLES_DIR"
            )
        })
}

fn path_str(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("path is not UTF-8: {}", path.display()))
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
