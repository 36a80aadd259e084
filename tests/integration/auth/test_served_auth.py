"""Auth as `agora serve auth` runs it (`bootstrap.run`): migrations, a signing key, gRPC with
the security interceptor verifying its own tokens, the outbox relay publishing audit entries to
the AUDIT stream and the audit-log consumer keeping them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from auth_support import TIMEOUT_S, as_user, login, verified_account
from security_support import admin_authorization

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.bootstrap import run
from agora.auth.settings import AuthSettings
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.settings import PlatformSettings


@pytest.fixture
async def served_auth(
    database_url: str, nats_url: str, smtp_port: int, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AuthServiceStub]:
    port = free_port()
    # Where the service's own interceptor fetches the JWKS (itself).
    monkeypatch.setenv("AGORA_AUTH_ADDRESS", f"127.0.0.1:{port}")
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url)
    settings = AuthSettings(port=port, smtp_url=f"smtp://127.0.0.1:{smtp_port}")
    serving = asyncio.create_task(run(platform, settings))
    await wait_for_port_async(port, timeout_s=30)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield AuthServiceStub(channel)
    await channel.close()
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 15)
    assert serving.done()


async def test_a_login_reaches_the_audit_log_through_the_audit_stream(
    served_auth: AuthServiceStub, mail_dir: Path
) -> None:
    email = await verified_account(served_auth, mail_dir)
    tokens = (await login(served_auth, email)).tokens
    me = await served_auth.GetMe(pb.GetMeRequest(), metadata=as_user(tokens.access_token))
    admin = [("authorization", admin_authorization()())]

    actions: list[str] = []
    for _ in range(100):
        found = await served_auth.ListAuditEntries(
            pb.ListAuditEntriesRequest(actor_subject=me.id), metadata=admin, timeout=TIMEOUT_S
        )
        actions = [e.action for e in found.entries]
        if "auth.login" in actions:
            break
        await asyncio.sleep(0.1)
    assert actions == ["auth.login", "auth.email_verified", "auth.registered"]
