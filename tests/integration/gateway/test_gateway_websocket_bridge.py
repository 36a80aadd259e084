"""Bidirectional streams bridged to WebSockets, on real granian with a real WebSocket client:
the test shop's `Chat` (public) and `StaffChat` (signed-in callers) at /v1/chat, /v1/staff/chat."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from granian_process import granian_testshop
from granian_testshop import CSRF_KEY_VARIABLE
from security_support import mint_token
from testshop_backend import RunningShop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agora.gateway.browser_session import CsrfTokens
from agora.platform.net import free_port

CSRF_KEY = os.urandom(32)
MAX_FRAME_BYTES = 1024
MESSAGES_PER_MINUTE = 6
MAX_STREAMS = 3
CONNECTIONS_PER_MINUTE = 20
WAIT_S = 10.0  # a bound on waiting for the backend, never a timing assertion
SETTINGS = {
    "AGORA_GATEWAY_TRUSTED_PROXIES": "127.0.0.1",  # each test is a client address of its own
    "AGORA_GATEWAY_RATE_LIMIT": f"{CONNECTIONS_PER_MINUTE}/minute",
    "AGORA_GATEWAY_WS_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
    "AGORA_GATEWAY_WS_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
    "AGORA_GATEWAY_WS_MAX_STREAMS_PER_CLIENT": str(MAX_STREAMS),
    CSRF_KEY_VARIABLE: CSRF_KEY.hex(),
}


@pytest.fixture(scope="module")
async def gateway(testshop_descriptor_path: Path, shop: RunningShop) -> AsyncIterator[str]:
    async with granian_testshop(testshop_descriptor_path, shop.address, SETTINGS) as base_url:
        yield base_url


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://", 1) + path


def client_address() -> str:
    tail = uuid.uuid4().int
    return f"198.51.{tail % 250 + 1}.{tail // 250 % 250 + 1}"


def open_stream(
    base_url: str,
    path: str = "/v1/chat",
    headers: dict[str, str] | None = None,
    **options: Any,
) -> connect:
    return connect(
        ws_url(base_url, path),
        additional_headers={"X-Forwarded-For": client_address(), **(headers or {})},
        proxy=None,
        open_timeout=WAIT_S,
        **options,
    )


def session_cookies(token: str, csrf: str) -> dict[str, str]:
    return {"Cookie": f"__Host-agora_access={token}; __Host-agora_csrf={csrf}"}


async def frame(stream: ClientConnection) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(await asyncio.wait_for(stream.recv(), WAIT_S))
    return document


async def closed(stream: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason once the server has closed the stream."""
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(stream.recv(), WAIT_S)
    return stream.close_code, stream.close_reason


async def refusal(base_url: str, path: str = "/v1/chat", **options: Any) -> httpx.Response:
    """The HTTP answer of a handshake the gateway refuses."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_stream(base_url, path, **options):
            pass
    response = refused.value.response
    return httpx.Response(
        response.status_code,
        headers=list(response.headers.raw_items()),
        content=bytes(response.body),
    )


async def test_frames_round_trip_as_proto_json_with_the_callers_credentials(
    gateway: str, shop: RunningShop
) -> None:
    token = mint_token("ada")
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "chat-round-trip"}
    async with open_stream(gateway, headers=headers) as stream:
        await stream.send(orjson.dumps({"text": "hello", "repeat": 2}).decode())
        first, second = await frame(stream), await frame(stream)
        await stream.send('{"text": "end"}')
        code, _ = await closed(stream)

    assert first == {
        "text": "hello",
        "replyIndex": 0,
        "authorization": f"Bearer {token}",
        "sequence": "1",
        "subject": "ada",
    }
    assert second["replyIndex"] == 1
    assert second["sequence"] == "2"
    assert code == 1000
    seen = next(m for m in shop.backend.metadata if m.get("x-request-id") == "chat-round-trip")
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-agora-client-ip"].startswith("198.51.")


async def test_an_invalid_frame_gets_the_rest_problem_and_the_stream_lives_on(
    gateway: str,
) -> None:
    async with open_stream(gateway) as stream:
        await stream.send('{"text": ""}')
        empty = await frame(stream)
        await stream.send('{"text": "hi", "mood": "grumpy"}')
        unknown = await frame(stream)
        await stream.send("not json")
        malformed = await frame(stream)
        await stream.send('{"text": "still here"}')
        answer = await frame(stream)

    assert empty["error"]["type"] == "urn:agora:problem:invalid-argument"
    assert empty["error"]["title"] == "Bad Request"
    assert empty["error"]["status"] == 400
    assert empty["error"]["errors"][0]["field"] == "text"
    assert unknown["error"]["errors"] == [{"field": "mood", "description": "unknown field"}]
    assert malformed["error"]["status"] == 400
    assert answer["text"] == "still here"


async def test_a_cookie_session_needs_an_allowed_origin_and_the_csrf_subprotocol(
    gateway: str, shop: RunningShop
) -> None:
    token = mint_token("grace", sid="session-1")
    csrf = CsrfTokens(CSRF_KEY).for_session("session-1")
    other_session_csrf = CsrfTokens(CSRF_KEY).for_session("session-2")
    own_origin = gateway  # http://127.0.0.1:<port>, the Host the handshake names
    cookies = session_cookies(token, csrf)
    protocols = ["agora.v1", f"agora.csrf.{csrf}"]

    no_origin = await refusal(gateway, headers=cookies, subprotocols=protocols)
    foreign = await refusal(
        gateway, headers=cookies, origin="https://evil.example", subprotocols=protocols
    )
    no_csrf = await refusal(gateway, headers=cookies, origin=own_origin, subprotocols=["agora.v1"])
    stolen = await refusal(
        gateway,
        headers=session_cookies(token, other_session_csrf),
        origin=own_origin,
        subprotocols=["agora.v1", f"agora.csrf.{other_session_csrf}"],
    )
    async with open_stream(
        gateway,
        headers={**cookies, "X-Request-Id": "cookie-chat"},
        origin=own_origin,
        subprotocols=protocols,
    ) as stream:
        await stream.send('{"text": "hi"}')
        answer = await frame(stream)
        chosen = stream.subprotocol

    for refused in (no_origin, foreign):
        assert refused.status_code == 403
        assert refused.json()["reason"] == "ORIGIN_REFUSED"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["x-content-type-options"] == "nosniff"
    for refused in (no_csrf, stolen):
        assert refused.status_code == 403
        assert refused.json()["reason"] == "CSRF_FAILED"
    assert chosen == "agora.v1"
    assert answer["authorization"] == f"Bearer {token}"
    assert answer["subject"] == "grace"
    seen = next(m for m in shop.backend.metadata if m.get("x-request-id") == "cookie-chat")
    assert seen["authorization"] == f"Bearer {token}"


async def test_a_stream_for_signed_in_callers_refuses_a_caller_without_credentials(
    gateway: str,
) -> None:
    anonymous = await refusal(gateway, "/v1/staff/chat")
    signed_in = {"Authorization": f"Bearer {mint_token('linus')}"}
    async with open_stream(gateway, "/v1/staff/chat", headers=signed_in) as stream:
        await stream.send('{"text": "hi"}')
        answer = await frame(stream)
    forged = {"Authorization": "Bearer not-a-token"}
    async with open_stream(gateway, "/v1/staff/chat", headers=forged) as stream:
        refused = await frame(stream)  # the backend refuses the token as the call starts
        code, _ = await closed(stream)

    assert anonymous.status_code == 401
    assert anonymous.json()["reason"] == "TOKEN_MISSING"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert answer["subject"] == "linus"
    assert refused["error"]["status"] == 401
    assert refused["error"]["reason"] == "TOKEN_INVALID"
    assert code == 1008


async def test_a_service_token_is_refused_like_on_rest(gateway: str) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"EdDSA","typ":"svc+jwt"}').rstrip(b"=").decode()
    refused = await refusal(gateway, headers={"Authorization": f"Bearer {header}.e30.c2ln"})

    assert refused.status_code == 401
    assert refused.json()["reason"] == "TOKEN_INVALID"


async def test_an_oversize_frame_gets_a_problem_and_close_1009(gateway: str) -> None:
    async with open_stream(gateway) as stream:
        await stream.send(orjson.dumps({"text": "x" * MAX_FRAME_BYTES}).decode())
        error = await frame(stream)
        code, reason = await closed(stream)

    assert error["error"]["status"] == 413
    assert error["error"]["reason"] == "FRAME_TOO_LARGE"
    assert (code, reason) == (1009, "FRAME_TOO_LARGE")


async def test_a_flood_of_frames_is_rate_limited_and_the_stream_lives_on(gateway: str) -> None:
    flood = MESSAGES_PER_MINUTE + 3
    async with open_stream(gateway) as stream:
        for index in range(flood):
            await stream.send(orjson.dumps({"text": f"m{index}"}).decode())
        frames = [await frame(stream) for _ in range(flood)]

    answers = [f for f in frames if "error" not in f]
    limited = [f["error"] for f in frames if "error" in f]
    assert [a["text"] for a in answers] == [f"m{i}" for i in range(MESSAGES_PER_MINUTE)]
    assert len(limited) == 3
    assert all(e["status"] == 429 and e["reason"] == "RATE_LIMITED" for e in limited)


async def test_closing_the_websocket_cancels_the_backend_call(
    gateway: str, shop: RunningShop
) -> None:
    async with open_stream(gateway, headers={"X-Request-Id": "chat-to-cancel"}) as stream:
        await stream.send('{"text": "slow"}')
        waiting = await asyncio.wait_for(shop.backend.chats_waiting.get(), WAIT_S)
    cancelled = await asyncio.wait_for(shop.backend.chats_cancelled.get(), WAIT_S)

    assert waiting == "chat-to-cancel"
    assert cancelled == "chat-to-cancel"


async def test_a_backend_failure_is_a_problem_frame_without_its_internals(gateway: str) -> None:
    async with open_stream(gateway) as stream:
        await stream.send('{"text": "fail"}')
        raw = await asyncio.wait_for(stream.recv(), WAIT_S)
        failed = await closed(stream)
    async with open_stream(gateway) as stream:
        await stream.send('{"text": "deny"}')
        denied = await frame(stream)
        refused = await closed(stream)

    error = orjson.loads(raw)["error"]
    assert error["status"] == 500
    assert "10.9.8.7" not in str(raw)
    assert "fire" not in str(raw)
    assert failed[0] == 1011
    assert denied["error"]["status"] == 403
    assert denied["error"]["reason"] == "PERMISSION_DENIED"
    assert refused[0] == 1008


async def test_a_client_may_hold_only_so_many_streams_at_once(gateway: str) -> None:
    address = {"X-Forwarded-For": client_address()}
    streams = [
        await connect(ws_url(gateway, "/v1/chat"), additional_headers=address, proxy=None)
        for _ in range(MAX_STREAMS)
    ]
    try:
        one_too_many = await refusal(gateway, headers=address)
    finally:
        for stream in streams:
            await stream.close()

    assert one_too_many.status_code == 429
    assert one_too_many.json()["reason"] == "TOO_MANY_STREAMS"


async def test_connection_attempts_count_against_the_rest_rate_limit(gateway: str) -> None:
    address = {"X-Forwarded-For": client_address()}
    async with httpx.AsyncClient(base_url=gateway) as http:
        for _ in range(CONNECTIONS_PER_MINUTE - 1):
            assert (await http.get("/v1/items/none", headers=address)).status_code == 404
    async with open_stream(gateway, headers=address) as stream:
        await stream.send('{"text": "last one"}')
        await frame(stream)
    limited = await refusal(gateway, headers=address)

    assert limited.status_code == 429
    assert limited.json()["reason"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_streams_own_rate_limit_counts_connection_attempts(gateway: str) -> None:
    headers = {"X-Forwarded-For": client_address(), "Authorization": f"Bearer {mint_token()}"}
    for _ in range(2):  # the method's rule: 2/minute
        async with open_stream(gateway, "/v1/staff/chat", headers=headers) as stream:
            await stream.send('{"text": "hi"}')
            await frame(stream)
    limited = await refusal(gateway, "/v1/staff/chat", headers=headers)
    async with open_stream(gateway, headers=headers) as other:  # other methods are not limited
        await other.send('{"text": "hi"}')
        answer = await frame(other)

    assert limited.status_code == 429
    assert limited.json()["reason"] == "RATE_LIMITED"
    assert answer["text"] == "hi"


async def test_a_plain_get_of_a_stream_asks_for_the_upgrade(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        answer = await http.get("/v1/chat")

    assert answer.status_code == 426
    assert answer.headers["upgrade"] == "websocket"
    assert answer.json()["reason"] == "UPGRADE_REQUIRED"


async def test_the_openapi_document_describes_the_websocket(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        spec = (await http.get("/api/openapi.json")).json()

    chat = spec["paths"]["/v1/chat"]["get"]
    schemas = spec["components"]["schemas"]
    assert "101" in chat["responses"]
    assert chat["x-agora-websocket"]["client"]["$ref"].endswith("agora.testshop.v1.ChatRequest")
    assert chat["x-agora-websocket"]["server"]["$ref"].endswith("agora.testshop.v1.ChatReply")
    assert "replyIndex" in schemas["agora.testshop.v1.ChatReply"]["properties"]
    assert "security" not in chat
    assert "security" in spec["paths"]["/v1/staff/chat"]["get"]
    assert spec["paths"]["/v1/staff/chat"]["get"]["x-rate-limit"] == "2/minute"


async def test_an_idle_stream_is_closed(testshop_descriptor_path: Path, shop: RunningShop) -> None:
    idle = {"AGORA_GATEWAY_WS_IDLE_TIMEOUT_S": "0.5"}
    async with (
        granian_testshop(testshop_descriptor_path, shop.address, idle) as base_url,
        open_stream(base_url) as stream,
    ):
        code, reason = await closed(stream)

    assert (code, reason) == (1001, "idle timeout")


async def test_an_unreachable_backend_is_a_problem_frame_not_a_hang(
    testshop_descriptor_path: Path,
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    async with (
        granian_testshop(testshop_descriptor_path, nowhere) as base_url,
        open_stream(base_url) as stream,
    ):
        error = await frame(stream)  # the call fails as it starts: no frame is needed
        code, _ = await closed(stream)

    assert error["error"]["status"] == 503
    assert error["error"]["detail"] == "The service is unavailable; try again shortly."
    assert code == 1011
