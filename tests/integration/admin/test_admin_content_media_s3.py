"""Media in an S3-compatible store (`AGORA_ADMIN_MEDIA_STORE=s3`): the admin service composed
with a bucket on a local S3 server speaking the real protocol (moto's), uploads stored by content
hash with their variants and types, read back through `GetMediaFile`, re-uploads idempotent; an
object gone from the bucket is NOT_FOUND, an unreachable store UNAVAILABLE."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from admin_content_support import MEDIA_MAX_BYTES, ShiftedClock
from PIL import Image
from s3_server_support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_client, s3_server
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora.admin.bootstrap import SERVICE, compose, media_store
from agora.admin.content_media import media_key
from agora.admin.content_media_s3 import S3MediaStore
from agora.admin.settings import AdminSettings
from agora.platform.errors import Unavailable
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends, service_resolver
from agora.platform.settings import PlatformSettings

TIMEOUT_S = 10
BUCKET = "agora-media"
PREFIX = "shop-a"


@pytest.fixture(scope="module")
async def s3_endpoint() -> AsyncIterator[str]:
    async with s3_server() as endpoint:
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture(scope="module")
def s3_settings(s3_endpoint: str) -> AdminSettings:
    return AdminSettings(
        media_store="s3",
        media_s3_bucket=BUCKET,
        media_s3_endpoint=s3_endpoint,
        media_s3_region=REGION,
        media_s3_prefix=PREFIX,
        media_s3_access_key_id=ACCESS_KEY_ID,
        media_s3_secret_access_key=SECRET_ACCESS_KEY,
        media_max_bytes=MEDIA_MAX_BYTES,
    )


@pytest.fixture(scope="module")
async def s3_content(
    admin_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    content_clock: ShiftedClock,
    s3_settings: AdminSettings,
) -> AsyncIterator[ContentServiceStub]:
    """Content management of an admin service whose media live in the bucket."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    nc = await nats.connect(nats_url)
    async with service_resolver(platform, nc.jetstream()) as channels:
        backends = Backends(platform, admin_engine, nc.jetstream(), channels)
        parts = compose(backends, s3_settings, clock=content_clock)
        server = GrpcServer(
            SERVICE,
            "127.0.0.1",
            free_port(),
            authorization=authorization_interceptor(security_files),
        )
        for servicer in parts.servicers:
            server.add(servicer.add_to_server, servicer.implementation)
        await server.start()
        channel = authorized_channel(server.address)
        yield ContentServiceStub(channel)
        await channel.close()
        await server.stop(0)
    await nc.close()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (uuid.uuid4().int % 256, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def upload(data: bytes) -> pb.UploadMediaRequest:
    return pb.UploadMediaRequest(
        idempotency_key=str(uuid.uuid4()), content_type="image/png", data=data
    )


def objects(endpoint: str, sha256: str) -> dict[str, dict[str, Any]]:
    """The bucket's objects of one image (key under the prefix -> its head)."""
    client = s3_client(endpoint)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")
    keys = [o["Key"] for o in listed.get("Contents", []) if sha256 in o["Key"]]
    return {
        key.removeprefix(f"{PREFIX}/"): client.head_object(Bucket=BUCKET, Key=key) for key in keys
    }


async def get_file(content: ContentServiceStub, sha256: str, variant: str) -> pb.Media:
    return await content.GetMediaFile(
        pb.GetMediaFileRequest(sha256=sha256, variant=variant), timeout=TIMEOUT_S
    )


def test_the_settings_choose_the_s3_store(s3_settings: AdminSettings) -> None:
    assert isinstance(media_store(s3_settings, Path("unused")), S3MediaStore)


async def test_an_upload_is_stored_in_the_bucket_by_content_hash_with_its_variants(
    s3_content: ContentServiceStub, s3_endpoint: str
) -> None:
    data = png(1000, 500)

    media = await s3_content.UploadMedia(upload(data), timeout=TIMEOUT_S)

    stored = objects(s3_endpoint, media.sha256)
    assert sorted(stored) == sorted(v.key for v in media.variants)
    assert media_key(media.sha256, "original", "image/png") in stored
    assert {stored[v.key]["ContentType"] for v in media.variants} == {"image/png", "image/webp"}
    assert stored[media_key(media.sha256, "original", "image/png")]["ContentLength"] == len(data)


async def test_files_are_read_back_from_the_bucket(
    s3_content: ContentServiceStub, s3_endpoint: str
) -> None:
    data = png(1000, 500)
    media = await s3_content.UploadMedia(upload(data), timeout=TIMEOUT_S)

    original = await get_file(s3_content, media.sha256, "original")
    wide = await get_file(s3_content, media.sha256, "w960")

    assert (original.data, original.content_type) == (data, "image/png")
    assert wide.content_type == "image/webp"
    with Image.open(io.BytesIO(wide.data)) as image:
        assert image.size == (960, 480)


async def test_a_re_upload_answers_the_same_media_and_leaves_the_objects_alone(
    s3_content: ContentServiceStub, s3_endpoint: str
) -> None:
    data = png(700, 300)
    first = await s3_content.UploadMedia(upload(data), timeout=TIMEOUT_S)
    before = objects(s3_endpoint, first.sha256)

    again = await s3_content.UploadMedia(upload(data), timeout=TIMEOUT_S)
    retried = upload(data)
    replayed = [await s3_content.UploadMedia(retried, timeout=TIMEOUT_S) for _ in range(2)]

    after = objects(s3_endpoint, first.sha256)
    assert again == first
    assert replayed == [first, first]
    assert {k: (h["ETag"], h["LastModified"]) for k, h in after.items()} == {
        k: (h["ETag"], h["LastModified"]) for k, h in before.items()
    }


async def test_an_object_gone_from_the_bucket_is_not_found(
    s3_content: ContentServiceStub, s3_endpoint: str
) -> None:
    media = await s3_content.UploadMedia(upload(png(50, 50)), timeout=TIMEOUT_S)
    s3_client(s3_endpoint).delete_object(
        Bucket=BUCKET, Key=f"{PREFIX}/{media_key(media.sha256, 'original', 'image/png')}"
    )

    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await get_file(s3_content, media.sha256, "original")

    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_unreachable_store_is_unavailable() -> None:
    store = S3MediaStore(
        BUCKET,
        endpoint=f"http://127.0.0.1:{free_port()}",
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )

    with pytest.raises(Unavailable):
        await store.get("ab/cd/x/original.png")
    with pytest.raises(Unavailable):
        await store.put("ab/cd/x/original.png", b"x", "image/png")
