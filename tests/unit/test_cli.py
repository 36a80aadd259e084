"""The `agora` command's refusals and reports, without starting the stack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agora import cli
from agora.platform.doctor import configured_ports
from agora.platform.net import free_port
from agora.platform.services import GRPC_SERVICES

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """No AGORA_* from the host, every port free, data under tmp; wide consoles."""
    for name in [n for n in os.environ if n.startswith("AGORA_")]:
        monkeypatch.delenv(name)
    env = {
        "AGORA_DATA_DIR": str(tmp_path / "var"),
        "AGORA_PG_PORT": str(free_port()),
        "AGORA_NATS_PORT": str(free_port()),
        "AGORA_GATEWAY_PORT": str(free_port()),
        **{service.port_variable: str(free_port()) for service in GRPC_SERVICES},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.setattr(cli.errors, "width", 200)
    return env


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_up_refuses_a_port_in_use_naming_the_variable_that_moves_it(
    held_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGORA_GATEWAY_PORT", str(held_port))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert f"port {held_port} (gateway) is already in use" in one_line(result.output)
    assert "set AGORA_GATEWAY_PORT to a free port" in one_line(result.output)
    assert not (tmp_path / "var" / "postgres").exists()


def test_an_invalid_setting_is_reported_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_PG_PORT", "not-a-port")

    result = runner.invoke(cli.app, ["doctor"])

    assert result.exit_code == 1
    assert "invalid settings: AGORA_PG_PORT" in one_line(result.output)


def test_status_says_when_agora_is_not_running(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 1
    assert "agora is not running" in one_line(result.output)


def test_status_lists_the_processes_of_a_running_agora(tmp_path: Path) -> None:
    supervisor = subprocess.Popen(["sleep", "60"])
    status_file = tmp_path / "var" / "run" / "status.json"
    status_file.parent.mkdir(parents=True)
    row = {
        "pid": 4242,
        "state": "healthy",
        "restarts": 2,
        "url": "grpc://127.0.0.1:1",
        "exit_code": -9,
        "exit_signal": "SIGKILL",
        "restart_reason": "killed by SIGKILL",
    }
    status_file.write_text(
        json.dumps(
            {
                "supervisor_pid": supervisor.pid,
                "ready": True,
                "processes": [{"name": "catalog", **row}],
            }
        )
    )
    try:
        result = runner.invoke(cli.app, ["status"])
    finally:
        supervisor.kill()
        supervisor.wait()

    assert result.exit_code == 0
    assert (
        "catalog │ 4242 │ healthy │ 2 │ SIGKILL │ killed by SIGKILL │ grpc://127.0.0.1:1"
        in one_line(result.output)
    )
    assert f"supervisor pid {supervisor.pid}, ready" in result.output


def test_a_second_up_over_a_running_data_dir_is_refused(tmp_path: Path) -> None:
    supervisor = subprocess.Popen(["sleep", "60"])
    status_file = tmp_path / "var" / "run" / "status.json"
    status_file.parent.mkdir(parents=True)
    status_file.write_text(json.dumps({"supervisor_pid": supervisor.pid, "processes": []}))
    try:
        result = runner.invoke(cli.app, ["up"])
    finally:
        supervisor.kill()
        supervisor.wait()

    assert result.exit_code == 1
    assert f"already runs over {tmp_path / 'var'} (pid {supervisor.pid})" in one_line(result.output)


def test_serve_refuses_an_unknown_service() -> None:
    result = runner.invoke(cli.app, ["serve", "warehouse"])

    assert result.exit_code == 1
    assert "unknown service 'warehouse'; known: catalog" in one_line(result.output)


def test_migrate_refuses_an_unknown_service() -> None:
    result = runner.invoke(cli.app, ["migrate", "warehouse"])

    assert result.exit_code == 1
    assert "unknown service 'warehouse'" in result.output


def test_replay_needs_exactly_one_starting_point() -> None:
    neither = runner.invoke(cli.app, ["events", "replay", "projector", "--stream", "CATALOG"])
    both = runner.invoke(
        cli.app,
        [
            "events", "replay", "projector", "--stream", "CATALOG",
            "--from-seq", "1", "--since", "2026-01-01T00:00:00+00:00",
        ],
    )  # fmt: skip

    for result in (neither, both):
        assert result.exit_code == 1
        assert "exactly one of --from-seq or --since" in result.output


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


def test_services_get_the_database_nats_and_every_address(
    isolated_environment: dict[str, str],
) -> None:
    settings = cli.platform_settings()

    env = cli.child_environment(settings)

    pg_port = isolated_environment["AGORA_PG_PORT"]
    catalog_port = isolated_environment["AGORA_CATALOG_PORT"]
    assert env["AGORA_DATABASE_URL"] == f"postgresql+asyncpg://postgres@127.0.0.1:{pg_port}/agora"
    assert env["AGORA_NATS_URL"] == f"nats://127.0.0.1:{isolated_environment['AGORA_NATS_PORT']}"
    assert env["AGORA_CATALOG_ADDRESS"] == f"127.0.0.1:{catalog_port}"
    assert Path(env["AGORA_DATA_DIR"]).is_absolute()


def test_a_configured_database_url_replaces_the_embedded_postgres(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_DATABASE_URL", "postgresql://shop@db.example:5432/shop")
    settings = cli.platform_settings()

    assert [p.label for p in configured_ports(settings)] == [
        "NATS",
        *(service.name for service in GRPC_SERVICES),
        "gateway",
    ]
    assert cli.child_environment(settings)["AGORA_DATABASE_URL"] == (
        "postgresql+asyncpg://shop@db.example:5432/shop"
    )


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


def test_a_port_variable_that_is_not_a_number_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_CATALOG_PORT", "eighty")

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert "AGORA_CATALOG_PORT='eighty' is not a port number" in one_line(result.output)
