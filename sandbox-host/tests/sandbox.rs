//! The sandbox end to end: real wasmtime, the real QuickJS guest, a test bridge.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sandbox_host::{
    BridgeFuture, ErrorKind, HostBridge, Limits, LogLevel, Outcome, Sandbox, SandboxConfig,
    ToolError,
};
use serde_json::{Value, json};

/// Echoes calls back; `slow.*` sleeps for `args.ms`; `bad.*` fails; `deny.*` is refused by
/// "policy"; any other server is unknown.
struct TestBridge;

impl HostBridge for TestBridge {
    fn call<'a>(&'a self, server: &'a str, tool: &'a str, args: Value) -> BridgeFuture<'a> {
        Box::pin(async move {
            match server {
                "echo" | "my-server" => Ok(json!({ "server": server, "tool": tool, "args": args })),
                "slow" => {
                    let ms = args["ms"].as_u64().unwrap_or(10);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(json!({ "slept": ms, "tag": args["tag"] }))
                }
                "bad" => Err(ToolError::tool(format!("{tool} failed: backend exploded"))),
                "deny" => Err(ToolError::policy_denied(
                    "flow of [EMAIL_1] to deny/x denied",
                )),
                other => Err(ToolError::tool(format!(
                    "unknown server '{other}'; servers: echo, my-server, slow, bad, deny"
                ))),
            }
        })
    }
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            max_concurrent: 64,
            ..SandboxConfig::default()
        })
        .expect("sandbox builds")
    })
}

fn limits() -> Limits {
    Limits::default().with_timeout(Duration::from_secs(5))
}

async fn run_with(code: &str, limits: &Limits) -> Outcome {
    sandbox()
        .execute_with(code, Arc::new(TestBridge), limits)
        .await
}

async fn run(code: &str) -> Outcome {
    run_with(code, &limits()).await
}

fn assert_ok(outcome: &Outcome) {
    assert!(outcome.error.is_none(), "unexpected error: {outcome:?}");
}

fn assert_kind(outcome: &Outcome, kind: ErrorKind) {
    let error = outcome
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("expected {kind}, got success: {outcome:?}"));
    assert_eq!(error.kind, kind, "{outcome:?}");
    assert_eq!(outcome.result, Value::Null);
}

// ---------- functional ----------

#[tokio::test]
async fn returns_the_programs_value() {
    let out = run("const a = [1, 2, 3].map(x => x * 2); return { a, s: 'ok' };").await;
    assert_ok(&out);
    assert_eq!(out.result, json!({ "a": [2, 4, 6], "s": "ok" }));
    assert_eq!(out.calls, 0);
}

/// Records each console line the bridge sees, with how many tool calls had started by then.
#[derive(Default)]
struct LogTap {
    seen: std::sync::Mutex<Vec<(String, usize)>>,
    calls: std::sync::atomic::AtomicUsize,
}

impl HostBridge for LogTap {
    fn call<'a>(&'a self, _server: &'a str, _tool: &'a str, args: Value) -> BridgeFuture<'a> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move { Ok(args) })
    }

    fn log(&self, entry: &sandbox_host::LogEntry) {
        let calls = self.calls.load(std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((entry.message.clone(), calls));
        }
    }
}

#[tokio::test]
async fn the_bridge_sees_each_console_line_as_it_is_written() {
    let tap = Arc::new(LogTap::default());
    let code = "console.log('one'); await tools.x.y({}); console.warn('two', 2); return 1;";
    let out = sandbox()
        .execute_with(code, Arc::clone(&tap) as Arc<dyn HostBridge>, &limits())
        .await;
    assert_ok(&out);
    let seen = tap.seen.lock().map(|s| s.clone()).unwrap_or_default();
    // 'one' was seen before the call started, 'two' after it: live, not at the end.
    assert_eq!(seen, [("one".to_owned(), 0), ("two 2".to_owned(), 1)]);
    let logged: Vec<_> = out.logs.iter().map(|l| l.message.clone()).collect();
    assert_eq!(logged, ["one", "two 2"]);
}

#[tokio::test]
async fn no_return_gives_null() {
    let out = run("let x = 1;").await;
    assert_ok(&out);
    assert_eq!(out.result, Value::Null);
}

#[tokio::test]
async fn empty_program_is_fine() {
    let out = run("").await;
    assert_ok(&out);
    assert_eq!(out.result, Value::Null);
}

#[tokio::test]
async fn top_level_await_and_tool_calls_work() {
    let out = run("const r = await tools.echo.getRows({ sheet: 'q4' }); return r;").await;
    assert_ok(&out);
    assert_eq!(
        out.result,
        json!({ "server": "echo", "tool": "getRows", "args": { "sheet": "q4" } })
    );
    assert_eq!(out.calls, 1);
}

#[tokio::test]
async fn bracket_access_reaches_dashed_names() {
    let out = run(r#"return await tools["my-server"]["tool-name"]({ a: 1 });"#).await;
    assert_ok(&out);
    assert_eq!(
        out.result,
        json!({ "server": "my-server", "tool": "tool-name", "args": { "a": 1 } })
    );
}

#[tokio::test]
async fn calls_without_arguments_send_an_empty_object() {
    let out = run("return (await tools.echo.ping()).args;").await;
    assert_ok(&out);
    assert_eq!(out.result, json!({}));
}

#[tokio::test]
async fn promise_all_runs_calls_concurrently_and_keeps_order() {
    // Five calls of 200 ms each: sequential would take a second.
    let code = "const t = Date.now();
        const rs = await Promise.all([5,4,3,2,1].map(i => tools.slow.wait({ ms: 200, tag: i })));
        return { tags: rs.map(r => r.tag), elapsed: Date.now() - t };";
    let out = run(code).await;
    assert_ok(&out);
    assert_eq!(out.result["tags"], json!([5, 4, 3, 2, 1]));
    let elapsed = out.result["elapsed"].as_u64().expect("number");
    assert!(elapsed < 900, "calls did not overlap: {elapsed} ms");
    assert_eq!(out.calls, 5);
}

#[tokio::test]
async fn console_levels_are_captured_in_order() {
    let out = run("console.log('a', 1, {b: 2}); console.info('i'); console.warn('w'); console.error(new Error('boom'));").await;
    assert_ok(&out);
    let levels: Vec<LogLevel> = out.logs.iter().map(|l| l.level).collect();
    assert_eq!(
        levels,
        [
            LogLevel::Log,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error
        ]
    );
    assert_eq!(out.logs[0].message, r#"a 1 {"b":2}"#);
    assert!(
        out.logs[3].message.starts_with("Error: boom"),
        "{:?}",
        out.logs[3]
    );
}

#[tokio::test]
async fn typescript_is_accepted() {
    let code = "interface Lead { id: string; score: number }
        const leads: Lead[] = [{ id: 'a', score: 3 }, { id: 'b', score: 9 }];
        const best = (xs: Lead[]): Lead => xs.reduce((m, x) => (x.score > m.score ? x : m));
        return best(leads).id as string;";
    let out = run(code).await;
    assert_ok(&out);
    assert_eq!(out.result, json!("b"));
}

#[tokio::test]
async fn syntax_error_names_line_and_column() {
    let out = run("const a = 1;\nconst b = ;").await;
    assert_kind(&out, ErrorKind::Syntax);
    let message = &out.error.as_ref().expect("error").message;
    assert!(message.contains("line 2, column 11"), "{message}");
}

#[tokio::test]
async fn uncaught_exception_is_a_runtime_error_with_its_line() {
    let out = run("const x = 1;\nnull.foo;").await;
    assert_kind(&out, ErrorKind::Runtime);
    let message = &out.error.as_ref().expect("error").message;
    assert!(message.contains("TypeError"), "{message}");
    assert!(message.contains("agent.js:2"), "{message}");
}

#[tokio::test]
async fn thrown_non_errors_are_runtime_errors() {
    let out = run("throw { code: 7 };").await;
    assert_kind(&out, ErrorKind::Runtime);
    assert!(out.error.expect("error").message.contains(r#"{"code":7}"#));
}

#[tokio::test]
async fn failed_tool_call_throws_a_catchable_error() {
    let out = run("try { await tools.bad.op({}); return 'no'; } catch (e) { return [e.name, e.message, e instanceof Error]; }").await;
    assert_ok(&out);
    assert_eq!(
        out.result,
        json!(["ToolError", "op failed: backend exploded", true])
    );
}

#[tokio::test]
async fn uncaught_tool_error_has_kind_tool() {
    let out = run("await tools.bad.op({});").await;
    assert_kind(&out, ErrorKind::Tool);
    assert_eq!(
        out.error.expect("error").message,
        "op failed: backend exploded"
    );
}

#[tokio::test]
async fn uncaught_policy_denial_has_kind_policy_denied() {
    let out = run("await tools.deny.send({ to: '[EMAIL_1]' });").await;
    assert_kind(&out, ErrorKind::PolicyDenied);
}

#[tokio::test]
async fn unknown_server_error_comes_from_the_bridge() {
    let out = run("await tools.nope.x({});").await;
    assert_kind(&out, ErrorKind::Tool);
    assert!(out.error.expect("error").message.contains("servers: echo"));
}

#[tokio::test]
async fn non_serializable_results_are_runtime_errors() {
    for code in [
        "const a = {}; a.self = a; return a;",
        "return 10n;",
        "return { f: () => 1 };",
        "return () => 1;",
        "return Symbol('s');",
    ] {
        let out = run(code).await;
        assert_kind(&out, ErrorKind::Runtime);
        let message = out.error.expect("error").message;
        assert!(
            message.contains("serializ")
                || message.contains("circular")
                || message.contains("BigInt"),
            "{code}: {message}"
        );
    }
}

#[tokio::test]
async fn non_serializable_tool_arguments_reject_the_call() {
    let out =
        run("const a = {}; a.a = a; try { await tools.echo.x(a); } catch (e) { return e.name; }")
            .await;
    assert_ok(&out);
    assert_eq!(out.result, json!("TypeError"));
    assert_eq!(out.calls, 0);
}

#[tokio::test]
async fn math_random_differs_between_executes() {
    let a = run("return [Math.random(), Math.random()];").await;
    let b = run("return [Math.random(), Math.random()];").await;
    assert_ok(&a);
    assert_ok(&b);
    assert_ne!(a.result, b.result, "Math.random is frozen by the snapshot");
    assert_ne!(a.result[0], a.result[1]);
}

#[tokio::test]
async fn a_promise_that_never_settles_is_reported_not_hung() {
    let out = run("await new Promise(() => {});").await;
    assert_kind(&out, ErrorKind::Runtime);
    assert!(out.error.expect("error").message.contains("never settle"));
}

// ---------- isolation ----------

#[tokio::test]
async fn globals_do_not_survive_between_executes() {
    let first = run("globalThis.leak = 42; Array.prototype.evil = 1; return 1;").await;
    assert_ok(&first);
    let second = run("return [typeof globalThis.leak, [].evil === undefined];").await;
    assert_ok(&second);
    assert_eq!(second.result, json!(["undefined", true]));
}

#[tokio::test]
async fn tools_and_console_cannot_be_replaced() {
    let out = run("try { tools = 1; } catch (e) {} globalThis.console = null; return [typeof tools, typeof console.log];").await;
    assert_ok(&out);
    assert_eq!(out.result, json!(["object", "function"]));
}

// ---------- hostile programs ----------

#[tokio::test]
async fn infinite_loop_times_out() {
    let out = run_with(
        "while (true) {}",
        &limits().with_timeout(Duration::from_millis(200)),
    )
    .await;
    assert_kind(&out, ErrorKind::Timeout);
    assert_ok(&run("return 1;").await);
}

#[tokio::test]
async fn waiting_on_a_slow_tool_times_out_on_the_wall_clock() {
    let out = run_with(
        "console.log('before'); await tools.slow.x({ ms: 5000 });",
        &limits().with_timeout(Duration::from_millis(200)),
    )
    .await;
    assert_kind(&out, ErrorKind::Timeout);
    assert_eq!(out.logs.len(), 1, "logs before the timeout are kept");
}

#[tokio::test]
async fn memory_bomb_is_stopped_with_kind_memory() {
    let out = run_with(
        "const a = []; while (true) a.push('x'.repeat(1 << 16) + a.length);",
        &limits().with_memory_bytes(16 << 20),
    )
    .await;
    assert_kind(&out, ErrorKind::Memory);
    assert_ok(&run("return 1;").await);
}

#[tokio::test]
async fn typed_array_bomb_is_stopped_with_kind_memory() {
    let out = run_with(
        "const xs = []; for (;;) xs.push(new Uint8Array(8 << 20));",
        &limits().with_memory_bytes(32 << 20),
    )
    .await;
    assert_kind(&out, ErrorKind::Memory);
}

#[tokio::test]
async fn deep_recursion_is_a_runtime_error() {
    let out = run("function f(n) { return f(n + 1) + 1; } return f(0);").await;
    assert_kind(&out, ErrorKind::Runtime);
    assert!(out.error.expect("error").message.contains("stack"));
    assert_ok(&run("return 1;").await);
}

#[tokio::test]
async fn output_flood_is_stopped_with_kind_output_limit() {
    let out = run_with(
        "for (;;) console.log('spam spam spam');",
        &limits().with_max_output_bytes(64 << 10),
    )
    .await;
    assert_kind(&out, ErrorKind::OutputLimit);
    assert_ok(&run("return 1;").await);
}

#[tokio::test]
async fn huge_result_is_stopped_with_kind_output_limit() {
    let out = run_with(
        "return 'x'.repeat(2 << 20);",
        &limits().with_max_output_bytes(1 << 20),
    )
    .await;
    assert_kind(&out, ErrorKind::OutputLimit);
}

#[tokio::test]
async fn too_many_tool_calls_is_call_limit() {
    let out = run_with(
        "for (let i = 0; ; i++) await tools.echo.x({ i });",
        &limits().with_max_calls(10),
    )
    .await;
    assert_kind(&out, ErrorKind::CallLimit);
    assert_eq!(out.calls, 10);
}

#[tokio::test]
async fn catching_the_call_limit_is_impossible() {
    let out = run_with(
        "for (let i = 0; i < 100; i++) { try { await tools.echo.x({}); } catch (e) {} } return 'escaped';",
        &limits().with_max_calls(3),
    )
    .await;
    assert_kind(&out, ErrorKind::CallLimit);
}

#[tokio::test]
async fn oversized_program_is_rejected_before_running() {
    let code = format!("return '{}';", "a".repeat(300 << 10));
    let out = run(&code).await;
    assert_kind(&out, ErrorKind::Syntax);
    assert!(out.error.expect("error").message.contains("maximum"));
}

#[tokio::test]
async fn host_capabilities_are_absent() {
    let code = "return [typeof require, typeof process, typeof fetch, typeof Deno, typeof Bun,
        typeof XMLHttpRequest, typeof WebSocket, typeof std, typeof os, typeof setTimeout,
        typeof __sluice_native, typeof importScripts];";
    let out = run(code).await;
    assert_ok(&out);
    assert!(
        out.result
            .as_array()
            .expect("array")
            .iter()
            .all(|t| t == "undefined"),
        "{:?}",
        out.result
    );
}

#[tokio::test]
async fn dynamic_import_of_files_fails() {
    let out = run("const fs = await import('fs'); return Object.keys(fs);").await;
    assert!(out.error.is_some(), "{out:?}");
    let out = run("const m = await import('/etc/passwd'); return m;").await;
    assert!(out.error.is_some(), "{out:?}");
}

#[tokio::test]
async fn the_next_execute_works_after_each_hostile_one() {
    let hostile = [
        "while (true) {}",
        "const a = []; for (;;) a.push(new Array(1e6).fill(1));",
        "function f() { f(); } f();",
        "for (;;) console.log('x'.repeat(1000));",
        "for (;;) await tools.echo.x({});",
        "await new Promise(() => {});",
    ];
    let tight = limits()
        .with_timeout(Duration::from_millis(300))
        .with_memory_bytes(16 << 20)
        .with_max_output_bytes(32 << 10)
        .with_max_calls(20);
    for code in hostile {
        let out = run_with(code, &tight).await;
        assert!(out.error.is_some(), "{code} should fail: {out:?}");
        let next = run("return 'alive';").await;
        assert_eq!(next.result, json!("alive"), "after {code}: {next:?}");
    }
}

// ---------- concurrency ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_executes_are_all_correct() {
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            tokio::spawn(async move {
                let code = format!(
                    "const r = await tools.slow.x({{ ms: 5, tag: {i} }}); return {{ i: {i}, tag: r.tag, sq: {i} * {i} }};"
                );
                (i, run(&code).await)
            })
        })
        .collect();
    for task in tasks {
        let (i, out) = task.await.expect("task");
        assert_ok(&out);
        assert_eq!(out.result, json!({ "i": i, "tag": i, "sq": i * i }));
    }
}

/// More executes than slots queue for one and all succeed; an execute that cannot get a
/// slot within its own time limit fails at once with `timeout`, saying the sandbox was
/// busy, instead of waiting without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executes_beyond_the_slots_queue_and_a_starved_one_fails_clearly() {
    let small = Arc::new(
        Sandbox::new(SandboxConfig {
            max_concurrent: 2,
            ..SandboxConfig::default()
        })
        .expect("sandbox builds"),
    );
    let start = |code: String, limits: Limits| {
        let sandbox = Arc::clone(&small);
        tokio::spawn(async move {
            sandbox
                .execute_with(&code, Arc::new(TestBridge), &limits)
                .await
        })
    };
    // 40 executes through 2 slots, each holding its slot for a 5 ms tool call.
    let queued: Vec<_> = (0..40)
        .map(|i| {
            start(
                format!("await tools.slow.x({{ ms: 5 }}); return {i};"),
                limits(),
            )
        })
        .collect();
    for (i, task) in queued.into_iter().enumerate() {
        let out = task.await.expect("task");
        assert_ok(&out);
        assert_eq!(out.result, json!(i));
    }
    // Both slots held for a second; a third execute with a 100 ms limit gives up.
    let hold = "await tools.slow.x({ ms: 1000 }); return 1;";
    let holders = [start(hold.into(), limits()), start(hold.into(), limits())];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let starved = small
        .execute_with(
            "return 2;",
            Arc::new(TestBridge),
            &Limits::default().with_timeout(Duration::from_millis(100)),
        )
        .await;
    assert_kind(&starved, ErrorKind::Timeout);
    let message = starved.error.map(|e| e.message).unwrap_or_default();
    assert!(
        message.contains("all 2 sandbox slots stayed busy"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "it waited {:?}",
        started.elapsed()
    );
    for holder in holders {
        assert_ok(&holder.await.expect("task"));
    }
    assert_eq!(
        start("return 3;".into(), limits())
            .await
            .expect("task")
            .result,
        json!(3)
    );
}

/// A busy loop yields to the executor every epoch tick: on a single-threaded runtime a
/// caller's own deadline still fires, and dropping the execute stops the program at once
/// (before, the loop held the thread for its whole 5 s budget).
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_execute_stops_a_busy_loop_promptly() {
    // Build (or load) the engine first: a cold cache compiles for seconds.
    assert_eq!(run("return 1;").await.result, json!(1));
    let started = std::time::Instant::now();
    let gave_up = tokio::time::timeout(Duration::from_millis(100), run("while (true) {}")).await;
    assert!(gave_up.is_err(), "the loop finished: {gave_up:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the caller's deadline fired only after {:?}",
        started.elapsed()
    );
    // The sandbox keeps serving.
    let outcome = run("return 40 + 2;").await;
    assert_eq!(outcome.result, json!(42));
}
