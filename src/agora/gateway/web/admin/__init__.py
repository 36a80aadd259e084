"""The admin space's pages (`/admin…`), by area; each module owns its routes and templates."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.admin import catalog_orders, dashboard, people_content
from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return [
        *dashboard.routes(site),
        *catalog_orders.routes(site),
        *people_content.routes(site),
    ]
