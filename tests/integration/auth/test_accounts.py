"""Registration, email verification, login, refresh rotation with reuse detection, sessions,
password reset, lockout: through gRPC against the real service, mail read from the sink."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import grpc
import pytest
from auth_support import (
    PASSWORD,
    TIMEOUT_S,
    Clock,
    as_user,
    failure,
    key,
    link_token,
    logged_in,
    login,
    mail_to,
    origin,
    register,
    unique_email,
    verified_account,
    verified_claims,
)

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.platform.embedded.mail_sink import stored_mail

NEW_PASSWORD = "another long passphrase 42"


async def refresh(auth: AuthServiceStub, token: str, **where: str) -> pb.Tokens:
    return await auth.Refresh(
        pb.RefreshRequest(refresh_token=token), metadata=origin(**where), timeout=TIMEOUT_S
    )


async def test_register_then_verify_by_mail_then_log_in(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = unique_email("newcomer")
    await register(auth, email)
    (mail,) = await mail_to(mail_dir, email, "Confirm your email")
    assert "http://shop.test/account/verify?token=" in mail.body()

    with pytest.raises(grpc.aio.AioRpcError) as unverified:
        await login(auth, email)
    assert unverified.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    verified = await auth.VerifyEmail(
        pb.VerifyEmailRequest(idempotency_key=key(), token=link_token(mail)), timeout=TIMEOUT_S
    )
    assert verified.email == email
    response = await login(auth, email)
    assert response.tokens.access_token
    assert not response.mfa_required
    me = await auth.GetMe(pb.GetMeRequest(), metadata=as_user(response.tokens.access_token))
    assert (me.email, list(me.roles), me.email_verified) == (email, ["customer"], True)


async def test_a_verification_link_works_once(auth: AuthServiceStub, mail_dir: Path) -> None:
    email = unique_email()
    await register(auth, email)
    (mail,) = await mail_to(mail_dir, email, "Confirm your email")
    request = pb.VerifyEmailRequest(idempotency_key=key(), token=link_token(mail))
    await auth.VerifyEmail(request, timeout=TIMEOUT_S)

    assert (await auth.VerifyEmail(request, timeout=TIMEOUT_S)).email == email  # a retry
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await auth.VerifyEmail(
            pb.VerifyEmailRequest(idempotency_key=key(), token=link_token(mail)),
            timeout=TIMEOUT_S,
        )
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_registering_a_taken_email_answers_alike_and_tells_its_owner(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)
    fresh = await auth.Register(
        pb.RegisterRequest(idempotency_key=key(), email=unique_email(), password=PASSWORD),
        timeout=TIMEOUT_S,
    )
    taken = await auth.Register(
        pb.RegisterRequest(idempotency_key=key(), email=email, password=PASSWORD),
        timeout=TIMEOUT_S,
    )

    assert taken == fresh
    (notice,) = await mail_to(mail_dir, email, "tried to register")
    assert "token=" not in notice.body()


async def test_weak_passwords_are_refused_naming_the_field(auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.Register(
            pb.RegisterRequest(idempotency_key=key(), email=unique_email(), password="short"),
            timeout=TIMEOUT_S,
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure(error.value).violations[0].field == "password"


async def test_access_tokens_carry_the_claims_of_adr_0007_signed_with_a_published_key(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)

    header, claims = await verified_claims(auth, tokens.access_token)

    assert header["alg"] == "EdDSA"
    assert header["typ"] == "at+jwt"
    assert header["kid"]
    assert claims["iss"] == claims["aud"] == "agora"
    assert claims["sid"] == tokens.session_id
    assert claims["roles"] == ["customer"]
    assert claims["perms"] == ["orders:read:own", "support:read:own"]
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == tokens.expires_in == 900
    assert claims["nbf"] == claims["iat"]
    assert claims["jti"]


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, first = await logged_in(auth, mail_dir)

    second = await refresh(auth, first.refresh_token)
    third = await refresh(auth, second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert second.session_id == first.session_id == third.session_id

    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await refresh(auth, first.refresh_token)
    assert reused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert failure(reused.value).reason == "REFRESH_TOKEN_REUSED"

    with pytest.raises(grpc.aio.AioRpcError) as family:
        await refresh(auth, third.refresh_token)
    assert failure(family.value).reason == "REFRESH_TOKEN_INVALID"


async def test_sessions_per_device_are_listed_and_revocable(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)
    laptop = (await login(auth, email, ip="198.51.100.1", user_agent="Laptop/1")).tokens
    phone = (await login(auth, email, ip="198.51.100.2", user_agent="Phone/2")).tokens

    listed = await auth.ListSessions(
        pb.ListSessionsRequest(), metadata=as_user(laptop.access_token), timeout=TIMEOUT_S
    )
    devices = {(s.user_agent, s.client_ip, s.current) for s in listed.sessions}
    assert devices == {("Laptop/1", "198.51.100.1", True), ("Phone/2", "198.51.100.2", False)}

    await auth.RevokeSession(
        pb.RevokeSessionRequest(idempotency_key=key(), session_id=phone.session_id),
        metadata=as_user(laptop.access_token),
        timeout=TIMEOUT_S,
    )
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await refresh(auth, phone.refresh_token)
    assert revoked.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await refresh(auth, laptop.refresh_token)).access_token


async def test_another_accounts_session_cannot_be_revoked(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, mine = await logged_in(auth, mail_dir)
    _, theirs = await logged_in(auth, mail_dir)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.RevokeSession(
            pb.RevokeSessionRequest(idempotency_key=key(), session_id=theirs.session_id),
            metadata=as_user(mine.access_token),
            timeout=TIMEOUT_S,
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_logout_ends_the_session_and_logout_everywhere_ends_them_all(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)
    one, two, three = [(await login(auth, email)).tokens for _ in range(3)]

    await auth.Logout(pb.LogoutRequest(idempotency_key=key()), metadata=as_user(one.access_token))
    with pytest.raises(grpc.aio.AioRpcError):
        await refresh(auth, one.refresh_token)

    everywhere = await auth.LogoutEverywhere(
        pb.LogoutEverywhereRequest(idempotency_key=key()), metadata=as_user(two.access_token)
    )
    assert everywhere.revoked == 2
    for tokens in (two, three):
        with pytest.raises(grpc.aio.AioRpcError):
            await refresh(auth, tokens.refresh_token)


async def test_account_calls_need_a_token(auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.ListSessions(pb.ListSessionsRequest(), timeout=TIMEOUT_S)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_password_reset_by_mail_works_once_and_ends_every_session(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    answer = await auth.RequestPasswordReset(
        pb.RequestPasswordResetRequest(idempotency_key=key(), email=email), timeout=TIMEOUT_S
    )
    (mail,) = await mail_to(mail_dir, email, "Reset your password")
    reset = pb.ResetPasswordRequest(
        idempotency_key=key(), token=link_token(mail), new_password=NEW_PASSWORD
    )
    await auth.ResetPassword(reset, timeout=TIMEOUT_S)

    assert answer.message
    assert (await login(auth, email, NEW_PASSWORD)).tokens.access_token
    with pytest.raises(grpc.aio.AioRpcError):
        await login(auth, email, PASSWORD)
    with pytest.raises(grpc.aio.AioRpcError):
        await refresh(auth, tokens.refresh_token)
    reset.idempotency_key = key()
    with pytest.raises(grpc.aio.AioRpcError) as spent:
        await auth.ResetPassword(reset, timeout=TIMEOUT_S)
    assert spent.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_password_reset_link_expires_after_an_hour(
    auth: AuthServiceStub, mail_dir: Path, clock: Clock
) -> None:
    email = await verified_account(auth, mail_dir)
    await auth.RequestPasswordReset(
        pb.RequestPasswordResetRequest(idempotency_key=key(), email=email), timeout=TIMEOUT_S
    )
    (mail,) = await mail_to(mail_dir, email, "Reset your password")

    clock.advance(3601)
    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await auth.ResetPassword(
            pb.ResetPasswordRequest(
                idempotency_key=key(), token=link_token(mail), new_password=NEW_PASSWORD
            ),
            timeout=TIMEOUT_S,
        )
    assert expired.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_unknown_email_gets_the_same_reset_answer_and_no_mail(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    known = await verified_account(auth, mail_dir)
    unknown = unique_email("nobody")

    answers = [
        await auth.RequestPasswordReset(
            pb.RequestPasswordResetRequest(idempotency_key=key(), email=email), timeout=TIMEOUT_S
        )
        for email in (known, unknown)
    ]

    assert answers[0] == answers[1]
    await mail_to(mail_dir, known, "Reset your password")
    assert not [m for m in stored_mail(mail_dir) if m.to == unknown]


async def timed_login_failure(auth: AuthServiceStub, email: str) -> tuple[str, float]:
    began = time.perf_counter()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await login(auth, email, "wrong password entirely", ip=f"192.0.2.{len(email) % 250}")
    return failure(error.value).reason, time.perf_counter() - began


async def test_an_unknown_email_fails_like_a_wrong_password_and_as_slowly(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    known = await verified_account(auth, mail_dir)
    unknown = unique_email("nobody")
    known_runs = [await timed_login_failure(auth, known) for _ in range(3)]
    unknown_runs = [await timed_login_failure(auth, unknown) for _ in range(3)]

    assert {reason for reason, _ in known_runs + unknown_runs} == {"INVALID_CREDENTIALS"}
    known_s = statistics.median(s for _, s in known_runs)
    unknown_s = statistics.median(s for _, s in unknown_runs)
    # Both verify an argon2id hash; an unknown email must not answer visibly faster.
    assert unknown_s > 0.5 * known_s


async def test_failed_logins_lock_the_account_with_a_growing_delay(
    auth: AuthServiceStub, mail_dir: Path, clock: Clock
) -> None:
    email = await verified_account(auth, mail_dir)
    for _ in range(3):  # the free attempts (lockout_free_attempts=3)
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await login(auth, email, "not the password at all")
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED

    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await login(auth, email)  # even the right password waits
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure(locked.value).retry_after_s == 1

    clock.advance(1.5)
    with pytest.raises(grpc.aio.AioRpcError):
        await login(auth, email, "not the password at all")
    with pytest.raises(grpc.aio.AioRpcError) as longer:
        await login(auth, email)
    assert failure(longer.value).retry_after_s == 2

    clock.advance(2.5)
    assert (await login(auth, email)).tokens.access_token
    with pytest.raises(grpc.aio.AioRpcError) as cleared:
        await login(auth, email, "not the password at all")
    assert cleared.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_another_ip_is_locked_out_only_by_the_account_counter(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await login(auth, email, "not the password at all", ip="198.51.100.66")

    assert (await login(auth, email, ip="198.51.100.77")).tokens.access_token


# --- only the gateway reports where a call comes from ---------------------------------------


def forged_origin(ip: str) -> list[tuple[str, str]]:
    """What a direct gRPC caller can send: the gateway's headers without its proof."""
    return [("x-agora-client-ip", ip), ("x-agora-user-agent", "Forged/1")]


async def test_a_direct_caller_cannot_choose_the_address_a_session_records(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)

    signed_in = await auth.Login(
        pb.LoginRequest(email=email, password=PASSWORD),
        metadata=forged_origin("203.0.113.250"),
        timeout=TIMEOUT_S,
    )
    listed = await auth.ListSessions(
        pb.ListSessionsRequest(),
        metadata=as_user(signed_in.tokens.access_token),
        timeout=TIMEOUT_S,
    )

    assert [(s.client_ip, s.user_agent) for s in listed.sessions] == [("127.0.0.1", "")]


async def test_a_direct_caller_cannot_escape_the_address_lockout_by_forging_addresses(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(auth, mail_dir)
    codes = []
    for attempt in range(6):  # the account alone locks only after six failures
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await auth.Login(
                pb.LoginRequest(email=email, password="not the password at all"),
                metadata=forged_origin(f"203.0.113.{attempt + 1}"),
                timeout=TIMEOUT_S,
            )
        codes.append(refused.value.code())

    # Every attempt counted on the one real address, locked after three.
    assert codes[:3] == [grpc.StatusCode.UNAUTHENTICATED] * 3
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
