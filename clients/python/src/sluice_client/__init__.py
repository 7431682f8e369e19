"""Python client for Sluice's gRPC API (`sluice.v1.Broker`, proto/sluice/v1/broker.proto).

`Broker` is the typed wrapper; `broker_pb2` / `broker_pb2_grpc` are the generated stubs for
anything it does not cover. Denials raise `FlowDenied` / `CallDenied` with the deciding
policy ids, kinds, sources and destination decoded from the `google.rpc.ErrorInfo` details.
"""

from ._generated import broker_pb2, broker_pb2_grpc
from .client import (
    ApprovalFlow,
    ApprovalRequest,
    Broker,
    ExecuteResult,
    FlowDecision,
    LogLine,
    ServerInfo,
    Tokenized,
    ToolCall,
    ToolResult,
)
from .errors import (
    ApprovalRequired,
    AuthenticationError,
    CallDenied,
    DeadlineExceeded,
    Denied,
    FlowDenied,
    InvalidArgument,
    NotFound,
    ProgramError,
    SluiceError,
    Unavailable,
)

__all__ = [
    "ApprovalFlow",
    "ApprovalRequest",
    "ApprovalRequired",
    "AuthenticationError",
    "Broker",
    "CallDenied",
    "DeadlineExceeded",
    "Denied",
    "ExecuteResult",
    "FlowDecision",
    "FlowDenied",
    "InvalidArgument",
    "LogLine",
    "NotFound",
    "ProgramError",
    "ServerInfo",
    "SluiceError",
    "Tokenized",
    "ToolCall",
    "ToolResult",
    "Unavailable",
    "broker_pb2",
    "broker_pb2_grpc",
]
