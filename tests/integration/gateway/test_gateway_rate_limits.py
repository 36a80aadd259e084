"""Rate limits at the edge: per client IP and per user on every route, a method's own stricter
limit per IP and per account, 429 with Retry-After; counted in memory or in a shared Redis."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from door_backend import Door, door_app, gateway_client
from google.protobuf import descriptor_pb2
from security_support import SecurityFiles
from starlette.applications import Starlette

from agora.gateway.settings import GatewaySettings
from agora.platform.net import free_port
from agora.platform.security.jwks import StaticJwksSource
from agora.platform.security.tokens import TokenVerifier

PROBLEM = "application/problem+json"
GENEROUS = "1000/minute"


AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app(door_descriptors: descriptor_pb2.FileDescriptorSet, door: Door) -> AppFactory:
    def build(**settings: Any) -> Starlette:
        return door_app(door_descriptors, door, GatewaySettings(**settings))

    return build


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["reason"] == "RATE_LIMITED"
    assert response.json()["code"] == "RESOURCE_EXHAUSTED"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_client_ip_over_its_limit_gets_429_with_retry_after(make_app: AppFactory) -> None:
    app = make_app(rate_limit="3/minute")
    async with gateway_client(app, "198.51.100.1") as http:
        allowed = [await http.get("/v1/door") for _ in range(3)]
        limited = await http.get("/v1/door")
        unknown_path = await http.get("/v1/nowhere")
    async with gateway_client(app, "198.51.100.2") as other:
        elsewhere = await other.get("/v1/door")

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert_rate_limited(limited)
    assert_rate_limited(unknown_path)
    assert elsewhere.status_code == 200


async def test_a_user_over_its_limit_gets_429_from_any_address(make_app: AppFactory) -> None:
    app = make_app(rate_limit=GENEROUS, rate_limit_user="2/minute")
    ada = {"Authorization": "Bearer ada.token.sig"}
    async with gateway_client(app, "198.51.100.1") as home:
        first = await home.get("/v1/door", headers=ada)
        anonymous = [await home.get("/v1/door") for _ in range(3)]
    async with gateway_client(app, "198.51.100.2") as office:
        # The same token from a browser cookie counts for the same user.
        second = await office.get(
            "/v1/door", headers={"Cookie": "__Host-agora_access=ada.token.sig"}
        )
        third = await office.get("/v1/door", headers=ada)
        bob = await office.get("/v1/door", headers={"Authorization": "Bearer bob.token.sig"})

    assert first.status_code == 200
    assert second.status_code == 200
    assert_rate_limited(third)
    assert [r.status_code for r in anonymous] == [200, 200, 200]
    assert bob.status_code == 200


async def test_tokens_of_one_user_share_the_user_limit(
    door_descriptors: descriptor_pb2.FileDescriptorSet,
    door: Door,
    security_files: SecurityFiles,
    mint_token: Callable[..., str],
) -> None:
    verifier = TokenVerifier(StaticJwksSource(security_files.jwks_path), service_keys={})
    settings = GatewaySettings(rate_limit=GENEROUS, rate_limit_user="2/minute")
    app = door_app(door_descriptors, door, settings, token_verifier=verifier)
    # Two sessions of one user (two devices): two tokens, one subject.
    phone, laptop = mint_token("user-ada"), mint_token("user-ada")
    async with gateway_client(app, "198.51.100.5") as http:
        answers = [
            await http.get("/v1/door", headers={"Authorization": f"Bearer {token}"})
            for token in (phone, laptop, phone)
        ]
        bob = await http.get("/v1/door", headers={"Authorization": f"Bearer {mint_token('bob')}"})

    assert [r.status_code for r in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2])
    assert bob.status_code == 200


async def test_a_method_limit_counts_per_ip(make_app: AppFactory) -> None:
    app = make_app(rate_limit=GENEROUS)
    async with gateway_client(app, "198.51.100.3") as http:
        attempts = [
            await http.post("/v1/door/sign-in", json={"email": f"user{n}@example.com"})
            for n in range(4)
        ]
        other_route = await http.get("/v1/door")

    assert [r.status_code for r in attempts[:3]] == [200, 200, 200]
    assert_rate_limited(attempts[3])
    assert other_route.status_code == 200


async def test_a_method_limit_counts_per_account_across_addresses(make_app: AppFactory) -> None:
    app = make_app(rate_limit=GENEROUS)
    spellings = ["ada@example.com", "Ada@Example.com ", "ADA@EXAMPLE.COM", "ada@example.com"]
    answers = []
    for n, email in enumerate(spellings):
        async with gateway_client(app, f"198.51.100.{10 + n}") as http:
            answers.append(await http.post("/v1/door/sign-in", json={"email": email}))
    async with gateway_client(app, "198.51.100.20") as http:
        bob = await http.post("/v1/door/sign-in", json={"email": "bob@example.com"})

    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert_rate_limited(answers[3])
    assert bob.status_code == 200


async def test_clients_behind_a_trusted_proxy_are_counted_apart(make_app: AppFactory) -> None:
    app = make_app(rate_limit="2/minute", trusted_proxies=["10.0.0.0/8"])
    async with gateway_client(app, "10.0.0.5") as proxy:
        ada = [
            await proxy.get("/v1/door", headers={"X-Forwarded-For": "198.51.100.30"})
            for _ in range(3)
        ]
        bob = await proxy.get("/v1/door", headers={"X-Forwarded-For": "198.51.100.31"})
    async with gateway_client(app, "198.51.100.40") as direct:
        # Claiming other addresses does not escape the limit of the real one.
        spoofed = [
            await direct.get("/v1/door", headers={"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(3)
        ]

    assert [r.status_code for r in ada] == [200, 200, 429]
    assert bob.status_code == 200
    assert [r.status_code for r in spoofed] == [200, 200, 429]


async def test_a_moving_window_limits_too(make_app: AppFactory) -> None:
    app = make_app(rate_limit="2/minute", rate_limit_strategy="moving-window")
    async with gateway_client(app, "198.51.100.50") as http:
        answers = [await http.get("/v1/door") for _ in range(3)]

    assert [r.status_code for r in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2])


async def test_rate_limits_can_be_turned_off_for_benchmarks(make_app: AppFactory) -> None:
    app = make_app(rate_limit="1/minute", rate_limit_enabled=False)
    async with gateway_client(app, "198.51.100.60") as http:
        answers = [await http.post("/v1/door/sign-in", json={"email": "a@b.io"}) for _ in range(5)]

    assert [r.status_code for r in answers] == [200] * 5


# --- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"redis-server did not listen on {port}")


async def test_workers_sharing_redis_share_the_counts(make_app: AppFactory, redis_url: str) -> None:
    worker_1 = make_app(rate_limit="3/minute", redis_url=redis_url)
    worker_2 = make_app(rate_limit="3/minute", redis_url=redis_url)
    assert worker_1.state.gateway.rate_limiter.storage == "redis"
    async with (
        gateway_client(worker_1, "198.51.100.70") as one,
        gateway_client(worker_2, "198.51.100.70") as two,
    ):
        answers = [await one.get("/v1/door"), await two.get("/v1/door"), await one.get("/v1/door")]
        limited = await two.get("/v1/door")
        accounts = [
            await (one if n % 2 else two).post(
                "/v1/door/sign-in", json={"email": "carol@example.com"}
            )
            for n in range(4)
        ]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert_rate_limited(limited)
    # The IP limit (3) is spent already: the method's own limit is not reached first here.
    assert all(r.status_code == 429 for r in accounts)


async def test_a_method_limit_in_redis_counts_per_account(
    make_app: AppFactory, redis_url: str
) -> None:
    app = make_app(rate_limit=GENEROUS, redis_url=redis_url)
    answers = []
    for n in range(4):
        async with gateway_client(app, f"198.51.100.{80 + n}") as http:
            answers.append(await http.post("/v1/door/sign-in", json={"email": "dan@example.com"}))

    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert_rate_limited(answers[3])


async def test_requests_pass_while_redis_is_unreachable(make_app: AppFactory) -> None:
    app = make_app(rate_limit="1/minute", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with gateway_client(app, "198.51.100.90") as http:
        answers = await asyncio.gather(*(http.get("/v1/door") for _ in range(3)))

    assert [r.status_code for r in answers] == [200, 200, 200]


# --- settings --------------------------------------------------------------------------------


def test_limits_and_proxies_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_GATEWAY_RATE_LIMIT", "10/second;600/minute")
    monkeypatch.setenv("AGORA_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    monkeypatch.setenv("AGORA_REDIS_URL", "redis://cache.internal:6379/2")

    settings = GatewaySettings()

    assert settings.rate_limit == "10/second;600/minute"
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    assert settings.redis_url == "redis://cache.internal:6379/2"


@pytest.mark.parametrize(
    "setting",
    [{"rate_limit": "lots"}, {"rate_limit_user": "5 per fortnight"}, {"trusted_proxies": ["x"]}],
)
def test_settings_the_edge_cannot_use_fail_at_startup(setting: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        GatewaySettings(**setting)
