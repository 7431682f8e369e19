"""gRPC reflection with grpcio-reflection's own client (v1alpha, as grpcurl 1.8 uses too).

No generated code here: every type comes from the server through reflection, the way a
tool such as grpcurl or a dynamic client sees the API.
"""

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from conftest import AMELIA_EMAIL


@pytest.fixture
def channel(sluice):
    with grpc.insecure_channel(sluice["addr"]) as channel:
        yield channel


def test_reflection_lists_the_broker_and_resolves_execute_input_type(channel, sluice):
    database = ProtoReflectionDescriptorDatabase(channel)
    services = database.get_services()
    assert "sluice.v1.Broker" in services, services
    assert "grpc.health.v1.Health" in services, services

    pool = DescriptorPool(database)
    service = pool.FindServiceByName("sluice.v1.Broker")
    execute = service.methods_by_name["Execute"]
    assert execute.input_type.full_name == "sluice.v1.ExecuteRequest"
    assert {f.name for f in execute.input_type.fields} >= {"code", "session", "timeout_ms"}

    # Call Execute with classes built from reflection alone.
    request_class = message_factory.GetMessageClass(execute.input_type)
    response_class = message_factory.GetMessageClass(execute.output_type)
    call = channel.unary_unary(
        "/sluice.v1.Broker/Execute",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    response = call(
        request_class(code="return 40 + 2"),
        metadata=(("authorization", f"Bearer {sluice['key']}"),),
        timeout=30,
    )
    assert response.outcome.result_json == "42"


def test_denial_details_decode_through_reflection(channel, sluice):
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = DescriptorPool(database)
    method = pool.FindMethodByName("sluice.v1.Broker.Tokenize")
    tokenize_request = message_factory.GetMessageClass(method.input_type)
    tokenize_response = message_factory.GetMessageClass(method.output_type)
    detokenize = pool.FindMethodByName("sluice.v1.Broker.Detokenize")
    detokenize_request = message_factory.GetMessageClass(detokenize.input_type)
    detokenize_response = message_factory.GetMessageClass(detokenize.output_type)
    metadata = (("authorization", f"Bearer {sluice['key']}"),)

    tokenized = channel.unary_unary(
        "/sluice.v1.Broker/Tokenize",
        request_serializer=tokenize_request.SerializeToString,
        response_deserializer=tokenize_response.FromString,
    )(tokenize_request(source="sheets", text=f"mail {AMELIA_EMAIL}"), metadata=metadata, timeout=30)
    with pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary(
            "/sluice.v1.Broker/Detokenize",
            request_serializer=detokenize_request.SerializeToString,
            response_deserializer=detokenize_response.FromString,
        )(
            detokenize_request(session=tokenized.session, destination="chat/postMessage", text=tokenized.text),
            metadata=metadata,
            timeout=30,
        )
    error = raised.value
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    details = dict(error.trailing_metadata())["grpc-status-details-bin"]

    # google.rpc.Status and ErrorInfo, resolved from the server's reflection.
    status_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))
    info_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.ErrorInfo"))
    status = status_class.FromString(details)
    assert status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    infos = [d for d in status.details if d.type_url.endswith("/google.rpc.ErrorInfo")]
    assert len(infos) == 1, status
    info = info_class.FromString(infos[0].value)
    assert (info.reason, info.domain) == ("FLOW_DENIED", "sluice.v1")
    assert dict(info.metadata)["policies"] == "no-flow-to-external"
    assert dict(info.metadata)["kinds"] == "EMAIL"
    assert AMELIA_EMAIL not in str(status)
