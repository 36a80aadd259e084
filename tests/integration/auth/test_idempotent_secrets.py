"""Stored idempotent answers never hold secrets (issue 8, finding 3): TOTP enrolment, its
confirmation and regenerated recovery codes are not kept, and a replay says why instead of
answering without them. Keys of guests with nothing to act on must be UUIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import grpc
import pyotp
import pytest
import sqlalchemy as sa
from auth_support import PASSWORD, TIMEOUT_S, as_user, failure, key, logged_in, unique_email
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub


async def stored_answers(auth_engine: AsyncEngine, *keys: str) -> list[tuple[bytes | None, str]]:
    async with auth_engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT response, status FROM idempotency_keys WHERE key = ANY(:keys)"),
            {"keys": list(keys)},
        )
        return [(row.response, row.status) for row in rows]


async def test_totp_secrets_recovery_codes_and_tokens_are_not_stored(
    auth: AuthServiceStub, auth_engine: AsyncEngine, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)
    me = as_user(tokens.access_token)
    enroll, confirm, regenerate = key(), key(), key()
    enrolled = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=enroll), metadata=me, timeout=TIMEOUT_S
    )
    code = pyotp.TOTP(enrolled.secret).now()
    confirmed = await auth.ConfirmTotp(
        pb.ConfirmTotpRequest(idempotency_key=confirm, code=code), metadata=me, timeout=TIMEOUT_S
    )
    later = pyotp.TOTP(enrolled.secret).at(datetime.now(UTC).timestamp() + 30)
    regenerated = await auth.RegenerateRecoveryCodes(
        pb.RegenerateRecoveryCodesRequest(idempotency_key=regenerate, code=later),
        metadata=as_user(confirmed.tokens.access_token),
        timeout=TIMEOUT_S,
    )
    secrets = [
        enrolled.secret,
        enrolled.otpauth_uri,
        *confirmed.recovery_codes.codes,
        confirmed.tokens.refresh_token,
        confirmed.tokens.access_token,
        *regenerated.codes,
    ]
    assert all(secrets)
    assert regenerated.codes

    stored = await stored_answers(auth_engine, enroll, confirm, regenerate)

    assert stored == [(None, "withheld")] * 3
    async with auth_engine.connect() as conn:
        everything = (
            await conn.execute(
                sa.text("SELECT string_agg(encode(response, 'escape'), '') FROM idempotency_keys")
            )
        ).scalar_one()
    assert not any(secret in (everything or "") for secret in secrets)


async def test_a_replayed_confirmation_says_its_codes_are_not_kept(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)
    me = as_user(tokens.access_token)
    enrolled = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=key()), metadata=me, timeout=TIMEOUT_S
    )
    confirm = pb.ConfirmTotpRequest(idempotency_key=key(), code=pyotp.TOTP(enrolled.secret).now())
    await auth.ConfirmTotp(confirm, metadata=me, timeout=TIMEOUT_S)

    with pytest.raises(grpc.aio.AioRpcError) as replayed:
        await auth.ConfirmTotp(confirm, metadata=me, timeout=TIMEOUT_S)

    assert replayed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = failure(replayed.value)
    assert info.reason == "IDEMPOTENT_ANSWER_WITHHELD"
    assert "regenerate the recovery codes" in info.message


async def test_a_guest_registering_with_a_guessable_key_is_refused(auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await auth.Register(
            pb.RegisterRequest(idempotency_key="reg-1", email=unique_email(), password=PASSWORD),
            timeout=TIMEOUT_S,
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in failure(refused.value).violations] == ["idempotencyKey"]
