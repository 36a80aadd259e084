"""OpenAPI document, interactive docs, liveness and readiness."""

from __future__ import annotations

import grpc
import httpx
from google.protobuf import descriptor_pb2
from openapi_spec_validator import validate
from testshop_backend import build_app

from agora.gateway.settings import GatewaySettings
from agora.platform.net import free_port


async def test_openapi_lists_every_annotated_route_and_validates(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    operations = {
        (method, path): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("get", "/v1/items/{slug}"): "ShopService_GetItem",
        ("get", "/v1/items"): "ShopService_ListItems",
        ("post", "/v1/items"): "ShopService_CreateItem",
        # `{item.slug}` has the shape of `{slug}`: one OpenAPI path, one simple name.
        ("patch", "/v1/items/{slug}"): "ShopService_UpdateItem",
        ("delete", "/v1/items/{slug}"): "ShopService_DeleteItem",
        ("post", "/v1/items/{slug}:reserve"): "ShopService_ReserveItem",
        ("get", "/v1/items/{slug}/price"): "ShopService_GetItemPrice",
        ("get", "/v1/shelves/{name}"): "ShopService_GetShelf",
        ("get", "/v1/stores/{store}/shelves/{name}"): "ShopService_GetShelf_1",
        # Bidirectional streams, bridged to WebSockets.
        ("get", "/v1/chat"): "ShopService_Chat",
        ("get", "/v1/staff/chat"): "ShopService_StaffChat",
        # Server streams, as Server-Sent Events.
        ("get", "/v1/tickers/{name}"): "ShopService_Ticker",
        ("get", "/v1/staff/tickers/{name}"): "ShopService_StaffTicker",
    }


async def test_openapi_takes_descriptions_from_proto_comments(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()

    get_item = spec["paths"]["/v1/items/{slug}"]["get"]
    assert get_item["summary"] == "Fetch one item by its slug."
    assert "item events invalidate it" in get_item["description"]
    assert spec["tags"] == [{"name": "ShopService", "description": "Items on shelves."}]
    item = spec["components"]["schemas"]["agora.testshop.v1.Item"]
    assert item["properties"]["slug"]["description"] == "URL-safe unique name."


async def test_openapi_schemas_follow_the_proto3_json_mapping(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    item = schemas["agora.testshop.v1.Item"]["properties"]

    assert schemas["agora.testshop.v1.Money"]["properties"]["amountMinor"]["type"] == "string"
    assert schemas["agora.testshop.v1.Money"]["properties"]["amountMinor"]["format"] == "int64"
    assert item["createdAt"]["format"] == "date-time"
    assert item["createdAt"]["readOnly"] is True
    nul_free = {"type": "string", "pattern": "^[^\\u0000]*$"}
    assert item["tags"] == {"type": "array", "items": nul_free}
    assert item["attributes"] == {
        "type": "object",
        "additionalProperties": nul_free,
        "propertyNames": nul_free,
    }
    assert item["rating"]["type"] == ["integer", "null"]
    assert item["kind"]["$ref"] == "#/components/schemas/agora.testshop.v1.Kind"
    assert schemas["agora.testshop.v1.Kind"]["enum"] == [
        "KIND_UNSPECIFIED",
        "KIND_BOOK",
        "KIND_GAME",
    ]
    assert schemas["agora.testshop.v1.Item"]["required"] == ["slug"]


async def test_openapi_parameters_and_bodies_match_the_bindings(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]

    listing = paths["/v1/items"]["get"]
    names = {p["name"]: p for p in listing["parameters"]}
    assert {"pageSize", "tags", "kind", "inStock", "price.minMinor", "createdAfter"} <= set(names)
    assert names["tags"]["schema"]["type"] == "array"
    assert "requestBody" not in listing
    update = paths["/v1/items/{slug}"]["patch"]
    assert update["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/agora.testshop.v1.Item"
    }
    assert [p["name"] for p in update["parameters"] if p["in"] == "query"] == ["idempotencyKey"]
    price = paths["/v1/items/{slug}/price"]["get"]["responses"]["200"]
    assert price["content"]["application/json"]["schema"]["$ref"].endswith("Money")
    problem = paths["/v1/items"]["post"]["responses"]["default"]
    assert problem == {"$ref": "#/components/responses/Problem"}


async def test_interactive_docs_are_served_from_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    script = await client.get("/api/docs/init.js")
    bundle = await client.get("/api/docs/assets/swagger-ui-bundle.js")

    assert page.status_code == 200
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "/api/openapi.json" in script.text
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000


async def test_liveness_is_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_200_when_every_backend_serves(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "backends": {"testshop": "SERVING"}}


async def test_readiness_is_503_naming_a_backend_that_is_down(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet, gateway_settings: GatewaySettings
) -> None:
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    app = build_app(testshop_descriptors, dead, gateway_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/readyz")
    await dead.close()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "backends": {"testshop": "UNAVAILABLE"}}


async def test_readiness_checks_only_the_backends_the_deployment_runs(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet, gateway_settings: GatewaySettings
) -> None:
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    settings = gateway_settings.model_copy(update={"backends": []})
    app = build_app(testshop_descriptors, dead, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        ready = await http.get("/readyz")
        routed = await http.get("/v1/items/x")
    await dead.close()

    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "backends": {}}
    assert routed.status_code == 503
