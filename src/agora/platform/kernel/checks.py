"""The checks every domain applies to what callers send: ids, bounded NUL-free text, and one
way to report several field violations at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from agora.platform.errors import FieldViolation, InvalidArgument

NUL = "\x00"


def raise_if_any(violations: Sequence[FieldViolation]) -> None:
    """INVALID_ARGUMENT listing every violation, when there is at least one."""
    if violations:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        raise InvalidArgument(f"invalid request: {summary}", violations)


def canonical_id(value: str) -> str | None:
    """`value` as a canonical (lower-case, hyphenated) UUID string, or None if it is not one."""
    # uuid.UUID also accepts braces, "urn:uuid:" and missing hyphens; ids are the 36-char form.
    if len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def is_id(value: str) -> bool:
    return canonical_id(value) is not None


def id_violations(value: str, path: str, *, required: bool = True) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(path, "required")] if required else []
    if canonical_id(value) is None:
        return [FieldViolation(path, "not a valid id")]
    return []


def require_id(value: str, path: str) -> str:
    """`value` as a canonical UUID string, or INVALID_ARGUMENT naming `path`."""
    raise_if_any(id_violations(value, path))
    return str(canonical_id(value))


def text_violations(
    value: str, path: str, *, max_len: int, required: bool = False
) -> list[FieldViolation]:
    """What is wrong with free text at `path`: missing, longer than `max_len` characters, or
    holding a NUL byte (PostgreSQL text cannot store one)."""
    if not value.strip():
        return [FieldViolation(path, "required")] if required else []
    if len(value) > max_len:
        return [FieldViolation(path, f"at most {max_len} characters")]
    if NUL in value:
        return [FieldViolation(path, "must not contain NUL characters")]
    return []


def require_text(value: str, path: str, *, max_len: int, required: bool = True) -> str:
    """`value` unchanged when it is acceptable text, else INVALID_ARGUMENT naming `path`."""
    raise_if_any(text_violations(value, path, max_len=max_len, required=required))
    return value


def whole_number(text: str, maximum: int) -> int | None:
    """`text` as a whole number from 0 to `maximum`, written in ASCII digits; None otherwise
    (`str.isdigit` also accepts superscripts `int` refuses, and any length)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None
