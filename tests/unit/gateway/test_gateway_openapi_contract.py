"""The OpenAPI document is exact enough to generate clients from (issue 8, findings 16-18):
requests generated from it pass the gateway's checks, path parameters have simple names, and
`…/{id}:verb` paths do not match the plain `…/{id}` template."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from agora.gateway.descriptors import (
    SourceComments,
    default_pool,
    files_of,
    read_descriptor_set,
)
from agora.gateway.openapi import NUL_FREE_PATTERN, openapi_document
from agora.gateway.transcoding import NotAllowed, Route, RouteTable, build_routes

ROUTES = build_routes(files_of(read_descriptor_set(), default_pool()))
SPEC = openapi_document(ROUTES, SourceComments.from_descriptor_set(read_descriptor_set()))
OPERATIONS = {
    operation["operationId"]: (path, operation)
    for path, item in SPEC["paths"].items()
    for operation in item.values()
}
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _text(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 40)
    pattern = schema.get("pattern", NUL_FREE_PATTERN)
    if pattern == NUL_FREE_PATTERN:
        characters = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
        return st.text(characters, min_size=low, max_size=min(high, 60))
    matching = st.from_regex(re.compile(pattern), fullmatch=True)
    return matching.filter(lambda text: low <= len(text) <= high)


def values(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema declares valid (the subset of JSON Schema the document uses)."""
    if "not" in schema:  # a required enum: anything but its zero value
        excluded = schema["not"]["const"]
        rest = {k: v for k, v in schema.items() if k != "not"}
        return values(rest, depth).filter(lambda value: value != excluded)
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):  # wrappers: [type, "null"]
        return st.one_of(st.none(), values({**schema, "type": kind[0]}, depth))
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.just("2026-12-02T10:00:00Z")
        if schema.get("format") == "byte":
            return st.just("YWdvcmE=")
        return _text(schema)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31 - 1))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        size = min(schema.get("maxItems", 3), 3)
        return st.lists(
            values(schema["items"], depth + 1), min_size=schema.get("minItems", 0), max_size=size
        )
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        keys = _text(schema.get("propertyNames", {"type": "string"}))
        size = min(schema.get("maxProperties", 3), 3)
        return st.dictionaries(
            keys, values(schema["additionalProperties"], depth + 1), max_size=size
        )
    if kind == "object":
        return _object(schema, depth)
    return st.nothing()


def _object(schema: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties = {
        name: property_schema
        for name, property_schema in schema.get("properties", {}).items()
        if not property_schema.get("readOnly")
    }
    required = set(schema.get("required", []))
    optional = {k: v for k, v in properties.items() if k not in required}
    if depth > 3:
        optional = {}
    return st.fixed_dictionaries(
        {name: values(properties[name], depth + 1) for name in required},
        optional={name: values(s, depth + 1) for name, s in optional.items()},
    )


def _request_parts(
    route: Route,
) -> st.SearchStrategy[tuple[dict[str, str], list[tuple[str, str]], bytes | None]]:
    _, operation = OPERATIONS[route.operation_id]
    parameters = operation.get("parameters", [])
    path_parameters = [p for p in parameters if p["in"] == "path"]
    query_parameters = [p for p in parameters if p["in"] == "query"]
    variables = [v.name for v in route.rule.template.variables]
    assert len(path_parameters) == len(variables)
    body_schema = (
        operation["requestBody"]["content"]["application/json"]["schema"]
        if "requestBody" in operation
        else None
    )

    @st.composite
    def parts(draw: st.DrawFn) -> tuple[dict[str, str], list[tuple[str, str]], bytes | None]:
        bound = {
            name: str(draw(values(parameter["schema"])))
            for name, parameter in zip(variables, path_parameters, strict=True)
        }
        query: list[tuple[str, str]] = []
        for parameter in query_parameters:
            if parameter["required"] or draw(st.booleans()):
                value = draw(values(parameter["schema"]))
                for item in value if isinstance(value, list) else [value]:
                    query.append((parameter["name"], _query_text(item)))
        body = None
        if body_schema is not None:
            document = draw(values(body_schema))
            Draft202012Validator(_inline(body_schema)).validate(document)
            body = orjson.dumps(document)
        return bound, query, body

    return parts()


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    # `#/components/…` references resolve against the document's root: give them one.
    return {**schema, "components": SPEC["components"]}


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(SPEC)


@pytest.mark.parametrize("route", ROUTES, ids=[r.operation_id for r in ROUTES])
def test_a_request_the_document_declares_valid_passes_the_gateways_checks(route: Route) -> None:
    @settings(
        max_examples=5,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(_request_parts(route))
    def passes(parts: tuple[dict[str, str], list[tuple[str, str]], bytes | None]) -> None:
        variables, query, body = parts
        message = route.build_request(variables, query, body)
        assert route.validator.violations(message) == []

    passes()


def test_every_message_refuses_unknown_members_and_declares_its_required_fields() -> None:
    schemas = SPEC["components"]["schemas"]
    cart_line = schemas["agora.orders.v1.AddCartLineRequest"]
    assert cart_line["additionalProperties"] is False
    assert cart_line["required"] == ["cartToken", "variantId", "quantity"]
    assert (
        cart_line["properties"]["quantity"] | {"minimum": 1, "maximum": 99}
        == cart_line["properties"]["quantity"]
    )
    money = schemas["agora.catalog.v1.Money"]["properties"]["amountMinor"]
    assert money["type"] == "string"
    assert re.fullmatch(money["pattern"][1:-1], "1000000000000")
    assert not re.fullmatch(money["pattern"][1:-1], "1000000000001")
    reason = OPERATIONS["OrdersService_CancelOrder"][1]["requestBody"]["content"]
    assert reason["application/json"]["schema"]["properties"]["reason"]["maxLength"] == 2000
    ids = OPERATIONS["OrdersService_GetOrder"][1]["parameters"][0]["schema"]
    assert ids["format"] == "uuid"
    assert ids["pattern"] == UUID


def test_operations_declare_the_problems_they_can_answer_with() -> None:
    _, cancel = OPERATIONS["OrdersService_CancelOrder"]
    assert {"400", "404", "409", "410", "422", "429", "503"} <= set(cancel["responses"])
    _, create_product = OPERATIONS["CatalogService_CreateProduct"]
    assert {"400", "401", "403", "409", "422"} <= set(create_product["responses"])
    _, list_products = OPERATIONS["CatalogService_ListProducts"]
    assert "401" not in list_products["responses"]


def test_path_parameters_have_simple_names_and_still_route() -> None:
    names = [
        parameter["name"]
        for _, operation in OPERATIONS.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name) for name in names), names
    assert "/v1/products/{product.id}" not in SPEC["paths"]
    assert "patch" in SPEC["paths"]["/v1/products/{slugOrProductId}"]
    found = RouteTable(ROUTES).match("PATCH", "/v1/products/7d6f4c5e-0a1b-4c2d-8e3f-000000000001")
    assert not isinstance(found, NotAllowed)
    assert found is not None
    assert found.variables == {"product.id": "7d6f4c5e-0a1b-4c2d-8e3f-000000000001"}


def test_a_variable_never_swallows_the_verb_so_allow_is_right() -> None:
    table = RouteTable(ROUTES)
    order = "7d6f4c5e-0a1b-4c2d-8e3f-000000000002"
    wrong_method = table.match("GET", f"/v1/orders/{order}:cancel")
    assert isinstance(wrong_method, NotAllowed)
    assert wrong_method.allowed == ("POST",)
    assert table.match("GET", f"/v1/orders/{order}:nonsense") is None
    cancel = table.match("POST", f"/v1/orders/{order}:cancel")
    assert cancel is not None
    assert not isinstance(cancel, NotAllowed)
    assert cancel.route.method.name == "CancelOrder"
