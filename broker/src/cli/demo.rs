//! `sluice demo`: the CRM-sync scenario on embedded defaults, printed in three parts.

use serde_json::Value;

use super::{CliError, exit, runtime};
use crate::demo::{self, DemoOptions, DemoReport};

/// Arguments of `sluice demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the demo's state (vault, audit log, CRM database, chat log) in DIR instead of
    /// a temporary directory that is removed afterwards.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
}

pub(super) fn run(args: DemoArgs) -> Result<u8, CliError> {
    let report = runtime()?
        .block_on(demo::run(DemoOptions {
            data_dir: args.data_dir,
        }))
        .map_err(CliError::runtime)?;
    print_report(&report);
    Ok(exit::OK)
}

fn rule(title: &str) {
    println!(
        "\n── {title} {}",
        "─".repeat(78usize.saturating_sub(title.len() + 4))
    );
}

fn print_report(r: &DemoReport) {
    println!(
        "Sluice demo: CRM sync. An agent copies pending leads from a spreadsheet into the CRM"
    );
    println!("and tries to post a summary to team chat. Backends: sheets (stdio), crm (streamable");
    println!("HTTP), chat (stdio, external). Policies: the embedded defaults.");

    rule("1. What the model saw (placeholders only)");
    println!("search({:?}) returned:", "update a lead's email and phone");
    for line in r.search.lines() {
        println!("  {line}");
    }
    println!("the program (examples/agents/crm-sync.js) returned:");
    let result = serde_json::to_string_pretty(&r.outcome.result).unwrap_or_default();
    for line in result.lines() {
        println!("  {line}");
    }
    for log in &r.outcome.logs {
        let level = serde_json::to_value(log.level).unwrap_or_default();
        println!("  console.{}: {}", s(&level), log.message);
    }
    println!("  ({} tool calls)", r.outcome.calls);

    rule("2. What the CRM now stores (real values, read back from the crm server)");
    for lead in &r.crm_leads {
        let notes = lead["notes"]
            .as_array()
            .and_then(|n| n.last())
            .and_then(Value::as_str)
            .unwrap_or("");
        println!(
            "  {}  {:<20} {:<44} {:<16} {:<9} note: {}",
            s(&lead["id"]),
            s(&lead["name"]),
            s(&lead["email"]),
            s(&lead["phone"]),
            s(&lead["status"]),
            notes
        );
    }

    rule("3. The denied flow: contact data → chat");
    match &r.chat_denial {
        Some(denial) => println!("  the program's chat post failed with:\n    {denial}"),
        None => println!("  WARNING: the chat post was not refused"),
    }
    println!("  Cedar: {}", r.chat_reason);
    if let Some(policy) = &r.chat_policy {
        println!("  deciding policy {} ({}):", policy.id, policy.location);
        for line in policy.text.lines() {
            println!("    | {line}");
        }
    }
    println!(
        "  the chat server received {} message(s); {} audit records were written",
        r.chat_messages.len(),
        r.audit_records
    );

    rule("Context economy");
    let e = r.economy;
    let ratio = if e.code_mode == 0 {
        0.0
    } else {
        e.classic as f64 / e.code_mode as f64
    };
    println!(
        "  the model saw {} tokens (o200k) in code mode; classic tool calling would have put {} tokens in context (every tool schema plus every intermediate result): {:.1}x fewer",
        e.code_mode, e.classic, ratio
    );
    if let Some(dir) = &r.kept_data_dir {
        println!("\nstate kept in {}", dir.display());
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
