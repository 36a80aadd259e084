"""OpenAPI 3.1 generated from the same routes and descriptors the gateway transcodes with.

Schemas follow the proto3 JSON mapping: lowerCamelCase properties, 64-bit integers as strings,
enums as their value names, `Timestamp` as an RFC 3339 string, wrappers as nullable scalars.
Summaries and descriptions come from the proto comments (source info of descriptors.binpb).
Security comes from each method's rule: non-public operations require a bearer token (or a
browser session's cookie) and name their permission in `x-permission`; methods with their own
rate limit show it in `x-rate-limit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from agora.gateway.browser_session import USE_COOKIES_FIELD, SessionRule
from agora.gateway.descriptors import SourceComments
from agora.gateway.problem import PROBLEM_CONTENT_TYPE
from agora.gateway.templates import PathTemplate, Segment, Variable
from agora.gateway.transcoding import WRAPPER_TYPES, Route

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
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route (`session_methods`: the browser-session table)."""
    builder = _Builder(comments or SourceComments(), session_methods or {})
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, str]] = {}
    for route in routes:
        if route.rule.http_method.lower() not in _OPENAPI_METHODS:
            continue  # a custom HTTP method OpenAPI cannot describe
        path, operation = builder.operation(route)
        paths.setdefault(path, {})[route.rule.http_method.lower()] = operation
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

    def __init__(self, comments: SourceComments, sessions: Mapping[str, SessionRule]) -> None:
        self.comments = comments
        self.sessions = sessions
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
        session = self.sessions.get(route.method.full_name)
        ok: Schema = {
            "description": "OK",
            "content": {"application/json": {"schema": self._response_schema(route)}},
        }
        if session is not None and (session.issues or session.clears):
            ok["headers"] = {
                "Set-Cookie": {"description": _cookie_note(session), "schema": {"type": "string"}}
            }
        responses: dict[str, Any] = {"200": ok, "400": PROBLEM_RESPONSE}
        if not route.policy.public:
            operation["security"] = [{BEARER_SCHEME: []}, {COOKIE_SCHEME: []}]
            responses["401"] = UNAUTHORIZED_RESPONSE
            responses["403"] = PROBLEM_RESPONSE
        responses["429"] = RATE_LIMITED_RESPONSE
        responses["503"] = PROBLEM_RESPONSE
        responses["default"] = PROBLEM_RESPONSE
        operation["responses"] = responses
        if route.policy.permission:
            operation["x-permission"] = route.policy.permission
        if route.policy.rate_limit:
            operation["x-rate-limit"] = route.policy.rate_limit
        operation["x-grpc-method"] = route.rpc_path
        return path, operation

    def _path(self, route: Route) -> tuple[str, list[dict[str, Any]]]:
        template: PathTemplate = route.rule.template
        pieces: list[str] = []
        parameters: list[dict[str, Any]] = []
        for part in template.parts:
            if isinstance(part, Segment):
                pieces.append(part.literal or "*")
                continue
            rendered, names = _render_variable(part)
            pieces.append(rendered)
            leaf = route.path_fields[part.name][-1]
            for name in names:
                parameters.append(self._path_parameter(name, part, leaf))
        path = "/" + "/".join(pieces) + (f":{template.verb}" if template.verb else "")
        return path, parameters

    def _path_parameter(self, name: str, variable: Variable, leaf: FieldDescriptor) -> Schema:
        description = self.comments.of(leaf.full_name)
        if name != variable.name or len(variable.segments) > 1:
            pattern = "/".join(s.literal or s.wildcard or "" for s in variable.segments)
            description = f"Part of `{variable.name}`, which takes the form `{pattern}`. " + (
                description
            )
        parameter: dict[str, Any] = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": self._single(leaf),
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
                "required": _is_required(leaf),
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
            schema = self.message(route.method.input_type)
        else:
            schema = self.field(route.body_field)
        session = self.sessions.get(route.method.full_name)
        if session is not None and session.opt_in:
            schema = {"allOf": [schema, _USE_COOKIES_SCHEMA]}
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def _response_schema(self, route: Route) -> Schema:
        if route.response_field is not None:
            return self.field(route.response_field)
        return self.message(route.method.output_type)

    def field(self, field_desc: FieldDescriptor) -> Schema:
        """The schema of a field: map, repeated or single, with its comment."""
        message = field_desc.message_type
        if message is not None and message.GetOptions().map_entry:
            schema: Schema = {
                "type": "object",
                "additionalProperties": self._single(message.fields_by_name["value"]),
            }
        elif field_desc.is_repeated:
            schema = {"type": "array", "items": self._single(field_desc)}
        else:
            schema = self._single(field_desc)
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
            if _is_required(field_desc):
                required.append(field_desc.json_name)
            properties[field_desc.json_name] = schema
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        description = self.comments.of(message.full_name)
        if description:
            schema["description"] = description
        return schema


_USE_COOKIES_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        USE_COOKIES_FIELD: {
            "type": "boolean",
            "description": (
                "Browsers: the gateway keeps the tokens in HttpOnly cookies "
                "(__Host-agora_access, __Host-agora_refresh), sets __Host-agora_csrf and leaves "
                "the tokens out of the answer."
            ),
        }
    },
}


def _cookie_note(session: SessionRule) -> str:
    if session.clears:
        return "Clears the session cookies (__Host-agora_access, _refresh and _csrf)."
    return "With useCookies (or a cookie session): __Host-agora_access, _refresh and _csrf."


def _render_variable(variable: Variable) -> tuple[str, list[str]]:
    """A variable as OpenAPI path text: `{slug}`, or `shelves/{name}` for `{name=shelves/*}`."""
    wildcards = [s for s in variable.segments if s.wildcard]
    if len(variable.segments) == 1 and wildcards:
        return "{" + variable.name + "}", [variable.name]
    names = (
        [variable.name]
        if len(wildcards) == 1
        else [f"{variable.name}_{i + 1}" for i in range(len(wildcards))]
    )
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
    return _has_behavior(field_desc, field_behavior_pb2.REQUIRED)
