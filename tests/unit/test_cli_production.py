"""`agora serve` under `AGORA_ENV=prod` refuses development defaults before it starts anything:
a clear message naming each variable to set, exit status 1."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from agora import cli
from agora.platform.net import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def production_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A prod deployment's required URLs (nothing listens there), and nothing else set."""
    for name in [n for n in os.environ if n.startswith("AGORA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AGORA_ENV", "prod")
    monkeypatch.setenv("AGORA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("AGORA_DATABASE_URL", f"postgresql://db@127.0.0.1:{free_port()}/agora")
    monkeypatch.setenv("AGORA_NATS_URL", f"nats://127.0.0.1:{free_port()}")
    monkeypatch.setattr(cli.errors, "width", 400)


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """`agora serve` configures logging onto the runner's stream, closed after the test: later
    tests must log where they did before."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_gateway_refuses_docs_by_default_and_memory_rate_limits() -> None:
    result = runner.invoke(cli.app, ["serve", "gateway"])

    assert result.exit_code == 1
    output = one_line(result.output)
    assert "AGORA_ENV=prod refuses development defaults" in output
    assert "set AGORA_GATEWAY_DOCS_ENABLED=false" in output
    assert "set AGORA_REDIS_URL" in output


def test_auth_refuses_localhost_mail_links_and_the_mail_sink(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["serve", "auth"])

    assert result.exit_code == 1
    output = one_line(result.output)
    assert "AGORA_AUTH_PUBLIC_BASE_URL=http://127.0.0.1:8700" in output
    assert "AGORA_SMTP_URL unset or the development mail sink" in output
    assert not (tmp_path / "var" / "secrets").exists(), "nothing is written before the refusal"


def test_the_gateway_starts_past_the_check_once_each_default_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_GATEWAY_DOCS_ENABLED", "false")
    monkeypatch.setenv("AGORA_REDIS_URL", "redis://redis.internal:6379/0")

    result = runner.invoke(cli.app, ["serve", "gateway"])

    # The next check is the service key, which a prod deployment must provision.
    assert result.exit_code == 1
    assert "refuses development defaults" not in one_line(result.output)
    assert "AGORA_ENV=prod needs AGORA_SERVICE_KEY_FILE" in one_line(result.output)
