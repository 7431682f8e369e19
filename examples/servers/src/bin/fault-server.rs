//! `fault-server`: an MCP server (stdio) that misbehaves on request, for testing how a
//! client copes. It speaks newline-delimited JSON-RPC by hand, so it can also speak it
//! badly.
//!
//! Tools: `echo(args)` → args; `squash(args)` → args with every string uppercased and its
//! whitespace removed (a backend that reformats what it stores); `fail({message})` → a tool
//! error with that message (a backend that quotes its input in an error); `stderr({message})`
//! writes the message to stderr (a backend that logs what it handles); `count()` → `{calls, pid}`; `sleep({ms})`; `crash()` exits
//! without answering; `garbage()` writes a line that is not JSON-RPC and no answer;
//! `huge({bytes})` → a text of that many bytes; `grow()` adds a tool `grownN` and sends
//! `notifications/tools/list_changed`. `--tools N` adds N filler tools
//! (`tool0`…), listed in pages of 500; `--never-init` reads requests but never answers;
//! `--leaky-description` adds a tool `contact` whose description holds a person's name,
//! email and phone (as a careless backend's might).

use std::io::{BufRead, Write};
use std::time::Duration;

use serde_json::{Value, json};

const PAGE: usize = 500;

struct Options {
    extra_tools: usize,
    never_init: bool,
    leaky_description: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        extra_tools: 0,
        never_init: false,
        leaky_description: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tools" => {
                let n = args.next().ok_or("--tools needs a number")?;
                options.extra_tools = n.parse().map_err(|_| format!("bad --tools {n}"))?;
            }
            "--never-init" => options.never_init = true,
            "--leaky-description" => options.leaky_description = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn tool(name: &str, description: &str) -> Value {
    json!({ "name": name, "description": description, "inputSchema": { "type": "object" } })
}

fn tools(extra: usize) -> Vec<Value> {
    let mut tools = vec![
        tool("echo", "Returns its arguments."),
        tool(
            "squash",
            "Returns its arguments with strings uppercased and whitespace removed.",
        ),
        tool("fail", "Answers with a tool error whose text is `message`."),
        tool("stderr", "Writes `message` to its stderr, then answers."),
        tool("count", "How many calls this process served, and its pid."),
        tool("sleep", "Sleeps `ms` milliseconds, then answers."),
        tool("crash", "Exits the process without answering."),
        tool(
            "garbage",
            "Writes a line that is not JSON-RPC and never answers.",
        ),
        tool("huge", "Returns a text of `bytes` bytes."),
        tool(
            "grow",
            "Adds a tool named grownN and sends notifications/tools/list_changed.",
        ),
    ];
    tools
        .extend((0..extra).map(|i| tool(&format!("tool{i}"), &format!("Filler tool number {i}."))));
    tools
}

/// `value` with every string uppercased and its whitespace removed.
fn squash(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(
            s.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase)
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(squash).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), squash(v))).collect())
        }
        other => other.clone(),
    }
}

fn text_result(text: String, structured: Option<Value>) -> Value {
    let mut result = json!({ "content": [{ "type": "text", "text": text }] });
    if let Some(s) = structured {
        result["structuredContent"] = s;
    }
    result
}

fn main() -> std::process::ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut all_tools = tools(options.extra_tools);
    if options.leaky_description {
        all_tools.push(tool(
            "contact",
            "Escalation contact for outages: Dana Whitfield, dana.whitfield@example.org, +1 415 555 0134.",
        ));
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut calls = 0u64;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(request) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = request.get("id").cloned() else {
            continue; // a notification
        };
        if options.never_init {
            continue;
        }
        let params = request.get("params").cloned().unwrap_or(Value::Null);
        let result = match request["method"].as_str().unwrap_or("") {
            "initialize" => json!({
                "protocolVersion": params["protocolVersion"].clone(),
                "capabilities": { "tools": { "listChanged": true } },
                "serverInfo": { "name": "fault-server", "version": "0.1.0" }
            }),
            "ping" => json!({}),
            "tools/list" => {
                let start: usize = params["cursor"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let end = (start + PAGE).min(all_tools.len());
                let mut page = json!({ "tools": all_tools.get(start..end).unwrap_or(&[]) });
                if end < all_tools.len() {
                    page["nextCursor"] = json!(end.to_string());
                }
                page
            }
            "tools/call" => {
                calls += 1;
                let args = params["arguments"].clone();
                match params["name"].as_str().unwrap_or("") {
                    "echo" => text_result(args.to_string(), Some(args)),
                    "squash" => {
                        let squashed = squash(&args);
                        text_result(squashed.to_string(), Some(squashed))
                    }
                    "stderr" => {
                        eprintln!("{}", args["message"].as_str().unwrap_or_default());
                        text_result("written".into(), None)
                    }
                    "fail" => json!({
                        "content": [{ "type": "text", "text": args["message"].as_str().unwrap_or("failed") }],
                        "isError": true
                    }),
                    "count" => {
                        let v = json!({ "calls": calls, "pid": std::process::id() });
                        text_result(v.to_string(), Some(v))
                    }
                    "sleep" => {
                        std::thread::sleep(Duration::from_millis(
                            args["ms"].as_u64().unwrap_or(1000),
                        ));
                        text_result("slept".into(), None)
                    }
                    "crash" => std::process::exit(3),
                    "garbage" => {
                        let _ = writeln!(stdout, "this is not json-rpc {{{{");
                        let _ = stdout.flush();
                        continue;
                    }
                    "grow" => {
                        // Adds a tool and announces it, as a server whose tools change would.
                        let name = format!("grown{}", all_tools.len());
                        all_tools.push(tool(&name, "A tool added at run time by `grow`."));
                        let note = json!({ "jsonrpc": "2.0", "method": "notifications/tools/list_changed" });
                        let _ = writeln!(stdout, "{note}");
                        text_result(name.clone(), Some(json!({ "added": name })))
                    }
                    "huge" => {
                        let bytes = args["bytes"].as_u64().unwrap_or(1 << 20) as usize;
                        text_result("x".repeat(bytes), None)
                    }
                    name => {
                        json!({ "content": [{ "type": "text", "text": format!("ran {name}") }] })
                    }
                }
            }
            other => {
                let error = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32601, "message": format!("no method {other}") } });
                let _ = writeln!(stdout, "{error}");
                let _ = stdout.flush();
                continue;
            }
        };
        let response = json!({ "jsonrpc": "2.0", "id": id, "result": result });
        if writeln!(stdout, "{response}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}
