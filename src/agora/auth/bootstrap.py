"""The auth service's composition root: the platform's service host, the auth servicer with its
mailer and (when configured) OIDC client, a current signing key, the audit-log consumer of the
AUDIT stream and the housekeeping loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora.auth.handlers import Housekeeping, audit_log_consumer
from agora.auth.keys import ensure_current_key
from agora.auth.mail import Mailer
from agora.auth.service import AuthService
from agora.auth.settings import AuthSettings
from agora.platform.bus.streams import audit_stream, ensure_stream
from agora.platform.db import session_factory, transaction
from agora.platform.runtime import service_host
from agora.platform.settings import PlatformSettings

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
    oidc = oidc_client(settings)
    mailer = Mailer(settings.resolved_smtp_url, settings.mail_from)
    try:
        async with service_host(SERVICE, platform, settings) as host:
            sessions = session_factory(host.engine)
            async with transaction(sessions) as session:
                await ensure_current_key(session, datetime.now(UTC))
            await ensure_stream(host.js, audit_stream())
            host.server.add(
                auth_pb2_grpc.add_AuthServiceServicer_to_server,
                AuthService(host.engine, settings, mailer, oidc=oidc),
            )
            host.background(audit_log_consumer(host.js, sessions).run())
            host.background(Housekeeping(host.engine).run())
            await host.serve_forever()
    finally:
        await mailer.drain()
        if oidc is not None:
            await oidc.aclose()
