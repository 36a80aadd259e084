"""Tools of the admin dashboard's browser tests: TOTP codes that were not used yet, a staff
session kept for a module, accounts made with `agora auth create-user`, and the analytics API's
figures to compare the pages with."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
from agora_stack import Stack
from playwright.sync_api import Browser, BrowserContext, Page
from web_support import ROOT, new_context, sign_in_staff

ADMIN = "admin@agora.localhost"


def staff_context(browser: Browser, stack: Stack, email: str = ADMIN) -> BrowserContext:
    """A browser profile signed in as a seeded staff account (its shared session)."""
    context = new_context(browser, stack.gateway)
    sign_in_staff(context, stack.data_dir, email)
    return context


def create_user(stack: Stack, role: str) -> tuple[str, str]:
    """A new account with `role` (email verified), through the CLI: its email and password."""
    email = f"web-dash-{uuid.uuid4().hex[:10]}@example.com"
    password = f"pw-{uuid.uuid4().hex}"
    command = [
        str(ROOT / ".venv" / "bin" / "agora"),
        "auth",
        "create-user",
        "--email",
        email,
        "--password",
        password,
        "--role",
        role,
    ]
    done = subprocess.run(command, env=stack.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return email, password


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def analytics(http: httpx.Client, name: str, **params: Any) -> dict[str, Any]:
    """`GET /v1/admin/analytics/<name>` with camelCase query parameters."""
    answer = http.get(f"/v1/admin/analytics/{name}", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def figure(message: dict[str, Any], name: str) -> int:
    """An int64 of proto JSON (a string; absent when zero)."""
    return int(message.get(name, 0))


def chart_data(page: Page, canvas_id: str) -> dict[str, Any]:
    """The labels and datasets of the Chart.js chart drawn on `canvas_id`."""
    data: dict[str, Any] = page.evaluate(
        """(id) => {
            const chart = window.Chart.getChart(document.getElementById(id));
            if (!chart) return null;
            return {labels: [...chart.data.labels],
                    datasets: chart.data.datasets.map(d => ({label: d.label, data: [...d.data]}))};
        }""",
        canvas_id,
    )
    return data


def downloaded_text(path: Path | str) -> str:
    return Path(path).read_text(encoding="utf-8-sig")
