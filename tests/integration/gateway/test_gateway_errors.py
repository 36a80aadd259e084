"""Bad input and failing backends become the right HTTP status and problem+json body."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pb2
from testshop_backend import BACKEND_TIMEOUT_S, RunningShop, build_app

from agora.gateway.settings import GatewaySettings
from agora.platform.net import free_port

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def stocked(shop: RunningShop) -> None:
    shop.backend.items.clear()
    shop.backend.item("tea", "Green tea", 450)


async def test_unknown_resource_is_404_with_the_backend_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/items/nope", headers={"X-Request-Id": "r-404"})

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"
    assert problem["code"] == "NOT_FOUND"
    assert problem["reason"] == "NOT_FOUND"
    assert "nope" in problem["detail"]
    assert problem["requestId"] == "r-404"
    assert problem["type"] == "urn:agora:problem:not-found"


async def test_invalid_argument_from_the_backend_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", json={"item": {"slug": "x", "title": ""}})

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "INVALID_ARGUMENT"
    assert problem["errors"] == [{"field": "item.title", "description": "must not be empty"}]


async def test_insufficient_stock_is_409_with_shortages(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items/tea:reserve", json={"quantity": 9})

    assert response.status_code == 409
    problem = response.json()
    assert problem["reason"] == "INSUFFICIENT"
    assert problem["code"] == "FAILED_PRECONDITION"
    assert problem["shortages"] == [{"subject": "tea", "requested": 9, "available": 5}]


async def test_malformed_json_is_400_naming_the_position(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/items", content=b'{"item": {"slug": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["field"] == "body"
    assert "line 1 column 19" in problem["errors"][0]["description"]


async def test_wrong_json_type_is_400_naming_the_nested_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/items", json={"item": {"slug": "x", "title": "X", "price": {"amountMinor": "many"}}}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "item.price.amountMinor"


async def test_unknown_json_field_is_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.patch("/v1/items/tea", json={"title": "T", "colour": "green"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "item.colour"
    assert error["description"] == "unknown field"


async def test_json_that_is_not_an_object_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", json=[1, 2])

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


async def test_bad_query_values_are_400_naming_the_parameter(client: httpx.AsyncClient) -> None:
    not_int = await client.get("/v1/items?pageSize=ten")
    not_enum = await client.get("/v1/items?kind=KIND_CAR")
    unknown = await client.get("/v1/items?colour=green")
    bad_time = await client.get("/v1/items?createdAfter=yesterday")

    assert [r.status_code for r in (not_int, not_enum, unknown, bad_time)] == [400] * 4
    assert not_int.json()["errors"][0] == {
        "field": "pageSize",
        "description": "expected an integer",
    }
    assert "KIND_BOOK" in not_enum.json()["errors"][0]["description"]
    assert unknown.json()["errors"][0]["field"] == "colour"
    assert bad_time.json()["errors"][0]["field"] == "createdAfter"


async def test_out_of_range_integers_are_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/items?pageSize=99999999999")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "pageSize"


async def test_a_body_that_is_not_json_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/items",
        content=b"slug=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_a_body_larger_than_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", json={"item": {"title": "x" * 10_000}})

    assert response.status_code == 413
    assert response.json()["reason"] == "BODY_TOO_LARGE"


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"item": {"title": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    response = await client.post(
        "/v1/items", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing/here")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == "ROUTE_NOT_FOUND"


async def test_wrong_method_on_a_known_path_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/items/tea", json={})

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    assert response.json()["reason"] == "METHOD_NOT_ALLOWED"


async def test_a_dead_backend_is_503_with_retry_after_quickly(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet, gateway_settings: GatewaySettings
) -> None:
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    app = build_app(testshop_descriptors, dead, gateway_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        started = time.monotonic()
        response = await http.get("/v1/items/tea")
        elapsed = time.monotonic() - started
    await dead.close()

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    problem = response.json()
    assert problem["code"] == "UNAVAILABLE"
    assert "127.0.0.1" not in problem["detail"]
    assert elapsed < BACKEND_TIMEOUT_S + 0.5


async def test_a_backend_that_does_not_answer_in_time_is_504_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await client.get("/v1/items/slow")
    elapsed = time.monotonic() - started

    assert response.status_code == 504
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "DEADLINE_EXCEEDED"
    assert elapsed < BACKEND_TIMEOUT_S + 0.5


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet, gateway_settings: GatewaySettings
) -> None:
    def broken_channel(backend: str) -> grpc.aio.Channel:
        raise RuntimeError("secret connection string postgres://admin:pw@db")

    from google.protobuf import descriptor_pool

    from agora.gateway.app import create_app

    app = create_app(
        descriptor_pool.Default(),
        broken_channel,
        settings=gateway_settings,
        descriptor_set=testshop_descriptors,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/v1/items/tea", headers={"X-Request-Id": "r-500"})

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"] == "r-500"
    assert "secret" not in response.text
    assert response.json()["requestId"] == "r-500"
