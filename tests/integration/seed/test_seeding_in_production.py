"""With `AGORA_ENV=prod`, `agora seed` and `agora up` refuse to seed: exit 1, a clear message on
stderr, and nothing written (no row, no seed run, no file in the data dir)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from seed_support import count, migrated_database
from typer.testing import CliRunner

from agora.cli import app


@pytest.fixture
def production(
    database_url: str, nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A migrated database, and the environment of a production deployment using it."""
    url = asyncio.run(migrated_database(database_url))
    monkeypatch.setenv("AGORA_ENV", "prod")
    monkeypatch.setenv("AGORA_DATABASE_URL", url)
    monkeypatch.setenv("AGORA_NATS_URL", nats_url)
    monkeypatch.setenv("AGORA_DATA_DIR", str(tmp_path / "data"))
    return url


def assert_nothing_written(url: str, data_dir: Path) -> None:
    assert asyncio.run(count(url, "SELECT count(*) FROM auth.users")) == 0
    assert asyncio.run(count(url, "SELECT count(*) FROM catalog.products")) == 0
    seed_schema = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'seed'"
    assert asyncio.run(count(url, seed_schema)) == 0
    assert not data_dir.exists()


@pytest.mark.parametrize("profile", ["minimal", "test"])
def test_agora_seed_is_refused_in_production(production: str, tmp_path: Path, profile: str) -> None:
    result = CliRunner().invoke(app, ["seed", "--profile", profile])

    assert result.exit_code == 1
    assert "AGORA_ENV=prod: seeding is refused" in " ".join(result.stderr.split())
    assert_nothing_written(production, tmp_path / "data")


def test_agora_up_refuses_to_seed_in_production_before_starting_anything(
    production: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["up"])

    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "AGORA_ENV=prod: seeding is refused" in message
    assert "--no-seed" in message
    assert_nothing_written(production, tmp_path / "data")
