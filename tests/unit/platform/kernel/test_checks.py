"""Ids, bounded text and the one way of reporting several violations."""

from __future__ import annotations

import uuid

import pytest

from agora.platform.errors import FieldViolation, InvalidArgument
from agora.platform.kernel.checks import (
    canonical_id,
    id_violations,
    is_id,
    raise_if_any,
    require_id,
    require_text,
    text_violations,
    whole_number,
)

ID = str(uuid.UUID(int=7))


def test_ids_are_canonical_hyphenated_uuids() -> None:
    assert require_id(ID.upper(), "orderId") == ID
    assert is_id(ID)
    for almost in ("", "7", ID.replace("-", ""), "{" + ID + "}", ID[:-1] + "g", ID + "\x00"):
        assert canonical_id(almost) is None


def test_a_bad_id_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        require_id("nope", "lines[2].variantId")
    assert refused.value.violations == [FieldViolation("lines[2].variantId", "not a valid id")]
    assert id_violations("", "parentId") == [FieldViolation("parentId", "required")]
    assert id_violations("", "parentId", required=False) == []


def test_text_is_bounded_and_nul_free() -> None:
    assert text_violations("ok", "name", max_len=2) == []
    assert text_violations("long", "name", max_len=3)[0].description == "at most 3 characters"
    assert "NUL" in text_violations("a\x00b", "name", max_len=10)[0].description
    assert text_violations("  ", "name", max_len=10, required=True)[0].description == "required"
    assert require_text("Tea", "title", max_len=10) == "Tea"


def test_every_violation_is_reported_at_once() -> None:
    raise_if_any([])
    with pytest.raises(InvalidArgument) as refused:
        raise_if_any([FieldViolation("a", "required"), FieldViolation("b", "too long")])
    assert [v.field for v in refused.value.violations] == ["a", "b"]
    assert "a: required; b: too long" in refused.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("100", 100),
        ("101", None),  # above the maximum
        ("0100", None),  # longer than the maximum is written
        ("", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("\u00b2", None),  # a superscript: str.isdigit says yes, int() refuses
        ("\u0663", None),  # an Arabic-Indic three: ASCII digits only
        ("9" * 5000, None),  # past int()'s digit limit
    ],
)
def test_a_whole_number_is_ascii_digits_up_to_the_maximum(text: str, expected: int | None) -> None:
    assert whole_number(text, 100) == expected
