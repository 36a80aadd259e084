"""JSON body errors speak the API's words (issue 8, finding 19): the field in lowerCamelCase and
what it expects, never a proto type name, json_format's field list or the refused input."""

from __future__ import annotations

import orjson
import pytest

from agora.gateway.descriptors import default_pool, files_of, read_descriptor_set
from agora.gateway.transcoding import Route, build_routes
from agora.platform.errors import FieldViolation, InvalidArgument

ROUTES = {r.operation_id: r for r in build_routes(files_of(read_descriptor_set(), default_pool()))}


def refusal(route: Route, body: object) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        route.build_request({}, [], orjson.dumps(body))
    text = f"{raised.value.message} {raised.value.violations}"
    for internal in ("agora.", "CartRequest", "ProductRequest", "Available", "Failed to parse"):
        assert internal not in text
    return raised.value


@pytest.mark.parametrize(
    ("body", "violation"),
    [
        ({"": 1, "currency": "EUR"}, FieldViolation("body", "a member has an empty name")),
        ({"colour": 1}, FieldViolation("colour", "unknown field")),
        ({"k" * 10_000: 1}, FieldViolation("body", "a member is not a field of this request")),
        ({"currency": 5}, FieldViolation("currency", "expected a string")),
        ({"currency": ["EUR"]}, FieldViolation("currency", "expected a string")),
    ],
)
def test_create_cart_body_errors_name_the_field_in_the_apis_words(
    body: object, violation: FieldViolation
) -> None:
    assert refusal(ROUTES["OrdersService_CreateCart"], body).violations == [violation]


def test_nested_and_map_errors_name_the_path_without_echoing_keys() -> None:
    create = ROUTES["CatalogService_CreateProduct"]
    assert refusal(create, {"attributes": {"k" * 5_000: 5}}).violations == [
        FieldViolation("attributes", "expected an object, each value a string")
    ]
    assert refusal(create, {"variants": 5}).violations == [
        FieldViolation("variants", "expected a list")
    ]
