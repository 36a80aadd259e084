"""What `agora up` and `agora doctor` do about the support assistant's model, decided without
starting the stack: the embedded model's process and the URL and model name every service gets;
a configured `AGORA_SUPPORT_LLM_BASE_URL` leaves the embedded model out."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cli_support import isolate_agora, one_line
from llm_model_support import LocalModel
from typer.testing import CliRunner

from agora import cli
from agora.platform.command_line import platform_settings
from agora.platform.doctor import Verdict, model_check
from agora.platform.net import free_port
from agora.platform.stack import busy_ports, child_environment, infrastructure_specs

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = isolate_agora(monkeypatch, tmp_path)
    # External PostgreSQL, NATS, mail and chain: only the model's process is left to decide.
    monkeypatch.setenv("AGORA_DATABASE_URL", "postgresql://shop@db.example:5432/shop")
    monkeypatch.setenv("AGORA_NATS_URL", "nats://nats.example:4222")
    monkeypatch.setenv("AGORA_SMTP_URL", "smtp://mail.example:25")
    monkeypatch.setenv("AGORA_CHAIN_RPC_URL", "https://polygon-rpc.example")
    return env


def test_every_service_is_pointed_at_the_embedded_model_that_up_supervises(
    isolated_environment: dict[str, str],
) -> None:
    settings = platform_settings()

    env = child_environment(settings)

    port = isolated_environment["AGORA_LLM_PORT"]
    assert env["AGORA_SUPPORT_LLM_BASE_URL"] == f"http://127.0.0.1:{port}/v1"
    assert env["AGORA_SUPPORT_LLM_MODEL"] == "smollm2-135m-instruct"
    (spec,) = asyncio.run(infrastructure_specs(settings))
    assert spec.name == "llm"
    assert spec.url == f"http://127.0.0.1:{port}/v1"
    argv = list(spec.argv)
    assert argv[argv.index("--port") + 1] == port
    assert argv[argv.index("--name") + 1] == "smollm2-135m-instruct"
    assert argv[3].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_a_configured_model_server_leaves_the_embedded_model_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_SUPPORT_LLM_BASE_URL", "https://api.mistral.ai/v1")
    monkeypatch.setenv("AGORA_SUPPORT_LLM_MODEL", "mistral-small-latest")
    settings = platform_settings()

    env = child_environment(settings)

    assert env["AGORA_SUPPORT_LLM_BASE_URL"] == "https://api.mistral.ai/v1"
    assert env["AGORA_SUPPORT_LLM_MODEL"] == "mistral-small-latest"
    assert asyncio.run(infrastructure_specs(settings)) == []
    assert "local model" not in [label for label, _, _ in busy_ports(settings)]


def test_up_refuses_a_held_model_port_naming_its_variable(
    held_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGORA_LLM_PORT", str(held_port))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert f"port {held_port} (local model) is already in use" in one_line(result.output)
    assert "set AGORA_LLM_PORT to a free port" in one_line(result.output)


def test_up_refuses_a_configured_model_file_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "absent.gguf"
    monkeypatch.setenv("AGORA_LLM_MODEL_FILE", str(missing))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert f"AGORA_LLM_MODEL_FILE={missing}: no such file" in one_line(result.output)
    assert not (tmp_path / "var" / "logs").exists(), "refused before starting anything"


def test_doctor_finds_the_embedded_model_ready_to_start() -> None:
    check = asyncio.run(model_check())

    assert check.verdict is Verdict.OK
    assert "embedded smollm2-135m-instruct (94 MB), not running" in check.detail


def test_doctor_fails_when_another_program_holds_the_model_port(
    held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_LLM_PORT", str(held_port))

    result = runner.invoke(cli.app, ["doctor"])

    assert result.exit_code == 1
    line = next(li for li in result.output.splitlines() if "support model" in li)
    assert "FAIL" in line
    assert f"port {held_port} is in use" in line
    assert "set AGORA_LLM_PORT to another port" in line


def test_doctor_sees_the_running_embedded_model(
    local_model: LocalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_LLM_PORT", str(urlsplit(local_model.base_url).port))

    check = asyncio.run(model_check())

    assert check.verdict is Verdict.OK
    assert check.detail.endswith(f"at {local_model.base_url}")


def test_doctor_reaches_a_configured_model_server(
    local_model: LocalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_SUPPORT_LLM_BASE_URL", local_model.base_url)

    check = asyncio.run(model_check())

    assert check.verdict is Verdict.OK
    assert check.detail == f"{local_model.base_url} answers (HTTP 200)"


def test_doctor_warns_when_the_configured_model_server_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("AGORA_SUPPORT_LLM_BASE_URL", nowhere)

    check = asyncio.run(model_check())

    assert check.verdict is Verdict.WARN
    assert f"unreachable at {nowhere}" in check.detail
