"""Admin: customers and staff, content, the support queue."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return []
