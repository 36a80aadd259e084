"""Auth's records as protobuf messages, and back."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora.auth.domain import Grant, Role, SessionRecord, StoredAuditEntry, UserRecord


def timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def user_pb(user: UserRecord, grant: Grant) -> pb.User:
    return pb.User(
        id=user.id,
        email=user.email,
        name=user.name,
        email_verified=user.email_verified,
        roles=list(user.roles),
        permissions=list(grant.permissions),
        totp_enabled=user.totp_enabled,
        created_at=timestamp(user.created_at),
    )


def session_pb(record: SessionRecord, current_session_id: str) -> pb.Session:
    return pb.Session(
        id=record.id,
        user_agent=record.user_agent,
        client_ip=record.client_ip,
        created_at=timestamp(record.created_at),
        last_seen_at=timestamp(record.last_seen_at),
        current=record.id == current_session_id,
        amr=list(record.amr),
    )


def role_pb(role: Role, requires_2fa: bool) -> pb.Role:
    return pb.Role(
        name=role.name,
        description=role.description,
        permissions=sorted(role.permissions),
        builtin=role.builtin,
        requires_2fa=requires_2fa,
    )


def audit_entry_pb(stored: StoredAuditEntry) -> pb.AuditEntryView:
    entry = stored.entry
    return pb.AuditEntryView(
        id=stored.id,
        action=entry.action,
        actor_subject=entry.actor_subject,
        actor_kind=entry.actor_kind,
        target_type=entry.target_type,
        target_id=entry.target_id,
        outcome=entry.outcome,
        client_ip=entry.client_ip,
        user_agent=entry.user_agent,
        before_json=entry.before_json,
        after_json=entry.after_json,
        detail=entry.detail,
        occurred_at=timestamp(entry.occurred_at),
        service=entry.service,
    )
