"""A checkout world of its own for the saga tests: catalog, payments and orders, each served by
its own bootstrap on a free port, over a database and a JetStream server of their own.

Why its own: the session's orders (conftest) runs without payments, and two orders processes on
one JetStream would share the same durable consumers (and so each other's events).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from orders_support import TIMEOUT_S, key
from security_support import authorized_channel

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.payments.bootstrap import run as run_payments
from agora.payments.settings import PaymentsSettings
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, free_ports, wait_for_port, wait_for_port_async
from agora.platform.rpc.status import error_info_from_rpc_error
from agora.platform.settings import PlatformSettings

# Short enough for the expiry tests, long enough to pay in time on a busy 2-core machine.
INVOICE_EXPIRY_S = 6
POLL_S = 0.05
T = TypeVar("T")


@dataclass(frozen=True)
class Checkout:
    """The three services of a checkout, as their clients."""

    catalog: CatalogServiceStub
    payments: PaymentsServiceStub
    orders: OrdersServiceStub


@contextlib.contextmanager
def own_jetstream(data_dir: Path) -> Iterator[str]:
    """A NATS JetStream server of its own (fsync off: test data), until the block exits."""
    server = EmbeddedNats(data_dir, free_port(), sync_interval="2m")
    with (data_dir.parent / "saga-nats.log").open("ab") as output:
        process = subprocess.Popen(server.command(), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextlib.contextmanager
def addresses(**services: int) -> Iterator[None]:
    """`AGORA_<SERVICE>_ADDRESS` set while a service starts (its resolver reads them then)."""
    names = [f"AGORA_{service.upper()}_ADDRESS" for service in services]
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update(
        {name: f"127.0.0.1:{port}" for name, port in zip(names, services.values(), strict=True)}
    )
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.asynccontextmanager
async def serving(work: Coroutine[Any, Any, None], port: int) -> AsyncIterator[grpc.aio.Channel]:
    """`work` (a service's `bootstrap.run`) running, and a channel to it once it listens."""
    task = asyncio.create_task(work)
    try:
        await wait_for_port_async(port, timeout_s=30)
        async with authorized_channel(f"127.0.0.1:{port}") as channel:  # an admin's
            yield channel
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


@contextlib.asynccontextmanager
async def checkout_world(platform: PlatformSettings) -> AsyncIterator[Checkout]:
    """Catalog, payments (dev provider) and orders served on free ports over `platform`."""
    catalog_port, payments_port, orders_port = free_ports(3)
    payments_settings = PaymentsSettings(
        port=payments_port, dev_provider=True, expiry_interval_s=0.2
    )
    orders_settings = OrdersSettings(port=orders_port, invoice_expiry_s=INVOICE_EXPIRY_S)
    async with contextlib.AsyncExitStack() as stack:
        catalog = await stack.enter_async_context(
            serving(run_catalog(platform, CatalogSettings(port=catalog_port)), catalog_port)
        )
        payments = await stack.enter_async_context(
            serving(run_payments(platform, payments_settings), payments_port)
        )
        with addresses(catalog=catalog_port, payments=payments_port):
            orders = await stack.enter_async_context(
                serving(run_orders(platform, orders_settings), orders_port)
            )
        yield Checkout(
            CatalogServiceStub(catalog), PaymentsServiceStub(payments), OrdersServiceStub(orders)
        )


async def place(orders: OrdersServiceStub, cart: pb.Cart) -> pb.Order:
    return await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
    )


async def order(orders: OrdersServiceStub, order_id: str) -> pb.Order:
    return await orders.GetOrder(pb.GetOrderRequest(id=order_id), timeout=TIMEOUT_S)


async def until(
    read: Callable[[], Awaitable[T]], holds: Callable[[T], bool], timeout_s: float = 15.0
) -> T:
    """The first value `read()` gives that `holds`, or fail after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not holds(value := await read()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the condition never came true; last seen:\n{value}")
        await asyncio.sleep(POLL_S)
    return value


async def order_in(
    orders: OrdersServiceStub, order_id: str, status: pb.OrderStatus, timeout_s: float = 15.0
) -> pb.Order:
    """The order once it has reached `status` (the saga works asynchronously)."""
    return await until(lambda: order(orders, order_id), lambda o: o.status == status, timeout_s)


async def awaiting_payment(orders: OrdersServiceStub, order_id: str) -> pb.Order:
    return await order_in(orders, order_id, pb.ORDER_STATUS_AWAITING_PAYMENT)


async def dev_pay(
    payments: PaymentsServiceStub, invoice_id: str, action: int, amount: int | None = None
) -> ppb.DevPayResponse:
    return await payments.DevPay(
        ppb.DevPayRequest(
            idempotency_key=key(),
            id=invoice_id,
            action=action,  # type: ignore[arg-type]
            amount="" if amount is None else str(amount),
        ),
        timeout=TIMEOUT_S,
    )


async def invoice(payments: PaymentsServiceStub, invoice_id: str) -> ppb.Invoice:
    return await payments.GetInvoice(ppb.GetInvoiceRequest(id=invoice_id), timeout=TIMEOUT_S)


async def invoices_of(payments: PaymentsServiceStub, order_id: str) -> list[ppb.Invoice]:
    found = await payments.ListInvoices(
        ppb.ListInvoicesRequest(reference=order_id), timeout=TIMEOUT_S
    )
    return list(found.invoices)


def is_insufficient(error: grpc.aio.AioRpcError) -> bool:
    """The catalog's out-of-stock refusal, as the orders client sees it."""
    return error_info_from_rpc_error(error).reason == "INSUFFICIENT"
