"""The pure parts of the WebSocket bridge: which methods are bridged, the per-stream message
budget, stream slots, the origin and CSRF-subprotocol checks and the close codes."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from agora.gateway.problem import EdgeProblem, problem_from_domain_error
from agora.gateway.proto_json import ProtoJsonEncoder
from agora.gateway.transcoding import RouteError, stream_routes_of
from agora.gateway.websocket_bridge import (
    MessageBudget,
    StreamSlots,
    close_code,
    csrf_of_subprotocols,
    error_frame,
    offered_subprotocols,
    origin_allowed,
)
from agora.platform.errors import InvalidArgument, PermissionDenied, Unavailable

_files = 0


def bidi_method(
    binding: str, *, answer_field: str = "text", kind: str = "get"
) -> descriptor_pb2.FileDescriptorProto:
    """A file with one bidirectional method bound to `binding`, added to the default pool."""
    global _files
    _files += 1
    package = f"agora.bridgetest{_files}.v1"
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"agora/bridgetest{_files}/v1/bridge.proto",
        package=package,
        syntax="proto3",
        dependency=["google/api/annotations.proto"],
    )
    for name, field_name in (("Say", "text"), ("Answer", answer_field)):
        message = proto.message_type.add(name=name)
        message.field.add(
            name=field_name,
            number=1,
            type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            json_name=field_name,
        )
    method = proto.service.add(name="RoomService").method.add(
        name="Talk",
        input_type=f".{package}.Say",
        output_type=f".{package}.Answer",
        client_streaming=True,
        server_streaming=True,
    )
    setattr(method.options.Extensions[annotations_pb2.http], kind, binding)
    descriptor_pool.Default().Add(proto)
    return proto


def talk_routes(proto: descriptor_pb2.FileDescriptorProto) -> list[object]:
    method = descriptor_pool.Default().FindMethodByName(f"{proto.package}.RoomService.Talk")
    return list(stream_routes_of(method, ProtoJsonEncoder()))


def test_a_bidirectional_method_with_a_literal_get_binding_is_bridged() -> None:
    routes = talk_routes(bidi_method("/v1/rooms:talk"))

    assert len(routes) == 1


@pytest.mark.parametrize(
    ("binding", "kind"),
    [("/v1/rooms/{text}", "get"), ("/v1/rooms/*", "get"), ("/v1/rooms", "post")],
)
def test_a_binding_a_frame_cannot_fill_fails_startup(binding: str, kind: str) -> None:
    with pytest.raises(RouteError, match="plain GET binding"):
        talk_routes(bidi_method(binding, kind=kind))


def test_an_answer_with_an_error_member_fails_startup() -> None:
    with pytest.raises(RouteError, match="'error'"):
        talk_routes(bidi_method("/v1/rooms", answer_field="error"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_lets_a_minutes_worth_through_then_refills_evenly() -> None:
    clock = Clock()
    budget = MessageBudget(6, clock)

    passed = [budget.take() == 0 for _ in range(6)]
    refused = budget.take()
    clock.now += 10.0  # 6 a minute: one frame every 10 s
    after_refill = budget.take()
    again = budget.take()

    assert passed == [True] * 6
    assert refused == pytest.approx(10.0)
    assert after_refill == 0
    assert again == pytest.approx(10.0)


def test_stream_slots_are_counted_under_every_key_and_released() -> None:
    slots = StreamSlots(2)
    ada = ["ip:192.0.2.1", "user:ada"]
    same_user_elsewhere = ["ip:192.0.2.9", "user:ada"]

    first, second = slots.acquire(ada), slots.acquire(ada)
    third = slots.acquire(same_user_elsewhere)
    slots.release(ada)
    after_release = slots.acquire(same_user_elsewhere)

    assert (first, second, third, after_release) == (True, True, False, True)


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "expected"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", [], True),
        ("https://shop.example", "shop.example", [], True),
        ("https://SHOP.example/", "shop.example", [], True),
        ("https://evil.example", "shop.example", [], False),
        ("https://shop.example.evil.example", "shop.example", [], False),
        ("null", "shop.example", [], False),
        ("", "shop.example", [], False),
        ("file://shop.example", "shop.example", [], False),
        ("https://shop.example", "gateway.internal:8000", ["https://shop.example"], True),
        ("https://gateway.internal:8000", "gateway.internal:8000", ["https://shop.example"], False),
    ],
)
def test_origins_allowed_for_cookie_streams(
    origin: str, host: str, allowed: list[str], expected: bool
) -> None:
    assert origin_allowed(origin, host, allowed) is expected


def test_the_csrf_token_is_read_from_the_offered_subprotocols() -> None:
    headers = [(b"sec-websocket-protocol", b"agora.v1, agora.csrf.abc-_9")]

    offered = offered_subprotocols(headers)

    assert offered == ["agora.v1", "agora.csrf.abc-_9"]
    assert csrf_of_subprotocols(offered) == "abc-_9"
    assert csrf_of_subprotocols(["agora.v1"]) == ""


def test_close_codes_say_whose_fault_it_was() -> None:
    refused = problem_from_domain_error(PermissionDenied("no"))
    invalid = problem_from_domain_error(InvalidArgument.for_field("text", "required"))
    down = problem_from_domain_error(Unavailable("down"))

    assert close_code(refused) == 1008
    assert close_code(invalid) == 1008
    assert close_code(down) == 1011
    assert close_code(EdgeProblem.INTERNAL.problem()) == 1011


def test_an_error_frame_is_the_rest_problem_under_error() -> None:
    problem = problem_from_domain_error(InvalidArgument.for_field("text", "required"), "rid-1")

    assert error_frame(problem) == (
        '{"error":{"type":"urn:agora:problem:invalid-argument","title":"Bad Request",'
        '"status":400,"detail":"text: required","code":"INVALID_ARGUMENT",'
        '"reason":"INVALID_ARGUMENT","errors":[{"field":"text","description":"required"}],'
        '"requestId":"rid-1"}}'
    )
