"""Media uploads: images only, their type read from their bytes (never the uploader's word),
bounded in size and pixels, stored by content hash with resized variants, through a small
store interface (`MediaStore`): on disk by default, or an S3-compatible bucket
(`content_media_s3.S3MediaStore`). The storefront reads them at `media_url`: named by content,
they never change, so browsers and proxies keep them for a year.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from agora.platform.errors import InvalidArgument

# Pillow format -> MIME type of the images accepted (no SVG: it can carry scripts).
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
# Declared types that name the same thing as the sniffed one.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
VARIANT_WIDTHS = (320, 960)
ORIGINAL = "original"
# A stored image never changes: any cache may keep it as long as HTTP lets it.
MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable"
MEDIA_PATH = "/v1/content/media"
# A decompression bomb (a small file of huge dimensions) is refused before it is decoded.
MAX_PIXELS = 40_000_000


# What Pillow raises on bytes that are no image it can read, or a decompression bomb.
_UNREADABLE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombWarning,
    Image.DecompressionBombError,
)


class MediaTooLarge(InvalidArgument):
    """An upload over the size limit: INVALID_ARGUMENT on gRPC, 413 at the HTTP edge."""

    reason = "PAYLOAD_TOO_LARGE"


@dataclass(frozen=True)
class StoredVariant:
    name: str
    key: str
    content_type: str
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class SniffedImage:
    """An upload that is an image of an accepted type, and what it really is."""

    sha256: str
    content_type: str
    width: int
    height: int
    data: bytes


def sniff_image(data: bytes, declared_type: str, *, max_bytes: int) -> SniffedImage:
    """The image `data` holds, when it is one of FORMATS, within `max_bytes` and MAX_PIXELS,
    and of the type the uploader declared; else why not (INVALID_ARGUMENT, or MediaTooLarge)."""
    if len(data) > max_bytes:
        raise MediaTooLarge(
            f"the upload is {len(data)} bytes; at most {max_bytes} are accepted",
            metadata={"maxBytes": str(max_bytes)},
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, width, height = image.format, image.width, image.height
                image.verify()
    except _UNREADABLE as error:
        raise InvalidArgument.for_field("data", "not a PNG, JPEG, GIF or WebP image") from error
    sniffed = FORMATS.get(kind or "")
    if sniffed is None:
        raise InvalidArgument.for_field("data", "not a PNG, JPEG, GIF or WebP image")
    if width * height > MAX_PIXELS:
        raise InvalidArgument.for_field("data", f"at most {MAX_PIXELS} pixels")
    declared = declared_type.strip().lower().split(";")[0]
    if _ALIASES.get(declared, declared) != sniffed:
        raise InvalidArgument.for_field(
            "contentType", f"the bytes are {sniffed}, not {declared_type[:100]}"
        )
    digest = hashlib.sha256(data).hexdigest()
    return SniffedImage(digest, sniffed, width, height, data)


def variant_images(image: SniffedImage) -> list[tuple[str, str, bytes, int, int]]:
    """(name, content type, bytes, width, height) of each resized variant: WebP, one per
    VARIANT_WIDTHS narrower than the original (images are never enlarged)."""
    variants = []
    with Image.open(io.BytesIO(image.data)) as original:
        original.seek(0)
        frame = original.convert("RGBA" if original.mode in ("RGBA", "LA", "P") else "RGB")
    for width in VARIANT_WIDTHS:
        if width >= image.width:
            continue
        height = max(1, round(image.height * width / image.width))
        resized = frame.resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        resized.save(out, format="WEBP", quality=82)
        variants.append((f"w{width}", "image/webp", out.getvalue(), width, height))
    return variants


def media_url(sha256: str, name: str) -> str:
    """Where the storefront reads a variant through the gateway (`GetMediaFile`)."""
    return f"{MEDIA_PATH}/{sha256}/{name}"


def variant_named(variants: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The stored variant `name` (a row's `variants`), or the original for a width variant the
    image is too narrow to have (it is never enlarged), or None."""
    by_name = {variant["name"]: variant for variant in variants}
    if name in by_name:
        return by_name[name]
    if name in {f"w{width}" for width in VARIANT_WIDTHS}:
        return by_name.get(ORIGINAL)
    return None


def media_key(sha256: str, name: str, content_type: str) -> str:
    """Where a variant lives in a store: fanned out by the hash's first bytes."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}/{name}.{EXTENSIONS[content_type]}"


class MediaStore(ABC):
    """Where media bytes live, by key. Writes are idempotent: a key's bytes never change."""

    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` (nothing to do when it is already there)."""

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The bytes under `key` (FileNotFoundError when there are none)."""


class DiskMediaStore(MediaStore):
    """Files under a directory (`AGORA_ADMIN_MEDIA_DIR`), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"media key {key!r} leaves the media directory")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


async def store_image(store: MediaStore, image: SniffedImage) -> list[StoredVariant]:
    """The original and its variants, written to `store` (resizing off the event loop)."""
    resized = await asyncio.to_thread(variant_images, image)
    pieces = [(ORIGINAL, image.content_type, image.data, image.width, image.height), *resized]
    stored = []
    for name, content_type, data, width, height in pieces:
        key = media_key(image.sha256, name, content_type)
        await store.put(key, data, content_type)
        stored.append(StoredVariant(name, key, content_type, width, height, len(data)))
    return stored
