"""Media uploads over gRPC: stored by content hash on disk with resized variants; a lie about
the type or an upload over the limit is refused before anything is recorded."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import grpc
import pytest
from admin_content_support import MEDIA_MAX_BYTES
from PIL import Image

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora.platform.rpc.status import error_info_from_rpc_error

TIMEOUT_S = 10


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (uuid.uuid4().int % 256, 90, 30)).save(out, format="PNG")
    return out.getvalue()


def _upload(data: bytes, content_type: str = "image/png") -> pb.UploadMediaRequest:
    return pb.UploadMediaRequest(
        idempotency_key=str(uuid.uuid4()), filename="lamp.png", content_type=content_type, data=data
    )


async def test_an_image_is_stored_by_its_hash_with_narrower_variants(
    content: ContentServiceStub, media_dir: Path
) -> None:
    data = _png(1000, 500)
    media = await content.UploadMedia(_upload(data), timeout=TIMEOUT_S)
    again = await content.UploadMedia(_upload(data), timeout=TIMEOUT_S)
    found = await content.GetMedia(pb.GetMediaRequest(sha256=media.sha256), timeout=TIMEOUT_S)
    variants = {v.name: v for v in media.variants}

    assert (media.content_type, media.width, media.height) == ("image/png", 1000, 500)
    assert again == media
    assert found == media
    assert sorted(variants) == ["original", "w320", "w960"]
    assert (media_dir / variants["original"].key).read_bytes() == data
    with Image.open(media_dir / variants["w320"].key) as small:
        assert (small.format, small.size) == ("WEBP", (320, 160))


async def test_an_upload_lying_about_its_type_is_invalid(content: ContentServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await content.UploadMedia(_upload(_png(20, 20), "image/jpeg"), timeout=TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "image/png" in (refused.value.details() or "")


async def test_a_script_declared_as_an_image_is_invalid(content: ContentServiceStub) -> None:
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await content.UploadMedia(_upload(svg, "image/png"), timeout=TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_upload_over_the_limit_is_refused_as_too_large(
    content: ContentServiceStub,
) -> None:
    noise = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > MEDIA_MAX_BYTES
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await content.UploadMedia(_upload(out.getvalue()), timeout=TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info_from_rpc_error(refused.value).reason == "PAYLOAD_TOO_LARGE"
