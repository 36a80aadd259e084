"""The embedded NATS server's configuration: fsync on every write unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.settings import PlatformSettings


def test_every_write_is_fsynced_by_default(tmp_path: Path) -> None:
    config = EmbeddedNats(tmp_path, 4999).initialise().read_text()
    assert "sync_interval: always" in config
    assert PlatformSettings().nats_sync_interval == "always"


def test_an_interval_can_be_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_NATS_SYNC_INTERVAL", "1s")
    interval = PlatformSettings().nats_sync_interval
    config = EmbeddedNats(tmp_path, 4999, sync_interval=interval).initialise().read_text()
    assert "sync_interval: 1s" in config


@pytest.mark.parametrize("value", ["", "never", "1 s", "0s", "1s\n}", "10h"])
def test_anything_else_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_NATS_SYNC_INTERVAL", value)
    with pytest.raises(ValidationError):
        PlatformSettings()
