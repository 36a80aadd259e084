"""Stock and reservations through the real gRPC API: race-free, all-or-nothing, expiring."""

from __future__ import annotations

import asyncio

import grpc
from catalog_support import (
    TIMEOUT_S,
    count_rows,
    create_product,
    error_of,
    eur,
    key,
    outbox_subjects,
    set_stock,
    stock_of,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.catalog.jobs import ReservationExpiry
from agora.platform.runtime import ServiceParts


def reserve(
    *lines: tuple[str, int], ttl_seconds: int = 0, reference: str = "order-1"
) -> pb.ReserveStockRequest:
    return pb.ReserveStockRequest(
        idempotency_key=key(),
        lines=[pb.ReservationLine(variant_id=v, quantity=q) for v, q in lines],
        ttl_seconds=ttl_seconds,
        reference=reference,
    )


async def two_variants(catalog: CatalogServiceStub, on_hand: tuple[int, int]) -> tuple[str, str]:
    product = await create_product(
        catalog, "Reservable Chair", price_lists=[[eur(100)], [eur(200)]], on_hand=on_hand
    )
    return product.variants[0].id, product.variants[1].id


async def test_200_concurrent_reservations_against_stock_of_50_exactly_50_succeed(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    product = await create_product(catalog, "Limited Edition Print", on_hand=[50])
    variant_id = product.variants[0].id

    async def attempt(i: int) -> grpc.StatusCode:
        try:
            await catalog.ReserveStock(reserve((variant_id, 1), reference=f"o-{i}"), timeout=60)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    outcomes = await asyncio.gather(*(attempt(i) for i in range(200)))
    assert outcomes.count(grpc.StatusCode.OK) == 50
    assert outcomes.count(grpc.StatusCode.FAILED_PRECONDITION) == 150
    stock = await stock_of(catalog, variant_id)
    assert (stock.on_hand, stock.reserved, stock.available) == (50, 50, 0)
    held = await count_rows(
        catalog_engine,
        "SELECT coalesce(sum(quantity), 0) FROM reservation_lines WHERE variant_id = :v",
        v=variant_id,
    )
    assert held == 50


async def test_a_short_line_reports_what_is_available_and_holds_nothing(
    catalog: CatalogServiceStub,
) -> None:
    plenty, scarce = await two_variants(catalog, (10, 1))
    code, info = await error_of(catalog.ReserveStock(reserve((plenty, 3), (scarce, 2))))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == "INSUFFICIENT"
    assert [(s.subject, s.requested, s.available) for s in info.shortages] == [(scarce, 2, 1)]
    assert (await stock_of(catalog, plenty)).reserved == 0
    assert (await stock_of(catalog, scarce)).reserved == 0


async def test_a_reservation_with_an_unknown_variant_changes_no_stock(
    catalog: CatalogServiceStub,
) -> None:
    plenty, _ = await two_variants(catalog, (10, 10))
    unknown = "00000000-0000-0000-0000-000000000001"
    code, _ = await error_of(catalog.ReserveStock(reserve((plenty, 1), (unknown, 1))))
    assert code == grpc.StatusCode.NOT_FOUND
    assert (await stock_of(catalog, plenty)).reserved == 0


async def test_invalid_lines_are_named(catalog: CatalogServiceStub) -> None:
    plenty, _ = await two_variants(catalog, (10, 10))
    code, info = await error_of(catalog.ReserveStock(reserve((plenty, 0), ("x", 1))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["lines[0].quantity", "lines[1].variantId"]


async def test_commit_takes_reserved_units_out_of_stock(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    first, second = await two_variants(catalog, (5, 5))
    reservation = await catalog.ReserveStock(reserve((first, 2), (second, 1)), timeout=TIMEOUT_S)
    assert reservation.status == pb.RESERVATION_STATUS_ACTIVE
    committed = await catalog.CommitReservation(
        pb.CommitReservationRequest(idempotency_key=key(), id=reservation.id)
    )
    assert committed.status == pb.RESERVATION_STATUS_COMMITTED
    assert (await stock_of(catalog, first)).on_hand == 3
    assert (await stock_of(catalog, first)).reserved == 0
    assert (await stock_of(catalog, second)).on_hand == 4
    code, _ = await error_of(
        catalog.ReleaseReservation(
            pb.ReleaseReservationRequest(idempotency_key=key(), id=reservation.id)
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert await outbox_subjects(catalog_engine, reservation.id) == [
        "catalog.stock.reserved",
        "catalog.stock.reservation_committed",
    ]


async def test_release_makes_reserved_units_available_again(catalog: CatalogServiceStub) -> None:
    first, _ = await two_variants(catalog, (5, 5))
    reservation = await catalog.ReserveStock(reserve((first, 4)), timeout=TIMEOUT_S)
    assert (await stock_of(catalog, first)).available == 1
    request = pb.ReleaseReservationRequest(idempotency_key=key(), id=reservation.id)
    released = await catalog.ReleaseReservation(request)
    assert released.status == pb.RESERVATION_STATUS_RELEASED
    assert await catalog.ReleaseReservation(request) == released
    stock = await stock_of(catalog, first)
    assert (stock.on_hand, stock.reserved) == (5, 0)


async def test_expired_reservation_is_released_and_announced(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine, catalog_service_parts: ServiceParts
) -> None:
    first, second = await two_variants(catalog, (3, 3))
    reservation = await catalog.ReserveStock(
        reserve((first, 2), (second, 3), ttl_seconds=1), timeout=TIMEOUT_S
    )
    await asyncio.sleep(1.1)
    code, info = await error_of(
        catalog.CommitReservation(
            pb.CommitReservationRequest(idempotency_key=key(), id=reservation.id)
        )
    )
    assert (code, info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED")
    [expiry] = [job for job in catalog_service_parts.jobs if isinstance(job, ReservationExpiry)]
    assert await expiry.run_batch() >= 1
    after = await catalog.GetReservation(pb.GetReservationRequest(id=reservation.id))
    assert after.status == pb.RESERVATION_STATUS_EXPIRED
    assert (await stock_of(catalog, first)).reserved == 0
    assert (await stock_of(catalog, second)).available == 3
    assert await outbox_subjects(catalog_engine, reservation.id) == [
        "catalog.stock.reserved",
        "catalog.stock.reservation_expired",
    ]


async def test_stock_cannot_be_set_below_what_is_reserved(catalog: CatalogServiceStub) -> None:
    first, _ = await two_variants(catalog, (5, 5))
    await catalog.ReserveStock(reserve((first, 4)), timeout=TIMEOUT_S)
    code, _ = await error_of(set_stock(catalog, first, 3))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert (await set_stock(catalog, first, 4)).available == 0
