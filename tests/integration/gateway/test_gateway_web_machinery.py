"""The web pages' machinery over real gRPC: forms refused without their CSRF token or from
another origin, the API's own rate limits counted for the pages' calls too, sessions renewed
from the refresh cookie, and the pages' headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pool
from starlette.requests import Request

from agora._proto.agora.auth.v1 import auth_pb2, auth_pb2_grpc
from agora.gateway.app import create_app, web_limits
from agora.gateway.browser_session import CsrfTokens
from agora.gateway.caller import ACCESS_COOKIE, REFRESH_COOKIE, CallerReader
from agora.gateway.descriptors import files_of, populate_pool, read_descriptor_set
from agora.gateway.ratelimit import Limits, RateLimiter
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import build_routes
from agora.gateway.web.site import Site, WebRefusal
from agora.platform.net import free_port

ORIGIN = "https://shop.test"


@dataclass
class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """The auth service's Login and Refresh, counting calls (a real gRPC server)."""

    logins: int = 0
    refreshed: list[str] = field(default_factory=list)

    async def Login(
        self, request: auth_pb2.LoginRequest, context: object
    ) -> auth_pb2.LoginResponse:
        self.logins += 1
        return auth_pb2.LoginResponse(mfa_required=True, mfa_token="mfa")

    async def Refresh(self, request: auth_pb2.RefreshRequest, context: object) -> auth_pb2.Tokens:
        self.refreshed.append(request.refresh_token)
        # header.{"sid":"s-2"}.signature: only the `sid` claim is read without a verifier.
        return auth_pb2.Tokens(
            access_token="eyJhbGciOiJub25lIn0.eyJzaWQiOiJzLTIifQ.c2ln",
            refresh_token="new-refresh",
            expires_in=900,
        )


@dataclass
class AuthServer:
    service: FakeAuth
    channel: grpc.aio.Channel


@pytest.fixture
async def auth() -> AsyncIterator[AuthServer]:
    service = FakeAuth()
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(service, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield AuthServer(service, channel)
    await channel.close()
    await server.stop(grace=None)


def gateway(auth: AuthServer, **settings: object) -> httpx.AsyncClient:
    app = create_app(
        descriptor_pool.DescriptorPool(),
        lambda name: auth.channel,
        settings=GatewaySettings(**settings),  # type: ignore[arg-type]
        csrf_key=b"k" * 32,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_form_without_the_csrf_token_of_this_browser_is_refused() -> None:
    async with gateway(AuthServer(FakeAuth(), grpc.aio.insecure_channel("127.0.0.1:9"))) as http:
        home = await http.get("/")
        token = csrf_of(home.text)
        missing = await http.post("/preferences", data={"locale": "de"}, headers={"Origin": ORIGIN})
        forged = await http.post(
            "/preferences", data={"locale": "de", "_csrf": token + "x"}, headers={"Origin": ORIGIN}
        )
        elsewhere = await http.post(
            "/preferences",
            data={"locale": "de", "_csrf": token},
            headers={"Origin": "https://evil.test"},
        )
        accepted = await http.post(
            "/preferences", data={"locale": "de", "_csrf": token}, headers={"Origin": ORIGIN}
        )

    assert missing.status_code == 403
    assert forged.status_code == 403
    assert elsewhere.status_code == 403
    assert accepted.status_code == 303
    assert "__Host-agora_locale=de" in accepted.headers["set-cookie"]


async def test_another_browsers_csrf_token_does_not_open_this_browsers_forms() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:9")
    async with (
        gateway(AuthServer(FakeAuth(), channel)) as first,
        gateway(AuthServer(FakeAuth(), channel)) as second,
    ):
        # One gateway key, two browsers (visitor cookies): tokens are bound to the visitor.
        token_of_first = csrf_of((await first.get("/")).text)
        await second.get("/")
        refused = await second.post(
            "/preferences", data={"_csrf": token_of_first}, headers={"Origin": ORIGIN}
        )

    assert refused.status_code == 403


async def test_the_pages_answer_with_a_nonce_csp_and_never_inline_scripts() -> None:
    async with gateway(AuthServer(FakeAuth(), grpc.aio.insecure_channel("127.0.0.1:9"))) as http:
        home = await http.get("/")
        again = await http.get("/")

    csp = home.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert nonce.group(1) not in again.headers["content-security-policy"]
    scripts = re.findall(r"<script\b[^>]*>", home.text)
    assert scripts
    assert all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert not re.search(r"\sstyle=|\son[a-z]+=", home.text)
    assert home.headers["cache-control"] == "no-store"


async def test_versioned_static_files_are_cached_for_a_year_and_compressed() -> None:
    async with gateway(AuthServer(FakeAuth(), grpc.aio.insecure_channel("127.0.0.1:9"))) as http:
        home = await http.get("/")
        found = re.search(r'src="(/static/vendor/htmx\.min\.js\?v=\w+)"', home.text)
        assert found is not None
        script = await http.get(found.group(1), headers={"Accept-Encoding": "gzip"})

    assert script.status_code == 200
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-encoding"] == "gzip"


async def test_api_paths_still_answer_problems_and_pages_answer_html() -> None:
    async with gateway(AuthServer(FakeAuth(), grpc.aio.insecure_channel("127.0.0.1:9"))) as http:
        api = await http.get("/v1/no-such-thing")
        page = await http.get("/no-such-page")

    assert api.headers["content-type"] == "application/problem+json"
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


async def test_web_pages_can_be_turned_off() -> None:
    channel = grpc.aio.insecure_channel("127.0.0.1:9")
    async with gateway(AuthServer(FakeAuth(), channel), web_enabled=False) as http:
        home = await http.get("/")

    assert home.headers["content-type"] == "application/problem+json"


def site_for(auth: AuthServer, limiter: RateLimiter | None) -> Site:
    descriptor_set = read_descriptor_set()
    pool = descriptor_pool.DescriptorPool()
    populate_pool(descriptor_set, pool)
    routes = build_routes(files_of(descriptor_set, pool))
    return Site(
        lambda name: auth.channel,
        CsrfTokens(b"k" * 32),
        verifier=None,
        gateway_proof=None,
        caller_reader=CallerReader(),
        locales=("en", "de"),
        currencies=("EUR",),
        timeout_s=5.0,
        limits=web_limits(limiter, routes),
    )


def request_with(cookies: str = "", client: str = "10.0.0.1") -> Request:
    headers = [(b"host", b"shop.test")]
    if cookies:
        headers.append((b"cookie", cookies.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers,
                    "query_string": b"", "client": (client, 1234), "scheme": "https",
                    "server": ("shop.test", 443)})  # fmt: skip


async def test_a_sign_in_form_counts_against_the_apis_own_login_limit(auth: AuthServer) -> None:
    limiter = RateLimiter(per_ip=Limits.parse("600/minute"), per_user=Limits.parse("600/minute"))
    site = site_for(auth, limiter)
    login = auth_pb2.LoginRequest(email="ada@example.com", password="p" * 12)

    async def attempt(client: str) -> int | None:
        """None when the call went through, else the refusal's status (with a Retry-After)."""
        page = await site.page(request_with(client=client))
        stub = auth_pb2_grpc.AuthServiceStub(auth.channel)
        try:
            await page.call(stub.Login, login)
        except WebRefusal as refusal:
            return refusal.status if refusal.retry_after_s else -1
        return None

    from_one_address = [await attempt("10.0.0.1") for _ in range(6)]
    # Same account from another address: the per-account limit holds it too.
    from_another = await attempt("10.0.0.2")

    assert from_one_address == [None] * 5 + [429]
    assert from_another == 429
    assert auth.service.logins == 5


async def test_an_expired_session_is_renewed_from_the_refresh_cookie(auth: AuthServer) -> None:
    site = site_for(auth, None)

    page = await site.page(request_with(cookies=f"{REFRESH_COOKIE}=s-1.old-refresh"))

    assert auth.service.refreshed == ["old-refresh"]
    set_cookies = [value.decode() for key, value in page.set_cookies if key == b"set-cookie"]
    assert any(c.startswith(f"{ACCESS_COOKIE}=eyJ") for c in set_cookies)
    assert any(c.startswith(f"{REFRESH_COOKIE}=s-2.new-refresh") for c in set_cookies)
    # The services are called with the renewed token.
    assert ("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzaWQiOiJzLTIifQ.c2ln") in page.metadata
