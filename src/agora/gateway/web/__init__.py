"""The web pages the gateway serves: the storefront at `/` and the admin space at `/admin`
(docs/adr/0012-web-stack.md). `web_app` builds them; `site` holds their machinery."""

from agora.gateway.web.app import web_app
from agora.gateway.web.site import Site

__all__ = ["Site", "web_app"]
