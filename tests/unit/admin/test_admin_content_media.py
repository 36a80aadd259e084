"""Uploads: the type is read from the bytes, the size is bounded, variants are resized."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from agora.admin.content_media import (
    DiskMediaStore,
    MediaTooLarge,
    sniff_image,
    store_image,
    variant_images,
)
from agora.platform.errors import InvalidArgument

LIMIT = 1024 * 1024


def image_bytes(width: int, height: int, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format=kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "declared", "sniffed"),
    [("PNG", "image/png", "image/png"), ("JPEG", "image/jpg", "image/jpeg"),
     ("GIF", "image/gif", "image/gif"), ("WEBP", "image/webp", "image/webp")],
)  # fmt: skip
def test_an_image_is_accepted_as_what_its_bytes_are(kind: str, declared: str, sniffed: str) -> None:
    image = sniff_image(image_bytes(40, 30, kind), declared, max_bytes=LIMIT)
    assert (image.content_type, image.width, image.height) == (sniffed, 40, 30)
    assert len(image.sha256) == 64


def test_an_upload_that_lies_about_its_type_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        sniff_image(image_bytes(10, 10, "PNG"), "image/jpeg", max_bytes=LIMIT)
    assert refused.value.violations[0].field == "contentType"
    assert "image/png" in refused.value.message


@pytest.mark.parametrize(
    "data",
    [b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
     b"GIF89a<script>", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b""],
)  # fmt: skip
def test_bytes_that_are_no_accepted_image_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidArgument) as refused:
        sniff_image(data, "image/png", max_bytes=LIMIT)
    assert refused.value.violations[0].field == "data"


def test_an_upload_over_the_limit_is_too_large() -> None:
    data = image_bytes(10, 10)
    with pytest.raises(MediaTooLarge) as refused:
        sniff_image(data, "image/png", max_bytes=len(data) - 1)
    assert refused.value.reason == "PAYLOAD_TOO_LARGE"


def test_variants_are_narrower_webp_copies_never_enlargements() -> None:
    wide = sniff_image(image_bytes(1200, 600), "image/png", max_bytes=LIMIT)
    narrow = sniff_image(image_bytes(500, 500), "image/png", max_bytes=LIMIT)
    assert [(n, t, w, h) for n, t, _, w, h in variant_images(wide)] == [
        ("w320", "image/webp", 320, 160),
        ("w960", "image/webp", 960, 480),
    ]
    assert [name for name, *_ in variant_images(narrow)] == ["w320"]
    with Image.open(io.BytesIO(variant_images(wide)[0][2])) as variant:
        assert (variant.format, variant.size) == ("WEBP", (320, 160))


def test_the_disk_store_keeps_files_by_hash_and_refuses_keys_leaving_it(tmp_path: Path) -> None:
    store = DiskMediaStore(tmp_path)
    image = sniff_image(image_bytes(400, 100), "image/png", max_bytes=LIMIT)
    stored = asyncio.run(store_image(store, image))
    assert [v.name for v in stored] == ["original", "w320"]
    assert stored[0].key == f"{image.sha256[:2]}/{image.sha256[2:4]}/{image.sha256}/original.png"
    assert (tmp_path / stored[0].key).read_bytes() == image.data
    with pytest.raises(ValueError, match="leaves"):
        asyncio.run(store.get("../outside"))
