"""Hostile input at the real edge (issue 8): NUL bytes, huge parameters, unbounded text and
amounts, and malformed JSON get a 400 problem naming the field in the API's words, with nothing
echoed at length and nothing of the transport or of proto type names."""

from __future__ import annotations

import uuid

import httpx
from edge_stack import EdgeStack
from security_support import RenewedToken

PROBLEM = "application/problem+json"
ORDER_ID = str(uuid.UUID(int=8))
VARIANT_ID = str(uuid.UUID(int=9))
INTERNAL_WORDS = (
    "agora.",
    "CartRequest",
    "ProductsRequest",
    "grpc",
    "metadata",
    "Available Fields",
    "Traceback",
)


def assert_problem_names(response: httpx.Response, field: str) -> dict[str, object]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0]["field"] == field
    for word in INTERNAL_WORDS:
        assert word not in response.text
    return dict(body)


async def test_nul_bytes_in_query_path_and_json_are_400_naming_the_field(edge: EdgeStack) -> None:
    async with edge.client("203.0.113.81") as client:
        in_query = await client.get("/v1/products", params={"q": "lamp\x00"})
        in_path = await client.get("/v1/products/oak%00lamp")
        in_json = await client.post("/v1/carts", json={"currency": "EUR\x00"})
    assert_problem_names(in_query, "q")
    assert_problem_names(in_path, "slug")
    problem = assert_problem_names(in_json, "currency")
    assert problem["errors"] == [
        {"field": "currency", "description": "must not contain NUL characters"}
    ]


async def test_a_huge_path_parameter_is_400_naming_it_without_echoing_it(edge: EdgeStack) -> None:
    async with edge.client("203.0.113.82") as client:
        response = await client.get("/v1/products/" + "a" * 30_000)
        cancel = await client.post("/v1/orders/" + "b" * 30_000 + ":cancel", json={})
    assert_problem_names(response, "slug")
    assert_problem_names(cancel, "id")
    assert len(response.content) < 1_000
    assert len(cancel.content) < 1_000


async def test_a_500000_character_cancel_reason_is_refused(edge: EdgeStack) -> None:
    async with edge.client("203.0.113.83") as client:
        response = await client.post(
            f"/v1/orders/{ORDER_ID}:cancel", json={"reason": "r" * 500_000}
        )
    problem = assert_problem_names(response, "reason")
    assert problem["errors"] == [{"field": "reason", "description": "at most 2000 characters"}]


async def test_a_price_of_int64_max_is_400_naming_the_amount(
    edge: EdgeStack, admin_bearer: RenewedToken
) -> None:
    price = {"amountMinor": str(2**63 - 1), "currency": "EUR"}
    async with edge.client("203.0.113.84") as client:
        anonymous = await client.put(f"/v1/variants/{VARIANT_ID}/prices", json={"prices": [price]})
        staff = await client.put(
            f"/v1/variants/{VARIANT_ID}/prices",
            json={"prices": [price]},
            headers={"Authorization": admin_bearer()},
        )
    # Who may set prices is answered first; the staff member learns what is wrong.
    assert anonymous.status_code == 401
    assert_problem_names(staff, "prices[0].amountMinor")


async def test_an_empty_json_key_speaks_the_apis_words(edge: EdgeStack) -> None:
    async with edge.client("203.0.113.85") as client:
        empty_key = await client.post("/v1/carts", json={"": 1, "currency": "EUR"})
        unknown = await client.post("/v1/carts", json={"colour": "red", "currency": "EUR"})
        wrong_type = await client.post("/v1/carts", json={"currency": 5})
    assert assert_problem_names(empty_key, "body")["errors"] == [
        {"field": "body", "description": "a member has an empty name"}
    ]
    assert assert_problem_names(unknown, "colour")["errors"] == [
        {"field": "colour", "description": "unknown field"}
    ]
    assert assert_problem_names(wrong_type, "currency")["errors"] == [
        {"field": "currency", "description": "expected a string"}
    ]
