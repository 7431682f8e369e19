"""Build hook: generates the gRPC stubs from the repository's proto before packaging.

The stubs are build output, not source: they are written into
src/sluice_client/_generated/ (git-ignored) by grpcio-tools' bundled protoc, and the
package's run-time requirements are set to at least the grpcio and protobuf versions the
stubs were generated for (the stubs refuse older run times at import).
"""

import os
import re
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
OUT = HERE / "src" / "sluice_client" / "_generated"
PROTO_FILE = "sluice/v1/broker.proto"


def proto_root() -> Path:
    """The directory holding sluice/v1/broker.proto: $SLUICE_PROTO_DIR, ./proto, or the repo's."""
    candidates = [os.environ.get("SLUICE_PROTO_DIR"), HERE / "proto", HERE.parent.parent / "proto"]
    for candidate in candidates:
        if candidate and (Path(candidate) / PROTO_FILE).is_file():
            return Path(candidate)
    raise SystemExit(
        f"sluice-client: cannot find {PROTO_FILE}; build from a Sluice checkout "
        "(clients/python) or set SLUICE_PROTO_DIR to the repository's proto/ directory"
    )


def generate() -> None:
    """Runs protoc (from grpcio-tools) and makes the generated imports package-relative."""
    from grpc_tools import protoc  # build requirement only

    root = proto_root()
    OUT.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    tmp = OUT / "_tmp"
    tmp.mkdir(exist_ok=True)
    args = [
        "protoc",
        f"-I{root}",
        f"-I{include}",
        f"--python_out={tmp}",
        f"--pyi_out={tmp}",
        f"--grpc_python_out={tmp}",
        str(root / PROTO_FILE),
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"sluice-client: protoc failed on {root / PROTO_FILE}")
    generated = tmp / "sluice" / "v1"
    for path in generated.iterdir():
        text = path.read_text()
        # protoc writes `from sluice.v1 import broker_pb2`; the stubs live in this package.
        text = text.replace("from sluice.v1 import broker_pb2", "from . import broker_pb2")
        (OUT / path.name).write_text(text)
    for path in sorted(tmp.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    tmp.rmdir()
    (OUT / "__init__.py").write_text('"""Stubs generated from sluice/v1/broker.proto at build time."""\n')


def requirements() -> list:
    """grpcio and protobuf no older than the generated stubs need, and google.rpc types."""
    grpc_code = (OUT / "broker_pb2_grpc.py").read_text()
    pb_code = (OUT / "broker_pb2.py").read_text()
    reqs = ["googleapis-common-protos>=1.56"]
    grpc_version = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", grpc_code)
    reqs.append(f"grpcio>={grpc_version.group(1)}" if grpc_version else "grpcio>=1.62")
    pb_version = re.search(
        r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+)",
        pb_code,
    )
    reqs.append("protobuf>={}.{}.{}".format(*pb_version.groups()) if pb_version else "protobuf>=4.25")
    return reqs


# Every build step (metadata, wheel, sdist) runs this file, so the stubs exist before
# setuptools looks for packages and the requirements match the stubs just generated.
generate()
setup(install_requires=requirements())
