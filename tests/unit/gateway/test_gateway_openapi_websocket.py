"""Agora's bridged streams in the OpenAPI document: a GET with 101, the framing, and the client
and server message schemas in components."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from agora.gateway.browser_session import SESSION_METHODS
from agora.gateway.descriptors import SourceComments, default_pool, files_of, read_descriptor_set
from agora.gateway.openapi import WEBSOCKET_FRAMING, openapi_document
from agora.gateway.transcoding import build_routes, build_stream_routes

FILES = files_of(read_descriptor_set(), default_pool())
ROUTES = build_routes(FILES)
STREAMS = build_stream_routes(FILES)
SPEC: dict[str, Any] = openapi_document(
    ROUTES,
    SourceComments.from_descriptor_set(read_descriptor_set()),
    session_methods=SESSION_METHODS,
    stream_routes=STREAMS,
)


def test_the_document_with_streams_is_valid_openapi_3_1() -> None:
    validate(SPEC)


def test_every_bridged_stream_is_a_get_operation_and_no_rest_route() -> None:
    operations = {op["operationId"] for item in SPEC["paths"].values() for op in item.values()}

    assert {r.operation_id for r in STREAMS} == {"SupportService_Chat"}
    assert operations == {r.operation_id for r in [*ROUTES, *STREAMS]}


def test_the_chat_operation_describes_the_upgrade_framing_and_messages() -> None:
    chat = SPEC["paths"]["/v1/support/chat"]["get"]
    websocket = chat["x-agora-websocket"]
    schemas = SPEC["components"]["schemas"]

    assert chat["responses"]["101"]["description"].startswith("Switching Protocols")
    assert chat["description"].endswith(WEBSOCKET_FRAMING)
    assert websocket["client"] == {
        "$ref": "#/components/schemas/agora.support.v1.ChatClientMessage"
    }
    assert websocket["server"] == {
        "$ref": "#/components/schemas/agora.support.v1.ChatServerMessage"
    }
    assert websocket["error"]["properties"]["error"] == {"$ref": "#/components/schemas/Problem"}
    assert {"start", "say", "cancel"} <= set(
        schemas["agora.support.v1.ChatClientMessage"]["properties"]
    )
    assert "agora.support.v1.ChatDelta" in schemas
    assert chat["x-grpc-method"] == "/agora.support.v1.SupportService/Chat"
    assert "security" not in chat  # guests chat too
