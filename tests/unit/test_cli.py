"""The `agora` command's refusals and reports, without starting the stack or any process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import isolate_agora, one_line
from typer.testing import CliRunner

from agora import cli

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolate_agora(monkeypatch, tmp_path)


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
    supervisor = os.getppid()  # a live process other than this one
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
                "supervisor_pid": supervisor,
                "ready": True,
                "processes": [{"name": "catalog", **row}],
            }
        )
    )

    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 0
    assert (
        "catalog │ 4242 │ healthy │ 2 │ SIGKILL │ killed by SIGKILL │ grpc://127.0.0.1:1"
        in one_line(result.output)
    )
    assert f"supervisor pid {supervisor}, ready" in result.output


def test_a_second_up_over_a_running_data_dir_is_refused(tmp_path: Path) -> None:
    supervisor = os.getppid()  # a live process other than this one
    status_file = tmp_path / "var" / "run" / "status.json"
    status_file.parent.mkdir(parents=True)
    status_file.write_text(json.dumps({"supervisor_pid": supervisor, "processes": []}))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert f"already runs over {tmp_path / 'var'} (pid {supervisor})" in one_line(result.output)
    assert not (tmp_path / "var" / "secrets").exists(), "nothing is written before the refusal"


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


def test_a_port_variable_that_is_not_a_number_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_CATALOG_PORT", "eighty")

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert "AGORA_CATALOG_PORT='eighty' is not a port number" in one_line(result.output)


@pytest.mark.parametrize("group", sorted(cli.GROUPS))
def test_each_command_group_is_mounted_from_its_module_under_its_summary(group: str) -> None:
    result = runner.invoke(cli.app, [group, "--help"])

    assert result.exit_code == 0, result.output
    assert f"Usage: agora {group} [OPTIONS] COMMAND" in one_line(result.output)
    assert cli.GROUPS[group][1][:40] in one_line(result.output)


def test_a_mistyped_group_is_suggested_before_its_module_is_loaded() -> None:
    result = runner.invoke(cli.app, ["secrts"])

    assert result.exit_code == 2
    assert "Did you mean 'secrets'?" in one_line(result.output)
