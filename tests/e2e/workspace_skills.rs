//! State and skills across executes, through the real binary and real example servers:
//! the workspace keeps tokenized, sealed values per session and agent (across processes,
//! erased by a purge, held to its limits), and a saved skill is found by `search` on every
//! front and runs inside a later program's sandbox, refused by policy exactly as the same
//! calls written inline.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use sluice::front::grpc::pb;

use crate::fronts_agree::{KEY_VAR, grpc_client, mcp_call, mcp_client, start_serve};
use crate::support::{assert_no_raw_values_under, example_bin, outcome, run_in};

const AMELIA_EMAIL: &str = "amelia.hartley@northwind-logistics.co.uk";
const AMELIA_NAME: &str = "Amelia Hartley";
/// A value the program itself writes into the workspace (not from any backend).
const LITERAL_EMAIL: &str = "bob.jones@example.org";

/// sheets (stdio, internal) and chat (stdio, external, logging what it receives), the
/// agent `bot` with an API key, and `extra` TOML.
fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("sluice.toml");
    let text = format!(
        "data_dir = {data:?}\n{extra}\n\
         [agents.bot]\napi_key_env = {KEY_VAR:?}\n\n\
         [servers.sheets]\ncommand = {sheets:?}\ntrust = \"internal\"\n\n\
         [servers.chat]\ncommand = {chat:?}\nargs = [\"--log\", {log:?}]\ntrust = \"external\"\n",
        data = dir.join("data").to_str().expect("path"),
        sheets = example_bin("sheets-server").to_str().expect("path"),
        chat = example_bin("chat-server").to_str().expect("path"),
        log = dir.join("chat.jsonl").to_str().expect("path"),
    );
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("path").to_owned()
}

/// `sluice exec --session S [--agent A]` in its own process; the raw output.
fn exec_as(dir: &Path, config: &str, session: &str, agent: &str, program: &str) -> Output {
    run_in(
        dir,
        &[
            "exec",
            "--config",
            config,
            "--session",
            session,
            "--agent",
            agent,
            "-",
        ],
        program.as_bytes(),
    )
}

/// [`exec_as`] for agent `bot`, which must report an outcome: the outcome JSON.
fn exec(dir: &Path, config: &str, session: &str, program: &str) -> Value {
    outcome(exec_as(dir, config, session, "bot", program))
}

fn sluice(dir: &Path, args: &[&str]) -> Output {
    run_in(dir, args, b"")
}

#[test]
fn workspace_state_carries_across_executes_stays_in_its_session_and_agent_and_purge_erases_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");

    // Execute 1: a row from a backend and a literal the program wrote itself.
    let first = exec(
        dir.path(),
        &config,
        "ws-a",
        &format!(
            r#"const row = await tools.sheets.getRow({{ sheet: "q4-leads", id: "L-001" }});
            await workspace.set("lead", row);
            await workspace.set("cursor", {{ page: 3 }});
            await workspace.set("note", "escalate to {LITERAL_EMAIL}");
            return row.email;"#
        ),
    );
    assert_eq!(first["error"], Value::Null, "{first}");
    let placeholder = first["result"].as_str().expect("placeholder").to_owned();
    assert!(placeholder.starts_with("[EMAIL_"), "{first}");

    // Execute 2, a new process (a restart): it reads what execute 1 stored, tokenized.
    let second = exec(
        dir.path(),
        &config,
        "ws-a",
        r#"return { keys: await workspace.list(), lead: await workspace.get("lead"),
                    cursor: await workspace.get("cursor"), note: await workspace.get("note"),
                    pages: await workspace.list("cur"), missing: await workspace.get("nope") === undefined };"#,
    );
    assert_eq!(second["error"], Value::Null, "{second}");
    let result = &second["result"];
    assert_eq!(
        result["keys"],
        json!(["cursor", "lead", "note"]),
        "{second}"
    );
    assert_eq!(result["pages"], json!(["cursor"]), "{second}");
    assert_eq!(result["cursor"], json!({ "page": 3 }), "{second}");
    assert_eq!(result["lead"]["email"], json!(placeholder), "{second}");
    assert_eq!(result["missing"], json!(true), "{second}");
    let note = result["note"].as_str().expect("note");
    assert!(
        note.starts_with("escalate to [EMAIL_") && !note.contains(LITERAL_EMAIL),
        "the program's own literal was stored raw: {second}"
    );
    let seen = second.to_string();
    assert!(
        !seen.contains(AMELIA_EMAIL) && !seen.contains(AMELIA_NAME),
        "{seen}"
    );

    // Another session of the same agent sees nothing.
    let other_session = exec(
        dir.path(),
        &config,
        "ws-b",
        r#"return { keys: await workspace.list(), lead: await workspace.get("lead") ?? null };"#,
    );
    assert_eq!(
        other_session["result"],
        json!({ "keys": [], "lead": null }),
        "{other_session}"
    );

    // Another agent cannot execute in the session at all, so cannot read its workspace.
    let intruder = exec_as(
        dir.path(),
        &config,
        "ws-a",
        "mallory",
        r#"return await workspace.list();"#,
    );
    let intruder_out = format!(
        "{}{}",
        String::from_utf8_lossy(&intruder.stdout),
        String::from_utf8_lossy(&intruder.stderr)
    );
    assert_ne!(intruder.status.code(), Some(0), "{intruder_out}");
    assert!(intruder_out.contains("unknown session"), "{intruder_out}");
    assert!(
        !intruder_out.contains("cursor") && !intruder_out.contains("[EMAIL_"),
        "{intruder_out}"
    );
    // The same agent in its own new session with the same key sees only its own value.
    let mallory = exec_as(
        dir.path(),
        &config,
        "ws-m",
        "mallory",
        r#"await workspace.set("cursor", 1); return await workspace.list();"#,
    );
    let mallory: Value = serde_json::from_slice(&mallory.stdout).expect("outcome");
    assert_eq!(mallory["result"], json!(["cursor"]), "{mallory}");

    // Nothing raw at rest: not the backend's values, not the program's own literal, and
    // not the workspace keys either (they are sealed too).
    assert_no_raw_values_under(
        &dir.path().join("data"),
        &[
            AMELIA_EMAIL,
            AMELIA_NAME,
            LITERAL_EMAIL,
            "escalate to",
            "cursor",
        ],
    );

    // A purge erases the workspace with the session's values.
    let purged = sluice(
        dir.path(),
        &["vault", "--config", &config, "purge", "--session", "ws-a"],
    );
    assert_eq!(purged.status.code(), Some(0), "{purged:?}");
    let after = exec(
        dir.path(),
        &config,
        "ws-a",
        r#"return { keys: await workspace.list(), cursor: await workspace.get("cursor") ?? null };"#,
    );
    assert_eq!(
        after["result"],
        json!({ "keys": [], "cursor": null }),
        "{after}"
    );
    // Purging one session leaves another's workspace alone.
    let kept = exec_as(
        dir.path(),
        &config,
        "ws-m",
        "mallory",
        r#"return await workspace.get("cursor");"#,
    );
    let kept: Value = serde_json::from_slice(&kept.stdout).expect("outcome");
    assert_eq!(kept["result"], json!(1), "{kept}");
}

#[test]
fn workspace_limits_give_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(
        dir.path(),
        "[workspace]\nmax_keys = 2\nmax_value_bytes = 64\n",
    );
    let big = exec(
        dir.path(),
        &config,
        "lim",
        r#"await workspace.set("big", "x".repeat(100));"#,
    );
    assert_eq!(big["error"]["kind"], "tool", "{big}");
    let message = big["error"]["message"].as_str().expect("message");
    for part in [
        "workspace.set(\"big\")",
        "102 bytes",
        "64 bytes",
        "max_value_bytes",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }

    let full = exec(
        dir.path(),
        &config,
        "lim",
        r#"await workspace.set("a", 1); await workspace.set("b", 2);
           try { await workspace.set("c", 3); } catch (e) { return { message: e.message, keys: await workspace.list() }; }
           return "stored a third key";"#,
    );
    let message = full["result"]["message"].as_str().expect("caught");
    for part in [
        "workspace.set(\"c\")",
        "limit of 2 keys",
        "max_keys",
        "workspace.delete",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
    // Nothing was written by the refused calls; overwriting an existing key still works.
    assert_eq!(full["result"]["keys"], json!(["a", "b"]), "{full}");
    let overwrite = exec(
        dir.path(),
        &config,
        "lim",
        r#"await workspace.set("a", 10); return [await workspace.get("a"), await workspace.get("big") ?? null];"#,
    );
    assert_eq!(overwrite["result"], json!([10, null]), "{overwrite}");

    let bad = exec(dir.path(), &config, "lim", r#"await workspace.set("", 1);"#);
    assert!(
        bad["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("workspace.set(key): the key must be a non-empty string")),
        "{bad}"
    );
}

const SKILL_SAVE: &str = r#"return await skills.save({
  name: "leadDigest",
  description: "Reads one lead row from the q4-leads sheet and remembers its id in the workspace",
  code: `type Args = { id: string };
export default async function leadDigest(args: Args): Promise<{ id: string; email: string }> {
  const row = await tools.sheets.getRow({ sheet: "q4-leads", id: args.id });
  await workspace.set("last", args.id);
  return { id: row.id, email: row.email };
}`,
});"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_skill_is_found_by_search_over_mcp_and_grpc_and_runs_in_a_new_execute() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");
    let (serve, mcp_url, grpc_url) = start_serve(dir.path(), &config);

    let mcp = mcp_client(&mcp_url).await;
    let saved = mcp_call(&mcp, "execute", json!({ "code": SKILL_SAVE }))
        .await
        .expect("execute");
    assert!(
        saved.contains("\"version\":1") || saved.contains("\"version\": 1"),
        "{saved}"
    );

    let found = mcp_call(
        &mcp,
        "search",
        json!({ "query": "lead digest", "detail": "signatures" }),
    )
    .await
    .expect("search");
    assert!(
        found.contains("function leadDigest(args: Args)"),
        "mcp: {found}"
    );
    assert!(found.contains("type Args = { id: string }"), "mcp: {found}");
    assert!(found.contains("Reads one lead row"), "mcp: {found}");

    // The MCP Skills extension (SEP-2640) serves it too: skills/list, skills/get, and its
    // SKILL.md through resources/read.
    let listed = mcp.list_all_skills().await.expect("skills/list");
    let uri = "skill://sluice/lead-digest/SKILL.md";
    assert_eq!(
        listed.iter().map(|s| s.uri.as_str()).collect::<Vec<_>>(),
        [uri],
        "{listed:?}"
    );
    let got = mcp
        .get_skill(rmcp::model::GetSkillRequestParams::new(uri))
        .await
        .expect("skills/get");
    assert_eq!(got.skill.name(), "lead-digest");
    let read = mcp
        .read_resource(rmcp::model::ReadResourceRequestParams::new(uri))
        .await
        .expect("resources/read");
    let text = match read.contents.first() {
        Some(rmcp::model::ResourceContents::TextResourceContents { text, .. }) => text.clone(),
        other => panic!("not text: {other:?}"),
    };
    assert!(text.contains("skills.leadDigest(args: Args)"), "{text}");
    let rmcp::model::SkillResources::Files(files) = &got.skill.resources else {
        panic!("no file list: {got:?}");
    };
    files[0]
        .verify(text.as_bytes())
        .expect("the SKILL.md matches its digest");
    assert!(
        mcp.get_skill(rmcp::model::GetSkillRequestParams::new(
            "skill://sluice/other/SKILL.md"
        ))
        .await
        .is_err()
    );

    let mut grpc = grpc_client(&grpc_url).await;
    for (detail, expect) in [
        (pb::Detail::Names, "skills.leadDigest"),
        (pb::Detail::Signatures, "function leadDigest(args: Args)"),
        (pb::Detail::Full, "Saved skill, version 1."),
    ] {
        let text = grpc
            .search(pb::SearchRequest {
                query: "lead digest".into(),
                detail: detail as i32,
                limit: 0,
                session: String::new(),
            })
            .await
            .expect("Search")
            .into_inner()
            .text;
        assert!(text.contains(expect), "grpc {detail:?}: {text}");
    }

    // A new execute (a new session, over gRPC) calls it; its tool call ran and was tokenized.
    let executed = grpc
        .execute(pb::ExecuteRequest {
            code: r#"const lead = await skills.leadDigest({ id: "L-001" });
                     return { lead, last: await workspace.get("last") };"#
                .into(),
            session: String::new(),
            ..Default::default()
        })
        .await
        .expect("Execute")
        .into_inner();
    let outcome = format!("{executed:?}");
    assert!(outcome.contains("L-001"), "{outcome}");
    assert!(outcome.contains("[EMAIL_"), "{outcome}");
    assert!(!outcome.contains(AMELIA_EMAIL), "{outcome}");

    // gRPC PurgeSession erases that session's workspace (the skill stays: it is the agent's).
    let session = executed.session.clone();
    let read_last = |session: String| pb::ExecuteRequest {
        code: r#"return (await workspace.get("last")) ?? "gone";"#.into(),
        session,
        ..Default::default()
    };
    let before = grpc
        .execute(read_last(session.clone()))
        .await
        .expect("Execute");
    assert!(format!("{:?}", before.into_inner()).contains("L-001"));
    grpc.purge_session(pb::PurgeSessionRequest {
        session: session.clone(),
    })
    .await
    .expect("PurgeSession");
    let after = grpc
        .execute(read_last(session))
        .await
        .expect("Execute")
        .into_inner();
    let after = format!("{after:?}");
    assert!(
        after.contains("gone") && !after.contains("L-001"),
        "{after}"
    );
    let _ = mcp.cancel().await;
    // The embedded store is one process's: stop the server before the CLI opens it.
    drop(serve);

    // Another agent neither finds nor runs it; the owner finds it from the CLI too.
    for (agent, finds) in [("mallory", false), ("bot", true)] {
        let search = sluice(
            dir.path(),
            &[
                "search",
                "--config",
                &config,
                "--agent",
                agent,
                "lead digest",
            ],
        );
        assert!(search.status.success(), "{search:?}");
        let text = String::from_utf8_lossy(&search.stdout);
        assert_eq!(text.contains("leadDigest"), finds, "{agent}: {text}");
    }
    let other = exec_as(
        dir.path(),
        &config,
        "sk-m",
        "mallory",
        r#"return await skills.leadDigest({ id: "L-001" });"#,
    );
    let other: Value = serde_json::from_slice(&other.stdout).expect("outcome");
    assert!(
        other["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no skill of that name")),
        "{other}"
    );

    // The audit log names the skill the execute used.
    let audit = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).expect("audit");
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""event":"skill""#) && l.contains("skills/leadDigest")),
        "{audit}"
    );

    // Operators list, show and delete it.
    let skills = |args: &[&str]| {
        let mut all = vec!["skills", "--config", config.as_str(), "--agent", "bot"];
        all.extend_from_slice(args);
        sluice(dir.path(), &all)
    };
    let list = skills(&["list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && listed.contains("leadDigest v1"),
        "{list:?}"
    );
    let show = skills(&["show", "leadDigest"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("tools.sheets.getRow"), "{show:?}");
    assert_eq!(skills(&["show", "nope"]).status.code(), Some(2));
    let manifest = skills(&["show", "leadDigest", "--manifest"]);
    let manifest = String::from_utf8_lossy(&manifest.stdout);
    for part in [
        "---\nname: lead-digest\n",
        "## Signature",
        "skills.leadDigest(args: Args)",
        "await skills.leadDigest(",
    ] {
        assert!(manifest.contains(part), "{part} missing: {manifest}");
    }
    let delete = skills(&["delete", "leadDigest"]);
    assert!(delete.status.success(), "{delete:?}");
    let list = skills(&["list"]);
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains("leadDigest"),
        "{list:?}"
    );
}

#[test]
fn a_skills_tool_calls_are_refused_by_policy_exactly_like_the_same_calls_inline() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");
    let save = exec(
        dir.path(),
        &config,
        "pol-save",
        r##"return await skills.save({
  name: "announce",
  description: "Posts a lead's name and email to a chat channel",
  code: `export default async function announce(args: { id: string }) {
  const row = await tools.sheets.getRow({ sheet: "q4-leads", id: args.id });
  await tools.chat.postMessage({ channel: "#sales", text: "new lead " + row.email });
}`,
});"##,
    );
    assert_eq!(save["error"], Value::Null, "{save}");

    let inline = exec(
        dir.path(),
        &config,
        "pol-1",
        r##"const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
await tools.chat.postMessage({ channel: "#sales", text: "new lead " + row.email });"##,
    );
    let via_skill = exec(
        dir.path(),
        &config,
        "pol-1",
        r#"await skills.announce({ id: "L-001" });"#,
    );
    assert_eq!(inline["error"]["kind"], "policy_denied", "{inline}");
    assert_eq!(via_skill["error"]["kind"], "policy_denied", "{via_skill}");
    assert_eq!(
        inline["error"]["message"], via_skill["error"]["message"],
        "the skill's call was decided differently"
    );
    assert!(
        via_skill["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("chat/postMessage")),
        "{via_skill}"
    );
    // The chat server never received a message.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("chat.jsonl")).unwrap_or_default(),
        ""
    );
}

#[test]
fn skills_save_refuses_bad_modules_and_data_with_clear_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "");
    for (code, expect) in [
        (
            "export default 42;",
            "the default export must be a function",
        ),
        ("const a = 1;", "no default export"),
        ("export default async (a) => {", "line 1"),
        (
            &format!(
                "export default async (a) => {}1{};",
                "(".repeat(3000),
                ")".repeat(3000)
            ),
            "nests brackets more than 256 deep",
        ),
        (
            "export default async (a) => \"mail amelia.hartley@northwind-logistics.co.uk\";",
            "literal EMAIL value",
        ),
    ] {
        let program = format!(
            "return await skills.save({{ name: \"s\", description: \"d\", code: {} }});",
            serde_json::to_string(code).expect("json")
        );
        let out = exec(dir.path(), &config, "bad", &program);
        let message = out["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expect), "{code}: {out}");
        assert!(!message.contains(AMELIA_EMAIL), "{out}");
    }
    let listed = exec(dir.path(), &config, "bad", "return await skills.s({});");
    assert!(
        listed["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("none are saved")),
        "{listed}"
    );
}
