"""`agora up` as a subprocess on ports and a data dir of its own, for the end-to-end tests.

Tokens: `agora up` creates the deployment's service key in the data dir, and the services also
trust the test JWKS (`AGORA_AUTH_JWKS_FILE`, written into the data dir from
`security_support`), so a test mints its own tokens (`security_support.mint_token`) instead of
logging in. `Stack.client()` sends an admin's token unless told otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from security_support import admin_authorization, jwks

from agora.platform.net import free_ports
from agora.platform.services import GRPC_SERVICES

STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def alive(pid: int) -> bool:
    """True for a running process (a zombie counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Stack:
    """One `agora up` over a data dir of its own, on ports of its own."""

    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    startup_times_s: list[float] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.env['AGORA_GATEWAY_PORT']}"

    @property
    def output_path(self) -> Path:
        return self.data_dir / "agora-up.out"

    def status(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.data_dir / "run" / "status.json").read_text())
        return document

    def process_row(self, name: str) -> dict[str, Any]:
        (row,) = [p for p in self.status()["processes"] if p["name"] == name]
        return row

    def start(self) -> None:
        """Run `agora up` and wait until its status file says it is ready."""
        began = time.monotonic()
        status_file = self.data_dir / "run" / "status.json"
        status_file.unlink(missing_ok=True)
        with self.output_path.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agora", "up"],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not self._ready(status_file):
            if self.process.poll() is not None:
                pytest.fail(f"agora up exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() - began > STARTUP_TIMEOUT_S:
                self.stop(check=False)
                pytest.fail(f"agora up not ready after {STARTUP_TIMEOUT_S}s:\n{self.output()}")
            time.sleep(0.1)
        self.startup_times_s.append(time.monotonic() - began)
        print(f"\nagora up: ready in {self.startup_times_s[-1]:.1f} s", file=sys.stderr)

    @staticmethod
    def _ready(status_file: Path) -> bool:
        try:
            return bool(json.loads(status_file.read_text()).get("ready"))
        except (OSError, ValueError):
            return False

    def descendants(self) -> list[int]:
        assert self.process is not None
        try:
            return [p.pid for p in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, check: bool = True) -> None:
        """SIGTERM `agora up`; with `check`, assert it exits 0 and leaves no process behind."""
        if self.process is None or self.process.poll() is not None:
            return
        family = self.descendants()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
        if check:
            assert code == 0, self.output()
            deadline = time.monotonic() + 5
            while any(alive(pid) for pid in family) and time.monotonic() < deadline:
                time.sleep(0.05)
            survivors = [pid for pid in family if alive(pid)]
            assert not survivors, f"processes outlived agora up: {survivors}"
            assert family, "agora up had no child processes"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def client(self, *, admin: bool = True) -> httpx.Client:
        """An HTTP client of the gateway: an admin's (every permission) unless `admin=False`."""
        return httpx.Client(
            base_url=self.gateway, timeout=10, auth=AdminBearer() if admin else None
        )


class AdminBearer(httpx.Auth):
    """`Authorization: Bearer <admin token>` on every request that sets none."""

    def __init__(self) -> None:
        self._authorization = admin_authorization()

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers.setdefault("Authorization", self._authorization())
        yield request


INVOICE_EXPIRY_S = 8


def stack_environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    test_jwks = data_dir / "test-jwks.json"
    test_jwks.write_text(json.dumps(jwks()))
    ports = iter(free_ports(6 + len(GRPC_SERVICES)))  # all different
    env.update(
        AGORA_DATA_DIR=str(data_dir),
        # The services trust tokens minted by the tests (next to the auth service's own).
        AGORA_AUTH_JWKS_FILE=str(test_jwks),
        AGORA_PG_PORT=str(next(ports)),
        AGORA_NATS_PORT=str(next(ports)),
        AGORA_GATEWAY_PORT=str(next(ports)),
        AGORA_SMTP_PORT=str(next(ports)),  # the local mail sink
        AGORA_ANVIL_PORT=str(next(ports)),  # the embedded EVM node
        AGORA_LLM_PORT=str(next(ports)),  # the embedded local model
        AGORA_ENV="dev",
        # The browser tests sign the seeded staff in dozens of times a minute from one address;
        # the limits themselves (the web forms' too) are tested at the gateway's layer.
        AGORA_GATEWAY_RATE_LIMIT_ENABLED="false",
        # Short enough for the expiry scenarios of the checkout tests, long enough to pay.
        AGORA_ORDERS_INVOICE_EXPIRY_S=str(INVOICE_EXPIRY_S),
    )
    env.update({service.port_variable: str(next(ports)) for service in GRPC_SERVICES})
    return env
