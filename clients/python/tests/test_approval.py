"""`ask` over gRPC with the wrapper: a broker whose policy asks before contact data leaves
for the external chat (its own `sluice serve`, see conftest.start_broker)."""

import pytest

from sluice_client import ApprovalRequest, ApprovalRequired, Broker, ExecuteResult, NotFound

from conftest import AMELIA_EMAIL, start_broker

ASK_POLICY = """@id("call-any-tool")
permit (principal, action == Sluice::Action::"call", resource);

@id("contact-info-anywhere")
permit (principal, action == Sluice::Action::"flow", resource)
when { context.kind in Sluice::KindGroup::"contact_info" };

@id("ask-before-contact-info-leaves")
@on_deny("ask")
forbid (principal, action == Sluice::Action::"flow", resource)
when { resource.server.trust == "external" };
"""

POST_LEAD = """const row = await tools.sheets.getRow({ sheet: "q4-leads", id: "L-001" });
try { await tools.chat.postMessage({ channel: "#sales", text: "lead " + row.email }); return "posted"; }
catch (e) { return "refused: " + e.message; }"""


@pytest.fixture(scope="module")
def asking(binaries, tmp_path_factory):
    with start_broker(binaries, tmp_path_factory.mktemp("ask"), policy=ASK_POLICY) as sluice:
        yield sluice


def _stream(broker, answer):
    asked, outcome = [], None
    for event in broker.execute_stream(POST_LEAD):
        if isinstance(event, ApprovalRequest):
            asked.append(event)
            broker.approve(event.approval_id, answer)
        elif isinstance(event, ExecuteResult):
            outcome = event
    return asked, outcome


def test_an_approval_request_answered_once_lets_the_call_through(asking):
    with Broker(asking["addr"], api_key=asking["key"], timeout=30) as broker:
        asked, outcome = _stream(broker, "once")
    assert outcome.result == "posted", outcome
    assert len(asked) == 1
    request = asked[0]
    assert request.destination == "chat/postMessage"
    assert request.action == "flow"
    assert request.policy_ids == ["ask-before-contact-info-leaves"]
    assert request.flows[0].kind == "EMAIL" and request.flows[0].source == "sheets"
    assert AMELIA_EMAIL not in repr(request)
    assert AMELIA_EMAIL in asking["chat_log"].read_text()
    with Broker(asking["addr"], api_key=asking["key"], timeout=30) as broker:
        with pytest.raises(NotFound):
            broker.approve(request.approval_id, "once")


def test_a_declined_request_is_refused_and_a_unary_execute_raises_approval_required(asking):
    before = asking["chat_log"].read_text() if asking["chat_log"].exists() else ""
    with Broker(asking["addr"], api_key=asking["key"], timeout=30) as broker:
        asked, outcome = _stream(broker, "decline")
        assert len(asked) == 1
        assert outcome.result.startswith("refused: flow denied"), outcome
        with pytest.raises(ApprovalRequired) as raised:
            broker.execute(POST_LEAD)
        assert raised.value.reason == "APPROVAL_REQUIRED"
        with pytest.raises(ValueError):
            broker.approve("ap-x", "maybe")
    after = asking["chat_log"].read_text() if asking["chat_log"].exists() else ""
    assert after == before, "the backend was not called"
