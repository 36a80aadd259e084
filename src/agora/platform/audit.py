"""Audit entries (docs/adr/0007): who did what to which resource, recorded by the service that
did it, in the transaction of the change, through its outbox on `audit.<service>.<action>`.

The actor is the call's `current_principal()`, the client's address and user agent its
`current_origin()` (both bound by the security interceptor); the auth service keeps every entry
append-only and serves them (`ListAuditEntries`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora.platform.bus.outbox import record_event
from agora.platform.bus.streams import AUDIT_SUBJECT_PREFIX
from agora.platform.kernel.clock import utcnow
from agora.platform.logging import current_request_id
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.origin import Origin, current_origin
from agora.platform.security.principal import Principal, current_principal

Outcome = Literal["success", "denied", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("success", "denied", "failed")
_TOKEN = re.compile(r"[a-z][a-z0-9_]*")

Snapshot = Mapping[str, Any] | Message | None


@dataclass(frozen=True)
class AuditActor:
    """Who an entry names: by default the call's principal; a service may name another (a
    login's actor is the account logging in, not the anonymous caller; the CLI an operator)."""

    subject: str
    kind: str
    session_id: str = ""

    @classmethod
    def of(cls, principal: Principal) -> AuditActor:
        return cls(principal.subject, principal.kind, principal.session_id)

    @classmethod
    def user(cls, user_id: str, session_id: str = "") -> AuditActor:
        return cls(user_id, "user", session_id)


def audit_subject(service: str, action: str) -> str:
    """`audit.<service>.<action>`, both single lowercase NATS tokens."""
    for name, value in (("service", service), ("action", action)):
        if not _TOKEN.fullmatch(value):
            raise ValueError(f"audit {name} {value!r} must match {_TOKEN.pattern}")
    return f"{AUDIT_SUBJECT_PREFIX}.{service}.{action}"


def audit_entry(
    *,
    service: str,
    action: str,
    target_type: str,
    target_id: str,
    outcome: Outcome = "success",
    before: Snapshot = None,
    after: Snapshot = None,
    detail: str = "",
    occurred_at: datetime | None = None,
    actor: AuditActor | None = None,
    origin: Origin | None = None,
) -> AuditEntry:
    """The entry for the call being served (actor, origin and request id from its context,
    unless `actor` / `origin` name them)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} is not one of {OUTCOMES}")
    actor = actor or AuditActor.of(current_principal())
    origin = origin or current_origin()
    entry = AuditEntry(
        action=f"{service}.{action}",
        actor_subject=actor.subject,
        actor_kind=actor.kind,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        client_ip=origin.client_ip,
        user_agent=origin.user_agent,
        before_json=snapshot_json(before),
        after_json=snapshot_json(after),
        detail=detail,
        service=service,
        session_id=actor.session_id,
        request_id=current_request_id() or "",
    )
    entry.occurred_at.CopyFrom(timestamp(occurred_at or utcnow()))
    return entry


async def record_audit(
    session: AsyncSession,
    *,
    service: str,
    action: str,
    target_type: str,
    target_id: str,
    outcome: Outcome = "success",
    before: Snapshot = None,
    after: Snapshot = None,
    detail: str = "",
    actor: AuditActor | None = None,
    origin: Origin | None = None,
) -> AuditEntry:
    """Record an audit entry in `session`'s transaction (the outbox of `service`'s schema).

    `action` is one snake-case word (`prices_set`); `before` / `after` are the resource as JSON
    objects (mappings or protobuf messages).
    """
    subject = audit_subject(service, action)
    entry = audit_entry(
        service=service,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        before=before,
        after=after,
        detail=detail,
        actor=actor,
        origin=origin,
    )
    await record_event(
        session,
        producer=AUDIT_SUBJECT_PREFIX,
        subject=subject,
        event=entry,
        aggregate_id=f"{target_type}:{target_id}",
    )
    return entry


def snapshot_json(snapshot: Snapshot) -> str:
    """A resource as compact JSON ("" for none)."""
    if snapshot is None:
        return ""
    if isinstance(snapshot, Message):
        value: Any = json_format.MessageToDict(snapshot, preserving_proto_field_name=True)
    else:
        value = dict(snapshot)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
