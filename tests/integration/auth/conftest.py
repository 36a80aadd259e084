"""The auth service served for real: migrated schema, a local SMTP sink, the gRPC server with the
security interceptor (user tokens verified under its own GetJwks, the tests' admin tokens under
the test JWKS), and the outbox relay and audit-log consumer driven by the tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import nats
import pytest
from auth_support import Clock, serve_auth
from nats.js import JetStreamContext
from security_support import SecurityFiles, admin_authorization
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora.auth.bootstrap import compose
from agora.auth.settings import AuthSettings
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.relay import OutboxRelay
from agora.platform.bus.streams import audit_stream, ensure_stream, producer_stream
from agora.platform.db import create_engine
from agora.platform.embedded.mail_sink import running_mail_sink
from agora.platform.mail import Mailer
from agora.platform.migrations import migrate
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, ServiceParts, service_resolver
from agora.platform.security.envelope import KekFile, SecretBox
from agora.platform.settings import PlatformSettings


@pytest.fixture(scope="session")
async def auth_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("auth", database_url)
    engine = create_engine(database_url, "auth", pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("mail"))


@pytest.fixture(scope="session")
async def smtp_port(mail_dir: Path) -> AsyncIterator[int]:
    port = free_port()
    async with running_mail_sink(mail_dir, port):
        yield port


@pytest.fixture(scope="session")
def auth_settings(smtp_port: int) -> AuthSettings:
    return AuthSettings(
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        public_base_url="http://shop.test",
        lockout_free_attempts=3,
        lockout_account_free_attempts=6,
        lockout_base_delay_s=1.0,
        lockout_max_delay_s=60.0,
    )


@pytest.fixture(scope="session")
def clock_source() -> Clock:
    return Clock()


@pytest.fixture
def clock(clock_source: Clock) -> Iterator[Clock]:
    """The service's clock, back to real time after the test (tokens are checked in real time)."""
    yield clock_source
    clock_source.offset = type(clock_source.offset)()


@pytest.fixture(scope="session")
async def mailer(auth_settings: AuthSettings) -> AsyncIterator[Mailer]:
    sender = Mailer(auth_settings.resolved_smtp_url, auth_settings.mail_from)
    yield sender
    await sender.drain()


@pytest.fixture(scope="session")
def auth_secrets(security_files: SecurityFiles) -> SecretBox:
    """The box sealing auth's secrets at rest, over the session's KEK file."""
    return SecretBox(KekFile(security_files.kek_path))


@pytest.fixture(scope="session")
async def auth_backends(
    auth_engine: AsyncEngine, database_url: str, nats_url: str, js: JetStreamContext
) -> AsyncIterator[Backends]:
    """What `compose` builds auth from: the test database, NATS, no discovery."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    async with service_resolver(platform, js) as channels:
        yield Backends(platform, auth_engine, js, channels)


@pytest.fixture(scope="session")
def auth_parts(
    auth_backends: Backends,
    auth_settings: AuthSettings,
    mailer: Mailer,
    clock_source: Clock,
    auth_secrets: SecretBox,
) -> ServiceParts:
    """Auth as `agora serve` composes it, on the tests' clock, its audit-log consumer under a
    durable name of its own."""
    return compose(
        auth_backends,
        auth_settings,
        secrets=auth_secrets,
        mailer=mailer,
        clock=clock_source,
        audit_log_durable=f"auth-audit-log-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="session")
async def auth_server(
    auth_parts: ServiceParts, security_files: SecurityFiles
) -> AsyncIterator[GrpcServer]:
    server, jwks_channel = await serve_auth(auth_parts, security_files)
    yield server
    await server.stop(0)
    await jwks_channel.close()


@pytest.fixture(scope="session")
async def auth(auth_server: GrpcServer) -> AsyncIterator[auth_pb2_grpc.AuthServiceStub]:
    """A client without credentials: each call sends its own (`as_user`, `admin`)."""
    channel = grpc.aio.insecure_channel(auth_server.address)
    yield auth_pb2_grpc.AuthServiceStub(channel)
    await channel.close()


@pytest.fixture(scope="session")
def admin() -> list[tuple[str, str]]:
    """Metadata of an admin (every permission), signed by the test key."""
    return [("authorization", admin_authorization()())]


@pytest.fixture(scope="session")
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()  # not drain: it would wait out the audit consumer's idle pull subscription


@pytest.fixture(scope="session")
async def audit_pipeline(
    auth_engine: AsyncEngine, js: JetStreamContext, auth_parts: ServiceParts
) -> tuple[OutboxRelay, EventConsumer]:
    """The relay of auth's outbox and the audit-log consumer, run step by step by the tests."""
    await ensure_stream(js, producer_stream("auth"))
    await ensure_stream(js, audit_stream())
    relay = OutboxRelay(auth_engine, js, schema="auth")
    (consumer,) = auth_parts.consumers
    assert isinstance(consumer, EventConsumer)
    return relay, consumer


@pytest.fixture
async def flush_audit(
    audit_pipeline: tuple[OutboxRelay, EventConsumer],
) -> Callable[[], Awaitable[None]]:
    """Publish auth's outbox and let the audit log take in everything published."""
    relay, consumer = audit_pipeline

    async def flush() -> None:
        await relay.publish_all_pending()
        while await consumer.consume_once(timeout_s=0.5):
            pass

    return flush
