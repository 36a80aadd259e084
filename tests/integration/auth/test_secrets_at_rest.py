"""Secrets at rest: TOTP secrets and signing keys are stored sealed under the KEK, each bound
to its row; clear rows of older databases are sealed when the service starts; a wrong KEK stops
the start with a clear message; `agora secrets rotate-kek` re-wraps everything while login,
TOTP and tokens keep working."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from auth_support import (
    PASSWORD,
    TIMEOUT_S,
    Clock,
    as_user,
    enroll_totp,
    logged_in,
    login,
    over,
    second_factor,
    serve_auth,
    totp_code,
    unique_email,
    verified_claims,
)
from security_support import SecurityFiles
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agora import cli
from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.bootstrap import compose, run
from agora.auth.commands import create_user, rotate_signing_keys
from agora.auth.keys import new_key_pair, signing_key_context
from agora.auth.passwords import Passwords
from agora.auth.secrets_at_rest import WrongKek
from agora.auth.settings import AuthSettings
from agora.auth.totp import TotpSecrets, new_secret
from agora.platform.db import create_engine
from agora.platform.mail import Mailer
from agora.platform.migrations import migrate
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.runtime import Backends, ServiceParts
from agora.platform.security.envelope import (
    KekFile,
    SecretBox,
    SecretUnreadable,
    is_sealed,
    new_key_line,
)
from agora.platform.settings import PlatformSettings

SEALED_VALUES = (
    "SELECT totp_secret AS value FROM users WHERE totp_secret IS NOT NULL "
    "UNION ALL SELECT totp_pending_secret FROM users WHERE totp_pending_secret IS NOT NULL "
    "UNION ALL SELECT private_pem FROM signing_keys"
)


def fresh_database_url(database_url: str) -> str:
    name = f"auth_{uuid.uuid4().hex[:12]}"
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


def kek_file(directory: Path) -> Path:
    path = directory / "kek"
    path.write_text(new_key_line() + "\n")
    path.chmod(0o600)
    return path


async def stored_values(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [row.value for row in await conn.execute(sa.text(SEALED_VALUES))]


async def user_id(engine: AsyncEngine, email: str) -> str:
    async with engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT id FROM users WHERE email = :e"), {"e": email})
        return str(found.scalar_one())


@contextlib.asynccontextmanager
async def served(parts: ServiceParts, files: SecurityFiles) -> AsyncIterator[AuthServiceStub]:
    server, jwks_channel = await serve_auth(parts, files)
    channel = grpc.aio.insecure_channel(server.address)
    try:
        yield AuthServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)
        await jwks_channel.close()


async def test_the_database_holds_no_clear_totp_secret_or_private_key(
    auth: AuthServiceStub, mail_dir: Path, auth_engine: AsyncEngine, auth_secrets: SecretBox
) -> None:
    _, pending_tokens = await logged_in(auth, mail_dir)
    pending = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=uuid.uuid4().hex),
        metadata=as_user(pending_tokens.access_token),
        timeout=TIMEOUT_S,
    )
    email, tokens = await logged_in(auth, mail_dir)
    secret = await enroll_totp(auth, tokens.access_token)

    values = await stored_values(auth_engine)

    assert values
    for value in values:
        assert is_sealed(value)
        assert "PRIVATE KEY" not in value
        assert secret not in value
        assert pending.secret not in value
    async with auth_engine.connect() as conn:
        row = await conn.execute(
            sa.text("SELECT id, totp_secret FROM users WHERE email = :e"), {"e": email}
        )
        found = row.one()
    assert TotpSecrets(auth_secrets).open(str(found.id), found.totp_secret) == secret


async def test_a_totp_secret_moved_to_another_account_does_not_open(
    auth: AuthServiceStub, mail_dir: Path, auth_engine: AsyncEngine, auth_secrets: SecretBox
) -> None:
    alice_email, alice_tokens = await logged_in(auth, mail_dir)
    alice_secret = await enroll_totp(auth, alice_tokens.access_token)
    bob_email, bob_tokens = await logged_in(auth, mail_dir)
    await enroll_totp(auth, bob_tokens.access_token)
    async with auth_engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE users SET totp_secret = "
                "(SELECT totp_secret FROM users WHERE email = :alice) WHERE email = :bob"
            ),
            {"alice": alice_email, "bob": bob_email},
        )
        moved = (
            await conn.execute(
                sa.text("SELECT totp_secret FROM users WHERE email = :bob"), {"bob": bob_email}
            )
        ).scalar_one()

    challenge = await login(auth, bob_email)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await second_factor(auth, challenge.mfa_token, totp_code(alice_secret, +1))

    assert refused.value.code() == grpc.StatusCode.INTERNAL
    assert refused.value.details() == "internal error"
    with pytest.raises(SecretUnreadable):
        TotpSecrets(auth_secrets).open(await user_id(auth_engine, bob_email), moved)


async def test_rotating_the_kek_rewraps_every_secret_and_login_totp_and_tokens_keep_working(
    database_url: str,
    auth_backends: Backends,
    auth_settings: AuthSettings,
    mailer: Mailer,
    security_files: SecurityFiles,
    tmp_path: Path,
) -> None:
    url = fresh_database_url(database_url)
    await migrate("auth", url)
    path = kek_file(tmp_path)
    box = SecretBox(KekFile(path))
    old_kek = box.current_kek_id
    email = unique_email("rotation")
    await create_user(url, email=email, password=PASSWORD, roles=[])
    engine = create_engine(url, "auth", pool_size=4)
    try:
        backends = over(auth_backends, engine)
        parts = compose(backends, auth_settings, secrets=box, mailer=mailer)
        async with served(parts, security_files) as auth:
            tokens = (await login(auth, email)).tokens
            secret = await enroll_totp(auth, tokens.access_token)
            assert {SecretBox(KekFile(path)).kek_id_of(v) for v in await stored_values(engine)} == {
                old_kek
            }

            rotated = await asyncio.to_thread(
                CliRunner().invoke,
                cli.app,
                ["secrets", "rotate-kek", "--grace-s", "0"],
                env={"AGORA_DATABASE_URL": url, "AGORA_KEK_FILE": str(path)},
            )

            assert rotated.exit_code == 0, rotated.output
            new_kek = box.current_kek_id
            assert new_kek != old_kek
            assert KekFile(path).key_lines() == [path.read_text().strip()]  # the old KEK is gone
            values = await stored_values(engine)
            assert len(values) >= 2
            assert {box.kek_id_of(value) for value in values} == {new_kek}
            # The running service: its earlier token verifies, a TOTP login completes.
            me = await auth.GetMe(pb.GetMeRequest(), metadata=as_user(tokens.access_token))
            assert me.email == email
            challenge = await login(auth, email)
            assert (await second_factor(auth, challenge.mfa_token, totp_code(secret, +1))).tokens

        # A service started afterwards holds the new KEK alone, and signs with the old key.
        later = Clock()
        later.advance(60)
        restarted = compose(
            backends, auth_settings, secrets=SecretBox(KekFile(path)), mailer=mailer, clock=later
        )
        async with served(restarted, security_files) as auth:
            challenge = await login(auth, email)
            done = await second_factor(auth, challenge.mfa_token, totp_code(secret, +2))
            assert done.tokens.access_token
    finally:
        await engine.dispose()


async def test_a_wrong_kek_stops_the_service_at_start_with_a_clear_message(
    auth: AuthServiceStub,
    database_url: str,
    nats_url: str,
    smtp_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await auth.GetJwks(pb.GetJwksRequest(), timeout=TIMEOUT_S)  # a sealed key is stored
    port = free_port()
    monkeypatch.setenv("AGORA_AUTH_ADDRESS", f"127.0.0.1:{port}")
    platform = PlatformSettings(
        database_url=database_url, nats_url=nats_url, kek_file=kek_file(tmp_path)
    )
    settings = AuthSettings(port=port, smtp_url=f"smtp://127.0.0.1:{smtp_port}")

    with pytest.raises(WrongKek) as stopped:
        await asyncio.wait_for(run(platform, settings), 30)

    message = str(stopped.value)
    assert "the key-encryption key does not open the secrets stored in the auth schema" in message
    assert "AGORA_KEK_FILE" in message


async def test_clear_secrets_of_an_older_database_are_sealed_when_the_service_starts(
    database_url: str,
    nats_url: str,
    smtp_port: int,
    security_files: SecurityFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = fresh_database_url(database_url)
    await migrate("auth", url, "0001")
    email, secret = unique_email("older"), new_secret()
    kid, pem, public = new_key_pair()
    engine = create_engine(url, "auth", pool_size=2)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            account = uuid.uuid4()
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, password_hash, email_verified_at, "
                    "totp_secret, totp_enabled_at) VALUES (:id, :email, 'Older', :hash, :now, "
                    ":secret, :now)"
                ),
                {
                    "id": account,
                    "email": email,
                    "hash": await Passwords().hash(PASSWORD),
                    "now": now,
                    "secret": secret,
                },
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO signing_keys (kid, private_pem, public_jwk, created_at, "
                    "activates_at) VALUES (:kid, :pem, CAST(:jwk AS jsonb), :at, :at)"
                ),
                {
                    "kid": kid,
                    "pem": pem,
                    "jwk": json.dumps(public),
                    "at": now - timedelta(minutes=1),
                },
            )
        port = free_port()
        monkeypatch.setenv("AGORA_AUTH_ADDRESS", f"127.0.0.1:{port}")
        platform = PlatformSettings(database_url=url, nats_url=nats_url)
        settings = AuthSettings(port=port, smtp_url=f"smtp://127.0.0.1:{smtp_port}")
        serving = asyncio.create_task(run(platform, settings))
        try:
            await wait_for_port_async(port, timeout_s=30)
            values = await stored_values(engine)
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            auth = AuthServiceStub(channel)
            challenge = await login(auth, email)
            done = await second_factor(auth, challenge.mfa_token, totp_code(secret))
            header, _ = await verified_claims(auth, done.tokens.access_token)
            await channel.close()
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(serving, 15)
    finally:
        await engine.dispose()

    assert len(values) == 2
    assert all(is_sealed(value) for value in values)
    assert header["kid"] == kid  # the key stored in clear signs, now sealed


async def test_rewrap_moves_every_secret_to_the_first_key_of_a_managed_kek_file(
    database_url: str, tmp_path: Path
) -> None:
    url = fresh_database_url(database_url)
    path = kek_file(tmp_path)
    old = KekFile(path).key_lines()
    await rotate_signing_keys(url, SecretBox(KekFile(path)))
    KekFile(path).write([new_key_line(), *old])  # the operator's rollout: new key first

    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli.app,
        ["secrets", "rewrap"],
        env={"AGORA_DATABASE_URL": url, "AGORA_KEK_FILE": str(path)},
    )

    assert result.exit_code == 0, result.output
    KekFile(path).write(KekFile(path).key_lines()[:1])  # the old key dropped
    box = SecretBox(KekFile(path))
    engine = create_engine(url, "auth", pool_size=1)
    try:
        values = await stored_values(engine)
        async with engine.connect() as conn:
            kid = (await conn.execute(sa.text("SELECT kid FROM signing_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert [box.kek_id_of(value) for value in values] == [box.current_kek_id]
    assert b"PRIVATE KEY" in box.open(values[0], signing_key_context(kid))
