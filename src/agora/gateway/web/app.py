"""The ASGI app of the web pages: static files, the areas' routes, preferences and error pages.

Each area (`store.*`, `admin.*`) is a module with `routes(site)`; this module only puts them
together, so areas never touch each other's files.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from agora.gateway.web.admin import routes as admin_routes
from agora.gateway.web.site import (
    CURRENCY_COOKIE,
    LOCALE_COOKIE,
    STATIC_DIR,
    Site,
    WebRefusal,
    preference_cookie,
)
from agora.gateway.web.store import routes as store_routes
from agora.gateway.web.store.browse import listing_in_new_currency

# A versioned static URL never changes content: cache it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class StaticAssets(StaticFiles):
    """Static files; a URL carrying its content version (`?v=`) is cached for good."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        versioned = b"v=" in scope.get("query_string", b"")
        # Without `pathsend` (granian offers it) the file goes out as body chunks, which the
        # gzip middleware compresses (htmx: 52 KB → 17 KB).
        extensions = {
            k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"
        }
        scope = {**scope, "extensions": extensions}

        async def send_cached(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(k, v) for k, v in message["headers"] if k != b"cache-control"]
                cache = IMMUTABLE if versioned else "public, max-age=300"
                headers.append((b"cache-control", cache.encode()))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_cached)  # type: ignore[arg-type]


def web_app(site: Site) -> Starlette:
    """The storefront and the admin space, with their static files."""

    async def preferences(request: Request) -> Response:
        """The language and currency switch (a form on every storefront page)."""
        page = await site.page(request)
        form = await site.form(page)
        locale, currency = form.get("locale"), form.get("currency")
        if isinstance(locale, str) and locale in site.languages:
            page.set_cookies.append(preference_cookie(LOCALE_COOKIE, locale))
        back = form.get("next")
        back = back if isinstance(back, str) else "/"
        if isinstance(currency, str) and currency in site.currencies:
            page.set_cookies.append(preference_cookie(CURRENCY_COOKIE, currency))
            if currency != page.currency:
                back = listing_in_new_currency(back)
        return site.redirect(page, back)

    async def not_found(request: Request) -> Response:
        page = await site.page(request)
        return site.error_page(page, 404, page.t("Page not found"))

    routes: list[BaseRoute] = [
        Mount("/static", app=StaticAssets(directory=STATIC_DIR), name="static"),
        Route("/preferences", preferences, methods=["POST"]),
        *store_routes(site),
        *admin_routes(site),
        Route("/{path:path}", not_found, methods=ALL_METHODS),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=512)],
        exception_handlers=_error_pages(site),
    )


def _error_pages(site: Site) -> dict[type[Exception] | int, Callable]:  # type: ignore[type-arg]
    async def rpc_failed(request: Request, error: Exception) -> Response:
        assert isinstance(error, grpc.aio.AioRpcError)
        return site.problem_page(await site.page(request), error)

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, WebRefusal)
        response = site.error_page(await site.page(request), error.status, error.message)
        if error.retry_after_s is not None:
            response.headers["retry-after"] = str(error.retry_after_s)
        return response

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if request.url.path.startswith("/static/"):
            return Response(status_code=error.status_code)
        page = await site.page(request)
        message = page.t("Page not found") if error.status_code == 404 else error.detail
        return site.error_page(page, error.status_code, message)

    return {grpc.aio.AioRpcError: rpc_failed, WebRefusal: refused, HTTPException: http_error}
