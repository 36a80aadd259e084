"""HTTP/JSON <-> gRPC transcoding driven by `google.api.http` annotations.

Every route (one HTTP binding of one RPC) is prepared once at startup: its compiled template,
message classes, the field paths of its path variables, and the query parameters it accepts.
At request time a route only binds values into a fresh request message and encodes the answer
with the proto3 JSON mapping (lowerCamelCase names, 64-bit integers as strings).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from google.api import annotations_pb2, http_pb2
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message

from agora._proto.agora.options.v1 import options_pb2
from agora.gateway.proto_json import ProtoJsonEncoder
from agora.gateway.templates import PathTemplate, Segment, parse_template
from agora.platform.errors import FieldViolation, InvalidArgument
from agora.platform.validation import RequestValidator

FieldPath = tuple[FieldDescriptor, ...]

# Well-known messages written as one JSON string or scalar: query and path values bind to them.
WRAPPER_TYPES = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)
TEXT_MESSAGE_TYPES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_MAX_QUERY_DEPTH = 4
# An answer of this type is bytes of a media type of its own, not proto JSON (`http_body`).
HTTP_BODY_TYPE = "google.api.HttpBody"
# The generated stub types extensions as plain FieldDescriptors, which typeshed's
# Extensions[...] rejects; this is the `(agora.options.v1.rule)` method option.
_RULE: Any = options_pb2.rule
_VERSION = re.compile(r"v\d+[a-z0-9]*")
_INT_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


# Longest path variable or query value the edge binds (any field rule may be stricter), and the
# most query parameters one request may carry.
MAX_PARAMETER_CHARS = 2048
MAX_QUERY_PARAMETERS = 100


def _check_parameter(name: str, value: str) -> None:
    if len(value) > MAX_PARAMETER_CHARS:
        raise InvalidArgument.for_field(name, f"at most {MAX_PARAMETER_CHARS} characters")


def _echoable(name: str, instead: str) -> str:
    """`name` when it is short, printable text; else `instead` (input is never echoed whole)."""
    if len(name) <= MAX_ECHOED_NAME and _PRINTABLE_NAME.fullmatch(name):
        return name
    return instead


class RouteError(ValueError):
    """An annotation that cannot be served (bad template, unknown field): fails startup."""


@dataclass(frozen=True)
class HttpRule:
    """One HTTP binding of an RPC: `GET /v1/products/{slug}` with its body mappings."""

    http_method: str
    template: PathTemplate
    body: str
    response_body: str


@dataclass(eq=False)
class Route:
    """Everything needed to transcode one HTTP binding of one RPC, computed at startup."""

    method: MethodDescriptor
    rule: HttpRule
    backend: str
    operation_id: str
    policy: options_pb2.MethodRule
    request_class: type[Message]
    response_class: type[Message]
    path_fields: dict[str, FieldPath]
    body_field: FieldDescriptor | None
    response_field: FieldDescriptor | None
    query_fields: dict[str, FieldPath]
    encoder: ProtoJsonEncoder
    validator: RequestValidator

    @property
    def rpc_path(self) -> str:
        """The gRPC method path, `/agora.catalog.v1.CatalogService/GetProduct`."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def service(self) -> str:
        return str(self.method.containing_service.full_name)

    @property
    def has_body(self) -> bool:
        return bool(self.rule.body)

    @property
    def server_streaming(self) -> bool:
        """The answer is a stream of messages: served as Server-Sent Events (`event_stream`)."""
        return bool(self.method.server_streaming and not self.method.client_streaming)

    @property
    def http_body(self) -> bool:
        """The answer is `google.api.HttpBody`: served as its bytes (`http_body`)."""
        return bool(self.method.output_type.full_name == HTTP_BODY_TYPE)

    @property
    def cache_ttl_s(self) -> int:
        """Seconds a GET answer may be cached (0: never)."""
        if self.rule.http_method != "GET":
            return 0
        return int(self.policy.cache_ttl_seconds)

    def build_request(
        self,
        variables: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        body: bytes | None,
    ) -> Message:
        """The request message from path variables, query parameters and a JSON body.

        Raises InvalidArgument naming the offending field.
        """
        request = self.request_class()
        # Bounded before anything is bound: parameters end up in messages, logs and errors.
        for name, value in variables.items():
            _check_parameter(name, value)
        if len(query) > MAX_QUERY_PARAMETERS:
            raise InvalidArgument.for_field("query", f"at most {MAX_QUERY_PARAMETERS} parameters")
        for key, value in query:
            path = self.query_fields.get(key)
            if path is None:
                raise InvalidArgument.for_field(_echoable(key, "query"), "unknown query parameter")
            _check_parameter(key, value)
        if self.rule.body:
            _merge_json_body(request, body or b"", self.body_field)
        for key, value in query:
            bind_text(request, self.query_fields[key], value, name=key)
        # Path variables win over anything the body or query said about the same field.
        for name, path in self.path_fields.items():
            bind_text(request, path, variables[name], name=name)
        # The backend's own field rules, checked here too: a 400 without a round trip. A method
        # that needs a token is left to its backend, which refuses an unknown caller (401/403)
        # before it judges the request, then applies the same rules.
        if self.policy.public:
            self.validator.check(request)
        return request

    def request_from_frame(self, frame: bytes) -> Message:
        """The request message of one WebSocket frame of a bridged stream (a JSON object,
        like a `body: "*"` request), checked against the fields' rules.

        Every frame is checked, whatever the method's rule: the caller is already admitted,
        and a bad frame must not end the whole stream at the backend. Raises InvalidArgument.
        """
        if not frame.strip():
            raise InvalidArgument.for_field("frame", "expected a JSON object")
        request = self.request_class()
        _merge_json_body(request, frame, None)
        self.validator.check(request)
        return request

    def encode_response(self, response: Message) -> bytes:
        """The proto3 JSON of the response (or of its `response_body` field)."""
        if self.response_field is None:
            return orjson.dumps(self.encoder.to_dict(response))
        value = getattr(response, self.response_field.name)
        if isinstance(value, Message):
            return orjson.dumps(self.encoder.to_dict(value))
        as_dict = self.encoder.to_dict(response)
        return orjson.dumps(as_dict.get(self.response_field.json_name))


@dataclass(frozen=True)
class Match:
    """A route found for a request, with the decoded values of its path variables."""

    route: Route
    variables: dict[str, str]


@dataclass(frozen=True)
class NotAllowed:
    """The path exists but not for this HTTP method."""

    allowed: tuple[str, ...]


@dataclass
class _TemplateRoutes:
    template: PathTemplate
    by_method: dict[str, Route] = field(default_factory=dict)


class RouteTable:
    """Finds the most specific route for a method and raw path."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        by_template: dict[str, _TemplateRoutes] = {}
        for route in self.routes:
            entry = by_template.setdefault(
                route.rule.template.source, _TemplateRoutes(route.rule.template)
            )
            if route.rule.http_method in entry.by_method:
                other = entry.by_method[route.rule.http_method]
                raise RouteError(
                    f"{route.rule.http_method} {route.rule.template.source} is bound by both "
                    f"{other.method.full_name} and {route.method.full_name}"
                )
            entry.by_method[route.rule.http_method] = route
        ordered = sorted(by_template.values(), key=lambda e: e.template.specificity, reverse=True)
        self._any_first = [e for e in ordered if e.template.first_literal is None]
        self._by_first: dict[str, list[_TemplateRoutes]] = {}
        for entry in ordered:
            first = entry.template.first_literal
            if first is not None:
                self._by_first.setdefault(first, []).append(entry)
        for first, entries in self._by_first.items():
            merged = entries + self._any_first
            merged.sort(key=lambda e: e.template.specificity, reverse=True)
            self._by_first[first] = merged

    def match(self, http_method: str, raw_path: str) -> Match | NotAllowed | None:
        """The route for `http_method` and `raw_path` (percent-encoded), 405 info, or None."""
        first = raw_path[1:].split("/", 1)[0].split(":", 1)[0]
        candidates = self._by_first.get(first, self._any_first)
        allowed: list[str] = []
        for entry in candidates:
            variables = entry.template.match(raw_path)
            if variables is None:
                continue
            route = entry.by_method.get(http_method)
            if route is not None:
                return Match(route, variables)
            allowed.extend(m for m in entry.by_method if m not in allowed)
        return NotAllowed(tuple(allowed)) if allowed else None


def backend_name(service_full_name: str) -> str:
    """The backend serving a proto service: `agora.<name>.v1.<Service>` -> `<name>`."""
    package = service_full_name.split(".")[:-1]
    names = [p for p in package if not _VERSION.fullmatch(p)]
    if len(names) >= 2 and names[0] == "agora":
        return names[1]
    return names[-1] if names else service_full_name


def build_routes(files: Iterable[FileDescriptor]) -> list[Route]:
    """Routes for every method with a `google.api.http` option in `files`."""
    encoder = ProtoJsonEncoder()
    validator = RequestValidator()
    routes: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                routes.extend(routes_of(method, encoder, validator))
    return routes


def routes_of(
    method: MethodDescriptor, encoder: ProtoJsonEncoder, validator: RequestValidator | None = None
) -> list[Route]:
    """The routes of one method (its binding and additional bindings)."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    if method.client_streaming and method.server_streaming:
        return []  # a bidirectional stream is bridged to a WebSocket (`stream_routes_of`)
    if method.client_streaming:
        raise RouteError(f"{method.full_name}: client-streaming methods cannot be transcoded")
    rules = http_rules(options.Extensions[annotations_pb2.http], method.full_name)
    policy = options_pb2.MethodRule()
    if options.HasExtension(_RULE):
        policy.CopyFrom(options.Extensions[_RULE])
    if method.output_type.full_name == HTTP_BODY_TYPE:
        _check_http_body(method.full_name, rules, policy)
    if method.server_streaming:
        _check_event_stream(method.full_name, rules, policy)
    base_id = f"{method.containing_service.name}_{method.name}"
    validator = validator or RequestValidator()
    return [
        _route(
            method,
            rule,
            policy,
            base_id if index == 0 else f"{base_id}_{index}",
            encoder,
            validator,
        )
        for index, rule in enumerate(rules)
    ]


def _check_event_stream(
    where: str, rules: Sequence[HttpRule], policy: options_pb2.MethodRule
) -> None:
    """A server stream is served as Server-Sent Events, which browsers open with a GET: every
    binding is a GET without a body, and each event is the whole answer message."""
    for rule in rules:
        if rule.http_method != "GET" or rule.body or rule.response_body:
            raise RouteError(f"{where}: a server stream needs GET bindings without body mappings")
    if policy.cache_ttl_seconds:
        raise RouteError(f"{where}: a server stream cannot be cached")


def _check_http_body(where: str, rules: Sequence[HttpRule], policy: options_pb2.MethodRule) -> None:
    """An HttpBody answer is sent whole, as bytes: no response field is picked out of it, and
    the gateway does not keep it (the backend sets Cache-Control and ETag instead)."""
    if any(rule.response_body for rule in rules):
        raise RouteError(f"{where}: an HttpBody answer cannot map a response field")
    if policy.cache_ttl_seconds:
        raise RouteError(f"{where}: an HttpBody answer is not cached by the gateway")


def build_stream_routes(files: Iterable[FileDescriptor]) -> list[Route]:
    """Routes for every bidirectional stream with a `google.api.http` option in `files`."""
    encoder = ProtoJsonEncoder()
    validator = RequestValidator()
    routes: list[Route] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                routes.extend(stream_routes_of(method, encoder, validator))
    return routes


# A bridged stream's error frames are `{"error": problem}`: no answer may have that member.
ERROR_FRAME_MEMBER = "error"


def stream_routes_of(
    method: MethodDescriptor, encoder: ProtoJsonEncoder, validator: RequestValidator | None = None
) -> list[Route]:
    """The WebSocket routes of a bidirectional stream: a GET binding with a literal path.

    Each client frame is a whole request message, so the binding names no path variable, body
    or response field; the answer type has no `error` member (error frames use it).
    """
    options = method.GetOptions()
    if not (options.HasExtension(annotations_pb2.http) and method.client_streaming):
        return []
    if not method.server_streaming:
        return []  # client streaming alone: refused by `routes_of`
    where = method.full_name
    rules = http_rules(options.Extensions[annotations_pb2.http], where)
    for rule in rules:
        literal = all(isinstance(p, Segment) and p.literal for p in rule.template.parts)
        if rule.http_method != "GET" or not literal or rule.body or rule.response_body:
            raise RouteError(
                f"{where}: a bidirectional stream needs a plain GET binding with a literal path"
            )
    answer_members = {f.json_name for f in method.output_type.fields}
    if ERROR_FRAME_MEMBER in answer_members:
        raise RouteError(f"{where}: an answer's {ERROR_FRAME_MEMBER!r} field reads as an error")
    policy = options_pb2.MethodRule()
    if options.HasExtension(_RULE):
        policy.CopyFrom(options.Extensions[_RULE])
    base_id = f"{method.containing_service.name}_{method.name}"
    return [
        Route(
            method=method,
            rule=rule,
            backend=backend_name(method.containing_service.full_name),
            operation_id=base_id if index == 0 else f"{base_id}_{index}",
            policy=policy,
            request_class=message_factory.GetMessageClass(method.input_type),
            response_class=message_factory.GetMessageClass(method.output_type),
            path_fields={},
            body_field=None,
            response_field=None,
            query_fields={},
            encoder=encoder,
            validator=validator or RequestValidator(),
        )
        for index, rule in enumerate(rules)
    ]


def http_rules(rule: http_pb2.HttpRule, where: str) -> list[HttpRule]:
    """The rule and its additional bindings, parsed."""
    parsed = [_parse_rule(rule, where)]
    for extra in rule.additional_bindings:
        if extra.additional_bindings:
            raise RouteError(f"{where}: additional bindings cannot nest")
        parsed.append(_parse_rule(extra, where))
    return parsed


def _parse_rule(rule: http_pb2.HttpRule, where: str) -> HttpRule:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RouteError(f"{where}: google.api.http rule without a pattern")
    if kind == "custom":
        http_method, path = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, path = kind.upper(), getattr(rule, kind)
    try:
        template = parse_template(path)
    except ValueError as error:
        raise RouteError(f"{where}: {error}") from error
    return HttpRule(http_method, template, rule.body, rule.response_body)


def _route(
    method: MethodDescriptor,
    rule: HttpRule,
    policy: options_pb2.MethodRule,
    operation_id: str,
    encoder: ProtoJsonEncoder,
    validator: RequestValidator,
) -> Route:
    where = f"{method.full_name} ({rule.http_method} {rule.template.source})"
    request_type, response_type = method.input_type, method.output_type
    path_fields = {
        v.name: resolve_field_path(request_type, v.name, where) for v in rule.template.variables
    }
    for name, path in path_fields.items():
        if path[-1].is_repeated:
            raise RouteError(f"{where}: path variable {name} binds a repeated field")
    body_field = (
        _top_level_field(request_type, rule.body, where) if rule.body not in ("", "*") else None
    )
    response_field = (
        _top_level_field(response_type, rule.response_body, where) if rule.response_body else None
    )
    if rule.body == "*":
        query_fields: dict[str, FieldPath] = {}
    else:
        bound = list(path_fields.values()) + ([(body_field,)] if body_field else [])
        query_fields = query_parameters(request_type, bound)
    return Route(
        method=method,
        rule=rule,
        backend=backend_name(method.containing_service.full_name),
        operation_id=operation_id,
        policy=policy,
        request_class=message_factory.GetMessageClass(request_type),
        response_class=message_factory.GetMessageClass(response_type),
        path_fields=path_fields,
        body_field=body_field,
        response_field=response_field,
        query_fields=query_fields,
        encoder=encoder,
        validator=validator,
    )


def resolve_field_path(message: Descriptor, dotted: str, where: str = "") -> FieldPath:
    """The fields named by `a.b.c` (proto names), walking nested messages."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for name in dotted.split("."):
        found = current.fields_by_name.get(name) if current is not None else None
        if found is None:
            raise RouteError(f"{where}: {message.full_name} has no field {dotted!r}")
        fields.append(found)
        current = found.message_type
    return tuple(fields)


def _top_level_field(message: Descriptor, name: str, where: str) -> FieldDescriptor:
    found = message.fields_by_name.get(name)
    if found is None:
        raise RouteError(f"{where}: {message.full_name} has no field {name!r}")
    return found


def query_parameters(message: Descriptor, bound: Sequence[FieldPath]) -> dict[str, FieldPath]:
    """Query parameter names (lowerCamel JSON and proto names, dotted) -> field paths.

    Fields bound by the path or the body are excluded, so is any message field inside them.
    """
    found: dict[str, FieldPath] = {}
    _collect_query_fields(message, (), set(bound), found, depth=0)
    return found


def _collect_query_fields(
    message: Descriptor,
    prefix: FieldPath,
    bound: set[FieldPath],
    found: dict[str, FieldPath],
    depth: int,
) -> None:
    for field_desc in message.fields:
        path = (*prefix, field_desc)
        if path in bound or _is_map(field_desc):
            continue
        if is_query_leaf(field_desc):
            for key in _dotted_names(path):
                found[key] = path
        elif not field_desc.is_repeated and depth < _MAX_QUERY_DEPTH:
            assert field_desc.message_type is not None  # not a leaf, so a message
            _collect_query_fields(field_desc.message_type, path, bound, found, depth + 1)


def is_query_leaf(field_desc: FieldDescriptor) -> bool:
    """A field a single text value can set: scalars, enums and text-like well-known types."""
    if field_desc.message_type is None:
        return True
    name = field_desc.message_type.full_name
    return name in WRAPPER_TYPES or name in TEXT_MESSAGE_TYPES


def _dotted_names(path: FieldPath) -> set[str]:
    return {".".join(f.json_name for f in path), ".".join(f.name for f in path)}


def _is_map(field_desc: FieldDescriptor) -> bool:
    message = field_desc.message_type
    return message is not None and message.GetOptions().map_entry


def bind_text(request: Message, path: FieldPath, text: str, *, name: str) -> None:
    """Set (or append, for repeated fields) the field at `path` from its text form."""
    target = request
    for step in path[:-1]:
        target = getattr(target, step.name)
    leaf = path[-1]
    try:
        value = value_from_text(leaf, text)
        if leaf.is_repeated:
            getattr(target, leaf.name).append(value)
        elif isinstance(value, Message):
            getattr(target, leaf.name).CopyFrom(value)
        else:
            setattr(target, leaf.name, value)
    except (ValueError, TypeError, json_format.ParseError) as error:
        raise InvalidArgument.for_field(name, _describe_text_error(leaf, error)) from error


def value_from_text(field_desc: FieldDescriptor, text: str) -> Any:
    """The value of a scalar, enum or text-like well-known field written as text."""
    message_type = field_desc.message_type
    if message_type is not None:
        message: Any = message_factory.GetMessageClass(message_type)()
        if message_type.full_name in WRAPPER_TYPES:
            message.value = value_from_text(message_type.fields_by_name["value"], text)
        else:
            json_format.Parse(orjson.dumps(text), message)
        return message
    kind = field_desc.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text
    if kind == FieldDescriptor.TYPE_BOOL:
        return _bool_from_text(text)
    if kind in _INT_TYPES:
        return int(text)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(text)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_from_text(field_desc, text)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes_from_text(text)
    raise TypeError(f"fields of type {kind} cannot be set from text")


def _bool_from_text(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError("expected true or false")


def _enum_from_text(field_desc: FieldDescriptor, text: str) -> int:
    enum = field_desc.enum_type
    assert enum is not None
    value = enum.values_by_name.get(text)
    if value is None and text.lstrip("-").isdigit() and int(text) in enum.values_by_number:
        return int(text)
    if value is None:
        names = ", ".join(enum.values_by_name)
        raise ValueError(f"expected one of {names}")
    return int(value.number)


def _bytes_from_text(text: str) -> bytes:
    # proto3 JSON accepts standard and URL-safe base64, padded or not.
    urlsafe = text.replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4))


def _describe_text_error(leaf: FieldDescriptor, error: Exception) -> str:
    # Never the value itself: it is the caller's input (and json_format's wording names types).
    if leaf.type in _INT_TYPES:
        return "expected an integer"
    if leaf.type == FieldDescriptor.TYPE_BOOL:
        return "expected true or false"
    return expected_value(leaf)


# json_format wraps nested errors as "Failed to parse <name> field: <inner>." and may end the
# innermost message with " at <Type>.<path>"; unknown fields read "... no field named "x" at "T"".
# Its wording names proto types and lists fields: only the field path is taken from it, the
# description is said again in the API's words from the field's descriptor.
_FAILED_FIELD = re.compile(r"^Failed to parse (?P<name>\S+) field: ")
_UNKNOWN_FIELD = re.compile(r'has no field named "(?P<name>[^"]*)" at "(?P<path>[^"]*)"')
_AT_PATH = re.compile(r" at (?P<path>[A-Za-z_][\w]*(?:\.[\w]+|\[[^\]]*\])*)\.?$")
_NOT_A_LIST = "must be in []"
# A member name (or field path) longer than this is not repeated in an error.
MAX_ECHOED_NAME = 64
MAX_ECHOED_PATH = 200
_PRINTABLE_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]+")


def violation_from_parse_error(message: str, root: Descriptor | None = None) -> FieldViolation:
    """The field a json_format.ParseError is about, as a lowerCamel JSON path, described
    from `root` (the request's descriptor) without json_format's internal wording."""
    names: list[str] = []
    rest = message
    while found := _FAILED_FIELD.match(rest):
        names.append(found["name"])
        rest = rest[found.end() :]
    unknown = _UNKNOWN_FIELD.search(rest)
    if unknown is not None:
        parent = _without_root(unknown["path"])
        name = unknown["name"]
        if not name:
            return FieldViolation(parent or "body", "a member has an empty name")
        if len(name) > MAX_ECHOED_NAME or not _PRINTABLE_NAME.fullmatch(name):
            return FieldViolation(parent or "body", "a member is not a field of this request")
        field_path = f"{parent}.{name}" if parent else name
        return FieldViolation(field_path, "unknown field")
    at = _AT_PATH.search(rest.rstrip("."))
    field_path = (_without_root(at["path"]) if at is not None else "") or ".".join(names)
    if len(field_path) > MAX_ECHOED_PATH:  # a huge map key inside the path: name the map
        field_path = field_path[:MAX_ECHOED_PATH].split("[", 1)[0]
    if not field_path:
        return FieldViolation("body", "not a valid request")
    leaf = _field_at(root, field_path) if root is not None else None
    if leaf is None:
        return FieldViolation(field_path, "invalid value")
    return FieldViolation(field_path, expected_value(leaf, as_list=_NOT_A_LIST in rest))


def _field_at(root: Descriptor, json_path: str) -> FieldDescriptor | None:
    """The field at a lowerCamel JSON path (`lines[0].quantity`), or None."""
    current: Descriptor | None = root
    found: FieldDescriptor | None = None
    for step in re.sub(r"\[[^\]]*\]", "", json_path).split("."):
        if current is None:
            return None
        found = next((f for f in current.fields if step in (f.json_name, f.name)), None)
        if found is None:
            return None
        current = found.message_type
    return found


def expected_value(field_desc: FieldDescriptor, *, as_list: bool = False) -> str:
    """What a JSON value of this field must be, in the API's words."""
    if as_list:
        return "expected a list"
    if _is_map(field_desc):
        assert field_desc.message_type is not None
        value = expected_value(field_desc.message_type.fields_by_name["value"])
        return f"expected an object, each value {value.removeprefix('expected ')}"
    message_type = field_desc.message_type
    if message_type is not None:
        name = message_type.full_name
        if name in WRAPPER_TYPES:
            return expected_value(message_type.fields_by_name["value"])
        return _EXPECTED_TEXT.get(name, "expected an object")
    if field_desc.enum_type is not None:
        return "expected one of " + ", ".join(field_desc.enum_type.values_by_name)
    return _EXPECTED_SCALAR.get(field_desc.type, "invalid value")


_EXPECTED_TEXT = {
    "google.protobuf.Timestamp": "expected an RFC 3339 date-time",
    "google.protobuf.Duration": "expected a duration in seconds like '1.5s'",
    "google.protobuf.FieldMask": "expected comma-separated field names",
}
_EXPECTED_SCALAR = {
    **dict.fromkeys(_INT_TYPES, "expected an integer (64-bit ones may be strings)"),
    FieldDescriptor.TYPE_STRING: "expected a string",
    FieldDescriptor.TYPE_BOOL: "expected true or false",
    FieldDescriptor.TYPE_DOUBLE: "expected a number",
    FieldDescriptor.TYPE_FLOAT: "expected a number",
    FieldDescriptor.TYPE_BYTES: "expected base64 text",
}


def _without_root(path: str) -> str:
    # The first element names the root message type, not a field.
    head, _, tail = path.partition(".")
    if "[" in head:
        return head[head.index("[") :] + ("." + tail if tail else "")
    return tail


def _merge_json_body(request: Message, body: bytes, body_field: FieldDescriptor | None) -> None:
    if not body.strip():
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson says where (line, column, character); it never repeats the document.
        raise InvalidArgument(
            f"malformed JSON: {error}", [FieldViolation("body", f"malformed JSON: {error}")]
        ) from error
    if body_field is None:
        if not isinstance(document, dict):
            raise InvalidArgument.for_field("body", "expected a JSON object")
    else:
        document = {body_field.json_name: document}
    try:
        json_format.ParseDict(document, request)
    except json_format.ParseError as error:
        violation = violation_from_parse_error(str(error), cast(Descriptor, request.DESCRIPTOR))
        raise InvalidArgument(f"{violation.field}: {violation.description}", [violation]) from error
