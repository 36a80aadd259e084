"""Interactive API docs at `/api/docs`: Swagger UI served from the `swagger-ui-bundle-v2`
package's files, so the page works offline and under a CSP that allows only this origin."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# Swagger UI sets inline styles and shows data: images; everything else comes from this origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="{docs}/init.js"></script>
</body>
</html>
"""

_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "%s",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""


def swagger_ui_directory() -> Path:
    """Where the bundled Swagger UI files are."""
    return Path(str(swagger_ui_bundle.swagger_ui_path))


def docs_routes(spec_url: str, title: str = "Agora API") -> list[BaseRoute]:
    """The docs page, its initializer script and the Swagger UI assets."""
    page = _PAGE.format(title=title, assets=ASSETS_PATH, docs=DOCS_PATH)
    init = _INIT % spec_url

    async def docs_page(request: Request) -> Response:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    async def init_script(request: Request) -> Response:
        return Response(init, media_type="text/javascript")

    return [
        Route(DOCS_PATH, docs_page, methods=["GET"]),
        Route(f"{DOCS_PATH}/init.js", init_script, methods=["GET"]),
        Mount(ASSETS_PATH, app=StaticFiles(directory=swagger_ui_directory())),
    ]
