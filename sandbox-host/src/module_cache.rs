//! The guest module, ready to instantiate: pre-initialized with wizer (so the QuickJS
//! runtime, context and prelude already exist in its memory image), compiled by Cranelift,
//! and cached on disk keyed by the engine's compatibility hash and the guest's own hash.
//!
//! A cache hit costs one `Module::deserialize_file` (a fraction of a millisecond); a miss
//! costs wizer plus a Cranelift compile (about a second) once per machine and version.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::{Engine, Module, Store};
use wasmtime_wizer::Wizer;

use crate::SandboxError;
use crate::bridge::{BridgeFuture, HostBridge, ToolError};
use crate::guest_abi::EXPORT_INIT;
use crate::host_functions::{RunState, linker};

/// The raw guest, built by `build.rs`.
static GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sluice_guest.wasm"));

/// Loads the pre-initialized guest for `engine`, from `cache_dir` when a compatible copy
/// is there, else by building it (and caching it when `cache_dir` is given).
pub(crate) fn load(engine: &Engine, cache_dir: Option<&Path>) -> Result<Module, SandboxError> {
    let Some(dir) = cache_dir else {
        return build(engine);
    };
    let path = dir.join(format!("guest-{:016x}.cwasm", cache_key(engine)));
    if path.is_file() {
        // SAFETY: the file was written by `Module::serialize` for an engine with the same
        // compatibility hash (it is in the file name), into a directory only this user can
        // write (created 0700 below); wasmtime also checks the header before trusting it.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => return Ok(module),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable guest cache entry")
            }
        }
    }
    let module = build(engine)?;
    if let Err(e) = store(dir, &path, &module) {
        tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled guest");
    }
    Ok(module)
}

fn cache_key(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    GUEST_WASM.hash(&mut hasher);
    hasher.finish()
}

fn store(dir: &Path, path: &Path, module: &Module) -> Result<(), SandboxError> {
    let io = |e: std::io::Error| SandboxError::Cache(format!("{}: {e}", dir.display()));
    create_private_dir(dir).map_err(io)?;
    let bytes = module
        .serialize()
        .map_err(|e| SandboxError::Cache(e.to_string()))?;
    let mut tmp = tempfile_in(dir).map_err(io)?;
    tmp.1.write_all(&bytes).map_err(io)?;
    tmp.1.sync_all().map_err(io)?;
    std::fs::rename(&tmp.0, path).map_err(io)?;
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(
        ".guest-{}-{:x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    );
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// A bridge for pre-initialization, where no tool can be called.
struct NoTools;

impl HostBridge for NoTools {
    fn call<'a>(&'a self, _: &'a str, _: &'a str, _: serde_json::Value) -> BridgeFuture<'a> {
        Box::pin(async { Err(ToolError::tool("no tools during pre-initialization")) })
    }
}

/// Runs wizer over the raw guest and compiles the snapshot.
fn build(engine: &Engine) -> Result<Module, SandboxError> {
    let started = std::time::Instant::now();
    let linker = linker(engine).map_err(SandboxError::engine)?;
    let mut store = Store::new(engine, RunState::new(Arc::new(NoTools), usize::MAX, 0, 0));
    store.set_epoch_deadline(u64::MAX / 2);
    let snapshot = futures::executor::block_on(Wizer::new().init_func(EXPORT_INIT).run(
        &mut store,
        GUEST_WASM,
        async |store, module| linker.instantiate_async(store, module).await,
    ))
    .map_err(|e| SandboxError::Engine(format!("pre-initializing the JS engine failed: {e:#}")))?;
    let module = Module::new(engine, &snapshot).map_err(SandboxError::engine)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "built the sandbox guest"
    );
    Ok(module)
}
