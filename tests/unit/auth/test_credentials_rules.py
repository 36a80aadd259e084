"""Emails, the password policy, recovery codes and one-time tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agora.auth.domain import (
    MIN_PASSWORD_LENGTH,
    RECOVERY_CODE_COUNT,
    OneTimeToken,
    TokenPurpose,
    check_one_time_token,
    new_opaque_token,
    new_recovery_codes,
    normalize_email,
    password_violations,
    recovery_code_digest,
    token_digest,
    validate_name,
    validate_password,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_emails_are_trimmed_and_lowercased() -> None:
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"


@pytest.mark.parametrize("raw", ["", "alice", "alice@", "@example.com", "a b@example.com", "a@b"])
def test_malformed_emails_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        normalize_email(raw)
    assert error.value.violations[0].field == "email"


def test_a_long_passphrase_of_any_characters_is_accepted() -> None:
    assert password_violations("correct horse battery staple", "alice@example.com") == []
    assert password_violations("ünïcødé-pässwörd", "alice@example.com") == []


def test_a_password_shorter_than_the_minimum_is_refused() -> None:
    short = "x" * (MIN_PASSWORD_LENGTH - 1)
    with pytest.raises(InvalidArgument, match=f"at least {MIN_PASSWORD_LENGTH}"):
        validate_password(short, "alice@example.com")


def test_a_password_equal_to_the_email_or_its_local_part_is_refused() -> None:
    assert password_violations("alice.example@example.com", "alice.example@example.com")
    assert password_violations("Alice.Example", "alice.example@example.com")


def test_an_unbounded_password_is_refused_before_hashing() -> None:
    assert password_violations("x" * 10_000, "alice@example.com")


def test_a_password_of_spaces_is_refused() -> None:
    assert password_violations(" " * 20, "alice@example.com")


def test_a_display_name_is_collapsed_bounded_and_nul_free() -> None:
    assert validate_name("  Ada \t Lovelace ") == "Ada Lovelace"
    assert validate_name("") == ""
    for refused in ("x" * 201, "Ada\x00"):
        with pytest.raises(InvalidArgument) as error:
            validate_name(refused)
        assert [v.field for v in error.value.violations] == ["name"]


def test_opaque_tokens_are_random_urlsafe_and_stored_as_sha256() -> None:
    tokens = {new_opaque_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) == 43
    assert all(c.isalnum() or c in "-_" for c in token)
    assert len(token_digest(token)) == 32
    assert token_digest(token) != token.encode()


def test_ten_distinct_recovery_codes_are_made_and_typed_back_loosely() -> None:
    codes = new_recovery_codes()
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    code = codes[0]
    assert len(code.replace("-", "")) == 16
    sloppy = " " + code.upper().replace("-", " ") + " "
    assert recovery_code_digest(sloppy) == recovery_code_digest(code)
    assert recovery_code_digest(codes[1]) != recovery_code_digest(code)


def token(purpose: TokenPurpose, *, expires_in: timedelta, used: bool = False) -> OneTimeToken:
    return OneTimeToken("u1", purpose, NOW + expires_in, NOW if used else None)


def test_a_fresh_unused_token_of_the_purpose_passes() -> None:
    fresh = token(TokenPurpose.RESET_PASSWORD, expires_in=timedelta(minutes=5))
    assert check_one_time_token(fresh, TokenPurpose.RESET_PASSWORD, NOW) is fresh


@pytest.mark.parametrize(
    "found",
    [
        None,
        token(TokenPurpose.RESET_PASSWORD, expires_in=timedelta(minutes=5), used=True),
        token(TokenPurpose.RESET_PASSWORD, expires_in=timedelta(0)),
        token(TokenPurpose.VERIFY_EMAIL, expires_in=timedelta(minutes=5)),
    ],
    ids=["unknown", "used", "expired", "other-purpose"],
)
def test_unknown_used_expired_or_foreign_tokens_are_refused_alike(
    found: OneTimeToken | None,
) -> None:
    with pytest.raises(FailedPrecondition) as error:
        check_one_time_token(found, TokenPurpose.RESET_PASSWORD, NOW)
    assert error.value.message == "the link is invalid or has expired: ask for a new one"
