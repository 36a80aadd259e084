"""User management's protobuf mapping: auth's and orders' answers as admin's messages, and
2FA resets as `TotpReset`."""

from __future__ import annotations

from datetime import datetime

from agora._proto.agora.admin.v1 import users_pb2 as pb
from agora._proto.agora.auth.v1 import auth_pb2 as apb
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora.admin.users import TotpReset, TotpResetStatus
from agora.platform.rpc.timestamps import timestamp

USER_STATUS_TO_AUTH = {
    pb.USER_STATUS_UNSPECIFIED: apb.USER_STATUS_UNSPECIFIED,
    pb.USER_STATUS_ACTIVE: apb.USER_STATUS_ACTIVE,
    pb.USER_STATUS_LOCKED: apb.USER_STATUS_LOCKED,
}
RESET_STATUS = {
    TotpResetStatus.PENDING: pb.TOTP_RESET_STATUS_PENDING,
    TotpResetStatus.APPLIED: pb.TOTP_RESET_STATUS_APPLIED,
    TotpResetStatus.EXPIRED: pb.TOTP_RESET_STATUS_EXPIRED,
}


def managed_user_pb(user: apb.User) -> pb.ManagedUser:
    managed = pb.ManagedUser(
        id=user.id,
        email=user.email,
        name=user.name,
        email_verified=user.email_verified,
        roles=list(user.roles),
        totp_enabled=user.totp_enabled,
        status=pb.USER_STATUS_LOCKED if user.locked else pb.USER_STATUS_ACTIVE,
        created_at=user.created_at,
    )
    if user.HasField("locked_at"):
        managed.locked_at.CopyFrom(user.locked_at)
    return managed


def session_pb(session: apb.Session) -> pb.UserSession:
    return pb.UserSession(
        id=session.id,
        user_agent=session.user_agent,
        client_ip=session.client_ip,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        amr=list(session.amr),
    )


def order_pb(order: opb.OrderSummary) -> pb.CustomerOrder:
    return pb.CustomerOrder(
        id=order.id,
        status=opb.OrderStatus.Name(order.status),
        total=order.total,
        item_count=order.item_count,
        placed_at=order.placed_at,
    )


_AUDIT_FIELDS = (
    "id",
    "service",
    "action",
    "actor_subject",
    "actor_kind",
    "target_type",
    "target_id",
    "outcome",
    "client_ip",
    "user_agent",
    "before_json",
    "after_json",
    "detail",
)


def audit_entry_pb(entry: apb.AuditEntryView) -> pb.AuditEntry:
    return pb.AuditEntry(
        occurred_at=entry.occurred_at, **{name: getattr(entry, name) for name in _AUDIT_FIELDS}
    )


def totp_reset_pb(reset: TotpReset, now: datetime) -> pb.TotpReset:
    message = pb.TotpReset(
        id=reset.id,
        user_id=reset.user_id,
        status=RESET_STATUS[reset.status(now)],
        reason=reset.reason,
        requested_by=reset.requested_by,
        approved_by=reset.approved_by,
        requested_at=timestamp(reset.requested_at),
        expires_at=timestamp(reset.expires_at),
    )
    if reset.applied_at is not None:
        message.applied_at.CopyFrom(timestamp(reset.applied_at))
    return message
