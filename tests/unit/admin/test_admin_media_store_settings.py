"""Choosing the media store by settings: an S3 store needs a bucket, an http(s) endpoint, and
a secret key with its access key (given, or read from a mounted file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agora.admin.settings import AdminSettings


def test_the_disk_store_is_the_default() -> None:
    assert AdminSettings().media_store == "disk"


def test_an_s3_store_without_a_bucket_is_refused() -> None:
    with pytest.raises(ValidationError, match="AGORA_ADMIN_MEDIA_S3_BUCKET"):
        AdminSettings(media_store="s3")


def test_an_endpoint_must_be_an_http_url() -> None:
    with pytest.raises(ValidationError, match="http"):
        AdminSettings(media_store="s3", media_s3_bucket="shop", media_s3_endpoint="ftp://x")


def test_an_access_key_without_its_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="SECRET_ACCESS_KEY"):
        AdminSettings(media_store="s3", media_s3_bucket="shop", media_s3_access_key_id="AK")


def test_the_secret_key_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "s3-secret"
    secret.write_text("s3cr3t\n")

    settings = AdminSettings(
        media_store="s3",
        media_s3_bucket="shop",
        media_s3_access_key_id="AK",
        media_s3_secret_access_key_file=secret,
    )

    assert settings.media_s3_secret_key() == "s3cr3t"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_ADMIN_MEDIA_STORE", "s3")
    monkeypatch.setenv("AGORA_ADMIN_MEDIA_S3_BUCKET", "shop-media")
    monkeypatch.setenv("AGORA_ADMIN_MEDIA_S3_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.setenv("AGORA_ADMIN_MEDIA_S3_ACCESS_KEY_ID", "AK")

    settings = AdminSettings()

    assert (settings.media_store, settings.media_s3_bucket) == ("s3", "shop-media")
    assert settings.media_s3_secret_key() == "from-env"
    assert "from-env" not in repr(settings)
