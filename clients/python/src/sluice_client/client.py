"""`Broker`: a typed wrapper over the generated `sluice.v1.Broker` stub.

JSON travels as text on the wire (`*_json` fields); here it is Python values in and out.
Every failed call raises a `SluiceError` subclass (see `errors`); a program's own failure
is not a call failure and comes back in `ExecuteResult.error`.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from ._generated import broker_pb2 as pb
from ._generated import broker_pb2_grpc as pb_grpc
from .errors import ProgramError, from_rpc_error

_ERROR_KINDS = {
    pb.ERROR_KIND_SYNTAX: "syntax",
    pb.ERROR_KIND_RUNTIME: "runtime",
    pb.ERROR_KIND_TIMEOUT: "timeout",
    pb.ERROR_KIND_MEMORY: "memory",
    pb.ERROR_KIND_OUTPUT_LIMIT: "output_limit",
    pb.ERROR_KIND_CALL_LIMIT: "call_limit",
    pb.ERROR_KIND_TOOL: "tool",
    pb.ERROR_KIND_POLICY_DENIED: "policy_denied",
    pb.ERROR_KIND_INTERNAL: "internal",
}
_LOG_LEVELS = {
    pb.LOG_LEVEL_LOG: "log",
    pb.LOG_LEVEL_INFO: "info",
    pb.LOG_LEVEL_WARN: "warn",
    pb.LOG_LEVEL_ERROR: "error",
}
_DETAILS = {"names": pb.DETAIL_NAMES, "signatures": pb.DETAIL_SIGNATURES, "full": pb.DETAIL_FULL}


@dataclass(frozen=True)
class LogLine:
    """One console line of a program (tokenized)."""

    level: str
    message: str


@dataclass(frozen=True)
class ExecuteResult:
    """What a program produced: `sluice exec`'s JSON, typed. Values are tokenized."""

    session: str
    result: Any
    logs: List[LogLine]
    calls: int
    #: (kind, message) when the program failed, else None.
    error: Optional[Tuple[str, str]] = None

    def raise_for_error(self) -> "ExecuteResult":
        """Raises `ProgramError` if the program failed; returns self otherwise."""
        if self.error is not None:
            raise ProgramError(*self.error)
        return self


@dataclass(frozen=True)
class ToolCall:
    """A finished tool call seen by `execute_stream`: names and outcome, never values."""

    server: str
    tool: str
    ok: bool
    error: str
    duration_us: int


@dataclass(frozen=True)
class ToolResult:
    """The result of `call_tool` (tokenized); `error` is the tool's own error message."""

    session: str
    result: Any
    error: Optional[str] = None


@dataclass(frozen=True)
class Tokenized:
    """Tokenized input: text, or a JSON value when JSON was given."""

    session: str
    value: Any


@dataclass(frozen=True)
class FlowDecision:
    """The answer of `check_flow`."""

    allowed: bool
    policy_ids: List[str]
    reason: str
    kind: str
    source: str


@dataclass(frozen=True)
class ServerInfo:
    """A configured backend server."""

    name: str
    trust: str
    tags: List[str] = field(default_factory=list)
    reachable: bool = False
    tool_count: int = 0


@dataclass(frozen=True)
class ApprovalFlow:
    """Placeholders of one kind and source at one argument path that a policy refused."""

    placeholders: List[str]
    kind: str
    source: str
    arg_path: str
    policy_ids: List[str]


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call of a streamed program waiting for a human (`@on_deny("ask")`): answer it
    with `Broker.approve(approval_id, "once" | "session" | "decline")`. Never a value."""

    approval_id: str
    destination: str
    #: "call" (the call itself was refused) or "flow" (data on its way into it was).
    action: str
    flows: List[ApprovalFlow]
    policy_ids: List[str]
    #: The question in words.
    message: str


Event = Union[str, LogLine, ToolCall, ApprovalRequest, ExecuteResult]

_ANSWERS = {
    "once": pb.APPROVAL_ANSWER_ONCE,
    "session": pb.APPROVAL_ANSWER_SESSION,
    "decline": pb.APPROVAL_ANSWER_DECLINE,
}


def _channel(target: str, credentials: Optional[grpc.ChannelCredentials]) -> grpc.Channel:
    """A channel for `host:port`, `http://host:port` (plaintext) or `https://host:port` (TLS)."""
    if target.startswith("https://"):
        return grpc.secure_channel(target[len("https://"):], credentials or grpc.ssl_channel_credentials())
    if target.startswith("http://"):
        target = target[len("http://"):]
    if credentials is not None:
        return grpc.secure_channel(target, credentials)
    return grpc.insecure_channel(target)


def _outcome(session: str, outcome: "pb.Outcome") -> ExecuteResult:
    error = None
    if outcome.HasField("error"):
        error = (_ERROR_KINDS.get(outcome.error.kind, "internal"), outcome.error.message)
    return ExecuteResult(
        session=session,
        result=_json.loads(outcome.result_json) if outcome.result_json else None,
        logs=[LogLine(_LOG_LEVELS.get(line.level, "log"), line.message) for line in outcome.logs],
        calls=outcome.calls,
        error=error,
    )


class Broker:
    """A connection to `sluice serve --grpc`, authenticated as one agent.

    >>> with Broker("127.0.0.1:50051", api_key=os.environ["SLUICE_KEY"]) as broker:
    ...     out = broker.execute("return 1 + 1")
    ...     out.result
    2
    """

    def __init__(
        self,
        target: str,
        api_key: Optional[str] = None,
        *,
        credentials: Optional[grpc.ChannelCredentials] = None,
        timeout: Optional[float] = None,
        channel: Optional[grpc.Channel] = None,
    ):
        """Connects lazily to `target`; `api_key` is sent as `authorization: Bearer …`.

        `timeout` (seconds) is the default deadline of every call; `channel` replaces the
        one built from `target` and `credentials` (e.g. one with interceptors).
        """
        self._channel = channel or _channel(target, credentials)
        self._stub = pb_grpc.BrokerStub(self._channel)
        self._metadata: Sequence[Tuple[str, str]] = (
            (("authorization", f"Bearer {api_key}"),) if api_key else ()
        )
        self._timeout = timeout

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> "Broker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: Any, request: Any, timeout: Optional[float]) -> Any:
        try:
            return method(request, metadata=self._metadata, timeout=timeout or self._timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def execute(
        self,
        code: str,
        *,
        session: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> ExecuteResult:
        """Runs a program (JS or TS, the body of an async function) in `session` (new if None).

        A program error (syntax, exception, limit, denied flow) is `result.error`, not an
        exception; `result.raise_for_error()` turns it into `ProgramError`.
        """
        request = pb.ExecuteRequest(code=code, session=session or "")
        if timeout_ms is not None:
            request.timeout_ms = timeout_ms
        response = self._call(self._stub.Execute, request, timeout)
        return _outcome(response.session, response.outcome)

    def execute_stream(
        self,
        code: str,
        *,
        session: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Iterator[Event]:
        """Runs a program and yields, live: the session id (str), then `LogLine`s and
        `ToolCall`s in program order, then the final `ExecuteResult` (with empty logs). A
        tool call waiting for a human yields an `ApprovalRequest`: answer it with `approve`
        (the program waits, within its timeout)."""
        request = pb.ExecuteRequest(code=code, session=session or "")
        if timeout_ms is not None:
            request.timeout_ms = timeout_ms
        stream = self._call(self._stub.ExecuteStream, request, timeout)
        current = session or ""
        try:
            for event in stream:
                which = event.WhichOneof("event")
                if which == "started":
                    current = event.started.session
                    yield current
                elif which == "log":
                    yield LogLine(_LOG_LEVELS.get(event.log.level, "log"), event.log.message)
                elif which == "tool_call":
                    call = event.tool_call
                    yield ToolCall(call.server, call.tool, call.ok, call.error, call.duration_us)
                elif which == "approval_requested":
                    asked = event.approval_requested
                    yield ApprovalRequest(
                        asked.approval_id,
                        asked.destination,
                        asked.action,
                        [
                            ApprovalFlow(list(f.placeholders), f.kind, f.source, f.arg_path, list(f.policy_ids))
                            for f in asked.flows
                        ],
                        list(asked.policy_ids),
                        asked.message,
                    )
                elif which == "outcome":
                    yield _outcome(current, event.outcome)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def search(self, query: str, *, detail: str = "signatures", limit: int = 0, timeout: Optional[float] = None) -> str:
        """Tools matching `query` as TypeScript (`detail`: names, signatures or full)."""
        if detail not in _DETAILS:
            raise ValueError(f"detail must be one of {', '.join(_DETAILS)}, not {detail!r}")
        request = pb.SearchRequest(query=query, detail=_DETAILS[detail], limit=limit)
        return self._call(self._stub.Search, request, timeout).text

    def tokenize(
        self,
        text: Optional[str] = None,
        *,
        json: Any = None,
        session: Optional[str] = None,
        source: str = "",
        tool: str = "",
        timeout: Optional[float] = None,
    ) -> Tokenized:
        """Replaces detected values in `text` (or the JSON value `json`) with placeholders
        of `session` (new if None), recording `source` as their provenance. With `json`,
        `tool` names the tool of `source` whose result it is: its field declarations apply."""
        request = pb.TokenizeRequest(session=session or "", source=source, tool=tool)
        if (text is None) == (json is None):
            raise ValueError("give exactly one of text or json")
        if text is not None:
            request.text = text
        else:
            request.json = _json.dumps(json)
        response = self._call(self._stub.Tokenize, request, timeout)
        value = response.text if response.WhichOneof("output") == "text" else _json.loads(response.json)
        return Tokenized(response.session, value)

    def detokenize(
        self,
        text: Optional[str] = None,
        *,
        json: Any = None,
        session: str,
        destination: str,
        timeout: Optional[float] = None,
    ) -> Any:
        """Resolves the placeholders of `session` in `text` (or `json`) toward `destination`
        ("server/tool"); raises `FlowDenied` (nothing resolved) if any flow is refused."""
        request = pb.DetokenizeRequest(session=session, destination=destination)
        if (text is None) == (json is None):
            raise ValueError("give exactly one of text or json")
        if text is not None:
            request.text = text
        else:
            request.json = _json.dumps(json)
        response = self._call(self._stub.Detokenize, request, timeout)
        return response.text if response.WhichOneof("output") == "text" else _json.loads(response.json)

    def call_tool(
        self,
        server: str,
        tool: str,
        arguments: Optional[dict] = None,
        *,
        session: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> ToolResult:
        """One tool call through the whole pipeline (call policy, egress, backend, ingress).

        Raises `CallDenied` or `FlowDenied` on a policy refusal, `NotFound` for an unknown
        server, `Unavailable` for an unreachable one; the tool's own error is `result.error`.
        """
        request = pb.CallToolRequest(
            session=session or "", server=server, tool=tool, arguments_json=_json.dumps(arguments or {})
        )
        response = self._call(self._stub.CallTool, request, timeout)
        if response.HasField("error"):
            return ToolResult(response.session, None, response.error)
        return ToolResult(response.session, _json.loads(response.result_json) if response.result_json else None)

    def check_flow(
        self, session: str, placeholder: str, destination: str, *, arg_path: str = "", timeout: Optional[float] = None
    ) -> FlowDecision:
        """Whether `placeholder` of `session` may flow to `destination`, without resolving it."""
        request = pb.CheckFlowRequest(
            session=session, placeholder=placeholder, destination=destination, arg_path=arg_path
        )
        r = self._call(self._stub.CheckFlow, request, timeout)
        return FlowDecision(r.allowed, list(r.policy_ids), r.reason, r.kind, r.source)

    def create_session(self, *, timeout: Optional[float] = None) -> str:
        """A new session id."""
        return self._call(self._stub.CreateSession, pb.CreateSessionRequest(), timeout).session

    def approve(self, approval_id: str, answer: str = "once", *, timeout: Optional[float] = None) -> None:
        """Answers an `ApprovalRequest` of `execute_stream`: "once", "session" or "decline".
        Raises `NotFound` when no such approval waits for this agent."""
        if answer not in _ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(_ANSWERS)}, not {answer!r}")
        request = pb.ApproveRequest(approval_id=approval_id, answer=_ANSWERS[answer])
        self._call(self._stub.Approve, request, timeout)

    def purge_session(self, session: str, *, timeout: Optional[float] = None) -> int:
        """Erases a session's values; returns how many were erased."""
        return self._call(self._stub.PurgeSession, pb.PurgeSessionRequest(session=session), timeout).purged

    def list_servers(self, *, timeout: Optional[float] = None) -> List[ServerInfo]:
        """The configured backend servers."""
        response = self._call(self._stub.ListServers, pb.ListServersRequest(), timeout)
        return [ServerInfo(s.name, s.trust, list(s.tags), s.reachable, s.tool_count) for s in response.servers]
