//! Everything the guest can call: the `sluice` imports (console, tool calls, outcome) and
//! deny-all stubs for the WASI imports the guest's libc links against. No filesystem,
//! network, environment, arguments or processes exist on this side of the boundary.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinSet;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

use crate::bridge::{HostBridge, ToolError};
use crate::guest_abi::IMPORT_MODULE;
use crate::outcome::{ErrorKind, LogEntry, LogLevel};

/// A finished tool call: its id and what the bridge returned.
type Completion = (u32, Result<Value, ToolError>);

/// Per-log-line bytes charged to the output budget beyond the text itself.
const LOG_ENTRY_OVERHEAD: usize = 32;

/// The store data of one execute: its budget, what it produced so far and its tool calls.
pub(crate) struct RunState {
    pub(crate) limiter: MemoryLimiter,
    pub(crate) memory: Option<Memory>,
    bridge: Arc<dyn HostBridge>,
    pub(crate) logs: Vec<LogEntry>,
    output_used: usize,
    max_output: usize,
    pub(crate) calls: u32,
    max_calls: u32,
    in_flight: JoinSet<Completion>,
    /// Calls that finished the moment they started, not yet delivered.
    ready: Vec<Completion>,
    batch: Vec<u8>,
    /// What the guest reported through `finish`: status and payload.
    pub(crate) finished: Option<(u32, String)>,
    /// A limit the host enforced by trapping; decides the error kind of the trap.
    pub(crate) violation: Option<(ErrorKind, String)>,
}

impl RunState {
    pub(crate) fn new(
        bridge: Arc<dyn HostBridge>,
        max_memory: usize,
        max_output: usize,
        max_calls: u32,
    ) -> Self {
        RunState {
            limiter: MemoryLimiter {
                max_memory,
                exceeded: false,
            },
            memory: None,
            bridge,
            logs: Vec::new(),
            output_used: 0,
            max_output,
            calls: 0,
            max_calls,
            in_flight: JoinSet::new(),
            ready: Vec::new(),
            batch: Vec::new(),
            finished: None,
            violation: None,
        }
    }

    /// Charges `bytes` to the output budget; false when that would exceed it.
    pub(crate) fn charge_output(&mut self, bytes: usize) -> bool {
        match self.output_used.checked_add(bytes) {
            Some(total) if total <= self.max_output => {
                self.output_used = total;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn max_output(&self) -> usize {
        self.max_output
    }

    /// Adds every other finished call to `completed` and stages the batch for
    /// `call_take`; returns its length, or 0 when nothing finished.
    fn stage_batch(&mut self, mut completed: Vec<Completion>) -> wasmtime::Result<u32> {
        while let Some(next) = self.in_flight.try_join_next() {
            if let Ok(done) = next {
                completed.push(done);
            }
        }
        if completed.is_empty() {
            return Ok(0);
        }
        self.batch = encode_batch(completed);
        u32::try_from(self.batch.len())
            .map_err(|_| wasmtime::Error::msg("tool results too large for the guest"))
    }

    fn violate(&mut self, kind: ErrorKind, message: String) -> wasmtime::Error {
        let error = wasmtime::Error::msg(message.clone());
        self.violation.get_or_insert((kind, message));
        error
    }
}

/// Caps linear memory; a refused growth traps (and is remembered) instead of letting the
/// program observe a failed allocation and carry on.
pub(crate) struct MemoryLimiter {
    max_memory: usize,
    pub(crate) exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.exceeded = true;
            wasmtime::bail!(
                "the program needs more than its memory limit of {} MiB",
                self.max_memory >> 20
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

fn memory(caller: &mut Caller<'_, RunState>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => {
            caller.data_mut().memory = Some(memory);
            Ok(memory)
        }
        _ => wasmtime::bail!("the guest exports no memory"),
    }
}

fn read_bytes(caller: &mut Caller<'_, RunState>, ptr: u32, len: u32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or_else(|| wasmtime::Error::msg("guest pointer overflow"))?;
    memory
        .data(&caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::Error::msg("guest pointer out of bounds"))
}

fn read_string(caller: &mut Caller<'_, RunState>, ptr: u32, len: u32) -> wasmtime::Result<String> {
    let bytes = read_bytes(caller, ptr, len)?;
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
}

fn write_bytes(caller: &mut Caller<'_, RunState>, ptr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    memory
        .write(caller, ptr as usize, bytes)
        .map_err(|_| wasmtime::Error::msg("guest pointer out of bounds"))
}

/// Builds the linker every instance of the guest is linked with.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<RunState>> {
    let mut linker = Linker::new(engine);
    define_sluice(&mut linker)?;
    define_wasi_stubs(&mut linker)?;
    Ok(linker)
}

fn define_sluice(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        IMPORT_MODULE,
        "log",
        |mut caller: Caller<'_, RunState>,
         level: u32,
         ptr: u32,
         len: u32|
         -> wasmtime::Result<()> {
            let state = caller.data_mut();
            if !state.charge_output(len as usize + LOG_ENTRY_OVERHEAD) {
                let max = state.max_output();
                return Err(state.violate(
                    ErrorKind::OutputLimit,
                    format!("console output exceeded the output limit of {max} bytes"),
                ));
            }
            let message = read_string(&mut caller, ptr, len)?;
            let entry = LogEntry {
                level: LogLevel::from_guest(level),
                message,
            };
            let state = caller.data_mut();
            state.bridge.log(&entry);
            state.logs.push(entry);
            Ok(())
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        "call_start",
        |mut caller: Caller<'_, RunState>,
         server_ptr: u32,
         server_len: u32,
         tool_ptr: u32,
         tool_len: u32,
         args_ptr: u32,
         args_len: u32|
         -> wasmtime::Result<u32> {
            let state = caller.data_mut();
            if state.calls >= state.max_calls {
                let max = state.max_calls;
                return Err(state.violate(
                    ErrorKind::CallLimit,
                    format!("the program started more than {max} tool calls"),
                ));
            }
            state.calls += 1;
            let id = state.calls;
            let server = read_string(&mut caller, server_ptr, server_len)?;
            let tool = read_string(&mut caller, tool_ptr, tool_len)?;
            let args = read_bytes(&mut caller, args_ptr, args_len)?;
            let state = caller.data_mut();
            let bridge = Arc::clone(&state.bridge);
            let mut call = Box::pin(async move {
                let result = match serde_json::from_slice::<Value>(&args) {
                    Ok(args) => bridge.call(&server, &tool, args).await,
                    Err(e) => Err(ToolError::tool(format!(
                        "arguments of tools.{server}.{tool} are not valid JSON: {e}"
                    ))),
                };
                (id, result)
            });
            // Most bridge calls that fail fast (policy, unknown server) or hit an in-process
            // backend are ready at once; only the rest pay for a task. Re-polling a pending
            // future from the task with a real waker is part of the Future contract.
            let waker = std::task::Waker::noop();
            match call
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker))
            {
                std::task::Poll::Ready(done) => state.ready.push(done),
                std::task::Poll::Pending => {
                    state.in_flight.spawn(call);
                }
            }
            Ok(id)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        "call_ready",
        |mut caller: Caller<'_, RunState>| -> wasmtime::Result<u32> {
            let state = caller.data_mut();
            let ready = std::mem::take(&mut state.ready);
            if ready.is_empty() && state.in_flight.is_empty() {
                return Ok(0);
            }
            state.stage_batch(ready)
        },
    )?;

    linker.func_wrap_async(
        IMPORT_MODULE,
        "call_wait",
        |mut caller: Caller<'_, RunState>, (): ()| {
            Box::new(async move {
                let state = caller.data_mut();
                let mut completed = std::mem::take(&mut state.ready);
                while completed.is_empty() {
                    match state.in_flight.join_next().await {
                        Some(Ok(done)) => completed.push(done),
                        // A bridge task that panicked: its promise can never settle; if
                        // nothing else is in flight the guest reports the deadlock.
                        Some(Err(_)) => {}
                        None => return Ok(0u32),
                    }
                }
                state.stage_batch(completed)
            })
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        "call_take",
        |mut caller: Caller<'_, RunState>, ptr: u32, len: u32| -> wasmtime::Result<()> {
            let batch = std::mem::take(&mut caller.data_mut().batch);
            if batch.len() != len as usize {
                wasmtime::bail!(
                    "guest asked for {len} bytes of tool results, {} are ready",
                    batch.len()
                );
            }
            write_bytes(&mut caller, ptr, &batch)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        "finish",
        |mut caller: Caller<'_, RunState>,
         status: u32,
         ptr: u32,
         len: u32|
         -> wasmtime::Result<()> {
            let payload = read_string(&mut caller, ptr, len)?;
            let state = caller.data_mut();
            if state.finished.is_none() {
                state.finished = Some((status, payload));
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// `[[id, true, value] | [id, false, {kind, message}], …]`, read by the prelude's `deliver`.
fn encode_batch(completed: Vec<Completion>) -> Vec<u8> {
    let items: Vec<Value> = completed
        .into_iter()
        .map(|(id, result)| match result {
            Ok(value) => serde_json::json!([id, true, value]),
            Err(e) => {
                serde_json::json!([id, false, { "kind": e.kind_name(), "message": e.message }])
            }
        })
        .collect();
    serde_json::to_vec(&items).unwrap_or_else(|_| b"[]".to_vec())
}

mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const INVAL: i32 = 28;
}

/// The WASI imports the guest's libc references, each refusing its capability. Only the
/// clock (wall time for `Date`, millisecond resolution) and entropy are granted.
fn define_wasi_stubs(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    const WASI: &str = "wasi_snapshot_preview1";
    linker.func_wrap(
        WASI,
        "random_get",
        |mut caller: Caller<'_, RunState>, ptr: u32, len: u32| -> wasmtime::Result<i32> {
            let mut bytes = vec![0u8; len as usize];
            rand::fill(&mut bytes[..]);
            write_bytes(&mut caller, ptr, &bytes)?;
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut caller: Caller<'_, RunState>,
         id: u32,
         _precision: u64,
         out: u32|
         -> wasmtime::Result<i32> {
            let nanos = match id {
                // realtime and monotonic; both at millisecond resolution to blunt timing probes
                0 | 1 => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64 * 1_000_000)
                    .unwrap_or(0),
                _ => return Ok(errno::INVAL),
            };
            write_bytes(&mut caller, out, &nanos.to_le_bytes())?;
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "environ_sizes_get",
        |mut caller: Caller<'_, RunState>, count: u32, size: u32| -> wasmtime::Result<i32> {
            write_bytes(&mut caller, count, &0u32.to_le_bytes())?;
            write_bytes(&mut caller, size, &0u32.to_le_bytes())?;
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(WASI, "environ_get", |_: u32, _: u32| -> i32 {
        errno::SUCCESS
    })?;
    linker.func_wrap(WASI, "fd_close", |_: u32| -> i32 { errno::BADF })?;
    linker.func_wrap(WASI, "fd_fdstat_get", |_: u32, _: u32| -> i32 {
        errno::BADF
    })?;
    linker.func_wrap(WASI, "fd_seek", |_: u32, _: i64, _: u32, _: u32| -> i32 {
        errno::BADF
    })?;
    linker.func_wrap(WASI, "fd_write", |_: u32, _: u32, _: u32, _: u32| -> i32 {
        errno::BADF
    })?;
    linker.func_wrap(WASI, "proc_exit", |code: u32| -> wasmtime::Result<()> {
        wasmtime::bail!("the guest exited with code {code}")
    })?;
    Ok(())
}
