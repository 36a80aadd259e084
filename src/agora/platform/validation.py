"""Request field rules (`agora.options.v1.field`, docs/adr/0008) checked before any handler.

Every service's server runs `RequestValidator.check` on each incoming request (after the
authorization check, before the handler), and the gateway runs the same check on the request it
transcoded before calling a backend: one set of rules, declared in the protos, also written into
the OpenAPI document. Beyond the declared rules, every string anywhere in a request (nested,
repeated and map entries included) must be free of NUL characters, which PostgreSQL refuses.

A violation names the field by its lowerCamelCase JSON path (`lines[0].quantity`) and never
repeats the value it refuses: input is unbounded, error details are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from agora._proto.agora.options.v1 import options_pb2
from agora.platform.errors import FieldViolation, InvalidArgument

# Violations reported at most per request (a list of 10,000 bad items gives 10, not 10,000).
MAX_VIOLATIONS = 10

# The generated stubs type the extension as a plain FieldDescriptor (see transcoding._RULE).
FIELD_RULE: Any = options_pb2.field

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMAIL_PATTERN = "^[^@\\s\\u0000]+@[^@\\s\\u0000]+\\.[^@\\s.\\u0000]+$"
CURRENCY_PATTERN = "^[A-Z]{3}$"
COUNTRY_PATTERN = "^[A-Za-z]{2}$"
# Format -> (pattern a set value matches, what the violation says).
FORMATS: dict[int, tuple[str, str]] = {
    options_pb2.FORMAT_UUID: (UUID_PATTERN, "not a valid id"),
    options_pb2.FORMAT_EMAIL: (EMAIL_PATTERN, "not an email address"),
    options_pb2.FORMAT_CURRENCY: (CURRENCY_PATTERN, "not an ISO 4217 currency code"),
    options_pb2.FORMAT_COUNTRY: (COUNTRY_PATTERN, "not an ISO 3166-1 alpha-2 country code"),
}
NUL = "\x00"

_Violations = list[FieldViolation]


def field_rule(field: FieldDescriptor) -> options_pb2.FieldRule:
    """The declared rule of `field` (`required` also from `google.api.field_behavior`)."""
    options = field.GetOptions()
    rule = options_pb2.FieldRule()
    if options.HasExtension(FIELD_RULE):
        rule.CopyFrom(options.Extensions[FIELD_RULE])
    if field_behavior_pb2.REQUIRED in options.Extensions[field_behavior_pb2.field_behavior]:
        rule.required = True
    return rule


def is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


@dataclass(frozen=True)
class _TextCheck:
    """Checks of one string value, compiled from a rule."""

    min_len: int
    max_len: int
    pattern: re.Pattern[str] | None
    pattern_says: str

    def problem(self, value: str) -> str | None:
        if NUL in value:
            return "must not contain NUL characters"
        if self.max_len and len(value) > self.max_len:
            return f"at most {self.max_len} characters"
        if len(value) < self.min_len:
            return f"at least {self.min_len} characters"
        if self.pattern is not None and self.pattern.search(value) is None:
            return self.pattern_says
        return None


_NUL_ONLY = _TextCheck(0, 0, None, "")


def _text_check(rule: options_pb2.FieldRule, *, max_len: int | None = None) -> _TextCheck:
    pattern_text, says = FORMATS.get(rule.format, ("", ""))
    if rule.pattern:
        pattern_text, says = rule.pattern, "does not have the expected form"
    limit = rule.max_len if max_len is None else max_len
    if not (rule.min_len or limit or pattern_text):
        return _NUL_ONLY
    pattern = re.compile(pattern_text) if pattern_text else None
    return _TextCheck(rule.min_len, limit, pattern, says)


Check = Callable[[Message, str, _Violations], None]


class RequestValidator:
    """Checks messages against their fields' rules, compiling a plan per message type once."""

    def __init__(self) -> None:
        self._plans: dict[str, list[Check]] = {}

    def violations(self, message: Message) -> list[FieldViolation]:
        """Every violation of `message` (at most MAX_VIOLATIONS), lowerCamel JSON paths."""
        found: _Violations = []
        self._walk(message, "", found)
        return found[:MAX_VIOLATIONS]

    def check(self, message: Message) -> None:
        """Raise InvalidArgument naming each violating field, if any."""
        found = self.violations(message)
        if found:
            first = found[0]
            raise InvalidArgument(f"{first.field}: {first.description}", found)

    def _walk(self, message: Message, prefix: str, found: _Violations) -> None:
        plan = self._plans.get(message.DESCRIPTOR.full_name)
        if plan is None:
            plan = self._compile(cast(Descriptor, message.DESCRIPTOR))
        for check in plan:
            if len(found) >= MAX_VIOLATIONS:
                return
            check(message, prefix, found)

    def _compile(self, descriptor: Descriptor) -> list[Check]:
        plan: list[Check] = []
        self._plans[descriptor.full_name] = plan  # registered first: recursive types terminate
        for field in descriptor.fields:
            check = self._field_check(field)
            if check is not None:
                plan.append(check)
        return plan

    def _field_check(self, field: FieldDescriptor) -> Check | None:
        rule = field_rule(field)
        name, json_name = field.name, field.json_name
        if is_map(field):
            return self._map_check(field, rule)
        if field.is_repeated:
            return self._repeated_check(field, rule)
        if field.message_type is not None:
            walk = self._walk
            required = rule.required

            def message_check(message: Message, prefix: str, found: _Violations) -> None:
                if message.HasField(name):
                    walk(getattr(message, name), f"{prefix}{json_name}.", found)
                elif required:
                    found.append(FieldViolation(prefix + json_name, "required"))

            return message_check
        if field.type == FieldDescriptor.TYPE_STRING:
            text = _text_check(rule)
            required = rule.required

            def string_check(message: Message, prefix: str, found: _Violations) -> None:
                value = getattr(message, name)
                if value:
                    problem = text.problem(value)
                    if problem is not None:
                        found.append(FieldViolation(prefix + json_name, problem))
                elif required:
                    found.append(FieldViolation(prefix + json_name, "required"))

            return string_check
        if field.cpp_type in _INTEGER_TYPES:
            return _integer_check(field, rule)
        if rule.required:
            return _presence_check(field)
        return None

    def _repeated_check(self, field: FieldDescriptor, rule: options_pb2.FieldRule) -> Check | None:
        name, json_name = field.name, field.json_name
        max_items, required = rule.max_items, rule.required
        item: Callable[[Any, str, _Violations], None] | None = None
        if field.message_type is not None:
            walk = self._walk

            def message_item(value: Any, path: str, found: _Violations) -> None:
                walk(value, path + ".", found)

            item = message_item
        elif field.type == FieldDescriptor.TYPE_STRING:
            text = _text_check(rule)

            def string_item(value: Any, path: str, found: _Violations) -> None:
                problem = text.problem(value)
                if problem is not None:
                    found.append(FieldViolation(path, problem))

            item = string_item
        if item is None and not (max_items or required):
            return None

        def repeated_check(message: Message, prefix: str, found: _Violations) -> None:
            values = getattr(message, name)
            path = prefix + json_name
            if max_items and len(values) > max_items:
                found.append(FieldViolation(path, f"at most {max_items} items"))
                return
            if required and not values:
                found.append(FieldViolation(path, "required"))
            if item is not None:
                for index, value in enumerate(values):
                    item(value, f"{path}[{index}]", found)

        return repeated_check

    def _map_check(self, field: FieldDescriptor, rule: options_pb2.FieldRule) -> Check:
        assert field.message_type is not None
        name, json_name = field.name, field.json_name
        max_items = rule.max_items
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        key_text = (
            _text_check(options_pb2.FieldRule(), max_len=rule.max_key_len)
            if key_field.type == FieldDescriptor.TYPE_STRING
            else None
        )
        value_text = _text_check(rule) if value_field.type == FieldDescriptor.TYPE_STRING else None
        walk = self._walk if value_field.message_type is not None else None

        def map_check(message: Message, prefix: str, found: _Violations) -> None:
            entries = getattr(message, name)
            path = prefix + json_name
            if max_items and len(entries) > max_items:
                found.append(FieldViolation(path, f"at most {max_items} entries"))
                return
            for key, value in entries.items():
                # Keys are input too: the path names the map, never an unbounded key.
                problem = key_text.problem(key) if key_text is not None else None
                if problem is not None:
                    found.append(FieldViolation(path, f"a key: {problem}"))
                elif value_text is not None:
                    problem = value_text.problem(value)
                    if problem is not None:
                        found.append(FieldViolation(f"{path}[{key!r}]", problem))
                elif walk is not None:
                    walk(value, f"{path}[{key!r}].", found)

        return map_check


_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)


def _integer_check(field: FieldDescriptor, rule: options_pb2.FieldRule) -> Check | None:
    name, json_name = field.name, field.json_name
    low = rule.min if rule.HasField("min") else None
    high = rule.max if rule.HasField("max") else None
    required = rule.required
    if low is None and high is None and not required:
        return None
    # A field with presence is checked only when sent; without, an unset 0 is a value too.
    present_only = field.has_presence
    if low is not None and high is not None:
        says = f"must be between {low} and {high}"
    elif low is not None:
        says = f"must be at least {low}"
    else:
        says = f"must be at most {high}"

    def integer_check(message: Message, prefix: str, found: _Violations) -> None:
        if present_only and not message.HasField(name):
            if required:
                found.append(FieldViolation(prefix + json_name, "required"))
            return
        value = getattr(message, name)
        if required and not value:
            found.append(FieldViolation(prefix + json_name, "required"))
        elif (low is not None and value < low) or (high is not None and value > high):
            found.append(FieldViolation(prefix + json_name, says))

    return integer_check


def _presence_check(field: FieldDescriptor) -> Check:
    name, json_name = field.name, field.json_name

    def presence_check(message: Message, prefix: str, found: _Violations) -> None:
        if not getattr(message, name):
            found.append(FieldViolation(prefix + json_name, "required"))

    return presence_check
