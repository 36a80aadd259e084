"""TOTP enrollment and login, replay protection, recovery codes, and the accounts whose role
requires 2FA."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pyotp
import pytest
from auth_support import (
    PASSWORD,
    TIMEOUT_S,
    Clock,
    as_user,
    failure,
    key,
    logged_in,
    login,
    origin,
    unique_email,
    verified_claims,
)

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.commands import create_user


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * offset_steps))


async def enroll(
    auth: AuthServiceStub, access_token: str
) -> tuple[str, str, pb.ConfirmTotpResponse]:
    """Enroll TOTP with the current code; (secret, that code, confirmation)."""
    enrolled = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=key()),
        metadata=as_user(access_token),
        timeout=TIMEOUT_S,
    )
    code = code_at(enrolled.secret)
    confirmed = await auth.ConfirmTotp(
        pb.ConfirmTotpRequest(idempotency_key=key(), code=code),
        metadata=as_user(access_token),
        timeout=TIMEOUT_S,
    )
    return enrolled.secret, code, confirmed


async def second_factor(
    auth: AuthServiceStub, mfa_token: str, *, code: str = "", recovery_code: str = ""
) -> pb.LoginResponse:
    return await auth.VerifyLoginTotp(
        pb.VerifyLoginTotpRequest(mfa_token=mfa_token, code=code, recovery_code=recovery_code),
        metadata=origin(),
        timeout=TIMEOUT_S,
    )


async def test_enrollment_gives_a_secret_an_otpauth_uri_and_a_qr_code(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)

    enrolled = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=key()),
        metadata=as_user(tokens.access_token),
        timeout=TIMEOUT_S,
    )

    assert enrolled.otpauth_uri.startswith("otpauth://totp/Agora:")
    assert f"secret={enrolled.secret}" in enrolled.otpauth_uri
    assert base64.b64decode(enrolled.qr_png_base64).startswith(b"\x89PNG")
    me = await auth.GetMe(pb.GetMeRequest(), metadata=as_user(tokens.access_token))
    assert not me.totp_enabled  # pending until confirmed


async def test_totp_login_rejects_a_replayed_code_and_accepts_the_next(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, enrollment_code, confirmed = await enroll(auth, tokens.access_token)
    assert len(confirmed.recovery_codes.codes) == 10
    next_code = code_at(secret, +1)

    challenge = await login(auth, email)
    assert challenge.mfa_required
    assert not challenge.HasField("tokens")

    with pytest.raises(grpc.aio.AioRpcError) as replayed:  # the code confirming enrollment
        await second_factor(auth, challenge.mfa_token, code=enrollment_code)
    assert replayed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert failure(replayed.value).reason == "MFA_CODE_INVALID"

    done = await second_factor(auth, challenge.mfa_token, code=next_code)
    _, claims = await verified_claims(auth, done.tokens.access_token)
    assert claims["amr"] == ["pwd", "otp"]

    again = await login(auth, email)
    with pytest.raises(grpc.aio.AioRpcError):
        await second_factor(auth, again.mfa_token, code=next_code)
    with pytest.raises(grpc.aio.AioRpcError) as used:  # a completed challenge is spent
        await second_factor(auth, challenge.mfa_token, code=code_at(secret, -1))
    assert failure(used.value).reason == "MFA_TOKEN_INVALID"


async def test_a_recovery_code_completes_a_login_once(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    _, _, confirmed = await enroll(auth, tokens.access_token)
    code = confirmed.recovery_codes.codes[3]

    first = await login(auth, email)
    assert (await second_factor(auth, first.mfa_token, recovery_code=code)).tokens.access_token

    second = await login(auth, email)
    with pytest.raises(grpc.aio.AioRpcError) as spent:
        await second_factor(auth, second.mfa_token, recovery_code=code)
    assert spent.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_challenge_dies_after_five_wrong_codes(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, _, _ = await enroll(auth, tokens.access_token)
    challenge = await login(auth, email)
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError):
            await second_factor(auth, challenge.mfa_token, code="000000")

    with pytest.raises(grpc.aio.AioRpcError) as dead:
        await second_factor(auth, challenge.mfa_token, code=code_at(secret, +1))
    assert failure(dead.value).reason == "MFA_TOKEN_INVALID"


async def test_regenerated_recovery_codes_replace_the_old_ones(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, _, confirmed = await enroll(auth, tokens.access_token)
    renewed = await auth.RegenerateRecoveryCodes(
        pb.RegenerateRecoveryCodesRequest(idempotency_key=key(), code=code_at(secret, +1)),
        metadata=as_user(tokens.access_token),
        timeout=TIMEOUT_S,
    )
    assert set(renewed.codes).isdisjoint(confirmed.recovery_codes.codes)

    challenge = await login(auth, email)
    with pytest.raises(grpc.aio.AioRpcError):
        await second_factor(
            auth, challenge.mfa_token, recovery_code=confirmed.recovery_codes.codes[0]
        )
    assert (await second_factor(auth, challenge.mfa_token, recovery_code=renewed.codes[0])).tokens


async def test_a_customer_can_turn_totp_off_with_a_code(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, _, _ = await enroll(auth, tokens.access_token)

    await auth.DisableTotp(
        pb.DisableTotpRequest(idempotency_key=key(), code=code_at(secret, +1)),
        metadata=as_user(tokens.access_token),
        timeout=TIMEOUT_S,
    )

    assert (await login(auth, email)).tokens.access_token


async def test_staff_without_totp_get_a_restricted_session_until_they_enroll(
    auth: AuthServiceStub, database_url: str
) -> None:
    email = unique_email("staff")
    await create_user(database_url, email=email, password=PASSWORD, roles=["staff"])

    first = await login(auth, email)
    assert first.mfa_enrollment_required
    _, restricted = await verified_claims(auth, first.tokens.access_token)
    assert (restricted["roles"], restricted["perms"]) == ([], [])

    secret, _, confirmed = await enroll(auth, first.tokens.access_token)
    _, full = await verified_claims(auth, confirmed.tokens.access_token)
    assert full["roles"] == ["staff"]
    assert "catalog:write" in full["perms"]
    assert full["amr"] == ["pwd", "otp"]
    assert confirmed.tokens.session_id == first.tokens.session_id

    with pytest.raises(grpc.aio.AioRpcError) as kept:
        await auth.DisableTotp(
            pb.DisableTotpRequest(idempotency_key=key(), code=code_at(secret, +1)),
            metadata=as_user(confirmed.tokens.access_token),
            timeout=TIMEOUT_S,
        )
    assert kept.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    later = await login(auth, email)
    assert later.mfa_required
    done = await second_factor(auth, later.mfa_token, code=code_at(secret, +1))
    _, claims = await verified_claims(auth, done.tokens.access_token)
    assert claims["roles"] == ["staff"]


# --- guessing is bounded per account, across challenges and endpoints -----------------------


def wrong_code(secret: str) -> str:
    """A well-formed code that no step near now accepts."""
    near = {code_at(secret, offset) for offset in range(-2, 3)}
    return next(
        c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near
    )


async def disable_totp(auth: AuthServiceStub, access_token: str, code: str) -> None:
    await auth.DisableTotp(
        pb.DisableTotpRequest(idempotency_key=key(), code=code),
        metadata=as_user(access_token, ip="198.51.100.77"),
        timeout=TIMEOUT_S,
    )


async def test_eight_wrong_codes_lock_totp_disable_so_the_right_code_is_refused(
    auth: AuthServiceStub,
    mail_dir: Path,
    admin: list[tuple[str, str]],
    flush_audit: Callable[[], Awaitable[None]],
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, _, _ = await enroll(auth, tokens.access_token)
    refusals = []
    for _ in range(8):
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await disable_totp(auth, tokens.access_token, wrong_code(secret))
        refusals.append(wrong.value.code())

    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await disable_totp(auth, tokens.access_token, code_at(secret, +1))

    assert (
        refusals
        == [grpc.StatusCode.INVALID_ARGUMENT] * 5 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    )
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure(locked.value).retry_after_s is not None
    assert (await login(auth, email)).mfa_required  # TOTP is still on
    await flush_audit()
    me = await auth.GetMe(pb.GetMeRequest(), metadata=as_user(tokens.access_token))
    entries = (
        await auth.ListAuditEntries(
            pb.ListAuditEntriesRequest(actor_subject=me.id, action_prefix="auth.second_factor_"),
            metadata=admin,
        )
    ).entries
    failed = [e for e in entries if e.action == "auth.second_factor_failed"]
    assert len(failed) == 5
    assert all(e.outcome == "failed" and e.detail.startswith("totp_disable:") for e in failed)
    assert {e.client_ip for e in failed} == {"198.51.100.77"}
    assert sum(e.action == "auth.second_factor_locked" for e in entries) == 4


async def test_wrong_codes_count_across_password_logins_and_a_right_one_resets_them(
    auth: AuthServiceStub, mail_dir: Path, clock: Clock
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    secret, _, confirmed = await enroll(auth, tokens.access_token)
    first = await login(auth, email)
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await second_factor(auth, first.mfa_token, code=wrong_code(secret))
    second = await login(auth, email)  # a fresh challenge buys no fresh guesses
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await second_factor(auth, second.mfa_token, code=wrong_code(secret))

    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await second_factor(auth, second.mfa_token, code=code_at(secret, +1))
    with pytest.raises(grpc.aio.AioRpcError) as locked_recovery:
        await second_factor(auth, second.mfa_token, recovery_code=confirmed.recovery_codes.codes[0])

    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert locked_recovery.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    clock.advance(31)  # past the first lock (30 s)
    recovered = await second_factor(
        auth, second.mfa_token, recovery_code=confirmed.recovery_codes.codes[0]
    )
    assert recovered.tokens.access_token
    third = await login(auth, email)
    for _ in range(4):  # the right code cleared the count: four typos are free again
        with pytest.raises(grpc.aio.AioRpcError) as typo:
            await second_factor(auth, third.mfa_token, code=wrong_code(secret))
        assert failure(typo.value).reason == "MFA_CODE_INVALID"


async def test_concurrent_guesses_get_no_more_than_the_free_attempts(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)
    secret, _, _ = await enroll(auth, tokens.access_token)

    async def guess() -> grpc.StatusCode:
        try:
            await disable_totp(auth, tokens.access_token, wrong_code(secret))
        except grpc.aio.AioRpcError as refused:
            return refused.code()
        return grpc.StatusCode.OK

    codes = await asyncio.gather(*(guess() for _ in range(25)))

    assert codes.count(grpc.StatusCode.INVALID_ARGUMENT) == 5
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 20
