"""Methods answering `google.api.HttpBody` in the OpenAPI document: binary content of each media
type their rule lists, the headers a backend may set, and 304 for a unary GET."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from agora.gateway.descriptors import SourceComments, default_pool, files_of, read_descriptor_set
from agora.gateway.openapi import openapi_document
from agora.gateway.transcoding import build_routes

ROUTES = build_routes(files_of(read_descriptor_set(), default_pool()))
SPEC: dict[str, Any] = openapi_document(
    ROUTES, SourceComments.from_descriptor_set(read_descriptor_set())
)
MEDIA = SPEC["paths"]["/v1/content/media/{sha256}/{variant}"]["get"]
BINARY = {"type": "string", "format": "binary"}


def test_the_document_with_httpbody_answers_is_valid_openapi_3_1() -> None:
    validate(SPEC)


def test_each_listed_media_type_is_binary_content_of_the_200() -> None:
    ok = MEDIA["responses"]["200"]

    assert ok["content"] == {
        media_type: {"schema": BINARY}
        for media_type in ("image/png", "image/jpeg", "image/gif", "image/webp")
    }
    assert {"ETag", "Cache-Control", "Content-Disposition", "Last-Modified"} <= set(ok["headers"])


def test_a_unary_get_names_if_none_match_and_its_304() -> None:
    parameters = {p["name"]: p for p in MEDIA["parameters"]}

    assert parameters["If-None-Match"]["in"] == "header"
    assert "ETag" in MEDIA["responses"]["304"]["headers"]
    assert parameters["sha256"]["schema"]["pattern"] == "^[0-9a-f]{64}$"


def test_a_public_media_route_needs_no_token() -> None:
    assert "security" not in MEDIA
    assert "401" not in MEDIA["responses"]
    assert MEDIA["x-grpc-method"] == "/agora.admin.v1.ContentService/GetMediaFile"


def test_every_httpbody_operation_answers_binary_content() -> None:
    for route in [r for r in ROUTES if r.http_body]:
        path = next(
            item[route.rule.http_method.lower()]
            for item in SPEC["paths"].values()
            if route.rule.http_method.lower() in item
            and item[route.rule.http_method.lower()]["operationId"] == route.operation_id
        )
        content = path["responses"]["200"]["content"]
        assert content, route.operation_id
        assert all(entry["schema"] == BINARY for entry in content.values())
