"""The storefront's pages, by area; each module owns its routes and templates."""

from __future__ import annotations

from starlette.routing import BaseRoute

from agora.gateway.web.site import Site
from agora.gateway.web.store import account, browse, checkout


def routes(site: Site) -> list[BaseRoute]:
    return [*browse.routes(site), *checkout.routes(site), *account.routes(site)]
