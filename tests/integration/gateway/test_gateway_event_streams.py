"""Server-streaming methods as Server-Sent Events, on real granian with a real HTTP client
(httpx, streaming): the test shop's `Ticker` (public) at /v1/tickers/{name} and `StaffTicker`
(a permission, 3/minute) at /v1/staff/tickers/{name}."""

from __future__ import annotations

import asyncio
import contextlib
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

CSRF_KEY = os.urandom(32)
MAX_STREAMS = 2
RETRY_MS = 2500
PERMISSION = "testshop:tickers:read"
WAIT_S = 10.0  # a bound on waiting for the gateway or the backend, never a timing assertion
SETTINGS = {
    "AGORA_GATEWAY_TRUSTED_PROXIES": "127.0.0.1",  # each test is a client address of its own
    "AGORA_GATEWAY_SSE_HEARTBEAT_S": "0.2",
    "AGORA_GATEWAY_SSE_OPEN_WAIT_S": "0.2",
    "AGORA_GATEWAY_SSE_RETRY_MS": str(RETRY_MS),
    "AGORA_GATEWAY_SSE_MAX_STREAMS_PER_CLIENT": str(MAX_STREAMS),
    CSRF_KEY_VARIABLE: CSRF_KEY.hex(),
}
Block = dict[str, str]


@pytest.fixture(scope="module")
async def gateway(testshop_descriptor_path: Path, shop: RunningShop) -> AsyncIterator[str]:
    async with granian_testshop(testshop_descriptor_path, shop.address, SETTINGS) as base_url:
        yield base_url


def client_address() -> str:
    tail = uuid.uuid4().int
    return f"198.51.{tail % 250 + 1}.{tail // 250 % 250 + 1}"


def as_client(**headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": client_address(), **headers}


def bearer(token: str) -> str:
    return f"Bearer {token}"


@contextlib.asynccontextmanager
async def opened(
    base_url: str, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.Response]:
    """The response to GET `path`, its body not yet read (an event stream stays open)."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as http,
        http.stream("GET", path, headers=headers or as_client()) as response,
    ):
        yield response


async def blocks(response: httpx.Response) -> AsyncIterator[Block]:
    """The stream's blocks as they arrive: each one's fields by name (a comment under "")."""
    lines = response.aiter_lines()
    fields: Block = {}
    while True:
        try:
            line = await asyncio.wait_for(anext(lines), WAIT_S)
        except StopAsyncIteration:
            return
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif fields:
            yield fields
            fields = {}


async def all_blocks(response: httpx.Response) -> list[Block]:
    """Every block until the gateway ends the stream, heartbeats left out."""
    return [block for block in [b async for b in blocks(response)] if "" not in block]


async def reported(queue: asyncio.Queue[str], request_id: str) -> str:
    """`request_id` once the backend reports it in `queue` (other tests' reports pass by)."""

    async def matching() -> str:
        while (found := await queue.get()) != request_id:
            pass
        return found

    return await asyncio.wait_for(matching(), WAIT_S)


def data(block: Block) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(block["data"])
    return document


async def test_ticks_round_trip_as_events_of_proto_json_with_the_callers_credentials(
    gateway: str, shop: RunningShop
) -> None:
    token = mint_token("ada")
    headers = as_client(Authorization=bearer(token), **{"X-Request-Id": "ticks-round-trip"})
    async with opened(gateway, "/v1/tickers/clock?count=3", headers) as response:
        received = await all_blocks(response)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"] == "ticks-round-trip"
    assert received[0] == {"retry": str(RETRY_MS)}
    assert [b["id"] for b in received[1:]] == ["1", "2", "3"]
    assert all("event" not in b for b in received[1:])  # the default type: `message`
    assert data(received[1]) == {"name": "clock", "tickNumber": "1", "subject": "ada"}
    assert [data(b)["tickNumber"] for b in received[1:]] == ["1", "2", "3"]
    seen = next(m for m in shop.backend.metadata if m.get("x-request-id") == "ticks-round-trip")
    assert seen["authorization"] == bearer(token)
    assert seen["x-agora-client-ip"].startswith("198.51.")


async def test_an_invalid_request_is_a_rest_problem_before_any_stream(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        too_many = await http.get("/v1/tickers/clock?count=51", headers=as_client())
        unknown = await http.get("/v1/tickers/clock?colour=red", headers=as_client())
        posted = await http.post("/v1/tickers/clock", headers=as_client())

    assert too_many.status_code == 400
    assert too_many.headers["content-type"] == "application/problem+json"
    assert too_many.json()["errors"][0]["field"] == "count"
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"field": "colour", "description": "unknown query parameter"}
    ]
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET"


async def test_a_stream_for_callers_with_a_permission_refuses_everyone_else_before_streaming(
    gateway: str,
) -> None:
    path = "/v1/staff/tickers/desk?count=1"
    async with httpx.AsyncClient(base_url=gateway) as http:
        anonymous = await http.get(path, headers=as_client())
        forged = await http.get(path, headers=as_client(Authorization="Bearer not-a-token"))
        without = await http.get(path, headers=as_client(Authorization=bearer(mint_token())))
    allowed = as_client(Authorization=bearer(mint_token("grace", permissions=[PERMISSION])))
    async with opened(gateway, path, allowed) as response:
        received = await all_blocks(response)

    assert anonymous.status_code == 401
    assert anonymous.json()["reason"] == "TOKEN_MISSING"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["reason"] == "TOKEN_INVALID"
    assert without.status_code == 403
    assert without.json()["reason"] == "PERMISSION_MISSING"
    assert response.status_code == 200
    assert data(received[-1])["subject"] == "grace"


async def test_a_cookie_session_streams_only_to_pages_of_an_allowed_origin(gateway: str) -> None:
    token = mint_token("linus", permissions=[PERMISSION], sid="session-1")
    cookie = f"__Host-agora_access={token}"
    path = "/v1/staff/tickers/desk?count=1"
    async with httpx.AsyncClient(base_url=gateway) as http:
        foreign = await http.get(
            path, headers=as_client(Cookie=cookie, Origin="https://evil.example")
        )
        sibling = await http.get(
            path, headers=as_client(Cookie=cookie, **{"Sec-Fetch-Site": "same-site"})
        )
    own_page = as_client(Cookie=cookie, **{"Sec-Fetch-Site": "same-origin"})
    async with opened(gateway, path, own_page) as response:
        received = await all_blocks(response)

    for refused in (foreign, sibling):
        assert refused.status_code == 403
        assert refused.json()["reason"] == "ORIGIN_REFUSED"
    assert response.status_code == 200
    assert data(received[-1])["subject"] == "linus"


async def test_a_backend_error_is_an_error_event_without_internals_then_the_end(
    gateway: str,
) -> None:
    async with opened(gateway, "/v1/tickers/fail") as failing:
        failed = await all_blocks(failing)
    async with opened(gateway, "/v1/tickers/deny-later") as denying:
        denied = await all_blocks(denying)
    async with httpx.AsyncClient(base_url=gateway) as http:
        refused = await http.get("/v1/tickers/deny", headers=as_client())

    tick, error = failed[1:]
    assert data(tick)["tickNumber"] == "1"
    assert error["event"] == "error"
    assert error["id"] == "2"
    assert data(error)["status"] == 500
    assert data(error)["type"] == "urn:agora:problem:internal"
    assert "10.9.8.7" not in error["data"]
    assert "fire" not in error["data"]
    assert denied[-1]["event"] == "error"
    assert data(denied[-1])["status"] == 403
    assert data(denied[-1])["reason"] == "PERMISSION_DENIED"
    assert refused.status_code == 403
    assert refused.json()["reason"] == "PERMISSION_DENIED"


async def test_the_client_going_away_cancels_the_backend_call(
    gateway: str, shop: RunningShop
) -> None:
    headers = as_client(**{"X-Request-Id": "ticker-to-cancel"})
    async with opened(gateway, "/v1/tickers/slow", headers) as response:
        waiting = await reported(shop.backend.tickers_waiting, "ticker-to-cancel")
        status = response.status_code
    cancelled = await reported(shop.backend.tickers_cancelled, "ticker-to-cancel")

    assert status == 200
    assert waiting == "ticker-to-cancel"
    assert cancelled == "ticker-to-cancel"


async def test_a_silent_stream_gets_heartbeats(gateway: str) -> None:
    async with opened(gateway, "/v1/tickers/slow") as response:
        comment = await anext(b async for b in blocks(response) if "" in b)

    assert comment == {"": "heartbeat"}


async def test_a_client_may_hold_only_so_many_streams_at_once(gateway: str) -> None:
    address = client_address()
    async with contextlib.AsyncExitStack() as held:
        for _ in range(MAX_STREAMS):
            response = await held.enter_async_context(
                opened(gateway, "/v1/tickers/slow", {"X-Forwarded-For": address})
            )
            assert response.status_code == 200
        async with httpx.AsyncClient(base_url=gateway) as http:
            one_too_many = await http.get("/v1/tickers/clock", headers={"X-Forwarded-For": address})
    again = await _eventually_admitted(gateway, address)

    assert one_too_many.status_code == 429
    assert one_too_many.json()["reason"] == "TOO_MANY_STREAMS"
    assert again == 200


async def _eventually_admitted(gateway: str, address: str) -> int:
    """The status of a stream opened once the closed ones have given their slots back."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    async with httpx.AsyncClient(base_url=gateway) as http:
        while True:
            answer = await http.get("/v1/tickers/clock", headers={"X-Forwarded-For": address})
            if answer.status_code != 429 or asyncio.get_running_loop().time() > deadline:
                return answer.status_code
            await asyncio.sleep(0.05)


async def test_a_streams_own_rate_limit_counts_opened_streams(gateway: str) -> None:
    headers = as_client(Authorization=bearer(mint_token(permissions=[PERMISSION])))
    path = "/v1/staff/tickers/desk?count=1"
    async with httpx.AsyncClient(base_url=gateway) as http:
        opened_ones = [(await http.get(path, headers=headers)).status_code for _ in range(3)]
        limited = await http.get(path, headers=headers)
        other = await http.get("/v1/tickers/clock?count=1", headers=headers)

    assert opened_ones == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["reason"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1
    assert other.status_code == 200


async def test_the_openapi_document_describes_the_event_streams(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as http:
        spec = (await http.get("/api/openapi.json")).json()

    ticker = spec["paths"]["/v1/tickers/{name}"]["get"]
    staff = spec["paths"]["/v1/staff/tickers/{name}"]["get"]
    tick = "#/components/schemas/agora.testshop.v1.Tick"
    ok = ticker["responses"]["200"]
    assert ok["content"]["text/event-stream"]["schema"] == {"$ref": tick}
    assert ticker["x-agora-sse"] == {
        "event": {"$ref": tick},
        "error": {"$ref": "#/components/schemas/Problem"},
    }
    assert {p["name"] for p in ticker["parameters"]} == {"name", "count"}
    assert "tickNumber" in spec["components"]["schemas"]["agora.testshop.v1.Tick"]["properties"]
    assert "security" not in ticker
    assert staff["x-permission"] == PERMISSION
    assert staff["x-rate-limit"] == "3/minute"
    assert {"401", "403", "429"} <= set(staff["responses"])


async def test_a_stream_ends_after_its_longest_duration_and_the_call_is_cancelled(
    testshop_descriptor_path: Path, shop: RunningShop
) -> None:
    short = {**SETTINGS, "AGORA_GATEWAY_SSE_MAX_DURATION_S": "0.5"}
    headers = as_client(**{"X-Request-Id": "ticker-too-long"})
    async with (
        granian_testshop(testshop_descriptor_path, shop.address, short) as base_url,
        opened(base_url, "/v1/tickers/slow", headers) as response,
    ):
        received = await all_blocks(response)  # returns when the gateway ends the stream
        cancelled = await reported(shop.backend.tickers_cancelled, "ticker-too-long")

    assert received == [{"retry": str(RETRY_MS)}]
    assert cancelled == "ticker-too-long"
