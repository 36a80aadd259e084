"""Browser sessions in cookies, with the real auth service behind the real gateway: login with
`"useCookies": true`, cookie-authenticated calls, CSRF, refresh from the cookie, logout; and the
login limits (the edge's per-account limit, auth's lockout) as 429 with Retry-After."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from edge_stack import EdgeStack

from agora.auth.commands import create_user
from agora.auth.domain import totp_step
from agora.auth.totp import code_at_step

PASSWORD = "correct horse battery staple"
# `__Host-` names: browsers keep them only with Secure, Path=/ and no Domain (httpx's cookie jar
# drops Secure cookies over http, so these tests send the Cookie header by hand).
ACCESS = "__Host-agora_access"
REFRESH = "__Host-agora_refresh"
CSRF = "__Host-agora_csrf"
REFRESH_MAX_AGE = str(30 * 24 * 3600)


@dataclass(frozen=True)
class SetCookie:
    value: str
    attributes: dict[str, str]

    @property
    def flags(self) -> set[str]:
        return {name.lower() for name in self.attributes}


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    """The response's `Set-Cookie` headers by cookie name, attribute names as sent."""
    found: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        attrs = {}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            attrs[key] = attr_value
        found[name] = SetCookie(value, attrs)
    return found


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


@pytest.fixture
async def customer(edge: EdgeStack) -> str:
    """The email of a new, verified customer whose password is PASSWORD."""
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    await create_user(edge.database_url, email=email, password=PASSWORD, roles=["customer"])
    return email


def client_ip() -> str:
    """A client address of its own for each test (logins are limited per address)."""
    tail = uuid.uuid4().int
    return f"198.19.{tail % 250 + 1}.{tail // 250 % 250 + 1}"


async def test_a_browser_login_moves_the_tokens_into_cookies(
    edge: EdgeStack, customer: str
) -> None:
    async with edge.client(client_ip()) as http:
        login = await http.post(
            "/v1/auth/login", json={"email": customer, "password": PASSWORD, "useCookies": True}
        )
        cookies = set_cookies(login)
        me = await http.get("/v1/auth/me", headers=cookie_header({ACCESS: cookies[ACCESS].value}))

    assert login.status_code == 200, login.text
    tokens = login.json()["tokens"]
    assert "accessToken" not in tokens
    assert "refreshToken" not in tokens
    assert tokens["expiresIn"] > 0
    access, refresh, csrf = cookies[ACCESS], cookies[REFRESH], cookies[CSRF]
    assert access.value.count(".") == 2  # the JWT itself
    assert access.attributes["Path"] == "/"
    assert access.attributes["Max-Age"] == str(tokens["expiresIn"])
    assert {"httponly", "secure"} <= access.flags
    assert access.attributes["SameSite"] == "Lax"
    assert set(cookies) == {"__Host-agora_access", "__Host-agora_refresh", "__Host-agora_csrf"}
    for cookie in (access, refresh, csrf):
        assert cookie.attributes["Path"] == "/"
        assert "domain" not in cookie.flags
    assert refresh.attributes["Path"] == "/"
    assert refresh.attributes["Max-Age"] == REFRESH_MAX_AGE
    assert {"httponly", "secure"} <= refresh.flags
    assert refresh.attributes["SameSite"] == "Lax"
    assert len(csrf.value) >= 32
    assert "httponly" not in csrf.flags, "scripts must read the CSRF cookie"
    assert "secure" in csrf.flags
    assert csrf.attributes["SameSite"] == "Lax"
    assert me.status_code == 200, me.text
    assert me.json()["email"] == customer


async def test_a_login_without_use_cookies_answers_the_tokens_in_the_body(
    edge: EdgeStack, customer: str
) -> None:
    async with edge.client(client_ip()) as http:
        login = await http.post("/v1/auth/login", json={"email": customer, "password": PASSWORD})

    assert login.status_code == 200, login.text
    assert login.json()["tokens"]["accessToken"]
    assert login.json()["tokens"]["refreshToken"]
    assert "set-cookie" not in login.headers


async def test_a_cookie_session_refreshes_and_logs_out_with_the_csrf_token(
    edge: EdgeStack, customer: str
) -> None:
    address = client_ip()
    async with edge.client(address) as http:
        login = set_cookies(
            await http.post(
                "/v1/auth/login",
                json={"email": customer, "password": PASSWORD, "useCookies": True},
            )
        )
        access, refresh, csrf = (login[n].value for n in (ACCESS, REFRESH, CSRF))
        session = cookie_header({ACCESS: access, REFRESH: refresh, CSRF: csrf})

        logout_without_csrf = await http.post("/v1/auth/logout", json={}, headers=session)
        refresh_without_csrf = await http.post(
            "/v1/auth/refresh", headers=cookie_header({REFRESH: refresh, CSRF: csrf})
        )
        refreshed = await http.post(
            "/v1/auth/refresh",
            headers={**cookie_header({REFRESH: refresh, CSRF: csrf}), "X-CSRF-Token": csrf},
        )
        renewed = set_cookies(refreshed)
        new_access, new_refresh, new_csrf = (renewed[n].value for n in (ACCESS, REFRESH, CSRF))
        sessions = await http.get("/v1/auth/sessions", headers=cookie_header({ACCESS: new_access}))
        logout = await http.post(
            "/v1/auth/logout",
            json={"idempotencyKey": str(uuid.uuid4())},
            headers={
                **cookie_header({ACCESS: new_access, REFRESH: new_refresh, CSRF: new_csrf}),
                "X-CSRF-Token": new_csrf,
            },
        )
        after_logout = await http.post(
            "/v1/auth/refresh",
            headers={
                **cookie_header({REFRESH: new_refresh, CSRF: new_csrf}),
                "X-CSRF-Token": new_csrf,
            },
        )

    assert logout_without_csrf.status_code == 403
    assert logout_without_csrf.json()["reason"] == "CSRF_FAILED"
    assert refresh_without_csrf.status_code == 403
    assert refresh_without_csrf.json()["reason"] == "CSRF_FAILED"
    assert refreshed.status_code == 200, refreshed.text
    assert "accessToken" not in refreshed.json()
    assert "refreshToken" not in refreshed.json()
    assert new_access != access
    assert new_refresh != refresh
    assert new_csrf == csrf, "the CSRF token is the session's, and a refresh keeps the session"
    # Auth saw the client's address and browser through the gateway.
    assert sessions.status_code == 200, sessions.text
    (current,) = [s for s in sessions.json()["sessions"] if s["current"]]
    assert current["clientIp"] == address
    assert current["userAgent"] == "agora-edge-tests/1"
    assert logout.status_code == 200, logout.text
    cleared = set_cookies(logout)
    assert {name: c.attributes["Max-Age"] for name, c in cleared.items()} == {
        ACCESS: "0",
        REFRESH: "0",
        CSRF: "0",
    }
    assert cleared[REFRESH].attributes["Path"] == "/"
    assert after_logout.status_code == 401
    assert set_cookies(after_logout)[REFRESH].attributes["Max-Age"] == "0"


async def test_an_access_cookie_change_without_the_csrf_token_never_reaches_auth(
    edge: EdgeStack, customer: str
) -> None:
    async with edge.client(client_ip()) as http:
        login = set_cookies(
            await http.post(
                "/v1/auth/login",
                json={"email": customer, "password": PASSWORD, "useCookies": True},
            )
        )
        access, csrf = login[ACCESS].value, login[CSRF].value
        mismatched = await http.post(
            "/v1/auth/logout-everywhere",
            json={"idempotencyKey": str(uuid.uuid4())},
            headers={
                **cookie_header({ACCESS: access, CSRF: csrf}),
                "X-CSRF-Token": "x" + csrf,
            },
        )
        as_bearer = await http.post(
            "/v1/auth/logout-everywhere",
            json={"idempotencyKey": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {access}"},
        )

    assert mismatched.status_code == 403
    assert mismatched.json()["reason"] == "CSRF_FAILED"
    assert as_bearer.status_code == 200, as_bearer.text
    assert as_bearer.json()["revoked"] >= 1, "the session was still alive after the refusal"


async def test_a_csrf_token_of_another_session_is_refused(edge: EdgeStack, customer: str) -> None:
    """An attacker's own session token, planted as the CSRF cookie and sent in the header, passes
    a plain double-submit check; bound to the session, it opens neither the victim's access
    cookie nor their refresh cookie."""
    async with edge.client(client_ip()) as http:
        victim, attacker = [
            set_cookies(
                await http.post(
                    "/v1/auth/login",
                    json={"email": customer, "password": PASSWORD, "useCookies": True},
                )
            )
            for _ in range(2)
        ]
        planted = attacker[CSRF].value
        change = await http.post(
            "/v1/auth/logout-everywhere",
            json={"idempotencyKey": str(uuid.uuid4())},
            headers={
                **cookie_header({ACCESS: victim[ACCESS].value, CSRF: planted}),
                "X-CSRF-Token": planted,
            },
        )
        refresh = await http.post(
            "/v1/auth/refresh",
            headers={
                **cookie_header({REFRESH: victim[REFRESH].value, CSRF: planted}),
                "X-CSRF-Token": planted,
            },
        )
        own = victim[CSRF].value
        own_refresh = await http.post(
            "/v1/auth/refresh",
            headers={
                **cookie_header({REFRESH: victim[REFRESH].value, CSRF: own}),
                "X-CSRF-Token": own,
            },
        )

    assert victim[CSRF].value != planted
    assert change.status_code == 403, change.text
    assert change.json()["reason"] == "CSRF_FAILED"
    assert refresh.status_code == 403, refresh.text
    assert refresh.json()["reason"] == "CSRF_FAILED"
    assert own_refresh.status_code == 200, own_refresh.text


async def test_use_cookies_must_be_a_boolean(edge: EdgeStack, customer: str) -> None:
    async with edge.client(client_ip()) as http:
        response = await http.post(
            "/v1/auth/login", json={"email": customer, "password": PASSWORD, "useCookies": "yes"}
        )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "useCookies"


# --- login limits ----------------------------------------------------------------------------


async def test_auth_locks_out_repeated_failures_as_429_with_retry_after(
    edge: EdgeStack, customer: str
) -> None:
    async with edge.client(client_ip()) as http:
        failures = [
            await http.post("/v1/auth/login", json={"email": customer, "password": "wrong" * 4})
            for _ in range(2)
        ]
        locked = await http.post("/v1/auth/login", json={"email": customer, "password": PASSWORD})

    assert [r.status_code for r in failures] == [401, 401]
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "RESOURCE_EXHAUSTED"
    assert 1 <= int(locked.headers["retry-after"]) <= 60


async def test_the_edge_limits_logins_per_account_across_addresses(
    edge: EdgeStack, customer: str
) -> None:
    answers = []
    for _ in range(6):
        async with edge.client(client_ip()) as http:
            answers.append(
                await http.post("/v1/auth/login", json={"email": customer, "password": "wrong" * 4})
            )

    assert [r.status_code for r in answers[:5]] == [401] * 5
    assert answers[5].status_code == 429
    assert answers[5].json()["reason"] == "RATE_LIMITED"
    assert 1 <= int(answers[5].headers["retry-after"]) <= 60


async def test_the_edge_limits_logins_per_address(edge: EdgeStack) -> None:
    async with edge.client(client_ip()) as http:
        answers = [
            await http.post(
                "/v1/auth/login",
                json={"email": f"nobody-{n}@example.com", "password": "wrong" * 4},
            )
            for n in range(6)
        ]

    assert [r.status_code for r in answers[:5]] == [401] * 5
    assert answers[5].status_code == 429
    assert answers[5].json()["reason"] == "RATE_LIMITED"


async def test_second_factor_steps_keep_the_session_in_cookies(
    edge: EdgeStack, customer: str
) -> None:
    async with edge.client(client_ip()) as http:
        first = set_cookies(
            await http.post(
                "/v1/auth/login",
                json={"email": customer, "password": PASSWORD, "useCookies": True},
            )
        )
        csrf = first[CSRF].value
        session = {
            **cookie_header({ACCESS: first[ACCESS].value, CSRF: csrf}),
            "X-CSRF-Token": csrf,
        }
        enrolled = await http.post(
            "/v1/auth/totp:enroll", json={"idempotencyKey": str(uuid.uuid4())}, headers=session
        )
        code = code_at_step(enrolled.json()["secret"], totp_step(datetime.now(UTC)))
        confirmed = await http.post(
            "/v1/auth/totp:confirm",
            json={"idempotencyKey": str(uuid.uuid4()), "code": code},
            headers=session,
        )
        challenge = await http.post(
            "/v1/auth/login", json={"email": customer, "password": PASSWORD, "useCookies": True}
        )
        verified = await http.post(
            "/v1/auth/login:verify-totp",
            json={
                "mfaToken": challenge.json()["mfaToken"],
                "recoveryCode": confirmed.json()["recoveryCodes"]["codes"][0],
                "useCookies": True,
            },
        )

    assert enrolled.status_code == 200, enrolled.text
    # Confirming renews the cookie session's tokens (now with the second factor), as cookies.
    assert confirmed.status_code == 200, confirmed.text
    assert "accessToken" not in confirmed.json()["tokens"]
    renewed = set_cookies(confirmed)
    assert renewed[ACCESS].value != first[ACCESS].value
    assert "httponly" in renewed[REFRESH].flags
    # A login that must answer a TOTP challenge sets no cookie yet.
    assert challenge.status_code == 200, challenge.text
    assert challenge.json()["mfaRequired"] is True
    assert "set-cookie" not in challenge.headers
    assert verified.status_code == 200, verified.text
    assert "accessToken" not in verified.json()["tokens"]
    assert set(set_cookies(verified)) == {ACCESS, REFRESH, CSRF}
