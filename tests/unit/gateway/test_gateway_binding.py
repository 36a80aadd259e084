"""Routes from annotations, and binding path, query and JSON body into request messages."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    json_format,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import FileDescriptor

from agora._proto.agora.options.v1 import options_pb2
from agora.gateway.transcoding import (
    Match,
    NotAllowed,
    Route,
    RouteError,
    RouteTable,
    backend_name,
    build_routes,
    violation_from_parse_error,
)
from agora.platform.errors import InvalidArgument

FDP = descriptor_pb2.FieldDescriptorProto
RULE: Any = options_pb2.rule
HTTP: Any = annotations_pb2.http


def _field(
    name: str, number: int, kind: int, *, type_name: str = "", repeated: bool = False
) -> FDP:
    label = FDP.LABEL_REPEATED if repeated else FDP.LABEL_OPTIONAL
    field = FDP(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = type_name
    return field


def _method(name: str, request: str, response: str, rule: http_pb2.HttpRule) -> Any:
    method = descriptor_pb2.MethodDescriptorProto(
        name=name, input_type=f".unit.v1.{request}", output_type=f".unit.v1.{response}"
    )
    method.options.Extensions[HTTP].CopyFrom(rule)
    return method


def _shop_file() -> FileDescriptor:
    """A hand-built `unit.v1` proto (no protoc): scalars, enums, nesting, well-known types."""
    name = "agora/unit_gateway_binding.proto"
    pool = descriptor_pool.Default()
    try:
        return pool.FindFileByName(name)
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto(name=name, package="unit.v1", syntax="proto3")
    file.dependency.extend(
        [
            timestamp_pb2.DESCRIPTOR.name,
            wrappers_pb2.DESCRIPTOR.name,
            annotations_pb2.DESCRIPTOR.name,
            options_pb2.DESCRIPTOR.name,
        ]
    )
    file.enum_type.add(name="Kind").value.extend(
        [
            descriptor_pb2.EnumValueDescriptorProto(name="KIND_UNSPECIFIED", number=0),
            descriptor_pb2.EnumValueDescriptorProto(name="KIND_BOOK", number=1),
        ]
    )
    file.message_type.add(name="Range").field.extend(
        [_field("min_minor", 1, FDP.TYPE_INT64), _field("max_minor", 2, FDP.TYPE_INT64)]
    )
    file.message_type.add(name="Query").field.extend(
        [
            _field("slug", 1, FDP.TYPE_STRING),
            _field("page_size", 2, FDP.TYPE_INT32),
            _field("tags", 3, FDP.TYPE_STRING, repeated=True),
            _field("in_stock", 4, FDP.TYPE_BOOL),
            _field("kind", 5, FDP.TYPE_ENUM, type_name=".unit.v1.Kind"),
            _field("price", 6, FDP.TYPE_MESSAGE, type_name=".unit.v1.Range"),
            _field("after", 7, FDP.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp"),
            _field("rating", 8, FDP.TYPE_MESSAGE, type_name=".google.protobuf.Int32Value"),
            _field("ratio", 9, FDP.TYPE_DOUBLE),
            _field("blob", 10, FDP.TYPE_BYTES),
            _field("views", 11, FDP.TYPE_UINT64),
        ]
    )
    service = file.service.add(name="UnitService")
    get = _method("GetThing", "Query", "Query", http_pb2.HttpRule(get="/v1/things/{slug}"))
    get.options.Extensions[RULE].cache_ttl_seconds = 30
    service.method.extend(
        [
            get,
            _method("ListThings", "Query", "Query", http_pb2.HttpRule(get="/v1/things")),
            _method(
                "PutThing", "Query", "Query", http_pb2.HttpRule(put="/v1/things/{slug}", body="*")
            ),
            _method(
                "SetPrice",
                "Query",
                "Range",
                http_pb2.HttpRule(
                    post="/v1/things/{slug}/price", body="price", response_body="max_minor"
                ),
            ),
        ]
    )
    pool.Add(file)
    return pool.FindFileByName(name)


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable(build_routes([_shop_file()]))


def _route(table: RouteTable, method: str, path: str) -> tuple[Route, dict[str, str]]:
    found = table.match(method, path)
    assert isinstance(found, Match)
    return found.route, found.variables


def test_routes_carry_the_backend_rpc_path_and_cache_rule(table: RouteTable) -> None:
    route, variables = _route(table, "GET", "/v1/things/tea")

    assert variables == {"slug": "tea"}
    assert route.rpc_path == "/unit.v1.UnitService/GetThing"
    assert route.operation_id == "UnitService_GetThing"
    assert route.cache_ttl_s == 30


def test_a_known_path_with_another_method_is_not_allowed(table: RouteTable) -> None:
    found = table.match("DELETE", "/v1/things/tea")

    assert isinstance(found, NotAllowed)
    assert set(found.allowed) == {"GET", "PUT"}


def test_an_unknown_path_has_no_route(table: RouteTable) -> None:
    assert table.match("GET", "/v2/things") is None
    assert table.match("GET", "/") is None


def test_query_parameters_bind_every_kind_of_leaf(table: RouteTable) -> None:
    route, variables = _route(table, "GET", "/v1/things")
    query = [
        ("pageSize", "20"),
        ("tags", "a"),
        ("tags", "b"),
        ("in_stock", "true"),
        ("kind", "KIND_BOOK"),
        ("price.minMinor", "100"),
        ("price.max_minor", "-5"),
        ("after", "2024-05-06T07:08:09Z"),
        ("rating", "4"),
        ("ratio", "0.5"),
        ("blob", "aGk"),
        ("views", "18446744073709551615"),
    ]

    request: Any = route.build_request(variables, query, None)

    assert request.page_size == 20
    assert list(request.tags) == ["a", "b"]
    assert request.in_stock is True
    assert request.kind == 1
    assert (request.price.min_minor, request.price.max_minor) == (100, -5)
    assert request.after.seconds == 1714979289
    assert request.rating.value == 4
    assert request.ratio == 0.5
    assert request.blob == b"hi"
    assert request.views == 2**64 - 1


def test_enums_bind_by_number_too(table: RouteTable) -> None:
    route, variables = _route(table, "GET", "/v1/things")

    request: Any = route.build_request(variables, [("kind", "1")], None)

    assert request.kind == 1


@pytest.mark.parametrize(
    ("key", "value", "described"),
    [
        ("pageSize", "x", "expected an integer"),
        ("pageSize", "3000000000", "expected an integer"),
        ("in_stock", "yes", "true or false"),
        ("kind", "KIND_CAR", "KIND_BOOK"),
        ("after", "monday", "date-time"),
        ("ratio", "half", "expected a number"),
        ("nope", "1", "unknown query parameter"),
    ],
)
def test_bad_query_values_name_the_parameter(
    table: RouteTable, key: str, value: str, described: str
) -> None:
    route, variables = _route(table, "GET", "/v1/things")

    with pytest.raises(InvalidArgument) as raised:
        route.build_request(variables, [(key, value)], None)

    assert raised.value.violations[0].field == key
    assert described in raised.value.violations[0].description


def test_path_bound_fields_are_not_query_parameters(table: RouteTable) -> None:
    route, variables = _route(table, "GET", "/v1/things/tea")

    assert "slug" not in route.query_fields
    with pytest.raises(InvalidArgument):
        route.build_request(variables, [("slug", "other")], None)


def test_a_whole_body_binds_and_the_path_variable_wins(table: RouteTable) -> None:
    route, variables = _route(table, "PUT", "/v1/things/tea")
    body = orjson.dumps({"slug": "coffee", "pageSize": 3, "price": {"minMinor": "7"}})

    request: Any = route.build_request(variables, [], body)

    assert request.slug == "tea"
    assert request.page_size == 3
    assert request.price.min_minor == 7
    assert route.query_fields == {}


def test_a_field_body_binds_into_that_field_and_others_come_from_the_query(
    table: RouteTable,
) -> None:
    route, variables = _route(table, "POST", "/v1/things/tea/price")

    request: Any = route.build_request(variables, [("pageSize", "2")], b'{"maxMinor": 9}')

    assert request.price.max_minor == 9
    assert request.page_size == 2
    assert "price.minMinor" not in route.query_fields


def test_response_body_selects_one_field(table: RouteTable) -> None:
    route, _ = _route(table, "POST", "/v1/things/tea/price")

    answer = route.response_class(min_minor=1, max_minor=12)

    assert orjson.loads(route.encode_response(answer)) == "12"


def test_responses_print_defaults_and_int64_as_strings(table: RouteTable) -> None:
    route, _ = _route(table, "GET", "/v1/things/tea")

    answer = orjson.loads(route.encode_response(route.response_class(slug="tea")))

    assert answer["slug"] == "tea"
    assert answer["pageSize"] == 0
    assert answer["tags"] == []
    assert answer["views"] == "0"
    assert answer["kind"] == "KIND_UNSPECIFIED"


def test_responses_match_json_format_and_keep_unknown_enum_numbers(table: RouteTable) -> None:
    route, _ = _route(table, "GET", "/v1/things/tea")
    answer: Any = route.response_class(slug="t", kind=7, ratio=float("nan"), blob=b"\x01")
    answer.after.seconds = 1
    answer.rating.value = 0

    encoded = orjson.loads(route.encode_response(answer))

    assert encoded == json_format.MessageToDict(answer, always_print_fields_with_no_presence=True)
    assert encoded["kind"] == 7
    assert encoded["rating"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"pageSize": "many"}', "pageSize"),
        (b'{"price": {"minMinor": "x"}}', "price.minMinor"),
        (b'{"tags": ["a", 3]}', "tags"),
        (b'{"colour": 1}', "colour"),
        (b'{"price": {"colour": 1}}', "price.colour"),
        (b'{"kind": "KIND_CAR"}', "kind"),
        (b'{"after": "soon"}', "after"),
        (b'{"tags": "a"}', "tags"),
        (b"[1]", "body"),
        (b'{"slug": ', "body"),
    ],
)
def test_json_errors_name_the_field(table: RouteTable, body: bytes, field: str) -> None:
    route, variables = _route(table, "PUT", "/v1/things/tea")

    with pytest.raises(InvalidArgument) as raised:
        route.build_request(variables, [], body)

    assert raised.value.violations[0].field == field


def test_parse_errors_of_nested_fields_give_the_json_path() -> None:
    violation = violation_from_parse_error(
        "Failed to parse item field: Failed to parse price field: "
        "Failed to parse amountMinor field: Couldn't parse integer: x.."
    )

    assert violation.field == "item.price.amountMinor"
    assert violation.description == "invalid value"


@pytest.mark.parametrize(
    ("service", "backend"),
    [
        ("agora.catalog.v1.CatalogService", "catalog"),
        ("agora.orders.v2beta1.OrderService", "orders"),
        ("acme.billing.v1.Billing", "billing"),
        ("Lonely", "Lonely"),
    ],
)
def test_backend_names_come_from_the_proto_package(service: str, backend: str) -> None:
    assert backend_name(service) == backend


def test_two_methods_on_the_same_binding_are_refused() -> None:
    routes = build_routes([_shop_file()])
    twin = next(r for r in routes if r.method.name == "GetThing")

    with pytest.raises(RouteError):
        RouteTable([*routes, twin])
