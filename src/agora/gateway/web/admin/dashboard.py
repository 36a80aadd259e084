"""Admin: sign-in with 2FA, the dashboard, reports, reconciliation runs and the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora.gateway.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    async def dashboard(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return site.redirect(page, "/admin/login?next=/admin")
        return site.render(page, "admin/dashboard.html")

    return [Route("/admin", dashboard, methods=["GET"])]
