"""Browser tests' tools: Debian's Chromium through Playwright, the axe-core check, screenshots at
a phone's and a desktop's width, signing in through the API, and reading the mail sink.

The browser is the real Chromium; the shop is the real `agora up` of the e2e layer. axe-core is
the npm package `make node` installs, evaluated in the page over the DevTools protocol (which the
page's CSP does not govern), so the pages need no exception for it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("AGORA_CHROMIUM", "/usr/bin/chromium")
AXE_SCRIPT = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots and traces of the browser tests (kept by CI as the tests' artifacts).
ARTIFACTS = Path(os.environ.get("AGORA_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts")) / "web"
WIDTHS = {"phone": (375, 812), "desktop": (1440, 900)}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# axe-core impacts that fail a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@contextmanager
def chromium() -> Iterator[tuple[Playwright, Browser]]:
    """Headless Debian Chromium, driven by Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield playwright, browser
        finally:
            browser.close()


def new_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh browser profile (no cookies) on the shop, desktop-sized unless told."""
    options.setdefault("viewport", {"width": 1440, "height": 900})
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(15_000)
    return context


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 AA)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING_IMPACTS]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page."""
    violations = axe_violations(page)
    assert not violations, f"{page.url}: " + json.dumps(violations, indent=1)


def screenshots(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of the page at a phone's and a desktop's width, saved as
    `<artifacts>/web/<name>-375.png` and `-1440.png`; the viewport is put back after."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    saved = []
    for width, height in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": height})
        path = ARTIFACTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    if before is not None:
        page.set_viewport_size(before)
    return saved


def check_page(page: Page, name: str) -> None:
    """The checks every page gets: accessible, and screenshots at both widths; plus no
    horizontal scrolling on a phone."""
    assert_accessible(page)
    screenshots(page, name)
    before = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 812})
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if before is not None:
        page.set_viewport_size(before)
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px at 375px"


def dev_login(data_dir: Path, email_address: str) -> tuple[str, str]:
    """The password and TOTP secret of a seeded staff or admin account."""
    logins = json.loads((data_dir / "secrets" / "dev-logins.json").read_text())
    entry = logins[email_address]
    return entry["password"], entry["totp_secret"]


def sign_in_through_api(
    context: BrowserContext, email_address: str, password: str, totp_secret: str = ""
) -> None:
    """A cookie session in `context` through the API (for tests about other pages than
    the sign-in form): Login, then the TOTP step when the account has 2FA."""
    answer = context.request.post(
        "/v1/auth/login",
        data={"email": email_address, "password": password, "useCookies": True},
    )
    assert answer.ok, answer.text()
    body = answer.json()
    if body.get("mfaToken"):
        code = pyotp.TOTP(totp_secret).now()
        verified = context.request.post(
            "/v1/auth/login:verify-totp",
            data={"mfaToken": body["mfaToken"], "code": code, "useCookies": True},
        )
        assert verified.ok, verified.text()


# Signed-in sessions of the seeded staff, shared by the browser tests: a TOTP code works once
# and sign-ins are rate limited, so each account signs in again only when its session is old
# or gone (one test may sign out). Keyed by (data dir, email): (cookies, signed in at).
_STAFF_SESSIONS: dict[tuple[Path, str], tuple[list[Any], float]] = {}
# Well inside the access token's 15 minutes: a shared session never needs its refresh token
# (which rotates, so two browsers refreshing one session would sign each other out).
STAFF_SESSION_REUSE_S = 600.0


_LAST_TOTP_STEP: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A TOTP code of a time step this test process has not used yet for `secret` (auth
    refuses a replayed step): the current one, else the next one once the clock reaches it."""
    totp = pyotp.TOTP(secret)
    while True:
        step = int(time.time()) // totp.interval
        if step > _LAST_TOTP_STEP.get(secret, -1):
            _LAST_TOTP_STEP[secret] = step
            return totp.at(step * totp.interval)
        time.sleep(0.5)  # a code is bound to its 30 s step: only the clock helps


def sign_in_staff(context: BrowserContext, data_dir: Path, email_address: str) -> None:
    """Sign a seeded staff or admin account in (`admin@agora.localhost`, `staff@…`): the
    account's shared session when it is still good, else a new sign-in with the next unused
    TOTP code."""
    key = (data_dir, email_address)
    cached = _STAFF_SESSIONS.get(key)
    if cached is not None and time.monotonic() - cached[1] < STAFF_SESSION_REUSE_S:
        context.add_cookies(cached[0])
        if context.request.get("/v1/auth/me").ok:
            return
        context.clear_cookies()
    password, secret = dev_login(data_dir, email_address)
    answer = context.request.post(
        "/v1/auth/login", data={"email": email_address, "password": password, "useCookies": True}
    )
    assert answer.ok, answer.text()
    verified = context.request.post(
        "/v1/auth/login:verify-totp",
        data={
            "mfaToken": answer.json()["mfaToken"],
            "code": fresh_code(secret),
            "useCookies": True,
        },
    )
    assert verified.ok, verified.text()
    cookies = [c for c in context.cookies() if c["name"].startswith("__Host-agora_")]
    _STAFF_SESSIONS[key] = (cookies, time.monotonic())


def wait_for_mail(
    data_dir: Path, recipient: str, subject_pattern: str, timeout_s: float = 20.0
) -> email.message.EmailMessage:
    """The newest message in the mail sink to `recipient` whose subject matches."""
    deadline = time.monotonic() + timeout_s
    pattern = re.compile(subject_pattern, re.IGNORECASE)
    directory = data_dir / "mail"
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            if recipient in str(message["To"]) and pattern.search(str(message["Subject"])):
                return message
        time.sleep(0.2)
    raise AssertionError(f"no mail to {recipient} matching {subject_pattern!r}")


def mail_text(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None
    return str(body.get_content())
