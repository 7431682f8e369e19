//! The Sluice sandbox guest: QuickJS (through rquickjs) compiled to `wasm32-wasip1`.
//!
//! Lifecycle, driven by the host (`sandbox-host`):
//! 1. `wizer-initialize` runs once at pre-initialization: it creates the QuickJS runtime and
//!    context and evaluates the prelude; the resulting memory is snapshotted into the module,
//!    so every execute starts from a ready engine.
//! 2. Per execute, in a fresh instance: the host writes the program into memory obtained
//!    from [`sluice_alloc`] and calls [`sluice_run`], which runs the program as the body of
//!    an async function and drives its promise jobs until it settles.
//!
//! The guest talks to the host only through the `sluice` imports below; it has no WASI
//! capabilities (the host's stubs refuse them). The ABI (status codes, imports) is mirrored
//! in `sandbox-host/src/guest_abi.rs`.

use std::cell::{Cell, RefCell};

use rquickjs::context::EvalOptions;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Runtime};

/// Outcome status codes shared with the host.
mod status {
    pub const SYNTAX: u32 = 1;
    pub const RUNTIME: u32 = 2;
    pub const MEMORY: u32 = 4;
    pub const INTERNAL: u32 = 9;
}

mod host {
    #[link(wasm_import_module = "sluice")]
    unsafe extern "C" {
        /// Appends one console line at `level` (0 log, 1 info, 2 warn, 3 error).
        pub fn log(level: u32, ptr: *const u8, len: usize);
        /// Starts a tool call; returns its id. The host traps when the call budget is spent.
        pub fn call_start(
            server: *const u8,
            server_len: usize,
            tool: *const u8,
            tool_len: usize,
            args: *const u8,
            args_len: usize,
        ) -> u32;
        /// Waits until at least one started call finished; returns the byte length of the
        /// completion batch to fetch with `call_take`, or 0 when no call is in flight.
        pub fn call_wait() -> usize;
        /// Like `call_wait` without waiting: the batch length of calls already finished, or
        /// 0 when none is (cheaper than `call_wait`, which may suspend).
        pub fn call_ready() -> usize;
        /// Copies the completion batch announced by `call_wait`/`call_ready` to `ptr`.
        pub fn call_take(ptr: *mut u8, len: usize);
        /// Reports the outcome: `status` and its payload (result JSON or error message).
        pub fn finish(status: u32, ptr: *const u8, len: usize);
    }
}

const PRELUDE: &str = include_str!("prelude.js");

struct Engine {
    runtime: Runtime,
    context: Context,
    start: Persistent<Function<'static>>,
    deliver: Persistent<Function<'static>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    static RNG: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
    static DONE: Cell<bool> = const { Cell::new(false) };
}

fn finish(status: u32, payload: &str) {
    if DONE.replace(true) {
        return;
    }
    // SAFETY: the pointer and length describe a live, initialized byte slice.
    unsafe { host::finish(status, payload.as_ptr(), payload.len()) }
}

fn native_log(level: u32, text: String) {
    // SAFETY: as in `finish`.
    unsafe { host::log(level, text.as_ptr(), text.len()) }
}

fn native_call(server: String, tool: String, args: String) -> u32 {
    // SAFETY: as in `finish`; the host copies the bytes before returning.
    unsafe {
        host::call_start(
            server.as_ptr(),
            server.len(),
            tool.as_ptr(),
            tool.len(),
            args.as_ptr(),
            args.len(),
        )
    }
}

/// `Math.random`: xorshift64* seeded per execute by the host, because pre-initialization
/// would otherwise freeze QuickJS's own seed into the snapshot.
fn native_random() -> f64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        bits as f64 / (1u64 << 53) as f64
    })
}

fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<(Function<'js>, Function<'js>)> {
    let native = Object::new(ctx.clone())?;
    native.set("call", Function::new(ctx.clone(), native_call)?)?;
    native.set("log", Function::new(ctx.clone(), native_log)?)?;
    native.set("finish", Function::new(ctx.clone(), |s: u32, p: String| finish(s, &p))?)?;
    native.set("random", Function::new(ctx.clone(), native_random)?)?;
    let prelude: Function = ctx.eval(PRELUDE)?;
    let entry: Object = prelude.call((native,))?;
    Ok((entry.get("start")?, entry.get("deliver")?))
}

/// Pre-initialization entry point, run once by wizer; its memory becomes the snapshot.
#[unsafe(export_name = "wizer-initialize")]
pub extern "C" fn wizer_initialize() {
    let runtime = Runtime::new().unwrap_or_else(|_| std::process::abort());
    let context = Context::full(&runtime).unwrap_or_else(|_| std::process::abort());
    let (start, deliver) = context
        .with(|ctx| {
            install(&ctx).map(|(s, d)| (Persistent::save(&ctx, s), Persistent::save(&ctx, d)))
        })
        .unwrap_or_else(|_| std::process::abort());
    runtime.run_gc();
    ENGINE.with(|e| {
        *e.borrow_mut() = Some(Engine {
            runtime,
            context,
            start,
            deliver,
        })
    });
}

/// Allocates `len` bytes for the host to write the program into; ownership passes to
/// [`sluice_run`].
#[unsafe(no_mangle)]
pub extern "C" fn sluice_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

fn describe(error: CaughtError<'_>) -> (u32, String) {
    match error {
        CaughtError::Exception(e) => {
            let message = e.message().unwrap_or_default();
            let name: String = e.get("name").unwrap_or_default();
            let status = if name == "SyntaxError" {
                status::SYNTAX
            } else if message.contains("out of memory") {
                status::MEMORY
            } else {
                status::RUNTIME
            };
            let stack = e.stack().unwrap_or_default();
            let mut text = format!("{name}: {message}");
            if !stack.trim().is_empty() {
                text.push('\n');
                text.push_str(stack.trim_end());
            }
            (status, text)
        }
        CaughtError::Value(v) => (status::RUNTIME, format!("uncaught {v:?}")),
        CaughtError::Error(e) => {
            let text = e.to_string();
            let status = if text.contains("out of memory") || text.contains("Allocation") {
                status::MEMORY
            } else {
                status::INTERNAL
            };
            (status, text)
        }
    }
}

/// Runs the program at `ptr..ptr+len` (UTF-8, checked by the host) to completion.
///
/// `seed` reseeds `Math.random`; `heap_limit` caps QuickJS's heap in bytes (0: no cap).
#[unsafe(no_mangle)]
pub extern "C" fn sluice_run(ptr: *mut u8, len: usize, seed: u64, heap_limit: usize) {
    // SAFETY: the host wrote exactly `len` bytes into the buffer `sluice_alloc(len)` returned.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let Ok(code) = String::from_utf8(bytes) else {
        finish(status::INTERNAL, "program is not valid UTF-8");
        return;
    };
    RNG.with(|r| r.set(seed | 1));
    DONE.with(|d| d.set(false));
    ENGINE.with(|engine| {
        let engine = engine.borrow();
        let Some(engine) = engine.as_ref() else {
            finish(status::INTERNAL, "the sandbox engine was not pre-initialized");
            return;
        };
        engine.runtime.set_memory_limit(heap_limit);
        run(engine, &code);
    });
}

fn run(engine: &Engine, code: &str) {
    // The wrapper shares line 1 with the program, so line numbers in errors are the user's.
    let source = format!("(async () => {{{code}\n}})");
    engine.context.with(|ctx| {
        let mut options = EvalOptions::default();
        options.global = true;
        options.strict = false;
        options.backtrace_barrier = true;
        options.filename = Some("agent.js".into());
        let started = ctx
            .eval_with_options::<Function, _>(source, options)
            .and_then(|program| {
                let start = engine.start.clone().restore(&ctx)?;
                start.call::<_, ()>((program,))
            })
            .catch(&ctx);
        if let Err(e) = started {
            let (status, text) = describe(e);
            finish(status, &text);
        }
    });
    drive(engine);
}

/// The event loop: run promise jobs; when none are left and the program has not settled,
/// wait for tool calls to finish and deliver them.
fn drive(engine: &Engine) {
    loop {
        loop {
            match engine.runtime.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(job) => {
                    // A job failed outside any handler: only possible when the engine itself
                    // failed (e.g. out of memory while settling a promise).
                    let text = job.0.with(|ctx| {
                        let e = ctx.catch();
                        format!("{e:?}")
                    });
                    let status = if text.contains("out of memory") {
                        status::MEMORY
                    } else {
                        status::RUNTIME
                    };
                    finish(status, &text);
                    return;
                }
            }
        }
        if DONE.with(Cell::get) {
            return;
        }
        // SAFETY: plain host calls with no arguments.
        let ready = unsafe { host::call_ready() };
        let len = if ready > 0 {
            ready
        } else {
            // SAFETY: as above.
            unsafe { host::call_wait() }
        };
        if len == 0 {
            finish(
                status::RUNTIME,
                "the program awaits a promise that can never settle (no tool call is in flight)",
            );
            return;
        }
        let mut batch = vec![0u8; len];
        // SAFETY: `batch` has room for exactly the `len` bytes the host announced.
        unsafe { host::call_take(batch.as_mut_ptr(), len) };
        let Ok(batch) = String::from_utf8(batch) else {
            finish(status::INTERNAL, "tool results were not valid UTF-8");
            return;
        };
        let delivered = engine.context.with(|ctx| {
            engine
                .deliver
                .clone()
                .restore(&ctx)
                .and_then(|deliver| deliver.call::<_, ()>((batch,)))
                .catch(&ctx)
                .map_err(describe)
        });
        if let Err((status, text)) = delivered {
            finish(status, &text);
            return;
        }
    }
}
