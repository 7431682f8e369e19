#!/usr/bin/env bash
# Tests the Python client (clients/python) against the real broker: creates a venv under
# target/, pip-installs the package (its gRPC stubs are generated from proto/ at build time)
# with pytest and grpcio-reflection from PyPI, and runs its tests, which start
# `sluice serve --grpc` with the example MCP servers. Needs the debug binaries
# (`cargo build --workspace --bins`, which `make test` does); SLUICE_BIN overrides the path.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "python-client-test: $python not found; install Python 3.9+ (with venv)" >&2
  exit 2
fi
export SLUICE_BIN=${SLUICE_BIN:-$PWD/target/debug/sluice}
for bin in "$SLUICE_BIN" "$(dirname "$SLUICE_BIN")"/{sheets,crm,chat}-server; do
  if [ ! -x "$bin" ]; then
    echo "python-client-test: $bin is missing; run 'cargo build --workspace --bins' first" >&2
    exit 2
  fi
done
venv=target/python-client-venv
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "./clients/python[test]"
# pytest exits 5 when it collected no tests: that is a failure here, as any non-zero is.
cd clients/python
"../../$venv/bin/python" -m pytest -q -p no:cacheprovider tests
