"""The auth service's composition root: the platform's service host, the secret box of its
secrets at rest (checked to open what is stored), the auth servicer with its mailer, (when
configured) OIDC client and the publisher of revoked sessions, a current signing key, the
audit-log consumer of the AUDIT stream and the housekeeping loops."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora.auth.consumers import audit_log_consumer
from agora.auth.jobs import Housekeeping, RevocationRepublisher
from agora.auth.keys import ensure_current_key
from agora.auth.mail import Mailer
from agora.auth.secrets_at_rest import check_readable, seal_clear_rows
from agora.auth.service import AuthService
from agora.auth.settings import AuthSettings
from agora.platform.bus.streams import audit_stream, ensure_stream
from agora.platform.db import session_factory, transaction
from agora.platform.runtime import service_host
from agora.platform.security.envelope import secret_box
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


async def run(platform: PlatformSettings, settings: AuthSettings | None = None) -> None:
    """Serve auth until cancelled."""
    settings = settings or AuthSettings()
    refuse_development_defaults(platform, settings)  # before a KEK is read, or made in dev
    box = secret_box(platform)  # a missing KEK stops the start here (KekError)
    oidc = oidc_client(settings)
    mailer = Mailer(settings.resolved_smtp_url, settings.mail_from)
    try:
        async with service_host(SERVICE, platform, settings) as host:
            sessions = session_factory(host.engine)
            async with transaction(sessions) as session:
                await seal_clear_rows(session, box)
                await check_readable(session, box)  # a wrong KEK stops the start (WrongKek)
                await ensure_current_key(session, datetime.now(UTC), box)
            await ensure_stream(host.js, audit_stream())
            revocations = RevocationPublisher(host.js)
            host.server.add(
                auth_pb2_grpc.add_AuthServiceServicer_to_server,
                AuthService(
                    host.engine,
                    settings,
                    mailer,
                    secrets=box,
                    oidc=oidc,
                    revocations=revocations,
                ),
            )
            host.background(audit_log_consumer(host.js, sessions).run())
            host.background(Housekeeping(host.engine).run())
            host.background(RevocationRepublisher(host.engine, revocations, settings).run())
            await host.serve_forever()
    finally:
        await mailer.drain()
        if oidc is not None:
            await oidc.aclose()
