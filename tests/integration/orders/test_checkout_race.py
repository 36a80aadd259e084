"""100 customers race through checkout for the last 10 units: exactly 10 orders are placed and
paid, the other 90 learn clearly that the stock ran out, and the stock never goes negative."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from orders_support import eventually, product, ready_cart, stock
from saga_support import (
    Checkout,
    awaiting_payment,
    checkout_world,
    dev_pay,
    order_in,
    own_jetstream,
    place,
)

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.platform.db import ensure_database
from agora.platform.rpc.status import error_info_from_rpc_error
from agora.platform.settings import PlatformSettings

CUSTOMERS = 100
LAST_UNITS = 10


@pytest.fixture(scope="module")
async def checkout(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Checkout]:
    race_database = f"{database_url.rpartition('/')[0]}/agora_race_{uuid.uuid4().hex[:8]}"
    await ensure_database(race_database)
    with own_jetstream(Path(tmp_path_factory.mktemp("race")) / "nats") as nats_url:
        platform = PlatformSettings(database_url=race_database, nats_url=nats_url, discovery=False)
        async with checkout_world(platform) as world:
            yield world


async def test_100_customers_racing_for_the_last_10_units_buy_exactly_10(
    checkout: Checkout,
) -> None:
    product_id, variant_id = await product(checkout.catalog, on_hand=LAST_UNITS)
    carts = await asyncio.gather(
        *(ready_cart(checkout.orders, product_id, variant_id) for _ in range(CUSTOMERS))
    )

    async def attempt(cart: pb.Cart) -> pb.Order | str:
        try:
            return await place(checkout.orders, cart)
        except grpc.aio.AioRpcError as error:
            info = error_info_from_rpc_error(error)
            shortages = [(s.subject, s.requested, s.available) for s in info.shortages]
            return f"{error.code().name} {info.reason} {shortages}"

    outcomes = await asyncio.gather(*(attempt(cart) for cart in carts))
    placed = [o for o in outcomes if isinstance(o, pb.Order)]
    refusals = [o for o in outcomes if isinstance(o, str)]
    assert len(placed) == LAST_UNITS
    # Each refusal names the variant, the one unit asked for and the none left.
    sold_out_refusal = f"FAILED_PRECONDITION INSUFFICIENT {[(variant_id, 1, 0)]}"
    assert refusals == [sold_out_refusal] * (CUSTOMERS - LAST_UNITS)
    held = await stock(checkout.catalog, variant_id)
    assert (held.on_hand, held.reserved, held.available) == (LAST_UNITS, LAST_UNITS, 0)

    waiting = await asyncio.gather(*(awaiting_payment(checkout.orders, o.id) for o in placed))
    await asyncio.gather(
        *(dev_pay(checkout.payments, o.invoice_id, ppb.DEV_PAY_ACTION_PAY_FULL) for o in waiting)
    )
    paid = await asyncio.gather(
        *(order_in(checkout.orders, o.id, pb.ORDER_STATUS_PAID, timeout_s=30) for o in placed)
    )
    assert len({o.id for o in paid}) == LAST_UNITS

    async def sold_out() -> bool:
        current = await stock(checkout.catalog, variant_id)
        assert min(current.on_hand, current.reserved, current.available) >= 0
        return (current.on_hand, current.reserved, current.available) == (0, 0, 0)

    await eventually(sold_out, timeout_s=30)
