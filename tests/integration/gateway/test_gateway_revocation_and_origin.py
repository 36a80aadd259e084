"""Through the real gateway, with the real services behind it: a revoked session's access token
is refused everywhere within a second, and the client address the gateway reports (and proves
with its own service token) is the one auth records."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from edge_stack import EdgeStack

from agora.auth.commands import create_user

PASSWORD = "correct horse battery staple"
PROPAGATION_S = 1.0


def client_ip() -> str:
    """A client address of its own for each test (logins are limited per address)."""
    tail = uuid.uuid4().int
    return f"198.18.{tail % 250 + 1}.{tail // 250 % 250 + 1}"


async def logged_in(edge: EdgeStack, http: httpx.AsyncClient) -> dict[str, str]:
    """A new customer's tokens (`accessToken`, `refreshToken`) from a bearer login."""
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    await create_user(edge.database_url, email=email, password=PASSWORD, roles=["customer"])
    login = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, str] = login.json()["tokens"]
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def end_session(http: httpx.AsyncClient, how: str, tokens: dict[str, str]) -> None:
    match how:
        case "logout":
            ended = await http.post(
                "/v1/auth/logout",
                json={"idempotencyKey": str(uuid.uuid4())},
                headers=bearer(tokens["accessToken"]),
            )
            assert ended.status_code == 200, ended.text
        case "refresh-token-reuse":
            refresh = {"refreshToken": tokens["refreshToken"]}
            assert (await http.post("/v1/auth/refresh", json=refresh)).status_code == 200
            reused = await http.post("/v1/auth/refresh", json=refresh)
            assert reused.status_code == 401, reused.text


@pytest.mark.parametrize("how", ["logout", "refresh-token-reuse"])
async def test_a_revoked_sessions_access_token_is_refused_by_every_service_within_a_second(
    edge: EdgeStack, how: str
) -> None:
    async with edge.client(client_ip()) as http:
        tokens = await logged_in(edge, http)
        me = await http.get("/v1/auth/me", headers=bearer(tokens["accessToken"]))
        assert me.status_code == 200, me.text
        orders_path = f"/v1/customers/{me.json()['id']}/orders"
        # Served by the orders service, which now holds the token in its verified cache.
        before = await http.get(orders_path, headers=bearer(tokens["accessToken"]))
        assert before.status_code == 200, before.text

        await end_session(http, how, tokens)
        ended_at = time.monotonic()
        while True:
            after = await http.get(orders_path, headers=bearer(tokens["accessToken"]))
            if after.status_code != 200 or time.monotonic() - ended_at > 5:
                break
            await asyncio.sleep(0.05)
        refused_after_s = time.monotonic() - ended_at
        at_auth = await http.get("/v1/auth/me", headers=bearer(tokens["accessToken"]))

    assert after.status_code == 401, after.text
    assert after.json()["reason"] == "TOKEN_INVALID"
    assert refused_after_s < PROPAGATION_S
    assert at_auth.status_code == 401


async def test_auth_records_the_client_address_and_agent_the_gateway_reports(
    edge: EdgeStack,
) -> None:
    address = client_ip()
    async with edge.client(address) as http:
        tokens = await logged_in(edge, http)
        sessions = await http.get("/v1/auth/sessions", headers=bearer(tokens["accessToken"]))

    assert sessions.status_code == 200, sessions.text
    (current,) = [s for s in sessions.json()["sessions"] if s.get("current")]
    assert (current["clientIp"], current["userAgent"]) == (address, "agora-edge-tests/1")
