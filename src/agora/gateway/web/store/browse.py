"""Storefront: home, categories, search and product pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        page = await site.page(request)
        return site.render(page, "store/home.html")

    return [Route("/", home, methods=["GET"])]
