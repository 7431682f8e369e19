#!/usr/bin/env bash
# Creates target/mcp-sdk-venv with the official MCP Python SDK from PyPI, which the e2e
# tests in tests/e2e/approval.rs use as a real MCP client (it answers Sluice's elicitation
# requests). Idempotent; CI runs it before the tests. PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=target/mcp-sdk-venv
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -c 'import mcp.client.session' >/dev/null 2>&1 \
  || "$venv/bin/python" -m pip install --quiet "mcp==2.3.0"
