"""Every RPC is checked against its proto rule, over real gRPC (docs/adr/0007): the catalog as
`agora serve catalog` runs it, called without a token, with tokens lacking or holding the
method's permission, and with service tokens (the orders service reserving stock). A staff
change of prices leaves an audit entry naming who made it, from where."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from security_support import (
    SERVICE_KEY,
    authorized_channel,
    customer_token,
    from_gateway,
    mint_token,
    service_identity,
    with_token,
)

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.catalog.bootstrap import run
from agora.catalog.settings import CatalogSettings
from agora.platform.bus import decode
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.rpc.status import ErrorInfo, error_info_from_rpc_error
from agora.platform.security.service_identity import ServiceIdentity
from agora.platform.settings import PlatformSettings

TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
async def address(database_url: str, nats_url: str) -> AsyncIterator[str]:
    port = free_port()
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    serving = asyncio.create_task(run(platform, CatalogSettings(port=port)))
    await wait_for_port_async(port, timeout_s=30)
    yield f"127.0.0.1:{port}"
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 15)


@pytest.fixture(scope="module")
async def anonymous(address: str) -> AsyncIterator[CatalogServiceStub]:
    """A client sending no token (unless a call sets one)."""
    async with grpc.aio.insecure_channel(address) as channel:
        yield CatalogServiceStub(channel)


@pytest.fixture(scope="module")
async def admin(address: str) -> AsyncIterator[CatalogServiceStub]:
    async with authorized_channel(address) as channel:
        yield CatalogServiceStub(channel)


def key() -> str:
    return str(uuid.uuid4())


def new_product() -> pb.CreateProductRequest:
    slug = f"authz-{key()[:10]}"
    return pb.CreateProductRequest(
        idempotency_key=key(),
        slug=slug,
        title="Authorization lamp",
        variants=[
            pb.NewVariant(
                sku=slug.upper(),
                title="Default",
                prices=[pb.Money(amount_minor=900, currency="EUR")],
            )
        ],
    )


async def refusal(call: object) -> ErrorInfo:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return error_info_from_rpc_error(caught.value)


async def stocked_variant(admin: CatalogServiceStub, on_hand: int = 10) -> str:
    product = await admin.CreateProduct(new_product(), timeout=TIMEOUT_S)
    variant_id = product.variants[0].id
    await admin.SetStock(
        pb.SetStockRequest(idempotency_key=key(), variant_id=variant_id, on_hand=on_hand),
        timeout=TIMEOUT_S,
    )
    return variant_id


def reservation(variant_id: str) -> pb.ReserveStockRequest:
    return pb.ReserveStockRequest(
        idempotency_key=key(),
        reference=str(uuid.uuid4()),
        lines=[pb.ReservationLine(variant_id=variant_id, quantity=1)],
    )


async def test_a_public_method_answers_without_a_token(anonymous: CatalogServiceStub) -> None:
    answer = await anonymous.ListProducts(pb.ListProductsRequest(page_size=1), timeout=TIMEOUT_S)

    assert isinstance(answer, pb.ListProductsResponse)


async def test_health_needs_no_token(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S
        )

    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_protected_method_without_a_token_is_unauthenticated(
    anonymous: CatalogServiceStub,
) -> None:
    info = await refusal(anonymous.CreateProduct(new_product(), timeout=TIMEOUT_S))

    assert (info.code, info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


async def test_a_token_without_the_permission_is_denied_naming_it(
    anonymous: CatalogServiceStub,
) -> None:
    token = mint_token(roles=["support"], permissions=["catalog:read"])

    info = await refusal(
        anonymous.CreateProduct(new_product(), metadata=with_token(token), timeout=TIMEOUT_S)
    )

    assert (info.code, info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_MISSING")
    assert info.metadata == {"permission": "catalog:write"}


async def test_a_token_with_the_permission_is_let_through(anonymous: CatalogServiceStub) -> None:
    token = mint_token(roles=["staff"], permissions=["catalog:write"])

    product = await anonymous.CreateProduct(
        new_product(), metadata=with_token(token), timeout=TIMEOUT_S
    )

    assert product.id


async def test_a_method_without_a_permission_takes_any_authenticated_caller(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub
) -> None:
    product = await admin.CreateProduct(new_product(), timeout=TIMEOUT_S)
    reader = mint_token(permissions=["catalog:read"])

    found = await anonymous.GetProductById(
        pb.GetProductByIdRequest(id=product.id), metadata=with_token(reader), timeout=TIMEOUT_S
    )

    assert found.id == product.id


async def test_an_expired_token_is_refused_even_where_none_is_needed(
    anonymous: CatalogServiceStub,
) -> None:
    stale = mint_token(issued_at=1_000_000_000, lifetime_s=900)

    info = await refusal(
        anonymous.ListProducts(
            pb.ListProductsRequest(), metadata=with_token(stale), timeout=TIMEOUT_S
        )
    )

    assert (info.code, info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer ", "Bearer not.a.jwt"])
async def test_an_authorization_header_that_is_no_valid_bearer_token_is_invalid(
    anonymous: CatalogServiceStub, header: str
) -> None:
    info = await refusal(
        anonymous.ListProducts(
            pb.ListProductsRequest(), metadata=(("authorization", header),), timeout=TIMEOUT_S
        )
    )

    assert (info.code, info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


async def test_the_orders_service_token_reserves_stock(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub
) -> None:
    variant_id = await stocked_variant(admin)
    orders = service_identity("orders")

    held = await anonymous.ReserveStock(
        reservation(variant_id), metadata=with_token(orders.token()), timeout=TIMEOUT_S
    )

    assert held.status == pb.RESERVATION_STATUS_ACTIVE


async def test_a_customer_token_cannot_reserve_stock(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub
) -> None:
    variant_id = await stocked_variant(admin)

    info = await refusal(
        anonymous.ReserveStock(
            reservation(variant_id),
            metadata=with_token(customer_token(str(uuid.uuid4()))),
            timeout=TIMEOUT_S,
        )
    )

    assert (info.code, info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_MISSING")
    assert info.metadata == {"permission": "catalog:reservations:write"}


async def test_a_service_whose_identity_lacks_the_permission_cannot_reserve_stock(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub
) -> None:
    variant_id = await stocked_variant(admin)
    payments = service_identity("payments")

    info = await refusal(
        anonymous.ReserveStock(
            reservation(variant_id), metadata=with_token(payments.token()), timeout=TIMEOUT_S
        )
    )

    assert info.code == grpc.StatusCode.PERMISSION_DENIED


async def audit_entry_on(nats_url: str, subject: str, target_id: str) -> AuditEntry:
    """The entry about `target_id` the AUDIT stream holds on `subject` (waits for the relay)."""
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(subject, ordered_consumer=True)
        while True:
            message = await subscription.next_msg(timeout=TIMEOUT_S)
            entry = decode(EventEnvelope.FromString(message.data), AuditEntry)
            if entry.target_id == target_id:
                return entry
    finally:
        await connection.close()


async def test_a_staff_price_change_is_audited_with_who_from_where_before_and_after(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub, nats_url: str
) -> None:
    product = await admin.CreateProduct(new_product(), timeout=TIMEOUT_S)
    variant_id = product.variants[0].id
    staff = str(uuid.uuid4())
    token = mint_token(staff, roles=["staff"], permissions=["catalog:write"], sid="session-7")
    origin = from_gateway("203.0.113.9", "Firefox/140")

    await anonymous.SetPrices(
        pb.SetPricesRequest(
            idempotency_key=key(),
            variant_id=variant_id,
            prices=[pb.Money(amount_minor=1250, currency="EUR")],
        ),
        metadata=(*with_token(token), *origin),
        timeout=TIMEOUT_S,
    )
    entry = await audit_entry_on(nats_url, "audit.catalog.prices_set", variant_id)

    assert (entry.action, entry.service, entry.outcome) == (
        "catalog.prices_set",
        "catalog",
        "success",
    )
    assert (entry.actor_subject, entry.actor_kind, entry.session_id) == (staff, "user", "session-7")
    assert (entry.client_ip, entry.user_agent) == ("203.0.113.9", "Firefox/140")
    assert (entry.target_type, entry.target_id) == ("variant", variant_id)
    assert '"amount_minor":"900"' in entry.before_json
    assert '"amount_minor":"1250"' in entry.after_json


@pytest.mark.parametrize(
    "proof",
    [(), (("x-agora-gateway", "forged"),), "orders-service-token"],
    ids=["no-proof", "garbage-proof", "another-services-token"],
)
async def test_a_direct_caller_cannot_report_someone_elses_address(
    anonymous: CatalogServiceStub, admin: CatalogServiceStub, nats_url: str, proof: object
) -> None:
    product = await admin.CreateProduct(new_product(), timeout=TIMEOUT_S)
    variant_id = product.variants[0].id
    token = mint_token(str(uuid.uuid4()), roles=["staff"], permissions=["catalog:write"])
    if proof == "orders-service-token":
        proof = (("x-agora-gateway", service_identity("orders").token()),)
    reported = (("x-agora-client-ip", "198.51.100.66"), ("x-agora-user-agent", "Forged/1"))

    await anonymous.SetPrices(
        pb.SetPricesRequest(
            idempotency_key=key(),
            variant_id=variant_id,
            prices=[pb.Money(amount_minor=1300, currency="EUR")],
        ),
        metadata=(*with_token(token), *reported, *proof),  # type: ignore[misc]
        timeout=TIMEOUT_S,
    )
    entry = await audit_entry_on(nats_url, "audit.catalog.prices_set", variant_id)

    assert (entry.client_ip, entry.user_agent) == ("127.0.0.1", "")


async def test_a_service_token_claiming_more_than_its_service_holds_is_refused(
    anonymous: CatalogServiceStub,
) -> None:
    forged = ServiceIdentity(
        "orders",
        SERVICE_KEY,
        permissions=frozenset({"catalog:reservations:write", "catalog:write"}),
    )

    refused = await refusal(
        anonymous.CreateProduct(
            new_product(), metadata=with_token(forged.token()), timeout=TIMEOUT_S
        )
    )

    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")
