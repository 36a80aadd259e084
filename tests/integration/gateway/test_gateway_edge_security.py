"""The edge's security (docs/adr/0007, "Edge"): what every call carries to the backend, the CSRF
double-submit check of cookie sessions, the 401/403/429 problems, the security headers on
every answer and the security the OpenAPI document declares."""

from __future__ import annotations

import base64
import json

import grpc
import httpx
import pytest
from door_backend import CSRF_KEY, Door, door_app, gateway_client
from google.protobuf import descriptor_pb2, descriptor_pool
from openapi_spec_validator import validate
from security_support import service_identity
from starlette.applications import Starlette
from testshop_backend import RunningShop, build_app

from agora.gateway.app import create_app
from agora.gateway.browser_session import SESSION_METHODS, CsrfTokens
from agora.gateway.cache import ResponseCache
from agora.gateway.caller import ACCESS_COOKIE
from agora.gateway.descriptors import (
    SourceComments,
    default_pool,
    files_of,
    read_descriptor_set,
)
from agora.gateway.openapi import openapi_document
from agora.gateway.settings import GatewaySettings
from agora.gateway.transcoding import build_routes
from agora.platform.net import free_port
from agora.platform.security.tokens import TokenVerifier

PROBLEM = "application/problem+json"
TOKEN = "header.payload.signature"
SESSION = "6f1c2a4e-0b7d-4f3a-9e55-1d2c3b4a5f60"
# Shaped as an access token of SESSION (the door never verifies it; the CSRF check reads `sid`).
COOKIE_TOKEN = (
    "e30."
    + base64.urlsafe_b64encode(json.dumps({"sid": SESSION}).encode()).rstrip(b"=").decode()
    + ".cookie-signature"
)
CSRF = CsrfTokens(CSRF_KEY).for_session(SESSION)
OTHER_SESSION_CSRF = CsrfTokens(CSRF_KEY).for_session("0b9e4c1d-5a3f-4e2b-8c7d-6f5e4d3c2b1a")
ACCESS = "__Host-agora_access"
CSRF_COOKIE = "__Host-agora_csrf"
EXPECTED_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def app(door_descriptors: descriptor_pb2.FileDescriptorSet, door: Door) -> Starlette:
    return door_app(door_descriptors, door, GatewaySettings(trusted_proxies=["10.0.0.0/8"]))


async def test_every_call_carries_credentials_client_ip_and_user_agent(
    app: Starlette, door: Door
) -> None:
    async with gateway_client(app, client_ip="198.51.100.20") as http:
        response = await http.post(
            "/v1/door:knock",
            json={"note": "hello"},
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/140.0",
                "X-Request-Id": "knock-1",
            },
        )

    assert response.status_code == 200, response.text
    metadata = response.json()["metadata"]
    proof = await TokenVerifier(None, service_identity("gateway").verification_keys()).verify(
        metadata.pop("x-agora-gateway")
    )
    assert proof.subject == "service:gateway"
    assert metadata == {
        "authorization": f"Bearer {TOKEN}",
        "x-agora-client-ip": "198.51.100.20",
        "x-agora-user-agent": "Mozilla/5.0 (X11; Linux) Firefox/140.0",
        "x-request-id": "knock-1",
    }


async def test_an_anonymous_call_carries_no_authorization(app: Starlette, door: Door) -> None:
    async with gateway_client(app) as http:
        response = await http.get("/v1/door")

    assert response.status_code == 200
    assert "authorization" not in door.last_metadata()
    assert door.last_metadata()["x-agora-client-ip"] == "203.0.113.7"


async def test_the_access_cookie_is_sent_on_as_a_bearer_token(app: Starlette, door: Door) -> None:
    async with gateway_client(app) as http:
        response = await http.get("/v1/door", headers={"Cookie": f"{ACCESS}={COOKIE_TOKEN}"})

    assert response.status_code == 200
    assert door.last_metadata()["authorization"] == f"Bearer {COOKIE_TOKEN}"


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # A trusted proxy names the client.
        ("10.0.0.5", "198.51.100.9", "198.51.100.9"),
        # Behind two trusted proxies, the nearest address that is not a proxy.
        ("10.0.0.5", "198.51.100.9, 10.20.0.1", "198.51.100.9"),
        # A client's own X-Forwarded-For ahead of the proxy's entry is not believed.
        ("10.0.0.5", "192.0.2.66, 198.51.100.9", "198.51.100.9"),
        # Nobody else may claim another address.
        ("203.0.113.7", "192.0.2.66", "203.0.113.7"),
        # An entry that is no address ends the walk at the last proxy.
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
    ],
)
async def test_x_forwarded_for_counts_only_from_trusted_proxies(
    app: Starlette, door: Door, peer: str, forwarded_for: str, client: str
) -> None:
    async with gateway_client(app, client_ip=peer) as http:
        await http.get("/v1/door", headers={"X-Forwarded-For": forwarded_for})

    assert door.last_metadata()["x-agora-client-ip"] == client


async def test_a_user_agent_outside_printable_ascii_is_made_safe(
    app: Starlette, door: Door
) -> None:
    async with gateway_client(app) as http:
        response = await http.get("/v1/door", headers={"User-Agent": "Kaffee\u00e9\tBot".encode()})

    assert response.status_code == 200
    # UTF-8 é is two bytes, each one a "?", and so is the tab.
    assert door.last_metadata()["x-agora-user-agent"] == "Kaffee???Bot"


async def test_a_token_that_cannot_travel_is_refused_at_the_edge(
    app: Starlette, door: Door
) -> None:
    calls = len(door.calls)
    async with gateway_client(app) as http:
        response = await http.get(
            "/v1/door", headers={"Authorization": "Bearer t\u00f6ken".encode()}
        )

    assert response.status_code == 401
    assert response.json()["reason"] == "TOKEN_INVALID"
    assert response.headers["www-authenticate"] == 'Bearer realm="agora", error="invalid_token"'
    assert len(door.calls) == calls


@pytest.mark.parametrize("by_cookie", [False, True], ids=["bearer", "cookie"])
async def test_a_service_token_from_outside_is_refused_at_the_edge(
    app: Starlette, door: Door, by_cookie: bool
) -> None:
    calls = len(door.calls)
    token = service_identity("orders").token()
    header = (
        ("Cookie", f"{ACCESS_COOKIE}={token}")
        if by_cookie
        else ("Authorization", f"Bearer {token}")
    )
    async with gateway_client(app) as http:
        response = await http.get("/v1/door", headers=dict([header]))

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == "TOKEN_INVALID"
    assert len(door.calls) == calls


# --- CSRF double submit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/door:knock"), ("PUT", "/v1/door"), ("POST", "/v1/door/sign-in")],
)
@pytest.mark.parametrize(
    ("cookies", "csrf_header"),
    [
        ({ACCESS: COOKIE_TOKEN, CSRF_COOKIE: CSRF}, None),
        ({ACCESS: COOKIE_TOKEN, CSRF_COOKIE: CSRF}, "another-value"),
        ({ACCESS: COOKIE_TOKEN, CSRF_COOKIE: CSRF}, ""),
        ({ACCESS: COOKIE_TOKEN}, CSRF),
        # Another session's genuine token, planted as the cookie too: double submit alone passes.
        ({ACCESS: COOKIE_TOKEN, CSRF_COOKIE: OTHER_SESSION_CSRF}, OTHER_SESSION_CSRF),
        # This session's token, but the access cookie names no session.
        ({ACCESS: "x.e30.y", CSRF_COOKIE: CSRF}, CSRF),
    ],
    ids=["missing", "mismatched", "empty", "no-csrf-cookie", "other-session", "no-session"],
)
async def test_a_cookie_authenticated_change_without_the_csrf_token_is_403(
    app: Starlette,
    door: Door,
    method: str,
    path: str,
    cookies: dict[str, str],
    csrf_header: str | None,
) -> None:
    calls = len(door.calls)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if csrf_header is not None:
        headers["X-CSRF-Token"] = csrf_header
    async with gateway_client(app) as http:
        response = await http.request(method, path, json={}, headers=headers)

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == "CSRF_FAILED"
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert len(door.calls) == calls, "the backend must not be called"


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/door:knock"), ("PUT", "/v1/door")])
async def test_a_cookie_authenticated_change_with_the_csrf_token_goes_through(
    app: Starlette, door: Door, method: str, path: str
) -> None:
    async with gateway_client(app) as http:
        response = await http.request(
            method,
            path,
            json={},
            headers={
                "Cookie": f"theme=dark; {ACCESS}={COOKIE_TOKEN}; {CSRF_COOKIE}={CSRF}",
                "X-CSRF-Token": CSRF,
            },
        )

    assert response.status_code == 200, response.text
    assert door.last_metadata()["authorization"] == f"Bearer {COOKIE_TOKEN}"


async def test_a_bearer_authenticated_change_needs_no_csrf_token(
    app: Starlette, door: Door
) -> None:
    async with gateway_client(app) as http:
        response = await http.post(
            "/v1/door:knock",
            json={},
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Cookie": f"{ACCESS}={COOKIE_TOKEN}; {CSRF_COOKIE}={CSRF}",
            },
        )

    assert response.status_code == 200, response.text
    assert door.last_metadata()["authorization"] == f"Bearer {TOKEN}"


async def test_a_cookie_authenticated_read_needs_no_csrf_token(app: Starlette) -> None:
    async with gateway_client(app) as http:
        response = await http.get("/v1/door", headers={"Cookie": f"{ACCESS}={COOKIE_TOKEN}"})

    assert response.status_code == 200


async def test_a_change_without_any_credential_needs_no_csrf_token(app: Starlette) -> None:
    async with gateway_client(app) as http:
        response = await http.post(
            "/v1/door/sign-in", json={"email": "ada@example.com"}, headers={"Cookie": "theme=dark"}
        )

    assert response.status_code == 200


# --- 401, 403 and 429 problems ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status", "challenge"),
    [
        ("TOKEN_MISSING", 401, 'Bearer realm="agora"'),
        ("TOKEN_INVALID", 401, 'Bearer realm="agora", error="invalid_token"'),
        ("TOKEN_EXPIRED", 401, 'Bearer realm="agora", error="invalid_token"'),
        ("PERMISSION_MISSING", 403, None),
    ],
)
async def test_security_refusals_are_problems_with_their_reason(
    app: Starlette, reason: str, status: int, challenge: str | None
) -> None:
    async with gateway_client(app) as http:
        response = await http.post("/v1/door:refuse", json={"reason": reason})

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == reason
    assert response.headers.get("www-authenticate") == challenge


async def test_a_lockout_with_retry_info_is_429_with_retry_after(app: Starlette) -> None:
    async with gateway_client(app) as http:
        response = await http.post(
            "/v1/door:refuse", json={"reason": "LOCKED", "retryAfterS": 41.2}
        )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"
    assert response.json()["code"] == "RESOURCE_EXHAUSTED"


# --- security headers ------------------------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, f"{name} on {where}"
    assert "camera=()" in response.headers["permissions-policy"], where
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'none'" in csp or "default-src 'self'" in csp, where
    assert response.headers["x-request-id"], where


async def test_every_answer_carries_the_security_headers(
    shop: RunningShop, testshop_descriptors: descriptor_pb2.FileDescriptorSet
) -> None:
    shop.backend.item("kettle", "Kettle")
    settings = GatewaySettings(rate_limit="30/minute", max_body_bytes=4096)
    app = build_app(testshop_descriptors, shop.channel, settings, ResponseCache())
    async with gateway_client(app) as http:
        etag = (await http.get("/v1/items/kettle")).headers["etag"]
        responses = [
            await http.get("/v1/items/kettle"),
            await http.get("/v1/items/kettle", headers={"If-None-Match": etag}),
            await http.get("/v1/items/nope"),
            await http.get("/v1/nowhere"),
            await http.put("/v1/items"),
            await http.post(
                "/v1/items", content=b"{", headers={"content-type": "application/json"}
            ),
            await http.post("/v1/items", content=b"x", headers={"content-type": "text/plain"}),
            await http.get("/healthz"),
            await http.get("/readyz"),
            await http.get("/api/openapi.json"),
            await http.get("/api/docs"),
            await http.get("/api/docs/init.js"),
            await http.get("/api/docs/assets/swagger-ui.css"),
            await http.get("/api/nothing-here"),
            await http.get("/v1/items", headers={"Cookie": f"{ACCESS}=x"}),
            await http.delete("/v1/items/kettle", headers={"Cookie": f"{ACCESS}=x"}),
        ]
        while (limited := await http.get("/v1/items/kettle")).status_code != 429:
            pass
        responses.append(limited)

    statuses = {r.status_code for r in responses}
    assert {200, 304, 400, 403, 404, 405, 415, 429} <= statuses
    for response in responses:
        assert_security_headers(response)


async def test_a_server_error_carries_the_security_headers(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet,
) -> None:
    def broken_channel(backend: str) -> grpc.aio.Channel:
        raise RuntimeError("no channel")

    app = create_app(
        descriptor_pool.Default(),
        broken_channel,
        settings=GatewaySettings(),
        descriptor_set=testshop_descriptors,
    )
    async with gateway_client(app) as http:
        response = await http.get("/v1/items/kettle")

    assert response.status_code == 500
    assert_security_headers(response)


async def test_the_docs_page_may_load_its_own_scripts_and_styles_only(app: Starlette) -> None:
    async with gateway_client(app) as http:
        page = await http.get("/api/docs")

    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert "https:" not in csp
    assert "*" not in csp


# --- OpenAPI ---------------------------------------------------------------------------------


async def test_openapi_declares_who_may_call_each_operation(app: Starlette) -> None:
    async with gateway_client(app) as http:
        spec = (await http.get("/api/openapi.json")).json()

    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert schemes["cookieAuth"]["name"] == "__Host-agora_access"
    paths = spec["paths"]
    peek, sign_in = paths["/v1/door"]["get"], paths["/v1/door/sign-in"]["post"]
    knock, open_door = paths["/v1/door:knock"]["post"], paths["/v1/door"]["put"]
    assert "security" not in peek
    assert "security" not in sign_in
    assert knock["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert open_door["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert open_door["x-permission"] == "door:open"
    assert "x-permission" not in knock
    assert knock["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
    assert "401" not in peek["responses"]
    assert sign_in["x-rate-limit"] == "3/minute"
    assert "x-rate-limit" not in peek
    assert peek["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "Retry-After" in spec["components"]["responses"]["TooManyRequests"]["headers"]


async def test_readiness_is_not_rate_limited(
    door_descriptors: descriptor_pb2.FileDescriptorSet,
) -> None:
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    app = door_app(
        door_descriptors,
        Door("", dead),
        GatewaySettings(rate_limit="1/minute", backends=[]),
    )
    async with gateway_client(app) as http:
        probes = [await http.get("/healthz") for _ in range(3)]
        probes += [await http.get("/readyz") for _ in range(3)]
    await dead.close()

    assert [p.status_code for p in probes] == [200] * 6


def test_agoras_own_openapi_declares_security_cookies_and_login_limits() -> None:
    descriptor_set = read_descriptor_set()
    routes = build_routes(files_of(descriptor_set, default_pool()))
    spec = openapi_document(
        routes, SourceComments.from_descriptor_set(descriptor_set), session_methods=SESSION_METHODS
    )

    validate(spec)
    paths = spec["paths"]
    login = paths["/v1/auth/login"]["post"]
    assert "security" not in login
    assert login["x-rate-limit"] == "5/minute"
    assert "Set-Cookie" in login["responses"]["200"]["headers"]
    body = login["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["useCookies"]["type"] == "boolean"
    assert body["additionalProperties"] is False
    assert "Set-Cookie" in paths["/v1/auth/logout"]["post"]["responses"]["200"]["headers"]
    assert paths["/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert paths["/v1/auth/roles"]["get"]["x-permission"] == "auth:roles:read"
    assert "security" not in paths["/.well-known/jwks.json"]["get"]
