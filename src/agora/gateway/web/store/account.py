"""Storefront: the account (register, verify, 2FA sign-in, sessions, orders, returns) and the
support chat."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return []
