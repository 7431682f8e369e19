#!/usr/bin/env bash
# Installs what building Sluice needs on a fresh Debian machine with rustup, and nothing
# that is already there: the wasm32-wasip1 Rust target (the sandbox's JS engine is built
# for it), Debian's clang + wasi-libc (to compile QuickJS's C for wasm offline), and
# Python's venv (the Python client's tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
[ -f /usr/include/wasm32-wasi/stdlib.h ] || need_apt+=(wasi-libc)
# The Python client's tests (scripts/python-client-test.sh) run in a venv.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v rustup >/dev/null 2>&1; then
  echo "setup: rustup is required (https://rustup.rs); install it and re-run" >&2
  exit 2
fi
# rust-toolchain.toml pins the toolchain; make sure it and its wasm target are present.
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^${toolchain}" || rustup toolchain install "$toolchain" --profile minimal -c rustfmt -c clippy
rustup target list --installed --toolchain "$toolchain" | grep -qx wasm32-wasip1 \
  || rustup target add wasm32-wasip1 --toolchain "$toolchain"
rustup component list --installed --toolchain "$toolchain" | grep -q '^clippy' \
  || rustup component add clippy rustfmt --toolchain "$toolchain"
