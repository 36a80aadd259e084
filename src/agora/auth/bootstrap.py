"""The auth service's composition root: `compose` builds the servicer (with its mailer, OIDC
client when configured, and the publisher of revoked sessions), the audit-log consumer of the
AUDIT stream and the periodic jobs, without serving; `run` readies the secrets at rest and
serves what `compose` built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora.auth.consumers import AUDIT_LOG_CONSUMER, audit_log_consumer
from agora.auth.domain import Clock
from agora.auth.jobs import Housekeeping, RevocationRepublisher
from agora.auth.keys import ensure_current_key
from agora.auth.secrets_at_rest import check_readable, seal_clear_rows
from agora.auth.service import AuthService
from agora.auth.settings import AuthSettings
from agora.platform.bus.streams import audit_stream, ensure_stream
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.mail import Mailer
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.security.envelope import SecretBox, secret_box
from agora.platform.security.revocation import RevocationPublisher
from agora.platform.settings import PlatformSettings, refuse_development_defaults

if TYPE_CHECKING:
    from agora.auth.oidc import OidcClient

SERVICE = "auth"


def oidc_client(settings: AuthSettings) -> OidcClient | None:
    """The OIDC relying party for `AGORA_AUTH_OIDC_PROVIDERS`, or None when none is set."""
    if not settings.oidc_providers.strip():
        return None
    from agora.auth.oidc import OidcClient, providers_from_settings

    return OidcClient(
        providers_from_settings(settings.oidc_providers),
        redirect_uris=settings.allowed_redirect_uris,
    )


def compose(
    backends: Backends,
    settings: AuthSettings,
    *,
    secrets: SecretBox,
    mailer: Mailer,
    oidc: OidcClient | None = None,
    clock: Clock = utcnow,
    audit_log_durable: str = AUDIT_LOG_CONSUMER,
) -> ServiceParts:
    """Every part of auth, built without serving. The secret box, the mailer and the OIDC
    client are the caller's: it opens them (a missing KEK stops a start early) and closes them
    after serving (mail still queued goes out)."""
    revocations = RevocationPublisher(backends.js)
    service = AuthService(
        backends.engine,
        settings,
        mailer,
        secrets=secrets,
        oidc=oidc,
        revocations=revocations,
        clock=clock,
    )
    return ServiceParts(
        servicers=[Servicer(auth_pb2_grpc.add_AuthServiceServicer_to_server, service)],
        consumers=[
            audit_log_consumer(
                backends.js, session_factory(backends.engine), durable=audit_log_durable
            )
        ],
        jobs=[
            Housekeeping(backends.engine),
            RevocationRepublisher(backends.engine, revocations, settings),
        ],
    )


async def ready_secrets(engine: AsyncEngine, box: SecretBox) -> None:
    """Seal what is still stored in clear, check that the KEK opens what is stored (a wrong one
    stops the start: WrongKek), and make sure a key signs tokens."""
    async with transaction(session_factory(engine)) as session:
        await seal_clear_rows(session, box)
        await check_readable(session, box)
        await ensure_current_key(session, utcnow(), box)


async def run(platform: PlatformSettings, settings: AuthSettings | None = None) -> None:
    """Serve auth until cancelled."""
    settings = settings or AuthSettings()
    refuse_development_defaults(platform, settings)  # before a KEK is read, or made in dev
    box = secret_box(platform)  # a missing KEK stops the start here (KekError)
    oidc = oidc_client(settings)
    mailer = Mailer(settings.resolved_smtp_url, settings.mail_from)
    try:
        async with service_host(SERVICE, platform, settings) as host:
            await ready_secrets(host.engine, box)
            await ensure_stream(host.js, audit_stream())
            host.install(compose(host.backends, settings, secrets=box, mailer=mailer, oidc=oidc))
            await host.serve_forever()
    finally:
        await mailer.drain()
        if oidc is not None:
            await oidc.aclose()
