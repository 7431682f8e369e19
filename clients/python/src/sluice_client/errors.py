"""Exceptions raised by the client: one per gRPC status Sluice uses, with a denial's details.

A denial (PERMISSION_DENIED) carries `google.rpc.ErrorInfo` details in the
`grpc-status-details-bin` trailer; they are decoded here into typed fields so a caller
never parses the message text.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"
_ERROR_INFO_TYPE = "google.rpc.ErrorInfo"


class SluiceError(Exception):
    """A call to the broker failed; `code` is the gRPC status code, `message` its text."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "", metadata: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        #: `ErrorInfo.reason` when the broker sent one (e.g. "FLOW_DENIED"), else "".
        self.reason = reason
        #: `ErrorInfo.metadata` when the broker sent one.
        self.metadata: Dict[str, str] = dict(metadata or {})

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class AuthenticationError(SluiceError):
    """UNAUTHENTICATED: no API key, or one that maps to no configured agent."""


class InvalidArgument(SluiceError):
    """INVALID_ARGUMENT: malformed JSON, session id, placeholder or destination."""


class NotFound(SluiceError):
    """NOT_FOUND: an unknown server, tool destination or placeholder."""


class Unavailable(SluiceError):
    """UNAVAILABLE: a backend server (or the broker) cannot be reached."""


class DeadlineExceeded(SluiceError):
    """DEADLINE_EXCEEDED: the call's timeout passed."""


class Denied(SluiceError):
    """PERMISSION_DENIED: a policy refused the call or a value's flow."""

    @property
    def destination(self) -> str:
        """The destination tool, "server/tool"."""
        return self.metadata.get("destination", "")

    @property
    def policy_ids(self) -> List[str]:
        """The deciding policies' @ids; empty when no policy permits it (or not reported)."""
        return _split(self.metadata.get("policies", ""))


class CallDenied(Denied):
    """The agent may not call the tool at all (`call` policy); the backend was not called."""


class FlowDenied(Denied):
    """A placeholder's value may not flow to the destination (`flow` policy); nothing resolved.

    Detokenize reports every field; CallTool reports `destination` (the message names the rest).
    """

    @property
    def placeholders(self) -> List[str]:
        """The refused placeholders, e.g. ["[EMAIL_1]"]."""
        return _split(self.metadata.get("placeholders", ""))

    @property
    def kinds(self) -> List[str]:
        """The refused values' kinds, e.g. ["EMAIL"]."""
        return _split(self.metadata.get("kinds", ""))

    @property
    def sources(self) -> List[str]:
        """The servers the refused values came from."""
        return _split(self.metadata.get("sources", ""))

    @property
    def kind(self) -> str:
        """The first refused kind ("" when not reported)."""
        return next(iter(self.kinds), "")

    @property
    def source(self) -> str:
        """The first refused value's source server ("" when not reported)."""
        return next(iter(self.sources), "")


class ProgramError(Exception):
    """A program run by `Broker.execute` failed (raised only by `ExecuteResult.raise_for_error`)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        #: The error kind of `sluice exec`: syntax, runtime, timeout, memory, output_limit,
        #: call_limit, tool, policy_denied or internal.
        self.kind = kind
        #: What happened (tokenized).
        self.message = message


class ApprovalRequired(SluiceError):
    """FAILED_PRECONDITION (`APPROVAL_REQUIRED`): a unary `execute` needed a human approval
    it cannot ask for; run the program with `execute_stream` and answer with `approve`."""


_BY_CODE = {
    grpc.StatusCode.FAILED_PRECONDITION: ApprovalRequired,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def _split(joined: str) -> List[str]:
    return [part for part in joined.split(",") if part]


def error_info(trailing_metadata: Optional[Sequence[Tuple[str, object]]]) -> Tuple[str, Dict[str, str]]:
    """The `ErrorInfo` (reason, metadata) in a call's `grpc-status-details-bin` trailer, if any."""
    for key, value in trailing_metadata or ():
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.type_url.rsplit("/", 1)[-1] == _ERROR_INFO_TYPE:
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return info.reason, dict(info.metadata)
    return "", {}


def from_rpc_error(error: grpc.RpcError) -> SluiceError:
    """The typed exception for a failed call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    reason, metadata = error_info(trailers)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        cls = FlowDenied if reason == "FLOW_DENIED" else CallDenied if reason == "CALL_DENIED" else Denied
    else:
        cls = _BY_CODE.get(code, SluiceError)
    return cls(code, message or "", reason, metadata)
