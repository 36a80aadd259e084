"""Idempotency keys over HTTP, with the real services behind the real gateway (issue 8,
finding 2): a key reused for another request is 422 IDEMPOTENCY_KEY_REUSED, a guest's guessable
key where nothing else scopes it is 400 naming `idempotencyKey`, and a duplicate while the
first request runs is 409 with Retry-After."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa
from edge_stack import EdgeStack

from agora.platform.db import create_engine

PROBLEM = "application/problem+json"


def client_ip() -> str:
    tail = uuid.uuid4().int
    return f"198.18.{tail % 250 + 1}.{tail // 250 % 250 + 1}"


async def test_the_same_key_with_another_body_is_422_idempotency_key_reused(
    edge: EdgeStack,
) -> None:
    shared = str(uuid.uuid4())
    async with edge.client(client_ip()) as http:
        first = await http.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": shared})
        again = await http.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": shared})
        other = await http.post("/v1/carts", json={"currency": "USD", "idempotencyKey": shared})

    assert first.status_code == 200
    assert again.json()["token"] == first.json()["token"]
    assert other.status_code == 422
    assert other.headers["content-type"].startswith(PROBLEM)
    assert (other.json()["status"], other.json()["reason"]) == (422, "IDEMPOTENCY_KEY_REUSED")


async def test_a_guest_creating_a_cart_with_a_guessable_key_gets_400_naming_the_key(
    edge: EdgeStack,
) -> None:
    async with edge.client(client_ip()) as http:
        response = await http.post(
            "/v1/carts", json={"currency": "EUR", "idempotencyKey": "cart-1"}
        )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["idempotencyKey"]


async def test_a_duplicate_while_the_first_runs_is_409_with_retry_after(edge: EdgeStack) -> None:
    key = str(uuid.uuid4())
    address = {
        "name": "Ada Lovelace",
        "line1": "Hauptstr. 1",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "DE",
        "email": "ada@example.com",
    }
    engine = create_engine(edge.database_url, "orders")
    try:
        async with edge.client(client_ip()) as http:
            cart = await http.post(
                "/v1/carts", json={"currency": "EUR", "idempotencyKey": str(uuid.uuid4())}
            )
            path = f"/v1/carts/{cart.json()['token']}/shipping-address?idempotencyKey={key}"
            async with engine.connect() as conn, conn.begin():
                # The cart is busy elsewhere: the first request holds its key and waits.
                await conn.execute(
                    sa.text("SELECT 1 FROM carts WHERE token = :t FOR UPDATE"),
                    {"t": cart.json()["token"]},
                )
                first = asyncio.create_task(http.put(path, json=address))
                await asyncio.sleep(0.5)
                duplicate = await http.put(path, json=address)
                assert not first.done()
            assert (await first).status_code == 200
    finally:
        await engine.dispose()

    assert duplicate.status_code == 409
    assert duplicate.json()["reason"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    assert int(duplicate.headers["retry-after"]) >= 1
