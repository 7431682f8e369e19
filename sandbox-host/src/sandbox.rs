//! [`Sandbox`]: one wasmtime `Engine` and one shared `InstancePre` of the guest; every
//! execute gets a fresh `Store` and instance from the pooling allocator, so nothing a
//! program does survives it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, PoolingAllocationConfig, Store, Trap,
};

use crate::bridge::HostBridge;
use crate::guest_abi::{EXPORT_ALLOC, EXPORT_RUN, status};
use crate::host_functions::{RunState, linker};
use crate::limits::Limits;
use crate::outcome::{ErrorKind, ExecError, Outcome};
use crate::{SandboxError, module_cache, source};

/// Headroom of linear memory above the JS heap budget: the snapshot image, the shadow
/// stack and allocator slack live there.
const LINEAR_MEMORY_HEADROOM: u64 = 24 << 20;
/// How often the epoch ticks; the CPU-time check resolution.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// How to build a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Executes that may run at once; more wait for a slot.
    pub max_concurrent: u32,
    /// The largest heap budget any execute may ask for, in bytes.
    pub max_memory_bytes: u64,
    /// Where to cache the compiled guest; `None` compiles it in memory on every start.
    pub cache_dir: Option<PathBuf>,
    /// Limits used when an execute does not bring its own.
    pub default_limits: Limits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            max_concurrent: 128,
            max_memory_bytes: 512 << 20,
            cache_dir: default_cache_dir(),
            default_limits: Limits::default(),
        }
    }
}

/// `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SLUICE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("sluice"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("sluice"))
}

/// Stops the epoch ticker thread when the sandbox goes away.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine) -> Result<Self, SandboxError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| SandboxError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Ticker { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The JavaScript sandbox. Cheap to share (`Arc`); `execute` may run concurrently.
pub struct Sandbox {
    engine: Engine,
    instance_pre: InstancePre<RunState>,
    slots: Semaphore,
    config: SandboxConfig,
    _ticker: Ticker,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish()
    }
}

impl Sandbox {
    /// Builds the engine, loads (or builds and caches) the guest and links it.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let max_linear = config
            .max_memory_bytes
            .saturating_add(LINEAR_MEMORY_HEADROOM);
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_core_instances(config.max_concurrent.max(1) + 1)
            .total_memories(config.max_concurrent.max(1) + 1)
            .total_tables(config.max_concurrent.max(1) + 1)
            .total_stacks(config.max_concurrent.max(1) + 1)
            .max_memory_size(usize::try_from(max_linear).unwrap_or(usize::MAX));
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .max_wasm_stack(1 << 20)
            .async_stack_size(4 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&wasm).map_err(SandboxError::engine)?;
        let module = module_cache::load(&engine, config.cache_dir.as_deref())?;
        let instance_pre = linker(&engine)
            .and_then(|l| l.instantiate_pre(&module))
            .map_err(SandboxError::engine)?;
        let ticker = Ticker::start(&engine)?;
        Ok(Sandbox {
            slots: Semaphore::new(config.max_concurrent.max(1) as usize),
            engine,
            instance_pre,
            config,
            _ticker: ticker,
        })
    }

    /// The configuration this sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Runs `code` with the sandbox's default limits.
    pub async fn execute(&self, code: &str, bridge: Arc<dyn HostBridge>) -> Outcome {
        self.execute_with(code, bridge, &self.config.default_limits)
            .await
    }

    /// Runs `code` (JavaScript or TypeScript, the body of an async function) under `limits`,
    /// sending its tool calls to `bridge`. Never panics or hangs on any input: every
    /// failure is an [`Outcome`] with an error kind.
    pub async fn execute_with(
        &self,
        code: &str,
        bridge: Arc<dyn HostBridge>,
        limits: &Limits,
    ) -> Outcome {
        if code.len() > limits.max_code_bytes {
            return Outcome::failed(
                ErrorKind::Syntax,
                format!(
                    "the program is {} bytes; the maximum is {} bytes",
                    code.len(),
                    limits.max_code_bytes
                ),
            );
        }
        if limits.memory_bytes > self.config.max_memory_bytes {
            return Outcome::failed(
                ErrorKind::Internal,
                format!(
                    "a memory limit of {} MiB exceeds this sandbox's maximum of {} MiB",
                    limits.memory_bytes >> 20,
                    self.config.max_memory_bytes >> 20
                ),
            );
        }
        let js = match source::prepare(code) {
            Ok(js) => js,
            Err(e) => return Outcome::failed(ErrorKind::Syntax, e.to_string()),
        };
        // Executes beyond `max_concurrent` queue for a slot, but never longer than their
        // own time limit: an overloaded server answers with a clear error instead of
        // letting requests pile up without bound.
        let _slot = match tokio::time::timeout(limits.timeout, self.slots.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_closed)) => {
                return Outcome::failed(ErrorKind::Internal, "the sandbox is shutting down");
            }
            Err(_waited) => return busy_error(limits, self.config.max_concurrent),
        };
        self.run(&js, bridge, limits).await
    }

    async fn run(&self, js: &str, bridge: Arc<dyn HostBridge>, limits: &Limits) -> Outcome {
        let max_linear =
            usize::try_from(limits.memory_bytes.saturating_add(LINEAR_MEMORY_HEADROOM))
                .unwrap_or(usize::MAX);
        let state = RunState::new(
            bridge,
            max_linear,
            limits.max_output_bytes,
            limits.max_calls,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // Every tick the guest yields to the executor, so a dropped execute (a cancelled
        // request, an expired deadline) stops even a busy loop within a tick, and a
        // CPU-bound program never holds a runtime worker for its whole budget. Once the
        // budget is spent the next tick interrupts it (a `timeout`).
        let ticks = u64::try_from((limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1))
            .unwrap_or(u64::MAX);
        let mut spent = 0u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            spent += 1;
            if spent >= ticks {
                Ok(wasmtime::UpdateDeadline::Interrupt)
            } else {
                Ok(wasmtime::UpdateDeadline::Yield(1))
            }
        });

        let started = tokio::time::timeout(limits.timeout, async {
            let instance = self.instance_pre.instantiate_async(&mut store).await?;
            let alloc = instance.get_typed_func::<u32, u32>(&mut store, EXPORT_ALLOC)?;
            let run =
                instance.get_typed_func::<(u32, u32, u64, u32), ()>(&mut store, EXPORT_RUN)?;
            let memory = instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| wasmtime::Error::msg("the guest exports no memory"))?;
            store.data_mut().memory = Some(memory);
            let len =
                u32::try_from(js.len()).map_err(|_| wasmtime::Error::msg("program too large"))?;
            let ptr = alloc.call_async(&mut store, len).await?;
            memory.write(&mut store, ptr as usize, js.as_bytes())?;
            let heap = u32::try_from(limits.memory_bytes).unwrap_or(u32::MAX);
            run.call_async(&mut store, (ptr, len, rand::random::<u64>(), heap))
                .await
        })
        .await;

        let calls = store.data().calls;
        let state = store.data_mut();
        let logs = std::mem::take(&mut state.logs);
        let error = match started {
            Err(_elapsed) => Some(timeout_error(limits)),
            Ok(Err(trap)) => Some(classify_trap(state, &trap, limits)),
            Ok(Ok(())) => None,
        };
        let (result, error) = match error {
            Some(e) => (Value::Null, Some(e)),
            None => settle(state),
        };
        Outcome {
            result,
            logs,
            calls,
            error,
        }
    }
}

/// The program never started: every slot stayed busy for its whole time limit.
fn busy_error(limits: &Limits, max_concurrent: u32) -> Outcome {
    Outcome::failed(
        ErrorKind::Timeout,
        format!(
            "the program did not start: all {max_concurrent} sandbox slots stayed busy for its whole time limit of {} ms (the server is overloaded; retry later, or raise [sandbox] max_concurrent)",
            limits.timeout.as_millis()
        ),
    )
}

fn timeout_error(limits: &Limits) -> ExecError {
    ExecError::new(
        ErrorKind::Timeout,
        format!(
            "the program did not finish within its time limit of {} ms",
            limits.timeout.as_millis()
        ),
    )
}

/// Turns what the guest reported through `finish` into a result or an error.
fn settle(state: &mut RunState) -> (Value, Option<ExecError>) {
    let Some((code, payload)) = state.finished.take() else {
        return (
            Value::Null,
            Some(ExecError::new(
                ErrorKind::Internal,
                "the sandbox finished without reporting an outcome",
            )),
        );
    };
    let kind = match code {
        status::OK => {
            if !state.charge_output(payload.len()) {
                return (
                    Value::Null,
                    Some(ExecError::new(
                        ErrorKind::OutputLimit,
                        format!(
                            "the result ({} bytes) and logs exceed the output limit of {} bytes",
                            payload.len(),
                            state.max_output()
                        ),
                    )),
                );
            }
            return match serde_json::from_str(&payload) {
                Ok(value) => (value, None),
                Err(e) => (
                    Value::Null,
                    Some(ExecError::new(
                        ErrorKind::Internal,
                        format!("the sandbox returned invalid JSON: {e}"),
                    )),
                ),
            };
        }
        status::SYNTAX => ErrorKind::Syntax,
        status::RUNTIME => ErrorKind::Runtime,
        status::MEMORY => ErrorKind::Memory,
        status::TOOL => ErrorKind::Tool,
        status::POLICY_DENIED => ErrorKind::PolicyDenied,
        status::INTERNAL => ErrorKind::Internal,
        _ => ErrorKind::Internal,
    };
    (Value::Null, Some(ExecError::new(kind, payload)))
}

/// Names the reason a run trapped: a limit the host enforced, or the trap itself.
fn classify_trap(state: &mut RunState, error: &wasmtime::Error, limits: &Limits) -> ExecError {
    if let Some((kind, message)) = state.violation.take() {
        return ExecError::new(kind, message);
    }
    if state.limiter.exceeded {
        return memory_error(limits);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => ExecError::new(
            ErrorKind::Timeout,
            format!(
                "the program used its whole CPU budget of {} ms",
                limits.timeout.as_millis()
            ),
        ),
        Some(Trap::StackOverflow) | Some(Trap::MemoryOutOfBounds) => ExecError::new(
            ErrorKind::Runtime,
            "RangeError: maximum call stack size exceeded (recursion too deep)",
        ),
        Some(Trap::UnreachableCodeReached) => {
            ExecError::new(ErrorKind::Internal, "the JS engine aborted")
        }
        _ => ExecError::new(
            ErrorKind::Internal,
            format!("the sandbox failed: {error:#}"),
        ),
    }
}

fn memory_error(limits: &Limits) -> ExecError {
    ExecError::new(
        ErrorKind::Memory,
        format!(
            "the program exceeded its memory limit of {} MiB",
            limits.memory_bytes >> 20
        ),
    )
}
