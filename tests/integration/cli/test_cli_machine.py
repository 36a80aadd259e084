"""The `agora` commands that look at the machine: `doctor` runs the embedded binaries and reaches
for PostgreSQL and NATS, `events replay` for NATS, and `python -m agora` is a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import isolate_agora, one_line
from typer.testing import CliRunner

from agora import cli
from agora.platform.net import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolate_agora(monkeypatch, tmp_path)


def test_doctor_fails_on_a_port_held_by_another_program(
    held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_CATALOG_PORT", str(held_port))

    result = runner.invoke(cli.app, ["doctor"])

    assert result.exit_code == 1
    line = next(li for li in result.output.splitlines() if f"port {held_port}" in li)
    assert "FAIL" in line
    assert "set AGORA_CATALOG_PORT to another port" in line
    assert "1 check(s) failed" in result.output


def test_doctor_fails_when_the_configured_nats_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AGORA_NATS_URL", nowhere)

    result = runner.invoke(cli.app, ["doctor"])

    assert result.exit_code == 1
    line = next(li for li in result.output.splitlines() if "│ NATS " in li)
    assert "FAIL" in line
    assert f"unreachable at {nowhere}" in line


def test_doctor_passes_on_a_free_machine() -> None:
    result = runner.invoke(cli.app, ["doctor"])

    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert "postgres (PostgreSQL) 16" in result.output
    assert "nats-server: v2" in result.output


def test_python_dash_m_agora_is_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agora", "--help"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0
    assert "doctor" in result.stdout
    assert "serve" in result.stdout


def test_replay_reports_an_unreachable_nats(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AGORA_NATS_URL", nowhere)

    result = runner.invoke(
        cli.app, ["events", "replay", "projector", "--stream", "CATALOG", "--from-seq", "1"]
    )

    assert result.exit_code == 1
    assert f"NATS at {nowhere}" in one_line(result.output)


def test_help_lists_every_group_without_importing_one() -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from agora.cli import GROUPS, app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert all(f' {name} ' in result.output for name in GROUPS), result.output\n"
        "print(sorted({module for module, _ in GROUPS.values()} & set(sys.modules)))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
