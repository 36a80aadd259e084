"""Storefront: cart, checkout, payment and the order page."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return []
