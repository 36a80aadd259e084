"""UserAdminService: staff manage accounts through auth's RPCs, and read the audit log.

Every call to auth and orders is made with the staff member's own token (`users_clients`), so
those services decide what the person may see and do; admin adds only the four-eyes rule of a
2FA reset (`users.py`), whose pending requests it keeps (`users_store`). Auth audits what it
does with the staff member as actor; admin audits the requests and approvals it records, in
the same transaction, through its outbox.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.admin.v1 import users_pb2 as pb
from agora._proto.agora.admin.v1 import users_pb2_grpc
from agora._proto.agora.auth.v1 import auth_pb2 as apb
from agora.admin import users_store
from agora.admin.users import (
    TotpReset,
    apply_directly,
    approve,
    check_time_range,
    request_totp_reset,
    resets_directly,
)
from agora.admin.users_clients import StaffCalls, StaffCredentials
from agora.admin.users_translation import (
    USER_STATUS_TO_AUTH,
    audit_entry_pb,
    managed_user_pb,
    order_pb,
    session_pb,
    totp_reset_pb,
)
from agora.platform.audit import record_audit
from agora.platform.db import session_factory
from agora.platform.errors import DomainError, InvalidArgument
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import datetime_of
from agora.platform.security.principal import current_principal

ResponseT = TypeVar("ResponseT", bound=Message)
SERVICE = "admin"
# How much of an account's orders and audit trail its view shows (the rest: their own lists).
VIEW_ORDERS = 10
VIEW_AUDIT_ENTRIES = 20
# What a page token of the waiting 2FA resets is bound to (they have no filters).
RESETS_PAGES = "totp_resets"


class UserAdminService(users_pb2_grpc.UserAdminServiceServicer):
    """User management over auth and orders (as the caller), and the admin schema's resets."""

    def __init__(
        self,
        engine: AsyncEngine,
        calls: StaffCalls,
        *,
        approval_ttl_s: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._calls = calls
        self._approval_ttl_s = approval_ttl_s
        self._now = clock

    async def _mutate(
        self,
        operation: str,
        request: Message,
        response_type: type[ResponseT],
        change: Callable[[AsyncSession], Awaitable[ResponseT]],
    ) -> ResponseT:
        """One transaction in admin's schema: the idempotency record (scoped to the caller),
        the change and its audit entry."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"admin.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    # --- accounts ----------------------------------------------------------------------------

    async def SearchUsers(
        self, request: pb.SearchUsersRequest, context: Any
    ) -> pb.SearchUsersResponse:
        if request.status not in USER_STATUS_TO_AUTH:
            raise InvalidArgument.for_field("status", "unknown user status")
        found = await self._calls.call(
            self._calls.auth.ListUsers,
            apb.ListUsersRequest(
                query=request.query,
                role=request.role,
                status=USER_STATUS_TO_AUTH[request.status],
                page_size=page_size(request.page_size),
                page_token=request.page_token,
            ),
            StaffCredentials.of(context),
        )
        return pb.SearchUsersResponse(
            users=[managed_user_pb(u) for u in found.users], next_page_token=found.next_page_token
        )

    async def GetUser(self, request: pb.GetUserRequest, context: Any) -> pb.UserView:
        user_id = require_id(request.user_id, "userId")
        credentials = StaffCredentials.of(context)
        details = await self._calls.user(user_id, credentials)
        view = pb.UserView(
            user=managed_user_pb(details.user),
            locked_reason=details.locked_reason,
            sessions=[session_pb(s) for s in details.sessions],
        )
        orders, trail = await asyncio.gather(
            self._calls.latest_orders(user_id, VIEW_ORDERS, credentials),
            self._calls.audit_entries(
                apb.ListAuditEntriesRequest(
                    target_type="user", target_id=user_id, page_size=VIEW_AUDIT_ENTRIES
                ),
                credentials,
            ),
            return_exceptions=True,
        )
        if isinstance(orders, DomainError):
            view.unavailable.append(f"orders: {_why(orders)}")
        elif isinstance(orders, BaseException):
            raise orders
        else:
            view.orders.extend(order_pb(o) for o in orders.orders)
            view.orders_next_page_token = orders.next_page_token
        if isinstance(trail, DomainError):
            view.unavailable.append(f"audit trail: {_why(trail)}")
        elif isinstance(trail, BaseException):
            raise trail
        else:
            view.audit_trail.extend(audit_entry_pb(e) for e in trail.entries)
            view.audit_next_page_token = trail.next_page_token
        return view

    async def AssignRole(self, request: pb.AssignRoleRequest, context: Any) -> pb.ManagedUser:
        forwarded = apb.AssignRoleRequest(
            idempotency_key=request.idempotency_key,
            user_id=require_id(request.user_id, "userId"),
            role=request.role,
        )
        user = await self._calls.call(
            self._calls.auth.AssignRole, forwarded, StaffCredentials.of(context)
        )
        return managed_user_pb(user)

    async def RevokeRole(self, request: pb.RevokeRoleRequest, context: Any) -> pb.ManagedUser:
        forwarded = apb.RevokeRoleRequest(
            idempotency_key=request.idempotency_key,
            user_id=require_id(request.user_id, "userId"),
            role=request.role,
        )
        user = await self._calls.call(
            self._calls.auth.RevokeRole, forwarded, StaffCredentials.of(context)
        )
        return managed_user_pb(user)

    async def LockUser(self, request: pb.LockUserRequest, context: Any) -> pb.ManagedUser:
        forwarded = apb.LockUserRequest(
            idempotency_key=request.idempotency_key,
            user_id=require_id(request.user_id, "userId"),
            reason=request.reason,
        )
        user = await self._calls.call(
            self._calls.auth.LockUser, forwarded, StaffCredentials.of(context)
        )
        return managed_user_pb(user)

    async def UnlockUser(self, request: pb.UnlockUserRequest, context: Any) -> pb.ManagedUser:
        forwarded = apb.UnlockUserRequest(
            idempotency_key=request.idempotency_key, user_id=require_id(request.user_id, "userId")
        )
        user = await self._calls.call(
            self._calls.auth.UnlockUser, forwarded, StaffCredentials.of(context)
        )
        return managed_user_pb(user)

    async def ForceLogout(
        self, request: pb.ForceLogoutRequest, context: Any
    ) -> pb.ForceLogoutResponse:
        forwarded = apb.RevokeUserSessionsRequest(
            idempotency_key=request.idempotency_key, user_id=require_id(request.user_id, "userId")
        )
        ended = await self._calls.call(
            self._calls.auth.RevokeUserSessions, forwarded, StaffCredentials.of(context)
        )
        return pb.ForceLogoutResponse(revoked=ended.revoked)

    # --- 2FA resets: four eyes -------------------------------------------------------------

    async def RequestTotpReset(
        self, request: pb.RequestTotpResetRequest, context: Any
    ) -> pb.TotpReset:
        caller = current_principal()
        credentials = StaffCredentials.of(context)
        user_id = require_id(request.user_id, "userId")
        now = self._now()
        reset = request_totp_reset(
            reset_id=str(uuid.uuid4()),
            user_id=user_id,
            reason=request.reason,
            requested_by=caller.subject,
            now=now,
            ttl_s=self._approval_ttl_s,
        )
        await self._calls.user(user_id, credentials)  # it exists, and the caller may see it

        async def change(session: AsyncSession) -> pb.TotpReset:
            if resets_directly(caller.roles):
                await self._calls.reset_totp(user_id, reset.id, credentials)
                done = apply_directly(reset, self._now())
                # A request still waiting is answered too: approved later, it would remove the
                # factor the account may have enrolled again by then.
                await users_store.close_waiting(session, done)
                await users_store.add_reset(session, done)
                await self._audit(session, "totp_reset_applied", done)
                return totp_reset_pb(done, self._now())
            waiting = await users_store.waiting_reset(session, user_id, now)
            if waiting is not None:
                return totp_reset_pb(waiting, now)
            await users_store.add_reset(session, reset)
            await self._audit(session, "totp_reset_requested", reset)
            return totp_reset_pb(reset, now)

        return await self._mutate("RequestTotpReset", request, pb.TotpReset, change)

    async def ApproveTotpReset(
        self, request: pb.ApproveTotpResetRequest, context: Any
    ) -> pb.TotpReset:
        approver = current_principal().subject
        credentials = StaffCredentials.of(context)
        reset_id = require_id(request.reset_id, "resetId")

        async def change(session: AsyncSession) -> pb.TotpReset:
            reset = await users_store.reset_by_id(session, reset_id)
            now = self._now()
            approved = approve(reset, approver, now)
            if approved is not reset:
                # With the approver's rights; the reset's id keys auth's idempotency.
                await self._calls.reset_totp(reset.user_id, reset.id, credentials)
                await users_store.save_approval(session, approved)
                await self._audit(session, "totp_reset_approved", approved)
            return totp_reset_pb(approved, now)

        return await self._mutate("ApproveTotpReset", request, pb.TotpReset, change)

    async def ListTotpResets(
        self, request: pb.ListTotpResetsRequest, context: Any
    ) -> pb.ListTotpResetsResponse:
        now, size = self._now(), page_size(request.page_size)
        position = decode_page_token(request.page_token, RESETS_PAGES)
        after = (
            None
            if position is None
            else (datetime.fromisoformat(str(position[0])), str(position[1]))
        )
        async with self._reads.connect() as conn:
            waiting = await users_store.waiting_resets(conn, now, size + 1, after)
        shown = waiting[:size]
        next_token = ""
        if len(waiting) > size:
            next_token = encode_page_token(
                (shown[-1].requested_at.isoformat(), shown[-1].id), RESETS_PAGES
            )
        return pb.ListTotpResetsResponse(
            resets=[totp_reset_pb(r, now) for r in shown], next_page_token=next_token
        )

    async def _audit(self, session: AsyncSession, action: str, reset: TotpReset) -> None:
        await record_audit(
            session,
            service=SERVICE,
            action=action,
            target_type="user",
            target_id=reset.user_id,
            after={
                "totp_reset": reset.id,
                "requested_by": reset.requested_by,
                "approved_by": reset.approved_by,
            },
            detail=reset.reason,
        )

    # --- the audit log -----------------------------------------------------------------------

    async def SearchAuditLog(
        self, request: pb.SearchAuditLogRequest, context: Any
    ) -> pb.SearchAuditLogResponse:
        forwarded = apb.ListAuditEntriesRequest(
            actor_subject=request.actor_subject,
            action_prefix=request.action_prefix,
            target_type=request.target_type,
            target_id=request.target_id,
            page_size=page_size(request.page_size),
            page_token=request.page_token,
        )
        after = before = None
        if request.HasField("occurred_after"):
            after = datetime_of(request.occurred_after)
            forwarded.occurred_after.CopyFrom(request.occurred_after)
        if request.HasField("occurred_before"):
            before = datetime_of(request.occurred_before)
            forwarded.occurred_before.CopyFrom(request.occurred_before)
        check_time_range(after, before)
        found = await self._calls.audit_entries(forwarded, StaffCredentials.of(context))
        return pb.SearchAuditLogResponse(
            entries=[audit_entry_pb(e) for e in found.entries],
            next_page_token=found.next_page_token,
        )


def _why(error: DomainError) -> str:
    """Why a part was left out of a view, as the callee's reason ("permission missing")."""
    return error.reason.lower().replace("_", " ")
