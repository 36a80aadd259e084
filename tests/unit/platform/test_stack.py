"""What `agora up` gives every process it starts, decided without starting any."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cli_support import isolate_agora

from agora.platform.command_line import platform_settings
from agora.platform.doctor import configured_ports
from agora.platform.services import GRPC_SERVICES
from agora.platform.stack import PAGE_TOKEN_KEY_FILENAME, child_environment, page_token_key


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolate_agora(monkeypatch, tmp_path)


def test_services_get_the_database_nats_and_every_address(
    isolated_environment: dict[str, str],
) -> None:
    env = child_environment(platform_settings())

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
    settings = platform_settings()

    assert [p.label for p in configured_ports(settings)] == [
        "NATS",
        *(service.name for service in GRPC_SERVICES),
        "gateway",
    ]
    assert child_environment(settings)["AGORA_DATABASE_URL"] == (
        "postgresql+asyncpg://shop@db.example:5432/shop"
    )


def test_every_service_gets_the_same_page_token_key_kept_private_in_the_data_dir() -> None:
    settings = platform_settings()

    first = child_environment(settings)["AGORA_PAGE_TOKEN_KEY"]
    again = child_environment(settings)["AGORA_PAGE_TOKEN_KEY"]

    key_file = settings.data_dir / "secrets" / PAGE_TOKEN_KEY_FILENAME
    assert len(bytes.fromhex(first)) == 32
    assert again == first, "made once, then read"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_two_data_dirs_get_different_page_token_keys(tmp_path: Path) -> None:
    assert page_token_key(tmp_path / "one") != page_token_key(tmp_path / "two")


def test_a_configured_page_token_key_is_passed_on_and_no_file_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_PAGE_TOKEN_KEY", "ab" * 32)
    settings = platform_settings()

    assert child_environment(settings)["AGORA_PAGE_TOKEN_KEY"] == "ab" * 32
    assert not (settings.data_dir / "secrets" / PAGE_TOKEN_KEY_FILENAME).exists()


def test_a_damaged_page_token_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / PAGE_TOKEN_KEY_FILENAME
    key_file.parent.mkdir()
    key_file.write_text("")

    with pytest.raises(ValueError, match=f"{key_file} is not a page-token key"):
        page_token_key(tmp_path)
