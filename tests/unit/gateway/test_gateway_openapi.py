"""The OpenAPI document of Agora's own protos: valid 3.1, every annotated method present."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from agora.gateway.descriptors import (
    SourceComments,
    default_pool,
    files_of,
    read_descriptor_set,
)
from agora.gateway.openapi import openapi_document
from agora.gateway.transcoding import Route, build_routes


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    return build_routes(files_of(read_descriptor_set(), default_pool()))


@pytest.fixture(scope="module")
def spec(routes: list[Route]) -> dict[str, Any]:
    comments = SourceComments.from_descriptor_set(read_descriptor_set())
    return openapi_document(routes, comments)


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_every_annotated_method_is_an_operation(spec: dict[str, Any], routes: list[Route]) -> None:
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}

    assert operation_ids == {r.operation_id for r in routes}


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(spec):
        section, _, name = ref.removeprefix("#/components/").partition("/")
        assert name in spec["components"][section], ref


def test_operations_are_described_from_proto_comments(
    spec: dict[str, Any], routes: list[Route]
) -> None:
    comments = SourceComments.from_descriptor_set(read_descriptor_set())
    by_id = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}

    for route in routes:
        comment = comments.of(route.method.full_name)
        description = by_id[route.operation_id].get("description", "")
        if route.server_streaming and route.http_body:  # a download in chunks
            assert description.startswith(comment + "\n\n**Streamed download.**")
        elif route.server_streaming:  # the comment, then how the event stream is framed
            assert description.startswith(comment + "\n\n**Server-Sent Events.**")
        else:
            assert description == comment
