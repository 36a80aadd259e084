"""The environment of an `agora` command under test: no AGORA_* from the host, every port free,
data under the test's tmp dir, wide consoles (a table row stays on one line)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agora.platform import command_line
from agora.platform.net import free_port
from agora.platform.services import GRPC_SERVICES


def isolate_agora(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Set the environment up; the AGORA_* variables set."""
    for name in [n for n in os.environ if n.startswith("AGORA_")]:
        monkeypatch.delenv(name)
    env = {
        "AGORA_DATA_DIR": str(tmp_path / "var"),
        "AGORA_PG_PORT": str(free_port()),
        "AGORA_NATS_PORT": str(free_port()),
        "AGORA_GATEWAY_PORT": str(free_port()),
        "AGORA_ANVIL_PORT": str(free_port()),
        "AGORA_LLM_PORT": str(free_port()),
        **{service.port_variable: str(free_port()) for service in GRPC_SERVICES},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(command_line.console, "width", 200)
    monkeypatch.setattr(command_line.errors, "width", 200)
    return env


def one_line(text: str) -> str:
    return " ".join(text.split())
