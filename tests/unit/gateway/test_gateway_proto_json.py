"""The compiled proto3 JSON encoder answers exactly what json_format answers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.api import http_pb2
from google.protobuf import (
    descriptor_pb2,
    json_format,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message

from agora.gateway.proto_json import ProtoJsonEncoder


def _expected(message: Message) -> Any:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def _file_with_everything() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="a/b.proto", package="a.b", syntax="proto3")
    message = file.message_type.add(name="M")
    message.field.add(name="count", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64)
    message.options.deprecated = True
    message.reserved_name.extend(["x", "y"])
    file.enum_type.add(name="E").value.add(name="E_ZERO", number=0)
    file.service.add(name="S").method.add(name="Do", input_type=".a.b.M", output_type=".a.b.M")
    file.options.java_package = "b.a"
    file.options.optimize_for = descriptor_pb2.FileOptions.CODE_SIZE
    return file


def _http_rule() -> http_pb2.HttpRule:
    rule = http_pb2.HttpRule(get="/v1/{name=things/*}", body="*")
    rule.additional_bindings.add(post="/v1/things", response_body="thing")
    return rule


def _struct() -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update({"a": 1.5, "b": [True, None, "x"], "c": {"d": "e"}})
    return value


def _double_value(number: float) -> wrappers_pb2.DoubleValue:
    return wrappers_pb2.DoubleValue(value=number)


@pytest.mark.parametrize(
    "message",
    [
        http_pb2.HttpRule(),
        _http_rule(),
        _file_with_everything(),
        descriptor_pb2.FileDescriptorSet(file=[_file_with_everything()]),
        descriptor_pb2.FieldOptions(ctype=descriptor_pb2.FieldOptions.CORD, packed=False),
        descriptor_pb2.UninterpretedOption(
            double_value=math.inf, string_value=b"\x00\xff", positive_int_value=2**64 - 1
        ),
        descriptor_pb2.UninterpretedOption(double_value=math.nan),
        timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5),
        _struct(),
        _double_value(-math.inf),
    ],
    ids=lambda m: type(m).__name__,
)
def test_the_encoder_matches_json_format(message: Message) -> None:
    assert ProtoJsonEncoder().to_dict(message) == _expected(message)


def test_maps_enums_floats_and_wrappers_match_json_format() -> None:
    # google.protobuf.Struct has a map; Value has an enum (NullValue) inside a oneof.
    value = struct_pb2.Value(struct_value=_struct())
    listed = struct_pb2.ListValue(values=[value, struct_pb2.Value(null_value=0)])
    holder = descriptor_pb2.FeatureSetDefaults()
    holder.defaults.add(edition=descriptor_pb2.EDITION_2023)

    for message in (value, listed, holder):
        assert ProtoJsonEncoder().to_dict(message) == _expected(message)
