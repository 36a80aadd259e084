"""User management through the admin service, against real auth, catalog and orders servers:
admin calls them with the staff member's own token, so what a staff member may do is what auth
and orders let that person do; a 2FA reset needs a second staff member unless an admin asks;
every action lands in the audit log, which the viewer searches."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import nats
import pyotp
import pytest
from nats.js import JetStreamContext
from security_support import (
    SecurityFiles,
    authorization_interceptor,
    authorized_channel,
    bearer,
    every_permission,
    mint_token,
    service_identity,
)
from shop_orders_support import order_as, published_product
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import users_pb2 as pb
from agora._proto.agora.admin.v1.users_pb2_grpc import UserAdminServiceStub
from agora._proto.agora.auth.v1 import auth_pb2 as apb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.admin.bootstrap import compose as compose_admin
from agora.admin.settings import AdminSettings
from agora.auth.bootstrap import compose as compose_auth
from agora.auth.commands import create_user
from agora.auth.domain import CUSTOMER, builtin_role
from agora.auth.settings import AuthSettings
from agora.catalog.bootstrap import run as run_catalog
from agora.catalog.settings import CatalogSettings
from agora.orders.bootstrap import run as run_orders
from agora.orders.settings import OrdersSettings
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.relay import OutboxRelay
from agora.platform.bus.streams import audit_stream, ensure_stream, producer_stream
from agora.platform.db import create_engine
from agora.platform.mail import Mailer
from agora.platform.migrations import migrate
from agora.platform.net import free_port, free_ports, wait_for_port_async
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.status import error_info_from_rpc_error
from agora.platform.runtime import Backends
from agora.platform.security.envelope import KekFile, SecretBox
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import GrpcJwksSource, JwksChain, StaticJwksSource
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.security.revocation import revoked_sessions_bucket
from agora.platform.security.tokens import TokenVerifier
from agora.platform.settings import PlatformSettings

TIMEOUT_S = 15.0
PASSWORD = "correct horse battery staple"
APPROVAL_TTL_S = 3600
Metadata = tuple[tuple[str, str], ...]

# What every customer holds: staff manage only accounts whose permissions they hold too.
CUSTOMER_PERMISSIONS = builtin_role(CUSTOMER, all_declared_permissions()).permissions
STAFF_PERMISSIONS = frozenset(
    {
        "admin:users:read",
        "admin:users:write",
        "admin:audit:read",
        "auth:users:read",
        "auth:users:write",
        "auth:totp:reset",
        "audit:read",
        "orders:read:any",
        *CUSTOMER_PERMISSIONS,
    }
)


def key() -> str:
    return str(uuid.uuid4())


@dataclass
class Clock:
    """Admin's clock: real time moved forward by `offset`."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass(frozen=True)
class Staff:
    id: str
    metadata: Metadata


def staff(permissions: frozenset[str] = STAFF_PERMISSIONS) -> Staff:
    subject = str(uuid.uuid4())
    token = mint_token(subject, roles=["staff"], permissions=permissions, amr=["pwd", "otp"])
    return Staff(subject, (("authorization", bearer(token)),))


def an_admin() -> Staff:
    subject = str(uuid.uuid4())
    token = mint_token(subject, roles=["admin"], permissions=every_permission())
    return Staff(subject, (("authorization", bearer(token)),))


@dataclass
class Stack:
    admin: UserAdminServiceStub
    auth: AuthServiceStub
    orders: OrdersServiceStub
    catalog: CatalogServiceStub
    database_url: str
    js: JetStreamContext
    clock: Clock
    relays: tuple[OutboxRelay, ...]
    audit_log: EventConsumer

    async def flush_audit(self) -> None:
        """Publish auth's and admin's outboxes; let auth's audit log take in everything."""
        for relay in self.relays:
            await relay.publish_all_pending()
        while await self.audit_log.consume_once(timeout_s=0.5):
            pass


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


@contextlib.asynccontextmanager
async def served(name: str, port: int, parts: Any, interceptor: Any) -> AsyncIterator[str]:
    server = GrpcServer(name, "127.0.0.1", port, authorization=interceptor)
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(0)


@contextlib.asynccontextmanager
async def catalog_and_orders(platform: PlatformSettings) -> AsyncIterator[tuple[str, str]]:
    catalog_port, orders_port = free_ports(2)
    previous = os.environ.get("AGORA_CATALOG_ADDRESS")
    os.environ["AGORA_CATALOG_ADDRESS"] = f"127.0.0.1:{catalog_port}"
    try:
        async with (
            serving(run_catalog(platform, CatalogSettings(port=catalog_port)), catalog_port),
            serving(run_orders(platform, OrdersSettings(port=orders_port)), orders_port),
        ):
            yield f"127.0.0.1:{catalog_port}", f"127.0.0.1:{orders_port}"
    finally:
        if previous is None:
            os.environ.pop("AGORA_CATALOG_ADDRESS", None)
        else:
            os.environ["AGORA_CATALOG_ADDRESS"] = previous


@pytest.fixture(scope="module")
async def stack(
    database_url: str, nats_url: str, security_files: SecurityFiles, admin_engine: AsyncEngine
) -> AsyncIterator[Stack]:
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    await migrate("auth", database_url)
    auth_engine = create_engine(database_url, "auth", pool_size=5)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for stream in (producer_stream("auth"), producer_stream("admin"), audit_stream()):
        await ensure_stream(js, stream)
    auth_port, admin_port = free_ports(2)
    auth_address = f"127.0.0.1:{auth_port}"
    jwks_channel = grpc.aio.insecure_channel(auth_address)
    auth_verifier = TokenVerifier(
        JwksChain(
            [
                StaticJwksSource(security_files.jwks_path),
                GrpcJwksSource(lambda: jwks_channel, min_refresh_interval_s=0.0),
            ]
        ),
        service_identity("tests").verification_keys(),
    )
    mailer = Mailer(f"smtp://127.0.0.1:{free_port()}", "Agora <no-reply@shop.test>")
    clock = Clock()
    async with catalog_and_orders(platform) as (catalog_address, orders_address):
        addresses = {"auth": auth_address, "orders": orders_address}
        channels = ServiceChannels(Resolver(static=addresses))
        auth_parts = compose_auth(
            Backends(platform, auth_engine, js, channels),
            AuthSettings(public_base_url="http://shop.test"),
            secrets=SecretBox(KekFile(security_files.kek_path)),
            mailer=mailer,
            audit_log_durable=f"auth-audit-log-{uuid.uuid4().hex[:8]}",
        )
        admin_parts = compose_admin(
            Backends(platform, admin_engine, js, channels),
            AdminSettings(totp_reset_approval_ttl_s=APPROVAL_TTL_S),
            clock=clock,
        )
        (audit_log,) = auth_parts.consumers
        assert isinstance(audit_log, EventConsumer)
        async with (
            served("auth", auth_port, auth_parts, AuthorizationInterceptor(auth_verifier)),
            served("admin", admin_port, admin_parts, authorization_interceptor(security_files)),
            grpc.aio.insecure_channel(f"127.0.0.1:{admin_port}") as admin_channel,
            grpc.aio.insecure_channel(auth_address) as auth_channel,
            authorized_channel(orders_address) as orders_channel,
            authorized_channel(catalog_address) as catalog_channel,
        ):
            yield Stack(
                admin=UserAdminServiceStub(admin_channel),
                auth=AuthServiceStub(auth_channel),
                orders=OrdersServiceStub(orders_channel),
                catalog=CatalogServiceStub(catalog_channel),
                database_url=database_url,
                js=js,
                clock=clock,
                relays=(
                    OutboxRelay(auth_engine, js, schema="auth"),
                    OutboxRelay(admin_engine, js, schema="admin"),
                ),
                audit_log=audit_log,
            )
        await channels.close()
    await jwks_channel.close()
    await nc.close()
    await auth_engine.dispose()


@pytest.fixture
def clock(stack: Stack) -> Clock:
    yield stack.clock
    stack.clock.offset = timedelta()


@dataclass(frozen=True)
class Customer:
    id: str
    email: str


async def a_customer(stack: Stack, name: str = "Test Customer") -> Customer:
    email = f"customer-{uuid.uuid4().hex[:10]}@example.com"
    user = await create_user(
        stack.database_url, email=email, password=PASSWORD, roles=[CUSTOMER], name=name
    )
    return Customer(user.id, email)


async def login(stack: Stack, email: str) -> apb.LoginResponse:
    return await stack.auth.Login(
        apb.LoginRequest(email=email, password=PASSWORD), timeout=TIMEOUT_S
    )


def as_user(access_token: str) -> Metadata:
    return (("authorization", bearer(access_token)),)


async def with_totp(stack: Stack, customer: Customer) -> None:
    """The customer enrolls TOTP (so their logins ask for a code)."""
    tokens = (await login(stack, customer.email)).tokens
    enrolled = await stack.auth.EnrollTotp(
        apb.EnrollTotpRequest(idempotency_key=key()), metadata=as_user(tokens.access_token)
    )
    await stack.auth.ConfirmTotp(
        apb.ConfirmTotpRequest(idempotency_key=key(), code=pyotp.TOTP(enrolled.secret).now()),
        metadata=as_user(tokens.access_token),
    )
    assert (await login(stack, customer.email)).mfa_required


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


# --- lock, unlock, force logout ---------------------------------------------------------


async def test_a_locked_user_cannot_log_in_until_unlocked(stack: Stack) -> None:
    customer = await a_customer(stack)
    desk = staff()

    locked = await stack.admin.LockUser(
        pb.LockUserRequest(idempotency_key=key(), user_id=customer.id, reason="card fraud"),
        metadata=desk.metadata,
    )
    assert locked.status == pb.USER_STATUS_LOCKED
    error = await refused(login(stack, customer.email))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info_from_rpc_error(error).reason == "ACCOUNT_LOCKED"
    view = await stack.admin.GetUser(pb.GetUserRequest(user_id=customer.id), metadata=desk.metadata)
    assert view.locked_reason == "card fraud"

    unlocked = await stack.admin.UnlockUser(
        pb.UnlockUserRequest(idempotency_key=key(), user_id=customer.id), metadata=desk.metadata
    )
    assert unlocked.status == pb.USER_STATUS_ACTIVE
    assert (await login(stack, customer.email)).HasField("tokens")


async def test_force_logout_refuses_refresh_and_revokes_the_access_tokens_session(
    stack: Stack,
) -> None:
    customer = await a_customer(stack)
    tokens = (await login(stack, customer.email)).tokens

    ended = await stack.admin.ForceLogout(
        pb.ForceLogoutRequest(idempotency_key=key(), user_id=customer.id),
        metadata=staff().metadata,
    )

    assert ended.revoked == 1
    error = await refused(
        stack.auth.Refresh(apb.RefreshRequest(refresh_token=tokens.refresh_token))
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # Every service's verifier refuses the session's access tokens once it is in this bucket.
    bucket = await revoked_sessions_bucket(stack.js)
    assert (await bucket.get(tokens.session_id)).key == tokens.session_id


# --- 2FA reset: four eyes ---------------------------------------------------------------


async def test_a_totp_reset_needs_a_second_staff_member(stack: Stack) -> None:
    customer = await a_customer(stack)
    await with_totp(stack, customer)
    requester, approver = staff(), staff()

    reset = await stack.admin.RequestTotpReset(
        pb.RequestTotpResetRequest(
            idempotency_key=key(), user_id=customer.id, reason="lost phone, id checked"
        ),
        metadata=requester.metadata,
    )
    assert reset.status == pb.TOTP_RESET_STATUS_PENDING
    assert (await login(stack, customer.email)).mfa_required  # nothing done yet
    waiting = await stack.admin.ListTotpResets(
        pb.ListTotpResetsRequest(page_size=100), metadata=approver.metadata
    )
    assert reset.id in [r.id for r in waiting.resets]

    own = await refused(
        stack.admin.ApproveTotpReset(
            pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=reset.id),
            metadata=requester.metadata,
        )
    )
    assert own.code() == grpc.StatusCode.FAILED_PRECONDITION

    approval = pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=reset.id)
    approved = await stack.admin.ApproveTotpReset(approval, metadata=approver.metadata)
    again = await stack.admin.ApproveTotpReset(approval, metadata=approver.metadata)

    assert (approved.status, approved.approved_by) == (pb.TOTP_RESET_STATUS_APPLIED, approver.id)
    assert again == approved
    after = await login(stack, customer.email)
    assert after.HasField("tokens")
    assert not after.mfa_required


async def test_waiting_totp_resets_are_paged_oldest_first_each_once(stack: Stack) -> None:
    requested = []
    for _ in range(3):
        customer = await a_customer(stack)
        await with_totp(stack, customer)
        reset = await stack.admin.RequestTotpReset(
            pb.RequestTotpResetRequest(idempotency_key=key(), user_id=customer.id, reason="lost"),
            metadata=staff().metadata,
        )
        requested.append(reset.id)

    listed: list[str] = []
    token = ""
    while True:
        page = await stack.admin.ListTotpResets(
            pb.ListTotpResetsRequest(page_size=2, page_token=token), metadata=staff().metadata
        )
        assert len(page.resets) <= 2
        listed += [r.id for r in page.resets]
        token = page.next_page_token
        if not token:
            break

    assert len(listed) == len(set(listed))
    assert [r for r in listed if r in requested] == requested
    stale = await refused(
        stack.admin.ListTotpResets(
            pb.ListTotpResetsRequest(page_token="not-a-token"), metadata=staff().metadata
        )
    )
    assert stale.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_unapproved_totp_reset_expires(stack: Stack, clock: Clock) -> None:
    customer = await a_customer(stack)
    await with_totp(stack, customer)
    reset = await stack.admin.RequestTotpReset(
        pb.RequestTotpResetRequest(idempotency_key=key(), user_id=customer.id, reason="lost"),
        metadata=staff().metadata,
    )

    clock.offset = timedelta(seconds=APPROVAL_TTL_S + 1)
    late = await refused(
        stack.admin.ApproveTotpReset(
            pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=reset.id),
            metadata=staff().metadata,
        )
    )

    assert late.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "expired" in (late.details() or "")
    waiting = await stack.admin.ListTotpResets(
        pb.ListTotpResetsRequest(page_size=100), metadata=staff().metadata
    )
    assert reset.id not in [r.id for r in waiting.resets]
    assert (await login(stack, customer.email)).mfa_required


async def test_an_admin_resets_totp_directly(stack: Stack) -> None:
    customer = await a_customer(stack)
    await with_totp(stack, customer)
    admin = an_admin()

    reset = await stack.admin.RequestTotpReset(
        pb.RequestTotpResetRequest(idempotency_key=key(), user_id=customer.id, reason="lost"),
        metadata=admin.metadata,
    )

    assert (reset.status, reset.approved_by) == (pb.TOTP_RESET_STATUS_APPLIED, admin.id)
    assert not (await login(stack, customer.email)).mfa_required


async def test_a_staff_member_without_the_reset_permission_cannot_approve(
    stack: Stack,
) -> None:
    customer = await a_customer(stack)
    await with_totp(stack, customer)
    reset = await stack.admin.RequestTotpReset(
        pb.RequestTotpResetRequest(idempotency_key=key(), user_id=customer.id, reason="lost"),
        metadata=staff().metadata,
    )
    weaker = staff(STAFF_PERMISSIONS - {"auth:totp:reset"})

    error = await refused(
        stack.admin.ApproveTotpReset(
            pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=reset.id),
            metadata=weaker.metadata,
        )
    )

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # auth refused the approver
    waiting = await stack.admin.ListTotpResets(
        pb.ListTotpResetsRequest(page_size=100), metadata=staff().metadata
    )
    assert reset.id in [r.id for r in waiting.resets]  # still waiting for someone who may


# --- roles, search, the view ------------------------------------------------------------


async def test_roles_are_assigned_and_revoked_but_never_beyond_the_staff_members_own(
    stack: Stack,
) -> None:
    customer = await a_customer(stack)
    desk = staff()
    support = builtin_role("support", all_declared_permissions()).permissions
    with_support = staff(STAFF_PERMISSIONS | support)

    assigned = await stack.admin.AssignRole(
        pb.AssignRoleRequest(idempotency_key=key(), user_id=customer.id, role="support"),
        metadata=with_support.metadata,
    )
    assert sorted(assigned.roles) == ["customer", "support"]
    revoked = await stack.admin.RevokeRole(
        pb.RevokeRoleRequest(idempotency_key=key(), user_id=customer.id, role="support"),
        metadata=with_support.metadata,
    )
    assert list(revoked.roles) == ["customer"]

    escalation = await refused(
        stack.admin.AssignRole(
            pb.AssignRoleRequest(idempotency_key=key(), user_id=desk.id, role="admin"),
            metadata=desk.metadata,
        )
    )
    assert escalation.code() == grpc.StatusCode.PERMISSION_DENIED  # not even to themselves
    stronger = await refused(
        stack.admin.AssignRole(
            pb.AssignRoleRequest(idempotency_key=key(), user_id=customer.id, role="admin"),
            metadata=desk.metadata,
        )
    )
    assert stronger.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_users_are_searched_by_words_role_and_status(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    ada = await a_customer(stack, name=f"Ada Lovelace {tag}")
    bob = await a_customer(stack, name=f"Bob Builder {tag}")
    desk = staff()
    await stack.admin.LockUser(
        pb.LockUserRequest(idempotency_key=key(), user_id=bob.id), metadata=desk.metadata
    )

    every = await stack.admin.SearchUsers(pb.SearchUsersRequest(query=tag), metadata=desk.metadata)
    ada_only = await stack.admin.SearchUsers(
        pb.SearchUsersRequest(query=f"lovelace {tag}"), metadata=desk.metadata
    )
    locked = await stack.admin.SearchUsers(
        pb.SearchUsersRequest(query=tag, status=pb.USER_STATUS_LOCKED), metadata=desk.metadata
    )
    first = await stack.admin.SearchUsers(
        pb.SearchUsersRequest(query=tag, page_size=1), metadata=desk.metadata
    )
    second = await stack.admin.SearchUsers(
        pb.SearchUsersRequest(query=tag, page_size=1, page_token=first.next_page_token),
        metadata=desk.metadata,
    )

    assert sorted(u.id for u in every.users) == sorted([ada.id, bob.id])
    assert [u.email for u in ada_only.users] == [ada.email]
    assert [u.id for u in locked.users] == [bob.id]
    assert [u.id for u in [*first.users, *second.users]] == [ada.id, bob.id]
    assert not second.next_page_token


async def test_a_user_view_shows_orders_sessions_and_audit_trail(stack: Stack) -> None:
    customer = await a_customer(stack)
    tokens = (await login(stack, customer.email)).tokens
    lamp = await published_product(stack.catalog, f"Admin lamp {uuid.uuid4().hex[:6]}")
    customer_token = mint_token(customer.id, roles=["customer"], permissions=CUSTOMER_PERMISSIONS)
    order = await order_as(stack.orders, lamp, (("authorization", bearer(customer_token)),))
    desk = staff()
    await stack.admin.LockUser(
        pb.LockUserRequest(idempotency_key=key(), user_id=customer.id), metadata=desk.metadata
    )
    await stack.admin.UnlockUser(
        pb.UnlockUserRequest(idempotency_key=key(), user_id=customer.id), metadata=desk.metadata
    )
    again = (await login(stack, customer.email)).tokens
    await stack.flush_audit()

    view = await stack.admin.GetUser(pb.GetUserRequest(user_id=customer.id), metadata=desk.metadata)

    assert (view.user.email, view.user.status) == (customer.email, pb.USER_STATUS_ACTIVE)
    assert [s.id for s in view.sessions] == [again.session_id]  # the lock ended the first
    assert tokens.session_id not in [s.id for s in view.sessions]
    assert [o.id for o in view.orders] == [order.id]
    assert view.orders[0].total.currency == "EUR"
    trail = [e.action for e in view.audit_trail]
    assert trail[:2] == ["auth.user_unlocked", "auth.user_locked"]
    assert {e.actor_subject for e in view.audit_trail[:2]} == {desk.id}
    assert list(view.unavailable) == []


async def test_a_view_leaves_out_what_the_staff_member_may_not_read(stack: Stack) -> None:
    customer = await a_customer(stack)
    reader = staff(frozenset({"admin:users:read", "auth:users:read", *CUSTOMER_PERMISSIONS}))

    view = await stack.admin.GetUser(
        pb.GetUserRequest(user_id=customer.id), metadata=reader.metadata
    )

    assert view.user.id == customer.id
    assert list(view.orders) == []
    assert sorted(view.unavailable) == [
        "audit trail: permission missing",
        "orders: permission missing",
    ]


async def test_an_unknown_user_is_not_found(stack: Stack) -> None:
    error = await refused(
        stack.admin.GetUser(pb.GetUserRequest(user_id=key()), metadata=staff().metadata)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


# --- who may call -----------------------------------------------------------------------


async def test_a_non_staff_token_is_refused_everywhere(stack: Stack) -> None:
    customer = await a_customer(stack)
    token = mint_token(customer.id, roles=["customer"], permissions=CUSTOMER_PERMISSIONS)
    me = (("authorization", bearer(token)),)
    user = customer.id
    calls = [
        stack.admin.SearchUsers(pb.SearchUsersRequest(), metadata=me),
        stack.admin.GetUser(pb.GetUserRequest(user_id=user), metadata=me),
        stack.admin.AssignRole(
            pb.AssignRoleRequest(idempotency_key=key(), user_id=user, role="admin"), metadata=me
        ),
        stack.admin.RevokeRole(
            pb.RevokeRoleRequest(idempotency_key=key(), user_id=user, role="customer"),
            metadata=me,
        ),
        stack.admin.LockUser(pb.LockUserRequest(idempotency_key=key(), user_id=user), metadata=me),
        stack.admin.UnlockUser(
            pb.UnlockUserRequest(idempotency_key=key(), user_id=user), metadata=me
        ),
        stack.admin.ForceLogout(
            pb.ForceLogoutRequest(idempotency_key=key(), user_id=user), metadata=me
        ),
        stack.admin.RequestTotpReset(
            pb.RequestTotpResetRequest(idempotency_key=key(), user_id=user, reason="x"),
            metadata=me,
        ),
        stack.admin.ApproveTotpReset(
            pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=key()), metadata=me
        ),
        stack.admin.ListTotpResets(pb.ListTotpResetsRequest(), metadata=me),
        stack.admin.SearchAuditLog(pb.SearchAuditLogRequest(), metadata=me),
    ]
    for call in calls:
        assert (await refused(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    anonymous = await refused(stack.admin.SearchUsers(pb.SearchUsersRequest()))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_admin_permissions_alone_do_not_reach_auth(stack: Stack) -> None:
    """Admin calls auth with the caller's token, never with rights of its own."""
    customer = await a_customer(stack)
    only_admin = staff(frozenset({"admin:users:write", *CUSTOMER_PERMISSIONS}))

    error = await refused(
        stack.admin.LockUser(
            pb.LockUserRequest(idempotency_key=key(), user_id=customer.id),
            metadata=only_admin.metadata,
        )
    )

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await login(stack, customer.email)).HasField("tokens")


# --- the audit log viewer ---------------------------------------------------------------


async def test_the_audit_viewer_finds_actions_by_actor_action_target_and_time(
    stack: Stack,
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    customer = await a_customer(stack)
    await with_totp(stack, customer)
    requester, approver = staff(), staff()
    await stack.admin.LockUser(
        pb.LockUserRequest(idempotency_key=key(), user_id=customer.id, reason="chargeback"),
        metadata=requester.metadata,
    )
    reset = await stack.admin.RequestTotpReset(
        pb.RequestTotpResetRequest(idempotency_key=key(), user_id=customer.id, reason="lost"),
        metadata=requester.metadata,
    )
    await stack.admin.ApproveTotpReset(
        pb.ApproveTotpResetRequest(idempotency_key=key(), reset_id=reset.id),
        metadata=approver.metadata,
    )
    await stack.flush_audit()
    viewer = staff()

    def search(**where: Any) -> Any:
        request = pb.SearchAuditLogRequest(**where)
        request.occurred_after.FromDatetime(since)
        return stack.admin.SearchAuditLog(request, metadata=viewer.metadata)

    by_requester = await search(actor_subject=requester.id)
    assert [e.action for e in by_requester.entries] == [
        "admin.totp_reset_requested",
        "auth.user_locked",
    ]
    by_approver = await search(actor_subject=approver.id)
    assert [e.action for e in by_approver.entries] == [
        "admin.totp_reset_approved",
        "auth.totp_reset",
    ]
    about_customer = await search(target_type="user", target_id=customer.id, action_prefix="admin.")
    assert [(e.service, e.action) for e in about_customer.entries] == [
        ("admin", "admin.totp_reset_approved"),
        ("admin", "admin.totp_reset_requested"),
    ]
    paged = await search(target_type="user", target_id=customer.id, page_size=1)
    assert len(paged.entries) == 1
    assert paged.next_page_token

    reversed_range = pb.SearchAuditLogRequest()
    reversed_range.occurred_after.FromDatetime(datetime.now(UTC))
    reversed_range.occurred_before.FromDatetime(since)
    error = await refused(stack.admin.SearchAuditLog(reversed_range, metadata=viewer.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
