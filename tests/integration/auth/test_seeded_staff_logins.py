"""Seeded staff and admin accounts: the published development password no longer logs in; the
data dir's own random login (printed once, kept under its secrets) does, with its TOTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from auth_support import (
    failure,
    login,
    over,
    second_factor,
    serve_auth,
    totp_code,
    verified_claims,
)
from security_support import SecurityFiles
from sqlalchemy import make_url
from typer.testing import CliRunner

from agora import cli
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.bootstrap import compose
from agora.auth.settings import AuthSettings
from agora.platform.db import create_engine
from agora.platform.mail import Mailer
from agora.platform.migrations import migrate
from agora.platform.runtime import Backends
from agora.platform.security.envelope import SecretBox
from agora.platform.seeding import seed_id
from agora.seed.generate import ADMIN_EMAIL, STAFF_EMAIL
from agora.seed.runner import SERVICES

PUBLISHED = {ADMIN_EMAIL: "agora-admin-dev", STAFF_EMAIL: "agora-staff-dev"}


async def migrated_database(database_url: str) -> str:
    url = make_url(database_url).set(database=f"staff_{uuid.uuid4().hex[:12]}")
    rendered = url.render_as_string(hide_password=False)
    for service in SERVICES:
        await migrate(service, rendered)
    return rendered


async def seed(url: str, data_dir: Path) -> str:
    """`agora seed --profile test` over `url` with `data_dir`; its output."""
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli.app,
        ["seed", "--profile", "test", "--data-dir", str(data_dir)],
        env={"AGORA_DATABASE_URL": url},
    )
    assert result.exit_code == 0, result.output
    return result.output


@contextlib.asynccontextmanager
async def auth_over(
    url: str,
    backends: Backends,
    settings: AuthSettings,
    mailer: Mailer,
    box: SecretBox,
    files: SecurityFiles,
) -> AsyncIterator[AuthServiceStub]:
    engine = create_engine(url, "auth", pool_size=2)
    parts = compose(over(backends, engine), settings, secrets=box, mailer=mailer)
    server, jwks_channel = await serve_auth(parts, files)
    channel = grpc.aio.insecure_channel(server.address)
    try:
        yield AuthServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)
        await jwks_channel.close()
        await engine.dispose()


async def test_seeded_staff_log_in_with_their_data_dirs_login_not_the_published_password(
    database_url: str,
    auth_backends: Backends,
    auth_settings: AuthSettings,
    mailer: Mailer,
    auth_secrets: SecretBox,
    security_files: SecurityFiles,
    tmp_path: Path,
) -> None:
    url = await migrated_database(database_url)
    data_dir = tmp_path / "data"

    printed = await seed(url, data_dir)
    again = await seed(await migrated_database(database_url), data_dir)

    logins = json.loads((data_dir / "secrets" / "dev-logins.json").read_text())
    for email in PUBLISHED:
        assert logins[email]["password"] in printed
        assert logins[email]["password"] not in again  # printed once, when made
    assert str(data_dir / "secrets" / "dev-logins.json") in " ".join(again.split())
    async with auth_over(
        url, auth_backends, auth_settings, mailer, auth_secrets, security_files
    ) as auth:
        for email, published in PUBLISHED.items():
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await login(auth, email, published)
            assert failure(refused.value).reason == "INVALID_CREDENTIALS"

        challenge = await login(auth, ADMIN_EMAIL, logins[ADMIN_EMAIL]["password"])
        assert challenge.mfa_required
        done = await second_factor(
            auth, challenge.mfa_token, totp_code(logins[ADMIN_EMAIL]["totp_secret"])
        )
        _, claims = await verified_claims(auth, done.tokens.access_token)
    assert claims["sub"] == seed_id("test", "user", ADMIN_EMAIL)
    assert claims["roles"] == ["admin"]
