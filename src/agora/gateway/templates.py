"""HTTP path templates of `google.api.http` rules, compiled to regular expressions.

Grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Templates match the raw (still percent-encoded) request path, so an encoded `/` inside a
single-segment variable never splits a segment; captured values are percent-decoded after the
match (a `**` capture keeps its `/` separators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SINGLE = "[^/]+"
_MULTI = ".+"
_LAST_SINGLE = "[^/:]+"
_LAST_MULTI = "(?:.+/)?[^/:]+"
_ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)


class TemplateError(ValueError):
    """A path template that does not follow the grammar of google/api/http.proto."""


@dataclass(frozen=True)
class Segment:
    """One segment: a literal, `*` (one segment) or `**` (the rest of the path)."""

    literal: str | None = None
    wildcard: str | None = None  # "*" or "**"


@dataclass(frozen=True)
class Variable:
    """`{field.path=segments}`: binds what its segments match to a request field."""

    field_path: tuple[str, ...]
    segments: tuple[Segment, ...]

    @property
    def name(self) -> str:
        return ".".join(self.field_path)

    @property
    def multi_segment(self) -> bool:
        return any(s.wildcard == "**" for s in self.segments)


Part = Segment | Variable


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template; `match` returns the variables it binds, or None."""

    source: str
    parts: tuple[Part, ...]
    verb: str | None
    pattern: re.Pattern[str]

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(p for p in self.parts if isinstance(p, Variable))

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key, larger is more specific: literal segments first, then a verb, then no `**`."""
        literals = sum(1 for s in self._segments() if s.literal is not None)
        singles = sum(1 for s in self._segments() if s.wildcard == "*")
        multis = sum(1 for s in self._segments() if s.wildcard == "**")
        return (literals, 1 if self.verb else 0, -multis, singles)

    @property
    def first_literal(self) -> str | None:
        """The first segment when it is a literal (used to index templates)."""
        first = self.parts[0]
        return first.literal if isinstance(first, Segment) else None

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The decoded variable values if `raw_path` (percent-encoded) matches, else None."""
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, variable in enumerate(self.variables):
            raw = found.group(index + 1)
            values[variable.name] = _decode(raw, keep_slashes=variable.multi_segment)
        return values

    def _segments(self) -> list[Segment]:
        flat: list[Segment] = []
        for part in self.parts:
            flat.extend(part.segments if isinstance(part, Variable) else [part])
        return flat


def parse_template(source: str) -> PathTemplate:
    """Parse and compile a path template, raising TemplateError on bad syntax."""
    if not source.startswith("/"):
        raise TemplateError(f"template {source!r} must start with '/'")
    body, verb = _split_verb(source)
    parts = tuple(_parse_parts(body[1:], source))
    _check_multi_segment_is_last(parts, source)
    last = len(parts) - 1
    regex = "/" + "/".join(_part_regex(p, last=i == last) for i, p in enumerate(parts))
    if verb is not None:
        regex += ":" + re.escape(verb)
    return PathTemplate(source=source, parts=parts, verb=verb, pattern=re.compile(regex))


def _split_verb(source: str) -> tuple[str, str | None]:
    # A verb is a ':' after the last '/' that is outside any variable braces.
    depth = 0
    last_colon = -1
    for index, char in enumerate(source):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            last_colon = -1
        elif char == ":" and depth == 0:
            last_colon = index
    if last_colon < 0:
        return source, None
    verb = source[last_colon + 1 :]
    if not verb or "/" in verb or "{" in verb:
        raise TemplateError(f"template {source!r} has an invalid verb")
    return source[:last_colon], verb


def _parse_parts(body: str, source: str) -> list[Part]:
    parts: list[Part] = []
    for token in _split_top_level(body, source):
        if token.startswith("{"):
            parts.append(_parse_variable(token, source))
        else:
            parts.append(_parse_segment(token, source))
    return parts


def _split_top_level(body: str, source: str) -> list[str]:
    tokens: list[str] = []
    depth = 0
    current = ""
    for char in body:
        if char == "{":
            depth += 1
            if depth > 1:
                raise TemplateError(f"template {source!r} nests variables")
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise TemplateError(f"template {source!r} has an unbalanced '}}'")
        if char == "/" and depth == 0:
            tokens.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise TemplateError(f"template {source!r} has an unclosed '{{'")
    tokens.append(current)
    if any(not t for t in tokens):
        raise TemplateError(f"template {source!r} has an empty segment")
    return tokens


def _parse_segment(token: str, source: str) -> Segment:
    if token in ("*", "**"):
        return Segment(wildcard=token)
    if any(c in token for c in "{}*=:"):
        raise TemplateError(f"template {source!r} has an invalid segment {token!r}")
    return Segment(literal=token)


def _parse_variable(token: str, source: str) -> Variable:
    if not token.endswith("}"):
        raise TemplateError(f"template {source!r} has text after a variable in {token!r}")
    inner = token[1:-1]
    path_text, has_segments, segments_text = inner.partition("=")
    field_path = tuple(path_text.split("."))
    if not all(_IDENT.fullmatch(name) for name in field_path):
        raise TemplateError(f"template {source!r} has an invalid field path {path_text!r}")
    if not has_segments:
        return Variable(field_path, (Segment(wildcard="*"),))
    segments = [_parse_segment(t, source) for t in _split_top_level(segments_text, source)]
    return Variable(field_path, tuple(segments))


def _check_multi_segment_is_last(parts: tuple[Part, ...], source: str) -> None:
    flat: list[Segment] = []
    for part in parts:
        flat.extend(part.segments if isinstance(part, Variable) else [part])
    for segment in flat[:-1]:
        if segment.wildcard == "**":
            raise TemplateError(f"template {source!r}: '**' must be the last segment")


def _part_regex(part: Part, *, last: bool) -> str:
    if isinstance(part, Variable):
        final = len(part.segments) - 1
        return (
            "("
            + "/".join(
                _segment_regex(s, last=last and i == final) for i, s in enumerate(part.segments)
            )
            + ")"
        )
    return _segment_regex(part, last=last)


def _segment_regex(segment: Segment, *, last: bool) -> str:
    # In the last segment a ':' starts the verb (google/api/http.proto): a variable there never
    # swallows it, so `/v1/orders/{id}` does not match `/v1/orders/7:cancel`.
    if segment.wildcard == "*":
        return _LAST_SINGLE if last else _SINGLE
    if segment.wildcard == "**":
        return _LAST_MULTI if last else _MULTI
    return re.escape(segment.literal or "")


def _decode(raw: str, *, keep_slashes: bool) -> str:
    if not keep_slashes:
        return unquote(raw)
    # `**` captures keep an encoded `/` encoded, so it never reads as a separator.
    return unquote(_ENCODED_SLASH.sub("%252F", raw))
