"""Tools of the admin people, content and support pages' browser tests: a customer of their own
(registered through the API), their chat with the support assistant over the WebSocket, a PNG
made on the spot, and waiting for what the public API shows."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from PIL import Image
from playwright.sync_api import Browser
from web_support import mail_text, new_context, sign_in_staff, wait_for_mail
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long customer password 42"
Frame = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Customer:
    email: str
    password: str
    id: str


def new_customer(gateway: str, admin: httpx.Client, data_dir: Path) -> Customer:
    """A customer account of the test's own: registered through the public API and its email
    confirmed with the link from the mail sink."""
    email = f"web-people-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=gateway, timeout=10) as http:
        answer = http.post(
            "/v1/auth/register",
            json={"email": email, "password": PASSWORD, "idempotencyKey": str(uuid.uuid4())},
        )
        assert answer.status_code == 200, answer.text
        link = mail_text(wait_for_mail(data_dir, email, "Confirm your email"))
        token = re.search(r"token=([A-Za-z0-9_\-]+)", link)
        assert token is not None, link
        verified = http.post(
            "/v1/auth/verify-email",
            json={"token": token.group(1), "idempotencyKey": str(uuid.uuid4())},
        )
        assert verified.status_code == 200, verified.text
    found = admin.get("/v1/admin/users", params={"query": email}).json()["users"]
    assert [u["email"] for u in found] == [email]
    return Customer(email, PASSWORD, found[0]["id"])


def staff_cookies(browser: Browser, gateway: str, data_dir: Path, email: str) -> list[Any]:
    """The session cookies of a seeded staff account (its shared session: `sign_in_staff`)."""
    context = new_context(browser, gateway)
    try:
        sign_in_staff(context, data_dir, email)
        return context.cookies()
    finally:
        context.close()


def log_in(gateway: str, customer: Customer) -> httpx.Response:
    with httpx.Client(base_url=gateway, timeout=10) as http:
        return http.post(
            "/v1/auth/login", json={"email": customer.email, "password": customer.password}
        )


def refresh(gateway: str, refresh_token: str) -> httpx.Response:
    with httpx.Client(base_url=gateway, timeout=10) as http:
        return http.post("/v1/auth/refresh", json={"refreshToken": refresh_token})


def eventually(probe: Callable[[], T | None], timeout_s: float = 15.0) -> T:
    """`probe()` once it answers something (polled: the public reads are cached briefly and
    invalidated by the content events)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "nothing came within the time"
        time.sleep(0.25)


def png(width: int = 1200, height: int = 300) -> bytes:
    """A PNG image (a two-colour gradient)."""
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 255 // width, 90, y * 255 // height) for y in range(height) for x in range(width)]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class ChatSocket:
    """A customer's WebSocket to `/v1/support/chat`, with the frames received so far."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[Frame] = []

    def send(self, message: Frame) -> None:
        self.socket.send(json.dumps(message))

    def say(self, text: str) -> None:
        self.send({"say": {"clientMessageId": str(uuid.uuid4()), "text": text}})

    def until(self, holds: Callable[[Frame], bool], timeout_s: float = 60.0) -> Frame:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no such frame within {timeout_s}s: {self.frames[-5:]}"
            frame: Frame = json.loads(self.socket.recv(timeout=left))
            assert "error" not in frame, frame
            self.frames.append(frame)
            if holds(frame):
                return frame


@contextmanager
def chat(gateway: str, authorization: str) -> Iterator[ChatSocket]:
    url = gateway.replace("http://", "ws://") + "/v1/support/chat"
    headers = {"Authorization": authorization}
    with connect(url, additional_headers=headers, open_timeout=30) as socket:
        yield ChatSocket(socket)


def spoken_by(speaker: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("message", {}).get("speaker") == f"SPEAKER_{speaker}"


def handover_to(state: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("handover", {}).get("state") == f"HANDOVER_STATE_{state}"
