"""Fast proto3 JSON encoding: the output of `json_format.MessageToDict(message,
always_print_fields_with_no_presence=True)`, from a plan compiled once per message type.

`json_format` re-inspects every field's descriptor on every call (map entry? enum? 64-bit?);
answers of a list endpoint spend most of their time there. Here each message type gets, once,
a table of field -> (JSON name, converter) and the defaults of its fields without presence.
Well-known types keep `json_format`'s own encoding.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Converter = Callable[[Any], Any]

_INT64 = frozenset(
    {
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)
# Well-known types have special JSON forms: strings (Timestamp…), bare values (wrappers), or
# json_format's own encoding (Struct, Value, Any…).
_WELL_KNOWN_PACKAGE = "google.protobuf."
_TEXT_TYPES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)


class _Plan:
    """How to encode one message type (`whole` for well-known types with a JSON form)."""

    def __init__(self) -> None:
        self.fields: dict[FieldDescriptor, tuple[str, Converter]] = {}
        self.defaults: list[tuple[str, Callable[[], Any]]] = []
        self.whole: Converter | None = None


class ProtoJsonEncoder:
    """Encodes messages as proto3 JSON dicts, compiling a plan per message type on first use."""

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}

    def to_dict(self, message: Message) -> Any:
        """The proto3 JSON value of `message` (a dict, or a scalar for well-known types)."""
        descriptor = message.DESCRIPTOR
        plan = self._plans.get(descriptor.full_name) or self._compile(descriptor)
        if plan.whole is not None:
            return plan.whole(message)
        out: dict[str, Any] = {}
        fields = plan.fields
        for field, value in message.ListFields():
            entry = fields.get(field)
            if entry is None:  # an extension: rare, left to json_format
                return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
            name, convert = entry
            out[name] = convert(value)
        for name, default in plan.defaults:
            if name not in out:
                out[name] = default()
        return out

    def _compile(self, descriptor: Any) -> _Plan:
        plan = _Plan()
        self._plans[descriptor.full_name] = plan  # registered first: recursive types
        if descriptor.full_name.startswith(_WELL_KNOWN_PACKAGE):
            plan.whole = self._well_known(descriptor)
            return plan
        for field in descriptor.fields:
            plan.fields[field] = (field.json_name, self._field_converter(field))
            if not field.has_presence:
                plan.defaults.append((field.json_name, self._default(field)))
        return plan

    def _well_known(self, descriptor: Any) -> Converter:
        if descriptor.full_name in _TEXT_TYPES:
            return _to_json_string
        if descriptor.full_name in _WRAPPERS:
            value = self._single(descriptor.fields_by_name["value"])
            return lambda wrapper: value(wrapper.value)
        return _json_format

    def _field_converter(self, field: FieldDescriptor) -> Converter:
        if _is_map(field):
            assert field.message_type is not None
            key = _map_key(field.message_type.fields_by_name["key"])
            value = self._single(field.message_type.fields_by_name["value"])
            return lambda entries: {key(k): value(v) for k, v in entries.items()}
        single = self._single(field)
        if field.is_repeated:
            return lambda values: [single(v) for v in values]
        return single

    def _single(self, field: FieldDescriptor) -> Converter:
        if field.message_type is not None:
            return self.to_dict
        if field.enum_type is not None:
            names = {v.number: v.name for v in field.enum_type.values}
            return lambda number: names.get(number, number)
        if field.cpp_type in _INT64:
            return str
        if field.type == FieldDescriptor.TYPE_BYTES:
            return _base64
        if field.cpp_type == FieldDescriptor.CPPTYPE_DOUBLE:
            return _double
        if field.cpp_type == FieldDescriptor.CPPTYPE_FLOAT:
            return _float
        return _identity

    def _default(self, field: FieldDescriptor) -> Callable[[], Any]:
        if _is_map(field):
            return dict
        if field.is_repeated:
            return list
        value = self._single(field)(field.default_value)
        return lambda: value


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def _map_key(field: FieldDescriptor) -> Converter:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return lambda key: "true" if key else "false"
    return str


def _to_json_string(message: Any) -> str:
    return str(message.ToJsonString())


def _json_format(message: Message) -> Any:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def _identity(value: Any) -> Any:
    return value


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return type_checkers.ToShortestFloat(value)
    return _double(value)
