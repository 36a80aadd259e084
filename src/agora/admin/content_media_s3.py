"""Media in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, …) through obstore, under the same
content-hash keys as on disk. A key is written once: its bytes never change, so a key already
there is left alone (no conditional write needed, which not every S3-compatible store has).

Credentials are the settings' access key, else obstore's usual sources (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, a web identity or the instance's role). The store answering too slowly
or refusing is UNAVAILABLE (503), a missing key FileNotFoundError, as `MediaStore` says.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from agora.admin.content_media import MediaStore
from agora.platform.errors import Unavailable

T = TypeVar("T")

# Within one RPC's deadline: a few quick retries, never obstore's default three minutes.
TIMEOUT = timedelta(seconds=10)
RETRY_TIMEOUT = timedelta(seconds=15)
MAX_RETRIES = 3


class S3MediaStore(MediaStore):
    """Objects of `bucket` (at `endpoint`, AWS when None), keys under `prefix`."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        credentials = (
            {"access_key_id": access_key_id, "secret_access_key": secret_access_key or ""}
            if access_key_id
            else {}
        )
        self._store = S3Store(
            bucket,
            prefix=prefix.strip("/") or None,
            endpoint=endpoint,
            region=region,
            # Path-style addressing (`endpoint/bucket/key`): what S3-compatible servers expect.
            virtual_hosted_style_request=False,
            client_options={
                "allow_http": bool(endpoint and endpoint.startswith("http://")),
                "timeout": TIMEOUT,
                "connect_timeout": TIMEOUT,
            },
            retry_config={"max_retries": MAX_RETRIES, "retry_timeout": RETRY_TIMEOUT},
            **credentials,  # type: ignore[arg-type]
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if await self._exists(key):
            return
        await _reached(
            obstore.put_async(self._store, key, data, attributes={"Content-Type": content_type})
        )

    async def get(self, key: str) -> bytes:
        try:
            found = await _reached(obstore.get_async(self._store, key))
            return bytes(await _reached(found.bytes_async()))
        except NotFoundError as error:
            raise FileNotFoundError(key) from error

    async def _exists(self, key: str) -> bool:
        try:
            await _reached(obstore.head_async(self._store, key))
        except (FileNotFoundError, NotFoundError):
            return False
        return True


async def _reached(operation: Awaitable[T]) -> T:
    """`operation`'s result; the store failing (other than a missing key) is UNAVAILABLE."""
    try:
        return await operation
    except (FileNotFoundError, NotFoundError):
        raise
    except (BaseError, OSError) as error:
        raise Unavailable(f"the media store did not answer: {type(error).__name__}") from error
