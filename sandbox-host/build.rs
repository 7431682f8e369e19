//! Builds the JavaScript guest (`guest/`, QuickJS via rquickjs) for `wasm32-wasip1` and
//! leaves it in `OUT_DIR/sluice_guest.wasm` for `include_bytes!`.
//!
//! The guest has its own workspace and lock file; it is built by a nested cargo with a
//! clean flag environment (the pattern of wasmtime's test-programs), offline-friendly:
//! rquickjs-sys is pointed at Debian's clang and wasi-libc instead of downloading wasi-sdk.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip1";
const WASI_LIBC_INCLUDE: &str = "/usr/include/wasm32-wasi";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let guest_dir = manifest_dir.join("guest");
    for path in ["src", "Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", guest_dir.join(path).display());
    }
    for var in [
        "CC_wasm32_wasip1",
        "CFLAGS_wasm32_wasip1",
        "WASI_LIBC_INCLUDE",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let cc = env::var("CC_wasm32_wasip1").unwrap_or_else(|_| "clang".into());
    let include = env::var("WASI_LIBC_INCLUDE").unwrap_or_else(|_| WASI_LIBC_INCLUDE.into());
    check_prerequisites(&rustc, &cc, Path::new(&include));

    let target_dir = out_dir.join("guest-target");
    let mut build = Command::new(&cargo);
    build
        .current_dir(&guest_dir)
        .args(["build", "--release", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RQUICKJS_SYS_NO_WASI_SDK", "1")
        .env("CC_wasm32_wasip1", &cc)
        .env(
            "CFLAGS_wasm32_wasip1",
            env::var("CFLAGS_wasm32_wasip1")
                .unwrap_or_else(|_| format!("-nostdlibinc -isystem {include}")),
        );
    if guest_dir.join("Cargo.lock").exists() {
        build.arg("--locked");
    }
    // The outer build's flags are for the host; they must not leak into the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        build.env_remove(var);
    }
    let status = build.status().unwrap_or_else(|e| {
        fail(&format!(
            "could not run `{cargo}` to build the JS guest: {e}"
        ));
    });
    if !status.success() {
        fail(&format!(
            "building the JS guest (sandbox-host/guest) for {TARGET} failed; see the output above"
        ));
    }
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join("sluice_guest.wasm");
    let dest = out_dir.join("sluice_guest.wasm");
    if let Err(e) = std::fs::copy(&wasm, &dest) {
        fail(&format!(
            "the guest build produced no {}: {e}",
            wasm.display()
        ));
    }
}

/// Fails early with the exact install command when a prerequisite is missing.
fn check_prerequisites(rustc: &str, cc: &str, include: &Path) {
    let mut missing = Vec::new();
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match sysroot {
        Some(root) if root.join("lib/rustlib").join(TARGET).exists() => {}
        _ => missing.push(format!("the Rust target: run `rustup target add {TARGET}`")),
    }
    if Command::new(cc).arg("--version").output().is_err() {
        missing.push(format!(
            "a C compiler for wasm (`{cc}`): run `apt-get install -y clang`"
        ));
    }
    if !include.join("stdlib.h").exists() {
        missing.push(format!(
            "wasi-libc headers in {}: run `apt-get install -y wasi-libc`",
            include.display()
        ));
    }
    if !missing.is_empty() {
        fail(&format!(
            "sandbox-host cannot build its JS guest; missing:\n  - {}\n(`make setup` installs all of them)",
            missing.join("\n  - ")
        ));
    }
}

fn fail(message: &str) -> ! {
    for line in message.lines() {
        println!("cargo:warning={line}");
    }
    eprintln!("error: {message}");
    std::process::exit(1);
}
