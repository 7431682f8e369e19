"""Starts a real `sluice serve --grpc 127.0.0.1:0` with the example MCP servers as backends.

The binaries come from a cargo build: $SLUICE_BIN (default: <repo>/target/debug/sluice) and
the example servers beside it ($SLUICE_EXAMPLES_DIR to override). Backends: sheets (stdio,
internal), crm (stdio, internal) and chat (stdio, external), with one agent `platform`
whose API key comes from the environment, and no anonymous principal.
"""

import contextlib
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
KEY = "python-client-test-key"
KEY_VAR = "SLUICE_PY_TEST_KEY"
AMELIA_EMAIL = "amelia.hartley@northwind-logistics.co.uk"


def _binary(path: Path) -> str:
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build it first (cargo build --workspace --bins)")
    return str(path)


@pytest.fixture(scope="session")
def binaries():
    sluice = Path(os.environ.get("SLUICE_BIN", REPO / "target" / "debug" / "sluice"))
    examples = Path(os.environ.get("SLUICE_EXAMPLES_DIR", sluice.parent))
    return {
        "sluice": _binary(sluice),
        "sheets": _binary(examples / "sheets-server"),
        "crm": _binary(examples / "crm-server"),
        "chat": _binary(examples / "chat-server"),
    }


@contextlib.contextmanager
def start_broker(binaries, work: Path, policy: Optional[str] = None):
    """Runs `sluice serve --grpc` in `work`; with `policy`, that Cedar text (plus the
    project's schema) is the policy set. Yields a dict with `addr` (host:port), `key`,
    `dir` and `chat_log`."""
    chat_log = work / "chat.jsonl"
    config = work / "sluice.toml"
    policy_table = ""
    if policy is not None:
        policies = work / "policies"
        policies.mkdir()
        shutil.copy(REPO / "policies" / "schema.cedarschema", policies / "schema.cedarschema")
        (policies / "policy.cedar").write_text(policy)
        policy_table = f'[policy]\ndir = "{policies}"\n\n'
    config.write_text(
        f'data_dir = "{work / "data"}"\n'
        f'[agents.platform]\napi_key_env = "{KEY_VAR}"\n\n'
        f"{policy_table}"
        f'[servers.sheets]\ncommand = "{binaries["sheets"]}"\ntrust = "internal"\n\n'
        f'[servers.crm]\ncommand = "{binaries["crm"]}"\nargs = ["--db", "{work / "crm"}"]\ntrust = "internal"\n\n'
        f'[servers.chat]\ncommand = "{binaries["chat"]}"\nargs = ["--log", "{chat_log}"]\ntrust = "external"\n'
    )
    env = dict(os.environ, **{KEY_VAR: KEY})
    process = subprocess.Popen(
        [binaries["sluice"], "serve", "--config", str(config), "--grpc", "127.0.0.1:0"],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    addr = None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("grpc listening on "):
            addr = line[len("grpc listening on "):].strip()
            break
    if addr is None:
        process.kill()
        pytest.fail("sluice serve did not report its gRPC address:\n" + "".join(seen))
    # Keep draining stderr so the broker never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    try:
        yield {"addr": addr, "key": KEY, "dir": work, "chat_log": chat_log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def sluice(binaries, tmp_path_factory):
    """The running broker: a dict with `addr` (host:port), `key`, `dir` and `chat_log`."""
    with start_broker(binaries, tmp_path_factory.mktemp("sluice")) as running:
        yield running
