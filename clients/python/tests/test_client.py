"""The typed wrapper against a real `sluice serve --grpc` (see conftest.py)."""

import json

import pytest

from sluice_client import (
    AuthenticationError,
    Broker,
    CallDenied,
    FlowDenied,
    InvalidArgument,
    LogLine,
    NotFound,
    ProgramError,
    ToolCall,
)
from sluice_client import ExecuteResult

from conftest import AMELIA_EMAIL


@pytest.fixture
def broker(sluice):
    with Broker(sluice["addr"], api_key=sluice["key"], timeout=30) as client:
        yield client


def test_execute_returns_placeholders_and_a_later_execute_delivers_the_value(broker):
    first = broker.execute(
        'const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });\n'
        "console.log(`read ${row.email}`);\n"
        "return { crmId: row.crmId, email: row.email };"
    )
    assert first.error is None, first
    assert first.session
    assert AMELIA_EMAIL not in repr(first)
    placeholder = first.result["email"]
    assert placeholder.startswith("[EMAIL_"), first.result
    assert first.logs == [LogLine("log", f"read {placeholder}")]
    assert first.calls == 1

    second = broker.execute(
        f'const lead = await tools.crm.updateLead({{ id: "CRM-1001", email: "{placeholder}" }});\n'
        "return lead.email;",
        session=first.session,
    )
    assert second.error is None, second
    assert second.session == first.session
    # The CRM stored the real value; what comes back is tokenized again.
    assert AMELIA_EMAIL not in repr(second)
    assert second.result.startswith("[EMAIL_"), second


def test_a_denied_flow_in_a_program_is_the_outcome_error(broker):
    out = broker.execute(
        'const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });\n'
        'await tools.chat.postMessage({ channel: "sales", text: row.email });'
    )
    assert out.error is not None and out.error[0] == "policy_denied", out
    assert "no-flow-to-external" in out.error[1]
    assert AMELIA_EMAIL not in out.error[1]
    with pytest.raises(ProgramError) as raised:
        out.raise_for_error()
    assert raised.value.kind == "policy_denied"


def test_detokenize_denial_raises_flow_denied_with_policy_kind_source_destination(broker):
    tokenized = broker.tokenize(f"Contact {AMELIA_EMAIL} today", source="sheets")
    assert tokenized.value == "Contact [EMAIL_1] today"
    session = tokenized.session

    allowed = broker.detokenize(tokenized.value, session=session, destination="crm/updateLead")
    assert allowed == f"Contact {AMELIA_EMAIL} today"
    as_json = broker.detokenize(
        json={"id": "CRM-1001", "email": "[EMAIL_1]"}, session=session, destination="crm/updateLead"
    )
    assert as_json == {"id": "CRM-1001", "email": AMELIA_EMAIL}

    with pytest.raises(FlowDenied) as raised:
        broker.detokenize(tokenized.value, session=session, destination="chat/postMessage")
    denied = raised.value
    assert denied.reason == "FLOW_DENIED"
    assert denied.policy_ids == ["no-flow-to-external"]
    assert (denied.kind, denied.source, denied.destination) == ("EMAIL", "sheets", "chat/postMessage")
    assert denied.placeholders == ["[EMAIL_1]"]
    assert AMELIA_EMAIL not in str(denied) and AMELIA_EMAIL not in json.dumps(denied.metadata)

    decision = broker.check_flow(session, "[EMAIL_1]", "chat/postMessage", arg_path="text")
    assert not decision.allowed
    assert decision.policy_ids == ["no-flow-to-external"]
    assert (decision.kind, decision.source) == ("EMAIL", "sheets")


def test_call_tool_tokenizes_results_and_raises_flow_denied_for_a_refused_argument(broker, sluice):
    row = broker.call_tool("sheets", "getRow", {"sheet": "q4-leads", "id": "L-001"})
    assert row.error is None, row
    assert row.result["email"].startswith("[EMAIL_"), row
    assert AMELIA_EMAIL not in repr(row)

    with pytest.raises(FlowDenied) as raised:
        broker.call_tool(
            "chat", "postMessage", {"channel": "sales", "text": row.result["email"]}, session=row.session
        )
    assert raised.value.destination == "chat/postMessage"
    assert "no-flow-to-external" in raised.value.message
    assert not isinstance(raised.value, CallDenied)
    log = sluice["chat_log"]
    assert not log.exists() or AMELIA_EMAIL not in log.read_text()

    with pytest.raises(NotFound) as missing:
        broker.call_tool("mail", "send", {})
    assert "sheets" in missing.value.message  # it names the configured servers


def test_execute_stream_yields_session_logs_tool_calls_then_the_outcome(broker):
    events = list(
        broker.execute_stream(
            'console.log("before");\n'
            'const r = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-002" });\n'
            "return r.email;"
        )
    )
    assert isinstance(events[0], str) and events[0]
    assert events[1] == LogLine("log", "before")
    assert isinstance(events[2], ToolCall) and (events[2].server, events[2].tool, events[2].ok) == (
        "sheets",
        "getRow",
        True,
    )
    last = events[-1]
    assert isinstance(last, ExecuteResult) and last.error is None and last.session == events[0]
    assert last.result.startswith("[EMAIL_")


def test_search_and_list_servers_describe_the_backends(broker):
    text = broker.search("update a lead's email", detail="names")
    assert "tools.crm.updateLead" in text
    servers = {s.name: s for s in broker.list_servers()}
    assert set(servers) == {"sheets", "crm", "chat"}
    assert servers["chat"].trust == "external"


def test_sessions_can_be_purged(broker):
    tokenized = broker.tokenize(json={"email": AMELIA_EMAIL}, source="sheets", session=broker.create_session())
    assert tokenized.value == {"email": "[EMAIL_1]"}
    assert broker.purge_session(tokenized.session) == 1
    after = broker.detokenize("[EMAIL_1]", session=tokenized.session, destination="crm/updateLead")
    assert after == "[EMAIL_1]"


def test_tokenize_as_a_tools_result_checks_the_tool_before_minting(broker):
    # JSON as the result of sheets/getRows: accepted, tokenized as at ingress.
    tokenized = broker.tokenize(json={"rows": [{"email": AMELIA_EMAIL}]}, source="sheets", tool="getRows")
    assert tokenized.value == {"rows": [{"email": "[EMAIL_1]"}]}
    # A tool names a JSON result shape: on text, or of a server that is not configured, it
    # is refused with the field named.
    with pytest.raises(InvalidArgument) as refused:
        broker.tokenize(f"Contact {AMELIA_EMAIL}", source="sheets", tool="getRows")
    assert "tool" in str(refused.value) and AMELIA_EMAIL not in str(refused.value)
    with pytest.raises(Exception) as unknown:
        broker.tokenize(json={"email": AMELIA_EMAIL}, source="nowhere", tool="getRows")
    assert "nowhere" in str(unknown.value) and AMELIA_EMAIL not in str(unknown.value)


def test_a_wrong_api_key_raises_authentication_error(sluice):
    with Broker(sluice["addr"], api_key="not-the-key", timeout=10) as broker:
        with pytest.raises(AuthenticationError):
            broker.execute("return 1")
    with Broker(f"http://{sluice['addr']}", timeout=10) as broker:
        with pytest.raises(AuthenticationError):
            broker.create_session()
