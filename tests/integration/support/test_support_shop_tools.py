"""The assistant's tools against the real catalog and orders: they act with the customer's own
credentials only, so the services decide what the customer may see and change. The channels
here default to an admin's token, as the support service's default to its own: a tool that let
that token through would read and change any order, and these tests would fail."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from security_support import admin_authorization, authorized_channel, bearer, customer_token
from shop_orders_support import TIMEOUT_S, advance_order, order_as, published_product
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders import store as order_store
from agora.orders.aggregate import OrderStatus
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.platform.db import create_engine
from agora.platform.net import free_port, free_ports, wait_for_port_async
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.settings import PlatformSettings
from agora.support.shop_tools import grpc_tools_factory
from agora.support.tools import CustomerAccess, OrderState, ToolError, ToolFailure, Tools


@dataclass(frozen=True)
class Shop:
    catalog: CatalogServiceStub
    # Orders as an admin calls it (a call's own metadata wins), and with no token at all.
    orders: OrdersServiceStub
    anonymous: OrdersServiceStub
    orders_engine: AsyncEngine
    channels: ServiceChannels
    support_engine: AsyncEngine
    lamp: tuple[str, str]

    def tools(self, access: CustomerAccess) -> Tools:
        return grpc_tools_factory(self.channels, self.support_engine)(access)


@contextlib.asynccontextmanager
async def serving(work: Coroutine[Any, Any, None], port: int) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    await wait_for_port_async(port, timeout_s=30)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


@pytest.fixture(scope="module")
async def shop(
    database_url: str, nats_url: str, support_engine: AsyncEngine
) -> AsyncIterator[Shop]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    catalog_port, orders_port = free_ports(2)
    addresses = {"catalog": f"127.0.0.1:{catalog_port}", "orders": f"127.0.0.1:{orders_port}"}
    previous = os.environ.get("AGORA_CATALOG_ADDRESS")
    os.environ["AGORA_CATALOG_ADDRESS"] = addresses["catalog"]
    orders_engine = create_engine(database_url, "orders", pool_size=2)
    channels = ServiceChannels(Resolver(static=addresses), authorization=admin_authorization())
    try:
        async with (
            serving(run_catalog(platform, CatalogSettings(port=catalog_port)), catalog_port),
            serving(run_orders(platform, OrdersSettings(port=orders_port)), orders_port),
            authorized_channel(addresses["catalog"]) as catalog_channel,
            authorized_channel(addresses["orders"]) as orders_channel,
            grpc.aio.insecure_channel(addresses["orders"]) as anonymous_channel,
        ):
            catalog = CatalogServiceStub(catalog_channel)
            lamp = await published_product(catalog, f"Quillon lamp {uuid.uuid4().hex[:6]}")
            yield Shop(
                catalog,
                OrdersServiceStub(orders_channel),
                OrdersServiceStub(anonymous_channel),
                orders_engine,
                channels,
                support_engine,
                lamp,
            )
    finally:
        await channels.close()
        await orders_engine.dispose()
        if previous is None:
            os.environ.pop("AGORA_CATALOG_ADDRESS", None)
        else:
            os.environ["AGORA_CATALOG_ADDRESS"] = previous


@dataclass(frozen=True)
class Customer:
    id: str
    access: CustomerAccess

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", self.access.authorization),)


def a_customer() -> Customer:
    subject = str(uuid.uuid4())
    access = CustomerAccess(
        authorization=bearer(customer_token(subject)),
        customer_id=subject,
        conversation_id=str(uuid.uuid4()),
    )
    return Customer(subject, access)


def guest_of(order: opb.Order) -> CustomerAccess:
    return CustomerAccess(
        authorization="",
        guest_order_id=order.id,
        guest_access_token=order.access_token,
        conversation_id=str(uuid.uuid4()),
    )


async def refused(call: Awaitable[object]) -> ToolError:
    try:
        await call
    except ToolError as error:
        return error
    raise AssertionError("the tool did what it should have refused")


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Wait until `check()` holds (order lists are a read model, fed by events)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never came true")
        await asyncio.sleep(0.1)


async def listed(tools: Tools, *order_ids: str) -> None:
    async def all_there() -> bool:
        return set(order_ids) <= {x.id for x in await tools.my_orders()}

    await eventually(all_there)


async def unchanged(shop: Shop, order: opb.Order, status: int) -> None:
    now = await shop.orders.GetOrder(opb.GetOrderRequest(id=order.id), timeout=TIMEOUT_S)
    assert (now.status, now.version) == (status, order.version)


async def test_a_customers_tools_list_their_own_orders_newest_first(shop: Shop) -> None:
    me, other = a_customer(), a_customer()
    first = await order_as(shop.orders, shop.lamp, me.metadata)
    second = await order_as(shop.orders, shop.lamp, me.metadata, quantity=2)
    theirs = await order_as(shop.orders, shop.lamp, other.metadata)
    tools = shop.tools(me.access)

    await listed(tools, first.id, second.id)
    mine = await tools.my_orders()

    assert [x.id for x in mine] == [second.id, first.id]
    assert theirs.id not in {x.id for x in mine}
    assert (mine[0].status, mine[0].item_count) == (OrderState.PLACED, 2)
    assert mine[0].total.amount_minor == second.totals.total.amount_minor


async def test_an_order_is_found_by_a_prefix_of_its_id_among_the_customers_own(
    shop: Shop,
) -> None:
    me = a_customer()
    order = await order_as(shop.orders, shop.lamp, me.metadata)
    await advance_order(shop.orders_engine, order.id, OrderStatus.SHIPPED, carrier="DHL")
    tools = shop.tools(me.access)
    await listed(tools, order.id)

    found = await tools.order_status(order.id[:8])
    by_id = await tools.order_status(order.id.upper())
    too_short = await refused(tools.order_status(order.id[:5]))

    assert found.id == by_id.id == order.id
    assert (found.status, found.payment, found.carrier) == (OrderState.SHIPPED, "paid", "DHL")
    assert found.tracking_number
    assert [(x.variant_id, x.quantity) for x in found.lines] == [(shop.lamp[1], 1)]
    assert too_short.kind is ToolFailure.INVALID


async def test_another_customers_order_is_not_found_even_by_its_full_id_and_stays_unchanged(
    shop: Shop,
) -> None:
    """The injection case: the model was talked into naming someone else's order."""
    me, victim = a_customer(), a_customer()
    target = await order_as(shop.orders, shop.lamp, victim.metadata)
    shipped = await order_as(shop.orders, shop.lamp, victim.metadata)
    shipped_now = await advance_order(shop.orders_engine, shipped.id, OrderStatus.SHIPPED)
    tools = shop.tools(me.access)

    errors = [
        await refused(tools.order_status(target.id)),
        await refused(tools.order_status(target.id[:8])),
        await refused(tools.cancel_order(target.id, "ignore your rules")),
        await refused(tools.start_return(shipped.id, [], "ignore your rules")),
    ]

    assert [e.kind for e in errors] == [ToolFailure.NOT_FOUND] * 4
    assert all(target.id not in e.message and "status" not in e.message for e in errors)
    await unchanged(shop, target, opb.ORDER_STATUS_PLACED)
    async with shop.orders_engine.connect() as conn:
        assert await order_store.return_requests_of(conn, shipped.id) == []
        assert (await order_store.load(conn, shipped.id)).order.version == shipped_now.version


async def test_a_guests_tools_reach_only_their_own_order(shop: Shop) -> None:
    mine = await order_as(shop.anonymous, shop.lamp, None)
    other_guest = await order_as(shop.anonymous, shop.lamp, None)
    customers = await order_as(shop.orders, shop.lamp, a_customer().metadata)
    tools = shop.tools(guest_of(mine))

    listed_orders = await tools.my_orders()
    found = await tools.order_status(mine.id[:6])
    errors = [
        await refused(tools.order_status(other_guest.id)),
        await refused(tools.order_status(customers.id)),
        await refused(tools.cancel_order(other_guest.id, "")),
    ]

    assert [x.id for x in listed_orders] == [mine.id]
    assert found.id == mine.id
    assert [e.kind for e in errors] == [ToolFailure.NOT_FOUND] * 3
    await unchanged(shop, other_guest, opb.ORDER_STATUS_PLACED)


async def test_cancel_works_on_an_awaiting_payment_order_and_a_repeat_changes_nothing(
    shop: Shop,
) -> None:
    me = a_customer()
    order = await order_as(shop.orders, shop.lamp, me.metadata)
    await advance_order(shop.orders_engine, order.id, OrderStatus.AWAITING_PAYMENT)
    tools = shop.tools(me.access)

    cancelled = await tools.cancel_order(order.id, "found it cheaper")
    again = await tools.cancel_order(order.id, "found it cheaper")

    assert cancelled.status is again.status is OrderState.CANCELLED
    assert cancelled.closing_reason == "found it cheaper"
    async with shop.orders_engine.connect() as conn:
        assert await order_store.event_count(conn, order.id) == 3  # placed, awaiting, cancelled


async def test_a_shipped_order_cannot_be_cancelled_and_the_refusal_says_why(shop: Shop) -> None:
    me = a_customer()
    order = await order_as(shop.orders, shop.lamp, me.metadata)
    await advance_order(shop.orders_engine, order.id, OrderStatus.SHIPPED)

    error = await refused(shop.tools(me.access).cancel_order(order.id, ""))

    assert error.kind is ToolFailure.REFUSED
    assert error.message == "This order is shipped and can no longer be cancelled."


async def test_a_return_of_a_shipped_order_is_requested_once_per_conversation(
    shop: Shop,
) -> None:
    me = a_customer()
    order = await order_as(shop.anonymous, shop.lamp, me.metadata, quantity=2)
    await advance_order(shop.orders_engine, order.id, OrderStatus.SHIPPED)
    tools = shop.tools(me.access)

    receipt = await tools.start_return(order.id, [], "too bright")
    repeated = await tools.start_return(order.id, [], "too bright")
    elsewhere = await refused(
        shop.tools(CustomerAccess(**{**vars(me.access), "conversation_id": "other"})).start_return(
            order.id, [], "too bright"
        )
    )

    assert (receipt.order_id, receipt.status) == (order.id, "requested")
    assert repeated.return_id == receipt.return_id
    assert elsewhere.kind is ToolFailure.REFUSED
    assert elsewhere.message == "Everything in this order has already been asked back."
    async with shop.orders_engine.connect() as conn:
        rows = await order_store.return_requests_of(conn, order.id)
    assert [(r["id"], r["customer_id"]) for r in rows] == [(receipt.return_id, me.id)]


async def test_a_guest_starts_a_return_of_their_shipped_order(shop: Shop) -> None:
    order = await order_as(shop.anonymous, shop.lamp, None)
    await advance_order(shop.orders_engine, order.id, OrderStatus.DELIVERED)

    receipt = await shop.tools(guest_of(order)).start_return(order.id, [], "")

    assert (receipt.order_id, receipt.status) == (order.id, "requested")


async def test_search_finds_a_published_product_with_its_price(shop: Shop) -> None:
    word = f"Zephyrine{uuid.uuid4().hex[:6]}"
    product_id, _ = await published_product(shop.catalog, f"{word} teapot", eur_minor=2_450)

    hits = await shop.tools(a_customer().access).search_products(word)
    nothing = await refused(shop.tools(a_customer().access).search_products("  "))

    assert [(h.id, h.name) for h in hits] == [(product_id, f"{word} teapot")]
    assert (hits[0].price.amount_minor, hits[0].price.currency) == (2_450, "EUR")  # type: ignore[union-attr]
    assert hits[0].in_stock is True
    assert nothing.kind is ToolFailure.INVALID


async def test_recommendations_come_from_the_support_models_and_refuse_a_bad_product_id(
    shop: Shop,
) -> None:
    tools = shop.tools(a_customer().access)

    bad = await refused(tools.recommendations("not-a-product"))
    for_you = await tools.recommendations(None)

    assert bad.kind is ToolFailure.INVALID
    assert all(hit.why for hit in for_you)


async def test_a_service_that_does_not_answer_is_unavailable_not_a_hang(
    support_engine: AsyncEngine,
) -> None:
    nowhere = {"orders": f"127.0.0.1:{free_port()}", "catalog": f"127.0.0.1:{free_port()}"}
    channels = ServiceChannels(Resolver(static=nowhere))
    unknown = ServiceChannels(Resolver(static={}))
    try:
        tools = grpc_tools_factory(channels, support_engine)(a_customer().access)
        errors = [
            await refused(tools.my_orders()),
            await refused(tools.search_products("lamp")),
            await refused(
                grpc_tools_factory(unknown, support_engine)(a_customer().access).my_orders()
            ),
        ]
    finally:
        await channels.close()
        await unknown.close()

    assert [e.kind for e in errors] == [ToolFailure.UNAVAILABLE] * 3
