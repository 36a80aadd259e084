"""The catalog serves again within two seconds of PostgreSQL restarting, without a restart of
its own; while the database is away it answers UNAVAILABLE, never INTERNAL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from catalog_support import catalog_parts, create_product, serving, set_stock, stock_of
from postgres_support import RestartablePostgres, restartable_postgres
from security_support import SecurityFiles, authorized_channel

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.platform.db import create_engine
from agora.platform.migrations import migrate

HEALED_WITHIN_S = 2.0


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    yield from restartable_postgres(tmp_path)


@pytest.fixture
async def catalog_on_own_database(
    postgres: RestartablePostgres, security_files: SecurityFiles, nats_url: str
) -> AsyncIterator[CatalogServiceStub]:
    await migrate("catalog", postgres.database_url)
    engine = create_engine(postgres.database_url, "catalog", pool_size=3)
    try:
        async with (
            catalog_parts(engine, postgres.database_url, nats_url) as parts,
            serving(parts, security_files) as server,
        ):
            channel = authorized_channel(server.address)
            yield CatalogServiceStub(channel)
            await channel.close()
    finally:
        await engine.dispose()


async def test_the_catalog_serves_again_within_two_seconds_after_postgresql_restarts(
    postgres: RestartablePostgres, catalog_on_own_database: CatalogServiceStub
) -> None:
    catalog = catalog_on_own_database
    product = await create_product(catalog, "Restart Lamp", on_hand=(5,))
    variant_id = product.variants[0].id

    async def serve_three() -> None:
        """Three concurrent calls, so every pooled connection serves; mutations take the raw
        driver path (idempotency keys, outbox)."""
        await asyncio.gather(
            set_stock(catalog, variant_id, 7),
            set_stock(catalog, variant_id, 7),
            stock_of(catalog, variant_id),
        )

    await serve_three()

    await asyncio.to_thread(postgres.stop)
    while_down: list[grpc.StatusCode] = []
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await set_stock(catalog, variant_id, 8)
        while_down.append(failed.value.code())
    assert set(while_down) == {grpc.StatusCode.UNAVAILABLE}

    await asyncio.to_thread(postgres.start)
    back_at = time.monotonic()
    codes: list[grpc.StatusCode] = []
    served_in_a_row = 0
    while served_in_a_row < 10:
        assert time.monotonic() - back_at < HEALED_WITHIN_S, f"not healed: {codes}"
        try:
            await serve_three()
            served_in_a_row += 1
        except grpc.aio.AioRpcError as error:
            codes.append(error.code())
            served_in_a_row = 0
            await asyncio.sleep(0.05)

    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
    assert (await stock_of(catalog, variant_id)).on_hand == 7
