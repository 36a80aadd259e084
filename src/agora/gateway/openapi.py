"""OpenAPI 3.1 generated from the same routes and descriptors the gateway transcodes with.

Schemas follow the proto3 JSON mapping: lowerCamelCase properties, 64-bit integers as strings,
enums as their value names, `Timestamp` as an RFC 3339 string, wrappers as nullable scalars.
Constraints come from the fields' rules (`agora.options.v1.field`, docs/adr/0008), the ones the
services and the gateway enforce: `required`, lengths, formats and patterns, integer ranges (a
pattern for 64-bit integers written as strings), list sizes, no unknown members, no NUL
characters. Path parameters get simple lowerCamel names (`{productId}` for `{product.id}`).
Summaries and descriptions come from the proto comments (source info of descriptors.binpb).
Security comes from each method's rule: non-public operations require a bearer token (or a
browser session's cookie) and name their permission in `x-permission`; methods with their own
rate limit show it in `x-rate-limit`. A server-streaming method is a GET answering
`text/event-stream`, its event and error schemas in `x-agora-sse`; a bidirectional one is a
WebSocket, its frames' schemas in `x-agora-websocket`. A method answering `google.api.HttpBody`
answers binary content of each media type its rule's `response_content_types` lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from agora._proto.agora.options.v1 import options_pb2
from agora.gateway.browser_session import USE_COOKIES_FIELD, SessionRule
from agora.gateway.descriptors import SourceComments
from agora.gateway.event_stream import EVENT_STREAM_TYPE
from agora.gateway.http_body import ALLOWED_HEADERS, DEFAULT_MEDIA_TYPE
from agora.gateway.problem import PROBLEM_CONTENT_TYPE
from agora.gateway.templates import PathTemplate, Segment, Variable
from agora.gateway.transcoding import WRAPPER_TYPES, Route
from agora.platform.validation import FORMATS, field_rule, is_map

OPENAPI_VERSION = "3.1.0"
PROBLEM_SCHEMA = "Problem"
PROBLEM_RESPONSE = {"$ref": "#/components/responses/Problem"}
UNAUTHORIZED_RESPONSE = {"$ref": "#/components/responses/Unauthorized"}
RATE_LIMITED_RESPONSE = {"$ref": "#/components/responses/TooManyRequests"}
BEARER_SCHEME = "bearerAuth"
COOKIE_SCHEME = "cookieAuth"
Schema = dict[str, Any]

_SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "minimum": 0, "maximum": 4294967295},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "minimum": 0, "maximum": 4294967295},
    # proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision).
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
}

_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "comma-separated field paths"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}

_PROBLEM: Schema = {
    "type": "object",
    "description": "RFC 9457 problem details with Agora's extension members.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "gRPC status code name"},
        "reason": {"type": "string", "description": "machine-readable reason"},
        "requestId": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "lowerCamelCase JSON path"},
                    "description": {"type": "string"},
                },
                "required": ["field", "description"],
            },
        },
        "shortages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string"},
                    "requested": {"type": "integer"},
                    "available": {"type": "integer"},
                },
                "required": ["subject", "requested", "available"],
            },
        },
        "preconditions": {
            "type": "array",
            "description": "the request's unmet preconditions (e.g. CART_CHANGED: each cart line "
            "the catalog changed, by variant id)",
            "items": {
                "type": "object",
                "properties": {
                    "type": {
                        "type": "string",
                        "description": "machine-readable, e.g. PRICE_CHANGED",
                    },
                    "subject": {"type": "string", "description": "what it is about"},
                    "description": {"type": "string"},
                },
                "required": ["type", "subject", "description"],
            },
        },
    },
    "required": ["type", "title", "status"],
}


def openapi_document(
    routes: Sequence[Route],
    comments: SourceComments | None = None,
    *,
    title: str = "Agora API",
    version: str = "1",
    session_methods: Mapping[str, SessionRule] | None = None,
    stream_routes: Sequence[Route] = (),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route (`session_methods`: the browser-session table)
    and of every bidirectional stream bridged to a WebSocket (`stream_routes`)."""
    builder = _Builder(comments or SourceComments(), session_methods or {}, _path_names(routes))
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, str]] = {}
    for route in routes:
        if route.rule.http_method.lower() not in _OPENAPI_METHODS:
            continue  # a custom HTTP method OpenAPI cannot describe
        path, operation = builder.operation(route)
        paths.setdefault(path, {})[route.rule.http_method.lower()] = operation
        service = route.method.containing_service
        tags.setdefault(service.name, _tag(service.name, builder.comments.of(service.full_name)))
    for route in stream_routes:
        paths.setdefault(route.rule.template.source, {})["get"] = builder.stream_operation(route)
        service = route.method.containing_service
        tags.setdefault(service.name, _tag(service.name, builder.comments.of(service.full_name)))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "tags": sorted(tags.values(), key=lambda t: t["name"]),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {PROBLEM_SCHEMA: _PROBLEM, **dict(sorted(builder.schemas.items()))},
            "responses": {
                "Problem": _problem_response("The request failed (RFC 9457 problem details)."),
                "Unauthorized": _problem_response(
                    "No valid token (reason TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED).",
                    {"WWW-Authenticate": {"schema": {"type": "string"}}},
                ),
                "TooManyRequests": _problem_response(
                    "A rate limit was exceeded (reason RATE_LIMITED) or the account is locked "
                    "after failed logins.",
                    {
                        "Retry-After": {
                            "description": "Seconds to wait before trying again.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                ),
            },
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


_SECURITY_SCHEMES: dict[str, Any] = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from /v1/auth/login (EdDSA JWT, 15 minutes).",
    },
    COOKIE_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-agora_access",
        "description": (
            'A browser session from a login with `"useCookies": true`. POST, PUT, PATCH and '
            "DELETE must send the `__Host-agora_csrf` cookie's value in `X-CSRF-Token` (else 403 "
            "CSRF_FAILED)."
        ),
    },
}


# The framing of every bridged stream (see agora.gateway.websocket_bridge).
WEBSOCKET_SUBPROTOCOL = "agora.v1"
WEBSOCKET_FRAMING = (
    "**WebSocket.** Open with `GET` and `Upgrade: websocket`. Each text frame the client sends "
    "is one request message (`x-agora-websocket.client`) in proto JSON; each text frame the "
    "server sends is one answer message (`x-agora-websocket.server`), or an error "
    '`{"error": <problem>}` (`x-agora-websocket.error`, the REST problem body). A frame that '
    "fails validation (400) or exceeds the per-stream message rate (429) gets an error frame "
    "and the stream continues. Close codes: 1000 when the service ends the stream; 1008 after "
    "an error frame for a refusal (4xx); 1011 after one for a failure of the service (5xx); "
    "1009 for a frame over the size limit; 1001 when idle. Closing the WebSocket cancels the "
    "call. Credentials: a bearer token in `Authorization`, or the session cookie: then the "
    "page's `Origin` must be allowed and the handshake must offer the subprotocols "
    f"`{WEBSOCKET_SUBPROTOCOL}` and `agora.csrf.<the __Host-agora_csrf cookie>`. Refusals "
    "before the upgrade are HTTP problems."
)
_SUBPROTOCOL_PARAMETER: dict[str, Any] = {
    "name": "Sec-WebSocket-Protocol",
    "in": "header",
    "required": False,
    "description": (
        f"`{WEBSOCKET_SUBPROTOCOL}`, and for a cookie session `agora.csrf.<token>` (the "
        "value of the __Host-agora_csrf cookie), comma-separated."
    ),
    "schema": {"type": "string"},
}


# The framing of every server stream served as events (see agora.gateway.event_stream).
EVENT_STREAM_FRAMING = (
    "**Server-Sent Events.** The answer is `text/event-stream` (open it with `EventSource`). It "
    "begins with a `retry:` hint; each message of the stream is one event of the default type "
    "`message` with an `id:` (its number on this connection) and as `data:` the message in "
    "proto JSON (`x-agora-sse.event`). A failure after the stream has begun is one "
    "`event: error` whose data is the REST problem body (`x-agora-sse.error`), and the stream "
    "ends. Comment lines (`: heartbeat`) keep a silent stream open. The gateway ends a stream "
    "after a while and `EventSource` reconnects by itself (with the credentials it then has); "
    "closing it cancels the call. Refusals before the stream begins are HTTP problems. With "
    "the session cookie, the request must come from a page of an allowed origin."
)


# The framing of a server stream of `google.api.HttpBody` (see agora.gateway.http_body).
HTTP_BODY_STREAM_FRAMING = (
    "**Streamed download.** One response in chunks: its Content-Type is the first message's, "
    "and the content arrives as the service produces it. A refusal before the content begins "
    "is an HTTP problem; a failure after it cuts the response off (the connection closes "
    "without the last chunk), so an incomplete download is never taken for a complete one. "
    "With the session cookie, the request must come from a page of an allowed origin."
)
_HEADER_NAMES = {
    "content-disposition": "Content-Disposition",
    "cache-control": "Cache-Control",
    "etag": "ETag",
    "last-modified": "Last-Modified",
    "x-agora-report-status": "X-Agora-Report-Status",
}
_IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of a copy the client has: 304 while it is current.",
    "schema": {"type": "string"},
}


def _stream_refusals(route: Route) -> dict[str, Any]:
    """The problems a bridged stream's upgrade request can be refused with."""
    responses: dict[str, Any] = {}
    if not route.policy.public:
        responses["401"] = UNAUTHORIZED_RESPONSE
    # A cookie session without an allowed Origin or the CSRF subprotocol.
    responses["403"] = PROBLEM_RESPONSE
    responses["429"] = RATE_LIMITED_RESPONSE
    responses["default"] = PROBLEM_RESPONSE
    return responses


def _problem_response(description: str, headers: dict[str, Any] | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {
            PROBLEM_CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}
        },
    }
    if headers:
        response["headers"] = headers
    return response


_OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _tag(name: str, description: str) -> dict[str, str]:
    return {"name": name, "description": description} if description else {"name": name}


class _Builder:
    """Operations and component schemas, each message's schema emitted once."""

    def __init__(
        self,
        comments: SourceComments,
        sessions: Mapping[str, SessionRule],
        path_names: Mapping[tuple[str, str], str],
    ) -> None:
        self.comments = comments
        self.sessions = sessions
        self.path_names = path_names
        self.schemas: dict[str, Schema] = {}

    def operation(self, route: Route) -> tuple[str, dict[str, Any]]:
        path, parameters = self._path(route)
        parameters.extend(self._query(route))
        comment = self.comments.of(route.method.full_name)
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "tags": [route.method.containing_service.name],
            "summary": _summary(comment) or route.method.name,
        }
        if comment:
            operation["description"] = comment
        if parameters:
            operation["parameters"] = parameters
        if route.rule.body:
            operation["requestBody"] = self._request_body(route)
        if route.http_body:
            return path, self._policy(route, self._http_body(route, operation, comment))
        if route.server_streaming:
            operation["description"] = "\n\n".join(filter(None, [comment, EVENT_STREAM_FRAMING]))
            operation["responses"] = {"200": self._event_stream(route), **_error_responses(route)}
            operation["responses"].setdefault("403", PROBLEM_RESPONSE)  # a cookie's origin
            operation["x-agora-sse"] = {
                "event": self.message(route.method.output_type),
                "error": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"},
            }
            return path, self._policy(route, operation)
        session = self.sessions.get(route.method.full_name)
        ok: Schema = {
            "description": "OK",
            "content": {"application/json": {"schema": self._response_schema(route)}},
        }
        if session is not None and (session.issues or session.clears):
            ok["headers"] = {
                "Set-Cookie": {"description": _cookie_note(session), "schema": {"type": "string"}}
            }
        operation["responses"] = {"200": ok, **_error_responses(route)}
        return path, self._policy(route, operation)

    @staticmethod
    def _policy(route: Route, operation: dict[str, Any]) -> dict[str, Any]:
        """`operation` with the method's security, permission, rate limit and gRPC method."""
        if not route.policy.public:
            operation["security"] = [{BEARER_SCHEME: []}, {COOKIE_SCHEME: []}]
        if route.policy.permission:
            operation["x-permission"] = route.policy.permission
        if route.policy.rate_limit:
            operation["x-rate-limit"] = route.policy.rate_limit
        operation["x-grpc-method"] = route.rpc_path
        return operation

    def _event_stream(self, route: Route) -> Schema:
        """The 200 of a server stream: events whose data is the answer message."""
        return {
            "description": "The event stream: each event's `data` is one message of this schema.",
            "headers": {
                "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
            },
            "content": {
                EVENT_STREAM_TYPE: {"schema": self.message(route.method.output_type)},
            },
        }

    def _http_body(self, route: Route, operation: dict[str, Any], comment: str) -> dict[str, Any]:
        """An operation answering `google.api.HttpBody`: binary content of each media type of
        the rule's `response_content_types`, the headers a backend may set, and for a stream
        the download's framing (for a unary GET, 304 on a matching If-None-Match)."""
        binary = {"type": "string", "format": "binary"}
        media_types = list(route.policy.response_content_types) or [DEFAULT_MEDIA_TYPE]
        headers = {
            _HEADER_NAMES.get(name, name): {"schema": {"type": "string"}}
            for name in ALLOWED_HEADERS
        }
        ok: Schema = {
            "description": "The content, of the media type its Content-Type names.",
            "headers": headers,
            "content": {media_type: {"schema": dict(binary)} for media_type in media_types},
        }
        responses: dict[str, Any] = {"200": ok}
        framing = HTTP_BODY_STREAM_FRAMING if route.server_streaming else ""
        if not route.server_streaming and route.rule.http_method == "GET":
            responses["304"] = {
                "description": "Not Modified: the ETag named in If-None-Match is current.",
                "headers": {"ETag": {"schema": {"type": "string"}}},
            }
            operation.setdefault("parameters", []).append(dict(_IF_NONE_MATCH_PARAMETER))
        responses |= _error_responses(route)
        if route.server_streaming:
            responses.setdefault("403", PROBLEM_RESPONSE)  # a cookie's origin
        operation["responses"] = responses
        description = "\n\n".join(filter(None, [comment, framing]))
        if description:
            operation["description"] = description
        return operation

    def stream_operation(self, route: Route) -> dict[str, Any]:
        """A bridged stream as far as OpenAPI goes: the upgrade request (GET, 101), the
        framing in prose, and the message schemas in `x-agora-websocket`."""
        comment = self.comments.of(route.method.full_name)
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "tags": [route.method.containing_service.name],
            "summary": _summary(comment) or route.method.name,
            "description": "\n\n".join(filter(None, [comment, WEBSOCKET_FRAMING])),
            "parameters": [_SUBPROTOCOL_PARAMETER],
            "responses": {
                "101": {
                    "description": "Switching Protocols: the WebSocket is open.",
                    "headers": {
                        "Sec-WebSocket-Protocol": {
                            "description": f"`{WEBSOCKET_SUBPROTOCOL}` when offered.",
                            "schema": {"type": "string"},
                        }
                    },
                },
                **_stream_refusals(route),
            },
            "x-agora-websocket": {
                "client": self.message(route.method.input_type),
                "server": self.message(route.method.output_type),
                "error": {
                    "type": "object",
                    "properties": {"error": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}},
                    "required": ["error"],
                },
            },
        }
        return self._policy(route, operation)

    def _path(self, route: Route) -> tuple[str, list[dict[str, Any]]]:
        template: PathTemplate = route.rule.template
        pieces: list[str] = []
        parameters: list[dict[str, Any]] = []
        for part in template.parts:
            if isinstance(part, Segment):
                pieces.append(part.literal or "*")
                continue
            field_path = route.path_fields[part.name]
            name = self.path_names.get((template.source, part.name), parameter_name(field_path))
            rendered, names = _render_variable(part, name)
            pieces.append(rendered)
            for name in names:
                parameters.append(self._path_parameter(name, part, field_path[-1]))
        path = "/" + "/".join(pieces) + (f":{template.verb}" if template.verb else "")
        return path, parameters

    def _path_parameter(self, name: str, variable: Variable, leaf: FieldDescriptor) -> Schema:
        description = self.comments.of(leaf.full_name)
        if len(variable.segments) > 1:
            pattern = "/".join(s.literal or s.wildcard or "" for s in variable.segments)
            description = f"Part of `{variable.name}`, which takes the form `{pattern}`. " + (
                description
            )
        schema = self._single(leaf)
        if len(variable.segments) == 1:
            schema = _constrained(schema, leaf, field_rule(leaf))
        # A path segment is never empty; the gateway bounds every parameter's length.
        if schema.get("type") == "string":
            schema.setdefault("minLength", 1)
            schema.setdefault("maxLength", MAX_PARAMETER_CHARS)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": schema,
        }
        if description.strip():
            parameter["description"] = description.strip()
        return parameter

    def _query(self, route: Route) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = []
        seen: set[tuple[FieldDescriptor, ...]] = set()
        for path in route.query_fields.values():
            if path in seen:
                continue
            seen.add(path)
            leaf = path[-1]
            parameter: dict[str, Any] = {
                "name": ".".join(f.json_name for f in path),
                "in": "query",
                # A nested parameter is required when every message on its path is too.
                "required": all(_is_required(step) for step in path),
                "schema": self.field(leaf),
            }
            if leaf.is_repeated:
                parameter["explode"] = True
            description = self.comments.of(leaf.full_name)
            if description:
                parameter["description"] = description
            parameters.append(parameter)
        return sorted(parameters, key=lambda p: str(p["name"]))

    def _request_body(self, route: Route) -> dict[str, Any]:
        if route.body_field is None:
            bound = {path[0].json_name for path in route.path_fields.values() if len(path) == 1}
            schema = self.message(route.method.input_type)
            session = self.sessions.get(route.method.full_name)
            if bound or (session is not None and session.opt_in):
                # The path binds some fields (they are not body members), or the browser
                # session adds `useCookies`: the body's own schema, inline.
                schema = self._body_object(route.method.input_type, bound)
                if session is not None and session.opt_in:
                    schema["properties"][USE_COOKIES_FIELD] = dict(_USE_COOKIES_PROPERTY)
        else:
            schema = self.field(route.body_field)
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def _body_object(self, message: Descriptor, bound: set[str]) -> Schema:
        self.message(message)
        whole = self.schemas[message.full_name]
        schema = {
            **whole,
            "properties": {k: v for k, v in whole["properties"].items() if k not in bound},
        }
        required = [name for name in whole.get("required", []) if name not in bound]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
        return schema

    def _response_schema(self, route: Route) -> Schema:
        if route.response_field is not None:
            return self.field(route.response_field)
        return self.message(route.method.output_type)

    def field(self, field_desc: FieldDescriptor) -> Schema:
        """The schema of a field: map, repeated or single, with its rule's constraints."""
        rule = field_rule(field_desc)
        message = field_desc.message_type
        if message is not None and is_map(field_desc):
            key = _constrained(
                {"type": "string"},
                message.fields_by_name["key"],
                options_pb2.FieldRule(max_len=rule.max_key_len),
            )
            schema: Schema = {
                "type": "object",
                "additionalProperties": _constrained(
                    self._single(message.fields_by_name["value"]),
                    message.fields_by_name["value"],
                    rule,
                ),
                "propertyNames": key,
            }
            if rule.max_items:
                schema["maxProperties"] = rule.max_items
        elif field_desc.is_repeated:
            item_rule = options_pb2.FieldRule()
            item_rule.CopyFrom(rule)
            item_rule.required = False  # `required` asks for a non-empty list, not items
            schema = {
                "type": "array",
                "items": _constrained(self._single(field_desc), field_desc, item_rule),
            }
            if rule.max_items:
                schema["maxItems"] = rule.max_items
            if rule.required:
                schema["minItems"] = 1
        else:
            schema = _constrained(self._single(field_desc), field_desc, rule)
        return schema

    def _single(self, field_desc: FieldDescriptor) -> Schema:
        if field_desc.enum_type is not None:
            return self.enum(field_desc.enum_type)
        if field_desc.message_type is not None:
            return self.message(field_desc.message_type)
        return dict(_SCALARS[field_desc.type])

    def enum(self, enum: EnumDescriptor) -> Schema:
        """A `$ref` to the enum's component (string enum of value names)."""
        if enum.full_name not in self.schemas:
            schema: Schema = {"type": "string", "enum": [v.name for v in enum.values]}
            described = [
                f"- `{v.name}`: {self.comments.of(f'{enum.full_name}.{v.name}')}"
                for v in enum.values
                if self.comments.of(f"{enum.full_name}.{v.name}")
            ]
            description = "\n".join(filter(None, [self.comments.of(enum.full_name), *described]))
            if description:
                schema["description"] = description
            self.schemas[enum.full_name] = schema
        return {"$ref": f"#/components/schemas/{enum.full_name}"}

    def message(self, message: Descriptor) -> Schema:
        """The schema of a message: inline for well-known types, else a `$ref`."""
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.full_name in WRAPPER_TYPES:
            inner = self._single(message.fields_by_name["value"])
            return {**inner, "type": [inner["type"], "null"]}
        if message.full_name not in self.schemas:
            self.schemas[message.full_name] = {}  # placeholder: recursive messages terminate
            self.schemas[message.full_name] = self._object(message)
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def _object(self, message: Descriptor) -> Schema:
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for field_desc in message.fields:
            schema = self.field(field_desc)
            description = self.comments.of(field_desc.full_name)
            if description:
                schema["description"] = description
            if _has_behavior(field_desc, field_behavior_pb2.OUTPUT_ONLY):
                schema["readOnly"] = True
            if _must_be_sent(field_desc):
                required.append(field_desc.json_name)
            properties[field_desc.json_name] = schema
        # The gateway refuses members that are not fields (400): say so.
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        description = self.comments.of(message.full_name)
        if description:
            schema["description"] = description
        return schema


# The most characters of a path parameter (the gateway's bound; a field's rule may be stricter).
MAX_PARAMETER_CHARS = 2048
# Every string of a request is NUL-free (PostgreSQL refuses NUL): the pattern of free text.
NUL_FREE_PATTERN = "^[^\\u0000]*$"


def _path_names(routes: Sequence[Route]) -> dict[tuple[str, str], str]:
    """(template, variable) -> its parameter name. Templates of one shape (`/v1/products/{slug}`
    and `/v1/products/{product.id}`) are one OpenAPI path, so they share one name per position:
    the common name, else the common field name (`slug` for `slug` and `item.slug`), else the
    names joined (`slugOrProductId`)."""
    by_shape: dict[tuple[str, int], list[tuple[str, str]]] = {}
    places: dict[tuple[str, str], tuple[str, int]] = {}
    for route in routes:
        template = route.rule.template
        shape = re.sub(r"\{[^}]*\}", "{}", template.source)
        for index, variable in enumerate(template.variables):
            field_path = route.path_fields[variable.name]
            named = (parameter_name(field_path), parameter_name(field_path[-1:]))
            names = by_shape.setdefault((shape, index), [])
            if named not in names:
                names.append(named)
            places[(template.source, variable.name)] = (shape, index)
    return {key: _shared_name(by_shape[place]) for key, place in places.items()}


def _shared_name(names: list[tuple[str, str]]) -> str:
    if len({full for full, _ in names}) == 1:
        return names[0][0]
    if len({leaf for _, leaf in names}) == 1:
        return names[0][1]
    full = [n for n, _ in names]
    return full[0] + "".join("Or" + n[:1].upper() + n[1:] for n in full[1:])


def parameter_name(field_path: Sequence[FieldDescriptor]) -> str:
    """A path parameter's simple name: lowerCamel, without dots (`productId` for `product.id`)."""
    joined = "_".join(f.name for f in field_path)
    head, *rest = joined.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _constrained(
    schema: Schema, field_desc: FieldDescriptor, rule: options_pb2.FieldRule
) -> Schema:
    """`schema` of one value with the rule's constraints (and NUL-freedom for strings)."""
    if "$ref" in schema:
        if rule.required and field_desc.enum_type is not None:
            # A required enum is any value but the zero one ("unspecified").
            unset = field_desc.enum_type.values_by_number[0].name
            return {**schema, "not": {"const": unset}}
        return schema
    kind = field_desc.type
    if kind == FieldDescriptor.TYPE_STRING:
        schema = dict(schema)
        min_len = max(rule.min_len, 1 if rule.required else 0)
        if min_len:
            schema["minLength"] = min_len
        if rule.max_len:
            schema["maxLength"] = rule.max_len
        pattern, _ = FORMATS.get(rule.format, ("", ""))
        if rule.pattern:
            pattern = rule.pattern
        if rule.format in _OPENAPI_FORMATS:
            schema["format"] = _OPENAPI_FORMATS[rule.format]
        # Rule patterns exclude NUL already (they name the characters they allow).
        schema["pattern"] = pattern or NUL_FREE_PATTERN
        return schema
    if schema.get("type") == "integer":
        schema = dict(schema)
        if rule.HasField("min"):
            schema["minimum"] = max(rule.min, schema.get("minimum", rule.min))
        if rule.HasField("max"):
            schema["maximum"] = min(rule.max, schema.get("maximum", rule.max))
        return schema
    if schema.get("type") == "string" and schema.get("format") in ("int64", "uint64"):
        low = rule.min if rule.HasField("min") else None
        high = rule.max if rule.HasField("max") else None
        if low is not None and high is None:
            high = _INT64_MAX
        if low is not None and high is not None and low >= 0:
            # proto3 JSON writes 64-bit integers as strings: the range becomes a pattern.
            return {
                **schema,
                "pattern": integer_range_pattern(low, high),
                "description": f"An integer from {low} to {high}.",
            }
    return schema


_INT64_MAX = 2**63 - 1
_OPENAPI_FORMATS = {options_pb2.FORMAT_UUID: "uuid", options_pb2.FORMAT_EMAIL: "email"}


def integer_range_pattern(low: int, high: int) -> str:
    """A regular expression of the decimal integers from `low` to `high` (0 <= low <= high),
    without leading zeros."""
    alternatives: list[str] = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        first = low if digits == len(str(low)) else 10 ** (digits - 1)
        last = high if digits == len(str(high)) else 10**digits - 1
        if digits > 1 and (first, last) == (10 ** (digits - 1), 10**digits - 1):
            alternatives.append("[1-9][0-9]" + (f"{{{digits - 1}}}" if digits > 2 else ""))
        else:
            alternatives.extend(_same_length(str(first), str(last)))
    return "^(?:" + "|".join(alternatives) + ")$"


def _same_length(low: str, high: str) -> list[str]:
    if not low:
        return [""]
    if low == high:
        return [low]
    if set(low) == {"0"} and set(high) == {"9"}:
        return ["[0-9]" + (f"{{{len(low)}}}" if len(low) > 1 else "")]
    a, b = int(low[0]), int(high[0])
    rest = len(low) - 1
    if a == b:
        return [low[0] + _group(_same_length(low[1:], high[1:]))]
    parts = [low[0] + _group(_same_length(low[1:], "9" * rest))]
    if b - a > 1:
        middle = f"[{a + 1}-{b - 1}]" if b - a > 2 else f"[{a + 1}]"
        parts.append(middle + ("[0-9]" + (f"{{{rest}}}" if rest > 1 else "") if rest else ""))
    parts.append(high[0] + _group(_same_length("0" * rest, high[1:])))
    return parts


def _group(alternatives: list[str]) -> str:
    if alternatives == [""]:
        return ""
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def _error_responses(route: Route) -> dict[str, Any]:
    """The problems an operation can answer with (RFC 9457 problem details)."""
    responses: dict[str, Any] = {"400": PROBLEM_RESPONSE}
    if not route.policy.public:
        responses["401"] = UNAUTHORIZED_RESPONSE
        responses["403"] = PROBLEM_RESPONSE
    if route.path_fields:
        responses["404"] = PROBLEM_RESPONSE
    mutates = route.rule.http_method != "GET"
    if mutates:
        # State conflicts and reused idempotency keys.
        responses["409"] = PROBLEM_RESPONSE
    if route.path_fields:
        responses["410"] = PROBLEM_RESPONSE  # an expired cart or invoice
    if mutates:
        responses["422"] = PROBLEM_RESPONSE
    responses["429"] = RATE_LIMITED_RESPONSE
    responses["503"] = PROBLEM_RESPONSE
    responses["default"] = PROBLEM_RESPONSE
    return responses


_USE_COOKIES_PROPERTY: Schema = {
    "type": "boolean",
    "description": (
        "Browsers: the gateway keeps the tokens in HttpOnly cookies (__Host-agora_access, "
        "__Host-agora_refresh), sets __Host-agora_csrf and leaves the tokens out of the answer."
    ),
}


def _cookie_note(session: SessionRule) -> str:
    if session.clears:
        return "Clears the session cookies (__Host-agora_access, _refresh and _csrf)."
    return "With useCookies (or a cookie session): __Host-agora_access, _refresh and _csrf."


def _render_variable(variable: Variable, name: str) -> tuple[str, list[str]]:
    """A variable as OpenAPI path text: `{slug}`, or `shelves/{name}` for `{name=shelves/*}`."""
    wildcards = [s for s in variable.segments if s.wildcard]
    if len(variable.segments) == 1 and wildcards:
        return "{" + name + "}", [name]
    names = [name] if len(wildcards) == 1 else [f"{name}{i + 1}" for i in range(len(wildcards))]
    pieces: list[str] = []
    index = 0
    for segment in variable.segments:
        if segment.literal is not None:
            pieces.append(segment.literal)
        else:
            pieces.append("{" + names[index] + "}")
            index += 1
    return "/".join(pieces), names


def _summary(comment: str) -> str:
    first_paragraph = comment.strip().split("\n\n", 1)[0]
    return " ".join(first_paragraph.split())


def _has_behavior(field_desc: FieldDescriptor, behavior: int) -> bool:
    options = field_desc.GetOptions()
    return behavior in options.Extensions[field_behavior_pb2.field_behavior]


def _is_required(field_desc: FieldDescriptor) -> bool:
    return field_rule(field_desc).required


def _must_be_sent(field_desc: FieldDescriptor) -> bool:
    """Required, or a number without presence whose range excludes its unset value 0."""
    rule = field_rule(field_desc)
    if rule.required:
        return True
    if field_desc.has_presence or field_desc.is_repeated:
        return False
    low = rule.min if rule.HasField("min") else None
    high = rule.max if rule.HasField("max") else None
    return (low is not None and low > 0) or (high is not None and high < 0)
