"""Admin: orders (search, detail, fulfil, ship, refund) and products (variants, prices, stock,
CSV import)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return []
