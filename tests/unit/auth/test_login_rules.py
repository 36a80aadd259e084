"""Login lockout, TOTP windows and replay, the step after a password, refresh rotation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from agora.auth import totp
from agora.auth.domain import (
    DEFAULT_2FA_ROLES,
    MFA_TOKEN_INVALID,
    FailureCount,
    LockoutPolicy,
    LoginNext,
    MfaChallenge,
    RefreshTokenState,
    RefreshVerdict,
    accept_totp_step,
    candidate_steps,
    check_mfa_challenge,
    ensure_not_locked,
    judge_refresh,
    next_login_step,
    totp_step,
    with_second_factor,
)
from agora.platform.errors import InvalidArgument, ResourceExhausted, Unauthenticated

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
POLICY = LockoutPolicy(free_attempts=3, base_delay_s=1.0, max_delay_s=60.0)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (5, 4.0), (8, 32.0), (9, 60.0), (500, 60.0)],
)
def test_the_lockout_delay_doubles_after_the_free_attempts_up_to_the_ceiling(
    failures: int, delay: float
) -> None:
    assert POLICY.delay_s(failures) == delay


def test_a_counter_is_locked_until_its_delay_has_passed() -> None:
    count = FailureCount(failures=5, last_failure_at=NOW)
    assert count.locked_for_s(POLICY, NOW) == 4.0
    assert count.locked_for_s(POLICY, NOW + timedelta(seconds=3)) == 1.0
    assert count.locked_for_s(POLICY, NOW + timedelta(seconds=4)) == 0.0


def test_a_locked_counter_refuses_with_retry_after_the_longest_wait() -> None:
    short = (FailureCount(3, NOW), POLICY)
    long = (FailureCount(6, NOW), POLICY)
    with pytest.raises(ResourceExhausted) as error:
        ensure_not_locked([short, long], NOW)
    assert error.value.retry_after_s == 8


def test_counters_under_the_free_attempts_do_not_lock() -> None:
    ensure_not_locked([(FailureCount(2, NOW), POLICY)], NOW)
    ensure_not_locked([], NOW)


def test_totp_accepts_the_current_step_and_one_on_each_side() -> None:
    now = totp_step(NOW)
    assert candidate_steps(NOW) == [now, now - 1, now + 1]


def test_a_code_from_the_window_matches_its_step_and_older_or_newer_ones_do_not() -> None:
    secret = totp.new_secret()
    generator = pyotp.TOTP(secret)
    step = totp_step(NOW)
    for offset in (-1, 0, 1):
        code = generator.at(NOW + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, NOW) == step + offset
    for offset in (-3, 2):
        code = generator.at(NOW + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, NOW) is None


def test_a_code_is_not_accepted_twice_nor_one_older_than_the_last_used() -> None:
    assert accept_totp_step(100, 99) == 100
    with pytest.raises(InvalidArgument, match="already used"):
        accept_totp_step(100, 100)
    with pytest.raises(InvalidArgument, match="already used"):
        accept_totp_step(99, 100)
    with pytest.raises(InvalidArgument, match="wrong code"):
        accept_totp_step(None, None)


def test_codes_must_be_six_digits() -> None:
    with pytest.raises(InvalidArgument):
        totp.matching_step(totp.new_secret(), "12345a", NOW)


def test_the_otpauth_uri_and_qr_code_name_the_account_and_issuer() -> None:
    uri = totp.otpauth_uri(SECRET, "alice@example.com")
    assert uri.startswith("otpauth://totp/Agora:alice%40example.com?")
    assert f"secret={SECRET}" in uri
    assert "issuer=Agora" in uri
    png = base64.b64decode(totp.qr_png_base64(uri))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("roles", "totp_enabled", "step"),
    [
        (["customer"], False, LoginNext.TOKENS),
        (["customer"], True, LoginNext.MFA_CHALLENGE),
        (["staff"], False, LoginNext.ENROLL_MFA),
        (["customer", "admin"], False, LoginNext.ENROLL_MFA),
        (["support"], True, LoginNext.MFA_CHALLENGE),
    ],
)
def test_what_a_correct_password_leads_to(
    roles: list[str], totp_enabled: bool, step: LoginNext
) -> None:
    assert (
        next_login_step(roles, totp_enabled=totp_enabled, require_2fa_roles=DEFAULT_2FA_ROLES)
        is step
    )


def refresh_state(
    *, used: bool = False, revoked: bool = False, ttl_s: int = 60
) -> RefreshTokenState:
    return RefreshTokenState(
        session_id="s1",
        user_id="u1",
        expires_at=NOW + timedelta(seconds=ttl_s),
        used_at=NOW - timedelta(seconds=5) if used else None,
        session_revoked=revoked,
    )


def test_a_fresh_refresh_token_rotates() -> None:
    assert judge_refresh(refresh_state(), NOW) is RefreshVerdict.ROTATE


def test_a_used_refresh_token_is_reuse_which_ends_its_family() -> None:
    assert judge_refresh(refresh_state(used=True), NOW) is RefreshVerdict.REUSED


@pytest.mark.parametrize(
    "state",
    [
        None,
        refresh_state(ttl_s=0),
        refresh_state(revoked=True),
        refresh_state(used=True, revoked=True),
    ],
    ids=["unknown", "expired", "revoked-session", "used-in-revoked-session"],
)
def test_unknown_expired_or_revoked_refresh_tokens_are_rejected(
    state: RefreshTokenState | None,
) -> None:
    assert judge_refresh(state, NOW) is RefreshVerdict.REJECTED


def challenge(*, used: bool = False, expires_in_s: int = 60, attempts: int = 0) -> MfaChallenge:
    return MfaChallenge(
        user_id="u",
        amr=("pwd",),
        user_agent="",
        client_ip="",
        attempts=attempts,
        expires_at=NOW + timedelta(seconds=expires_in_s),
        used=used,
    )


def test_a_fresh_mfa_challenge_may_be_answered() -> None:
    fresh = challenge(attempts=4)
    assert check_mfa_challenge(fresh, NOW, max_attempts=5) is fresh


@pytest.mark.parametrize(
    "stale",
    [None, challenge(used=True), challenge(expires_in_s=0), challenge(attempts=5)],
    ids=["unknown", "used", "expired", "out-of-attempts"],
)
def test_an_unknown_used_expired_or_exhausted_challenge_means_logging_in_again(
    stale: MfaChallenge | None,
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_mfa_challenge(stale, NOW, max_attempts=5)
    assert refused.value.reason == MFA_TOKEN_INVALID


def test_a_second_factor_is_counted_once_in_a_sessions_methods() -> None:
    assert with_second_factor(["pwd"]) == ["pwd", "otp"]
    assert with_second_factor(["oidc", "otp"]) == ["oidc", "otp"]
