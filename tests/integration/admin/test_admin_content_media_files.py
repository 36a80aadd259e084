"""Stored images read back over gRPC (`GetMediaFile`, the storefront's route through the gateway):
each variant's bytes with its type, the hash as ETag and a year of caching as response headers;
an image too narrow for a variant answers its original there; the upload answer names the URLs."""

from __future__ import annotations

import io
import uuid

import grpc
import pytest
from PIL import Image

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora.platform.rpc.server import GrpcServer

TIMEOUT_S = 10
IMMUTABLE = "public, max-age=31536000, immutable"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (uuid.uuid4().int % 256, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def upload(data: bytes) -> pb.UploadMediaRequest:
    return pb.UploadMediaRequest(
        idempotency_key=str(uuid.uuid4()), content_type="image/png", data=data
    )


async def read_file(
    content: ContentServiceStub, sha256: str, variant: str
) -> tuple[bytes, str, dict[str, str]]:
    """The file's bytes, its content type and the response headers its call sent."""
    call = content.GetMediaFile(
        pb.GetMediaFileRequest(sha256=sha256, variant=variant), timeout=TIMEOUT_S
    )
    body = await call
    headers = {key: value for key, value in await call.initial_metadata()}
    return body.data, body.content_type, headers


async def test_each_variant_is_served_with_its_type_and_immutable_caching(
    content: ContentServiceStub,
) -> None:
    data = png(1000, 500)
    media = await content.UploadMedia(upload(data), timeout=TIMEOUT_S)

    original, original_type, headers = await read_file(content, media.sha256, "original")
    small, small_type, _ = await read_file(content, media.sha256, "w320")

    assert (original, original_type) == (data, "image/png")
    assert headers["etag"] == f'"{media.sha256}"'
    assert headers["cache-control"] == IMMUTABLE
    assert small_type == "image/webp"
    with Image.open(io.BytesIO(small)) as image:
        assert (image.format, image.size) == ("WEBP", (320, 160))
    assert {v.name: v.url for v in media.variants} == {
        name: f"/v1/content/media/{media.sha256}/{name}" for name in ("original", "w320", "w960")
    }


async def test_an_image_too_narrow_for_a_variant_answers_its_original_there(
    content: ContentServiceStub,
) -> None:
    data = png(200, 100)
    media = await content.UploadMedia(upload(data), timeout=TIMEOUT_S)

    wide, wide_type, _ = await read_file(content, media.sha256, "w960")

    assert [v.name for v in media.variants] == ["original"]
    assert (wide, wide_type) == (data, "image/png")


async def test_an_unknown_hash_is_not_found_and_malformed_names_are_invalid(
    content: ContentServiceStub,
) -> None:
    unknown = uuid.uuid4().hex * 2
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await content.GetMediaFile(
            pb.GetMediaFileRequest(sha256=unknown, variant="original"), timeout=TIMEOUT_S
        )
    with pytest.raises(grpc.aio.AioRpcError) as not_hex:
        await content.GetMediaFile(
            pb.GetMediaFileRequest(sha256="../../etc/passwd", variant="original"),
            timeout=TIMEOUT_S,
        )
    with pytest.raises(grpc.aio.AioRpcError) as no_such_variant:
        await content.GetMediaFile(
            pb.GetMediaFileRequest(sha256=unknown, variant="w100"), timeout=TIMEOUT_S
        )

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert not_hex.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert no_such_variant.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_caller_without_a_request_id_gets_the_headers_and_an_id_with_them(
    content: ContentServiceStub, admin_server: GrpcServer
) -> None:
    media = await content.UploadMedia(upload(png(40, 40)), timeout=TIMEOUT_S)
    async with grpc.aio.insecure_channel(admin_server.address) as channel:
        call = ContentServiceStub(channel).GetMediaFile(
            pb.GetMediaFileRequest(sha256=media.sha256, variant="original"), timeout=TIMEOUT_S
        )
        await call
        headers = {key: value for key, value in await call.initial_metadata()}

    assert headers["etag"] == f'"{media.sha256}"'
    assert len(headers["x-request-id"]) == 32
