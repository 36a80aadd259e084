"""Auth's records and the outcomes of its flows as protobuf messages."""

from __future__ import annotations

from typing import Any

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora.auth.domain import (
    AUDIT_ENTRY_FIELDS,
    Grant,
    Role,
    SessionRecord,
    StoredAuditEntry,
    UserRecord,
    UserStatus,
)
from agora.auth.login import LoginOutcome
from agora.auth.sessions import IssuedTokens
from agora.auth.two_factor import Enrolment
from agora.platform.rpc.timestamps import timestamp


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
        locked=user.locked,
        locked_at=timestamp(user.locked_at) if user.locked_at else None,
    )


def user_details_pb(
    user: UserRecord, grant: Grant, sessions: list[SessionRecord]
) -> pb.UserDetails:
    """An account as staff see it: no secret, and no session is the caller's."""
    return pb.UserDetails(
        user=user_pb(user, grant),
        sessions=[session_pb(s, "") for s in sessions],
        locked_reason=user.locked_reason,
    )


USER_STATUSES = {
    pb.USER_STATUS_ACTIVE: UserStatus.ACTIVE,
    pb.USER_STATUS_LOCKED: UserStatus.LOCKED,
}


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
        service=entry.service,
        occurred_at=timestamp(entry.occurred_at),
        **{name: getattr(entry, name) for name in AUDIT_ENTRY_FIELDS},
    )


def tokens_pb(tokens: IssuedTokens) -> pb.Tokens:
    return pb.Tokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        token_type="Bearer",
        session_id=tokens.session_id,
    )


def login_pb(outcome: LoginOutcome) -> pb.LoginResponse:
    if outcome.tokens is None:
        return pb.LoginResponse(mfa_required=True, mfa_token=outcome.mfa_token)
    return pb.LoginResponse(
        tokens=tokens_pb(outcome.tokens), mfa_enrollment_required=outcome.enrollment_required
    )


def enrolment_pb(enrolment: Enrolment) -> pb.EnrollTotpResponse:
    return pb.EnrollTotpResponse(
        secret=enrolment.secret,
        otpauth_uri=enrolment.otpauth_uri,
        qr_png_base64=enrolment.qr_png_base64,
    )


def confirmed_totp_pb(codes: list[str], tokens: IssuedTokens | None) -> pb.ConfirmTotpResponse:
    response = pb.ConfirmTotpResponse(recovery_codes=pb.RecoveryCodes(codes=codes))
    if tokens is not None:
        response.tokens.CopyFrom(tokens_pb(tokens))
    return response


_JWK_FIELDS = ("kty", "crv", "x", "kid", "alg", "use")


def jwks_pb(keys: list[dict[str, Any]]) -> pb.Jwks:
    return pb.Jwks(keys=[pb.Jwk(**{f: str(key.get(f, "")) for f in _JWK_FIELDS}) for key in keys])
