"""The pure parts of event streams: which server-streaming bindings are served, the events'
framing, the cookie's origin policy, and the OpenAPI description."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from openapi_spec_validator import validate

from agora._proto.agora.options.v1 import options_pb2
from agora.gateway.event_stream import (
    HEARTBEAT,
    cookie_stream_allowed,
    error_event,
    event,
    retry_hint,
)
from agora.gateway.openapi import EVENT_STREAM_FRAMING, openapi_document
from agora.gateway.problem import problem_from_domain_error
from agora.gateway.proto_json import ProtoJsonEncoder
from agora.gateway.transcoding import Route, RouteError, routes_of
from agora.platform.errors import PermissionDenied

_files = 0
_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_INT32 = descriptor_pb2.FieldDescriptorProto.TYPE_INT32
# The generated stub types extensions as plain FieldDescriptors: see transcoding._RULE.
_RULE: Any = options_pb2.rule


def watch_routes(
    binding: str,
    *,
    kind: str = "get",
    body: str = "",
    response_body: str = "",
    client_streaming: bool = False,
    server_streaming: bool = True,
    rule: options_pb2.MethodRule | None = None,
) -> list[Route]:
    """The routes of a new `WatchService.Watch(Filter) -> stream Change`."""
    global _files
    _files += 1
    package = f"agora.ssetest{_files}.v1"
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"agora/ssetest{_files}/v1/watch.proto",
        package=package,
        syntax="proto3",
        dependency=["google/api/annotations.proto", "agora/options/v1/options.proto"],
    )
    fields = {"Filter": [("room", _STRING), ("limit", _INT32)], "Change": [("what", _STRING)]}
    for name, members in fields.items():
        message = proto.message_type.add(name=name)
        for number, (field_name, kind_of_field) in enumerate(members, start=1):
            message.field.add(
                name=field_name,
                number=number,
                type=kind_of_field,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                json_name=field_name,
            )
    method = proto.service.add(name="WatchService").method.add(
        name="Watch",
        input_type=f".{package}.Filter",
        output_type=f".{package}.Change",
        client_streaming=client_streaming,
        server_streaming=server_streaming,
    )
    http = method.options.Extensions[annotations_pb2.http]
    setattr(http, kind, binding)
    http.body = body
    http.response_body = response_body
    method.options.Extensions[_RULE].CopyFrom(rule or options_pb2.MethodRule(public=True))
    descriptor_pool.Default().Add(proto)
    found = descriptor_pool.Default().FindMethodByName(f"{package}.WatchService.Watch")
    return routes_of(found, ProtoJsonEncoder())


def test_a_server_stream_with_a_get_binding_is_a_route_with_path_and_query_fields() -> None:
    (route,) = watch_routes("/v1/rooms/{room}/changes")

    assert route.server_streaming
    assert set(route.path_fields) == {"room"}
    assert set(route.query_fields) == {"limit"}
    request: Any = route.build_request({"room": "lobby"}, [("limit", "5")], None)
    assert (request.room, request.limit) == ("lobby", 5)


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "post"},
        {"body": "*"},
        {"response_body": "what"},
        {"rule": options_pb2.MethodRule(public=True, cache_ttl_seconds=10)},
    ],
    ids=["post", "body", "response body", "cached"],
)
def test_a_server_stream_an_event_source_cannot_open_fails_startup(options: Any) -> None:
    with pytest.raises(RouteError, match="server stream"):
        watch_routes("/v1/rooms/{room}/changes", **options)


def test_a_client_stream_still_fails_startup() -> None:
    with pytest.raises(RouteError, match="client-streaming"):
        watch_routes("/v1/rooms", client_streaming=True, server_streaming=False, kind="post")


def test_an_event_is_its_id_and_one_data_line_per_line() -> None:
    one_line = event(b'{"what":"opened"}', 7)
    two_lines = event(b"first\nsecond\r\nthird", 8)

    assert one_line == b'id: 7\ndata: {"what":"opened"}\n\n'
    assert two_lines == b"id: 8\ndata: first\ndata: second\ndata: third\n\n"
    assert event(b"", 9) == b"id: 9\ndata: \n\n"


def test_an_error_event_carries_the_rest_problem() -> None:
    problem = problem_from_domain_error(PermissionDenied("closed"), "rid-1")

    framed = error_event(problem, 3)

    head, data = framed.removesuffix(b"\n\n").split(b"\ndata: ")
    assert head == b"id: 3\nevent: error"
    assert orjson.loads(data) == problem.body()


def test_the_retry_hint_and_the_heartbeat_are_fields_browsers_know() -> None:
    assert retry_hint(3000) == b"retry: 3000\n\n"
    assert HEARTBEAT.startswith(b":")  # a comment: no event reaches the page
    assert HEARTBEAT.endswith(b"\n\n")


@pytest.mark.parametrize(
    ("headers", "allowed", "expected"),
    [
        ({}, [], True),  # not a browser, or one that says nothing
        ({"sec-fetch-site": "same-origin"}, [], True),
        ({"sec-fetch-site": "none"}, [], True),  # typed into the address bar
        ({"sec-fetch-site": "same-site"}, [], False),  # a sibling subdomain's page
        ({"sec-fetch-site": "cross-site"}, [], False),
        ({"origin": "https://shop.example", "host": "shop.example"}, [], True),
        ({"origin": "https://evil.example", "host": "shop.example"}, [], False),
        ({"origin": "null", "host": "shop.example"}, [], False),
        (
            {"origin": "https://shop.example", "host": "api.internal"},
            ["https://shop.example"],
            True,
        ),
    ],
)
def test_a_cookie_stream_comes_from_a_page_of_an_allowed_origin(
    headers: dict[str, str], allowed: list[str], expected: bool
) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]

    assert cookie_stream_allowed(raw, allowed) is expected


def test_the_openapi_document_describes_an_event_stream_as_a_get() -> None:
    staff_only = options_pb2.MethodRule(permission="rooms:read", rate_limit="3/minute")
    (route,) = watch_routes("/v1/rooms/{room}/changes", rule=staff_only)
    change = f"#/components/schemas/{route.method.output_type.full_name}"

    spec = openapi_document([route])

    validate(spec)
    operation = spec["paths"]["/v1/rooms/{room}/changes"]["get"]
    ok = operation["responses"]["200"]
    assert ok["content"] == {"text/event-stream": {"schema": {"$ref": change}}}
    assert operation["x-agora-sse"] == {
        "event": {"$ref": change},
        "error": {"$ref": "#/components/schemas/Problem"},
    }
    assert operation["description"].endswith(EVENT_STREAM_FRAMING)
    assert {p["name"] for p in operation["parameters"]} == {"room", "limit"}
    assert {"400", "401", "403", "429"} <= set(operation["responses"])
    assert operation["x-permission"] == "rooms:read"
    assert operation["x-rate-limit"] == "3/minute"
    assert operation["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
