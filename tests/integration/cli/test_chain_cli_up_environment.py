"""What `agora up` does about the chain, decided without starting the stack: the embedded EVM
node's process and the URLs, chain id and keystore paths every service gets; a configured
`AGORA_CHAIN_RPC_URL` leaves the embedded node out."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from anvil_support import Anvil
from cli_support import isolate_agora, one_line
from typer.testing import CliRunner

from agora import cli
from agora.platform.command_line import platform_settings
from agora.platform.embedded.anvil import answers_chain_id
from agora.platform.net import free_port
from agora.platform.stack import (
    CHAIN_PASSPHRASE_FILENAME,
    busy_ports,
    child_environment,
    infrastructure_specs,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = isolate_agora(monkeypatch, tmp_path)
    # External PostgreSQL, NATS, mail and model: only the chain's process is left to decide.
    monkeypatch.setenv("AGORA_DATABASE_URL", "postgresql://shop@db.example:5432/shop")
    monkeypatch.setenv("AGORA_NATS_URL", "nats://nats.example:4222")
    monkeypatch.setenv("AGORA_SMTP_URL", "smtp://mail.example:25")
    monkeypatch.setenv("AGORA_SUPPORT_LLM_BASE_URL", "https://llm.example/v1")
    return env


def test_every_service_is_pointed_at_the_embedded_node_and_told_to_prepare_it(
    isolated_environment: dict[str, str],
) -> None:
    settings = platform_settings()

    env = child_environment(settings)

    port = isolated_environment["AGORA_ANVIL_PORT"]
    assert env["AGORA_CHAIN_RPC_URL"] == f"http://127.0.0.1:{port}"
    assert env["AGORA_CHAIN_WS_URL"] == f"ws://127.0.0.1:{port}"
    assert env["AGORA_CHAIN_ID"] == "31337"
    assert env["AGORA_CHAIN_DEVNET"] == "true"
    (spec,) = asyncio.run(infrastructure_specs(settings))
    assert spec.name == "anvil"
    assert spec.url == f"http://127.0.0.1:{port}"
    argv = list(spec.argv)
    assert argv[argv.index("--port") + 1] == port
    assert argv[argv.index("--block-time") + 1] == "1"
    assert argv[argv.index("--state") + 1] == str(settings.data_dir / "chain" / "state.json")


def test_the_keystore_passphrase_is_made_once_and_kept_private() -> None:
    settings = platform_settings()

    first = child_environment(settings)
    again = child_environment(settings)

    secrets_dir = settings.data_dir / "secrets"
    passphrase = Path(first["AGORA_CHAIN_PASSPHRASE_FILE"])
    assert passphrase == secrets_dir / CHAIN_PASSPHRASE_FILENAME
    assert Path(first["AGORA_CHAIN_KEYSTORE_FILE"]) == secrets_dir / "chain-keystore.json"
    assert len(passphrase.read_text().strip()) >= 40
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert again["AGORA_CHAIN_PASSPHRASE_FILE"] == str(passphrase)
    assert passphrase.read_text() == Path(again["AGORA_CHAIN_PASSPHRASE_FILE"]).read_text()


def test_a_configured_rpc_url_leaves_the_embedded_node_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_CHAIN_RPC_URL", "https://polygon-rpc.example")
    settings = platform_settings()

    env = child_environment(settings)

    assert env["AGORA_CHAIN_RPC_URL"] == "https://polygon-rpc.example"
    assert "AGORA_CHAIN_DEVNET" not in env
    assert "AGORA_CHAIN_ID" not in env
    assert asyncio.run(infrastructure_specs(settings)) == []
    assert "EVM node" not in [label for label, _, _ in busy_ports(settings)]


def test_up_refuses_a_held_node_port_naming_its_variable(
    held_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGORA_ANVIL_PORT", str(held_port))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert f"port {held_port} (EVM node) is already in use" in one_line(result.output)
    assert "set AGORA_ANVIL_PORT to a free port" in one_line(result.output)
    assert not (tmp_path / "var" / "chain").exists()


async def test_the_node_is_healthy_when_it_answers_the_dev_chain_id(anvil: Anvil) -> None:
    assert await answers_chain_id(anvil.url, 31337)
    assert not await answers_chain_id(anvil.url, 137), "another chain is not our node"
    assert not await answers_chain_id(f"http://127.0.0.1:{free_port()}", 31337)
