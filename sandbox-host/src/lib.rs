//! The Sluice sandbox: agent-written JavaScript or TypeScript, run where it can hurt nothing.
//!
//! # Design
//!
//! The JS engine is QuickJS (through `rquickjs`) compiled to `wasm32-wasip1` — the *guest*,
//! built by `build.rs` from `guest/`. It runs on wasmtime, shaped like wasmtime itself:
//!
//! * [`SandboxConfig`] → [`Sandbox`] owns the `Engine` (pooling allocator, epoch
//!   interruption), the compiled guest and one shared `InstancePre`;
//! * each [`Sandbox::execute_with`] gets a fresh `Store` and instance, so no state
//!   survives between programs, and runs under explicit [`Limits`].
//!
//! Start-up cost is paid once: the guest is pre-initialized with wizer (the QuickJS runtime,
//! context and prelude live in its memory image) and its compiled form is cached on disk
//! keyed by the engine's compatibility hash. A trivial execute then costs well under a
//! millisecond.
//!
//! # The boundary
//!
//! The guest has no WASI capabilities: its libc's WASI imports are stubs that refuse files,
//! environment, arguments and exit (only a millisecond clock and entropy are granted). The
//! one way out is [`HostBridge`], reached from JS as `tools.<server>.<tool>(args)`. Tool
//! calls run concurrently on the host (`Promise.all` works) while the guest waits.
//!
//! # Limits and outcomes
//!
//! Every execute has wall/CPU time (epoch interruption plus a wall-clock timeout), memory
//! (a `ResourceLimiter` that traps, under QuickJS's own heap limit), output-size and
//! tool-call caps. Every failure becomes an [`Outcome`] with an [`ErrorKind`] from the
//! closed contract set; nothing a program does can panic the host or stop the next execute.
//!
//! This crate knows nothing of backends, policy or tokenization; the broker implements
//! [`HostBridge`] and post-processes the [`Outcome`].

#![deny(missing_docs)]

mod bridge;
mod guest_abi;
mod host_functions;
mod limits;
mod module_cache;
mod outcome;
mod sandbox;
pub mod source;

pub use bridge::{BridgeFuture, HostBridge, ToolError, ToolErrorKind};
pub use limits::Limits;
pub use outcome::{ErrorKind, ExecError, LogEntry, LogLevel, Outcome};
pub use sandbox::{Sandbox, SandboxConfig, default_cache_dir};

/// Why a [`Sandbox`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// wasmtime refused the configuration or the guest.
    #[error("sandbox engine error: {0}")]
    Engine(String),
    /// The compiled-guest cache could not be written (the sandbox still works).
    #[error("sandbox cache error: {0}")]
    Cache(String),
}

impl SandboxError {
    fn engine(e: wasmtime::Error) -> Self {
        SandboxError::Engine(format!("{e:#}"))
    }
}
