"""Persistence of the auth service in its own schema: accounts, roles, sessions and refresh
tokens, one-time tokens, TOTP and recovery codes, MFA challenges, login failure counters, OIDC
logins and identities, and the audit log.

Writers take the session of the caller's transaction; readers take a session or an autocommit
connection. Every secret a client holds (refresh, mail, challenge tokens; recovery codes) is
stored as a digest only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.auth.domain import (
    FailureCount,
    OneTimeToken,
    RefreshTokenState,
    Role,
    TokenPurpose,
    new_opaque_token,
    token_digest,
)
from agora.platform.errors import AlreadyExists, NotFound

Db = AsyncSession | AsyncConnection


def _q(sql: str) -> sa.TextClause:
    return sa.text(sql)


# --- users --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    name: str
    password_hash: str | None
    email_verified: bool
    totp_secret: str | None
    totp_pending_secret: str | None
    totp_last_step: int | None
    created_at: datetime
    roles: tuple[str, ...]

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


_USER_COLUMNS = """
    u.id, u.email, u.name, u.password_hash, u.email_verified_at IS NOT NULL AS email_verified,
    u.totp_secret, u.totp_pending_secret, u.totp_last_step, u.created_at,
    COALESCE(
        (SELECT array_agg(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_id = u.id),
        '{}'
    ) AS roles
"""


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=str(row.id),
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        email_verified=bool(row.email_verified),
        totp_secret=row.totp_secret,
        totp_pending_secret=row.totp_pending_secret,
        totp_last_step=row.totp_last_step,
        created_at=row.created_at,
        roles=tuple(row.roles),
    )


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password_hash: str | None,
    verified_at: datetime | None,
    roles: Sequence[str],
) -> UserRecord | None:
    """A new account with `roles`, or None when the email is taken."""
    user_id = uuid.uuid4()
    inserted = await session.execute(
        _q(
            "INSERT INTO users (id, email, name, password_hash, email_verified_at) "
            "VALUES (:id, :email, :name, :hash, :verified) "
            "ON CONFLICT (email) DO NOTHING RETURNING id"
        ),
        {
            "id": user_id,
            "email": email,
            "name": name,
            "hash": password_hash,
            "verified": verified_at,
        },
    )
    if inserted.first() is None:
        return None
    for role in roles:
        await add_role(session, str(user_id), role)
    return await user_by_id(session, str(user_id))


async def user_by_email(db: Db, email: str) -> UserRecord | None:
    row = await db.execute(
        _q(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.email = :email"), {"email": email}
    )
    found = row.first()
    return _user(found) if found else None


async def user_by_id(db: Db, user_id: str, *, for_update: bool = False) -> UserRecord:
    lock = " FOR UPDATE OF u" if for_update else ""
    row = await db.execute(
        _q(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = :id{lock}"),
        {"id": uuid.UUID(user_id)},
    )
    found = row.first()
    if found is None:
        raise NotFound("user", user_id)
    return _user(found)


async def set_password(session: AsyncSession, user_id: str, password_hash: str) -> None:
    await session.execute(
        _q("UPDATE users SET password_hash = :hash, updated_at = now() WHERE id = :id"),
        {"hash": password_hash, "id": uuid.UUID(user_id)},
    )


async def mark_email_verified(session: AsyncSession, user_id: str, now: datetime) -> bool:
    """Mark verified; False when it already was."""
    result = await session.execute(
        _q(
            "UPDATE users SET email_verified_at = :now, updated_at = now() "
            "WHERE id = :id AND email_verified_at IS NULL"
        ),
        {"now": now, "id": uuid.UUID(user_id)},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class UserPage:
    users: list[UserRecord]
    next_after: tuple[datetime, str] | None


async def list_users(
    db: Db, *, email_prefix: str, after: tuple[datetime, str] | None, limit: int
) -> UserPage:
    """Accounts oldest first, by email prefix, after the keyset position `after`."""
    conditions = ["u.email LIKE :prefix"]
    params: dict[str, Any] = {
        "prefix": _like_prefix(email_prefix.lower()),
        "limit": limit + 1,
    }
    if after is not None:
        conditions.append("(u.created_at, u.id) > (:after_at, :after_id)")
        params.update(after_at=after[0], after_id=uuid.UUID(after[1]))
    rows = await db.execute(
        _q(
            f"SELECT {_USER_COLUMNS} FROM users u WHERE {' AND '.join(conditions)} "
            "ORDER BY u.created_at, u.id LIMIT :limit"
        ),
        params,
    )
    users = [_user(row) for row in rows]
    more = len(users) > limit
    users = users[:limit]
    last = users[-1] if more and users else None
    return UserPage(users, (last.created_at, last.id) if last else None)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# --- roles --------------------------------------------------------------------------------


async def custom_roles(db: Db) -> dict[str, Role]:
    rows = await db.execute(_q("SELECT name, description, permissions FROM roles ORDER BY name"))
    return {
        row.name: Role(row.name, row.description, frozenset(row.permissions), builtin=False)
        for row in rows
    }


async def create_role(session: AsyncSession, role: Role) -> Role:
    inserted = await session.execute(
        _q(
            "INSERT INTO roles (name, description, permissions) VALUES (:name, :d, :p) "
            "ON CONFLICT (name) DO NOTHING RETURNING name"
        ),
        {"name": role.name, "d": role.description, "p": sorted(role.permissions)},
    )
    if inserted.first() is None:
        raise AlreadyExists(f"role {role.name!r} already exists")
    return role


async def add_role(session: AsyncSession, user_id: str, role: str) -> bool:
    """Grant `role`; False when the user already had it."""
    result = await session.execute(
        _q(
            "INSERT INTO user_roles (user_id, role) VALUES (:id, :role) "
            "ON CONFLICT DO NOTHING RETURNING role"
        ),
        {"id": uuid.UUID(user_id), "role": role},
    )
    return result.first() is not None


async def remove_role(session: AsyncSession, user_id: str, role: str) -> bool:
    """Withdraw `role`; False when the user did not have it."""
    result = await session.execute(
        _q("DELETE FROM user_roles WHERE user_id = :id AND role = :role"),
        {"id": uuid.UUID(user_id), "role": role},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- one-time tokens ----------------------------------------------------------------------


async def issue_one_time_token(
    session: AsyncSession, user_id: str, purpose: TokenPurpose, *, now: datetime, ttl_s: int
) -> str:
    """A new single-use token for `purpose`; earlier unused ones of the same purpose die."""
    await session.execute(
        _q(
            "UPDATE one_time_tokens SET used_at = :now "
            "WHERE user_id = :id AND purpose = :purpose AND used_at IS NULL"
        ),
        {"now": now, "id": uuid.UUID(user_id), "purpose": purpose.value},
    )
    token = new_opaque_token()
    await session.execute(
        _q(
            "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at) "
            "VALUES (:hash, :id, :purpose, :now, :expires)"
        ),
        {
            "hash": token_digest(token),
            "id": uuid.UUID(user_id),
            "purpose": purpose.value,
            "now": now,
            "expires": now + timedelta(seconds=ttl_s),
        },
    )
    return token


async def one_time_token(session: AsyncSession, token: str) -> OneTimeToken | None:
    """The token's record, locked for the caller's transaction."""
    row = await session.execute(
        _q(
            "SELECT user_id, purpose, expires_at, used_at FROM one_time_tokens "
            "WHERE token_hash = :hash FOR UPDATE"
        ),
        {"hash": token_digest(token)},
    )
    found = row.first()
    if found is None:
        return None
    return OneTimeToken(
        str(found.user_id), TokenPurpose(found.purpose), found.expires_at, found.used_at
    )


async def use_one_time_token(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(
        _q("UPDATE one_time_tokens SET used_at = :now WHERE token_hash = :hash"),
        {"now": now, "hash": token_digest(token)},
    )


# --- sessions and refresh tokens ----------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user_id: str
    amr: tuple[str, ...]
    user_agent: str
    client_ip: str
    created_at: datetime
    last_seen_at: datetime
    revoked: bool


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        id=str(row.id),
        user_id=str(row.user_id),
        amr=tuple(row.amr),
        user_agent=row.user_agent,
        client_ip=row.client_ip,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        revoked=row.revoked_at is not None,
    )


_SESSION_COLUMNS = "id, user_id, amr, user_agent, client_ip, created_at, last_seen_at, revoked_at"


async def create_session(
    session: AsyncSession,
    user_id: str,
    *,
    amr: Sequence[str],
    user_agent: str,
    client_ip: str,
    now: datetime,
) -> str:
    session_id = uuid.uuid4()
    await session.execute(
        _q(
            "INSERT INTO sessions (id, user_id, amr, user_agent, client_ip, created_at, "
            "last_seen_at) VALUES (:id, :user_id, :amr, :ua, :ip, :now, :now)"
        ),
        {
            "id": session_id,
            "user_id": uuid.UUID(user_id),
            "amr": list(amr),
            "ua": user_agent,
            "ip": client_ip,
            "now": now,
        },
    )
    return str(session_id)


async def session_by_id(db: Db, session_id: str) -> SessionRecord | None:
    row = await db.execute(
        _q(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = :id"),
        {"id": uuid.UUID(session_id)},
    )
    found = row.first()
    return _session(found) if found else None


async def set_session_amr(session: AsyncSession, session_id: str, amr: Sequence[str]) -> None:
    await session.execute(
        _q("UPDATE sessions SET amr = :amr WHERE id = :id"),
        {"amr": list(amr), "id": uuid.UUID(session_id)},
    )


async def live_sessions(db: Db, user_id: str) -> list[SessionRecord]:
    """The account's sessions not revoked, newest first."""
    rows = await db.execute(
        _q(
            f"SELECT {_SESSION_COLUMNS} FROM sessions "
            "WHERE user_id = :id AND revoked_at IS NULL ORDER BY created_at DESC"
        ),
        {"id": uuid.UUID(user_id)},
    )
    return [_session(row) for row in rows]


async def revoke_session(
    session: AsyncSession, session_id: str, *, reason: str, now: datetime, user_id: str = ""
) -> list[str]:
    """End one session (only the account's own when `user_id` is given); the id if it ended."""
    owner = " AND user_id = :user_id" if user_id else ""
    params: dict[str, Any] = {"id": uuid.UUID(session_id), "reason": reason, "now": now}
    if user_id:
        params["user_id"] = uuid.UUID(user_id)
    result = await session.execute(
        _q(
            "UPDATE sessions SET revoked_at = :now, revoked_reason = :reason "
            f"WHERE id = :id AND revoked_at IS NULL{owner} RETURNING id"
        ),
        params,
    )
    return [str(row.id) for row in result]


async def revoke_user_sessions(
    session: AsyncSession, user_id: str, *, reason: str, now: datetime
) -> list[str]:
    """End every live session of the account; the ids of those that ended."""
    result = await session.execute(
        _q(
            "UPDATE sessions SET revoked_at = :now, revoked_reason = :reason "
            "WHERE user_id = :id AND revoked_at IS NULL RETURNING id"
        ),
        {"id": uuid.UUID(user_id), "reason": reason, "now": now},
    )
    return [str(row.id) for row in result]


async def sessions_revoked_since(db: Db, since: datetime) -> list[str]:
    """Ids of the sessions revoked at or after `since` (their tokens may still be alive)."""
    rows = await db.execute(
        _q("SELECT id FROM sessions WHERE revoked_at >= :since"), {"since": since}
    )
    return [str(row.id) for row in rows]


async def issue_refresh_token(
    session: AsyncSession, session_id: str, *, now: datetime, ttl_s: int
) -> str:
    token = new_opaque_token()
    await session.execute(
        _q(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) "
            "VALUES (:hash, :sid, :now, :expires)"
        ),
        {
            "hash": token_digest(token),
            "sid": uuid.UUID(session_id),
            "now": now,
            "expires": now + timedelta(seconds=ttl_s),
        },
    )
    return token


async def refresh_token_state(session: AsyncSession, token: str) -> RefreshTokenState | None:
    """The token and its session, both locked: concurrent refreshes of one family queue up."""
    row = await session.execute(
        _q(
            "SELECT t.session_id, s.user_id, t.expires_at, t.used_at, "
            "s.revoked_at IS NOT NULL AS revoked "
            "FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
            "WHERE t.token_hash = :hash FOR UPDATE"
        ),
        {"hash": token_digest(token)},
    )
    found = row.first()
    if found is None:
        return None
    return RefreshTokenState(
        session_id=str(found.session_id),
        user_id=str(found.user_id),
        expires_at=found.expires_at,
        used_at=found.used_at,
        session_revoked=bool(found.revoked),
    )


async def use_refresh_token(
    session: AsyncSession,
    token: str,
    *,
    now: datetime,
    user_agent: str,
    client_ip: str,
) -> None:
    """Mark the token used and note the session's latest activity."""
    row = await session.execute(
        _q(
            "UPDATE refresh_tokens SET used_at = :now WHERE token_hash = :hash RETURNING session_id"
        ),
        {"now": now, "hash": token_digest(token)},
    )
    session_id = row.scalar_one()
    await session.execute(
        _q(
            "UPDATE sessions SET last_seen_at = :now, "
            "user_agent = CASE WHEN :ua = '' THEN user_agent ELSE :ua END, "
            "client_ip = CASE WHEN :ip = '' THEN client_ip ELSE :ip END WHERE id = :id"
        ),
        {"now": now, "ua": user_agent, "ip": client_ip, "id": session_id},
    )


# --- MFA challenges -----------------------------------------------------------------------


@dataclass(frozen=True)
class MfaChallenge:
    user_id: str
    amr: tuple[str, ...]
    user_agent: str
    client_ip: str
    attempts: int
    expires_at: datetime
    used: bool


async def create_mfa_challenge(
    session: AsyncSession,
    user_id: str,
    *,
    amr: Sequence[str],
    user_agent: str,
    client_ip: str,
    now: datetime,
    ttl_s: int,
) -> str:
    token = new_opaque_token()
    await session.execute(
        _q(
            "INSERT INTO mfa_challenges (token_hash, user_id, amr, user_agent, client_ip, "
            "expires_at) VALUES (:hash, :id, :amr, :ua, :ip, :expires)"
        ),
        {
            "hash": token_digest(token),
            "id": uuid.UUID(user_id),
            "amr": list(amr),
            "ua": user_agent,
            "ip": client_ip,
            "expires": now + timedelta(seconds=ttl_s),
        },
    )
    return token


async def mfa_challenge(session: AsyncSession, token: str) -> MfaChallenge | None:
    row = await session.execute(
        _q(
            "SELECT user_id, amr, user_agent, client_ip, attempts, expires_at, used_at "
            "FROM mfa_challenges WHERE token_hash = :hash FOR UPDATE"
        ),
        {"hash": token_digest(token)},
    )
    found = row.first()
    if found is None:
        return None
    return MfaChallenge(
        str(found.user_id),
        tuple(found.amr),
        found.user_agent,
        found.client_ip,
        found.attempts,
        found.expires_at,
        found.used_at is not None,
    )


async def count_mfa_attempt(session: AsyncSession, token: str) -> None:
    await session.execute(
        _q("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = :hash"),
        {"hash": token_digest(token)},
    )


async def use_mfa_challenge(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(
        _q("UPDATE mfa_challenges SET used_at = :now WHERE token_hash = :hash"),
        {"now": now, "hash": token_digest(token)},
    )


# --- TOTP and recovery codes --------------------------------------------------------------


async def set_pending_totp(session: AsyncSession, user_id: str, secret: str) -> None:
    await session.execute(
        _q("UPDATE users SET totp_pending_secret = :secret, updated_at = now() WHERE id = :id"),
        {"secret": secret, "id": uuid.UUID(user_id)},
    )


async def enable_totp(session: AsyncSession, user_id: str, *, step: int, now: datetime) -> None:
    """The pending secret becomes the account's, its first code's step already used."""
    await session.execute(
        _q(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, "
            "totp_enabled_at = :now, totp_last_step = :step, updated_at = now() WHERE id = :id"
        ),
        {"now": now, "step": step, "id": uuid.UUID(user_id)},
    )


async def set_totp_last_step(session: AsyncSession, user_id: str, step: int) -> None:
    await session.execute(
        _q("UPDATE users SET totp_last_step = :step WHERE id = :id"),
        {"step": step, "id": uuid.UUID(user_id)},
    )


async def disable_totp(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        _q(
            "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, "
            "totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now() WHERE id = :id"
        ),
        {"id": uuid.UUID(user_id)},
    )
    await session.execute(
        _q("DELETE FROM recovery_codes WHERE user_id = :id"), {"id": uuid.UUID(user_id)}
    )


async def replace_recovery_codes(
    session: AsyncSession, user_id: str, digests: Iterable[bytes]
) -> None:
    await session.execute(
        _q("DELETE FROM recovery_codes WHERE user_id = :id"), {"id": uuid.UUID(user_id)}
    )
    for digest in digests:
        await session.execute(
            _q("INSERT INTO recovery_codes (user_id, code_hash) VALUES (:id, :hash)"),
            {"id": uuid.UUID(user_id), "hash": digest},
        )


async def use_recovery_code(
    session: AsyncSession, user_id: str, digest: bytes, now: datetime
) -> bool:
    """Spend a recovery code; False when it is unknown or already spent."""
    result = await session.execute(
        _q(
            "UPDATE recovery_codes SET used_at = :now "
            "WHERE user_id = :id AND code_hash = :hash AND used_at IS NULL"
        ),
        {"now": now, "id": uuid.UUID(user_id), "hash": digest},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unused_recovery_codes(db: Db, user_id: str) -> int:
    row = await db.execute(
        _q("SELECT count(*) FROM recovery_codes WHERE user_id = :id AND used_at IS NULL"),
        {"id": uuid.UUID(user_id)},
    )
    return int(row.scalar_one())


# --- login failure counters ---------------------------------------------------------------


async def failure_counts(db: Db, keys: Sequence[str]) -> dict[str, FailureCount]:
    rows = await db.execute(
        _q("SELECT key, failures, last_failure_at FROM login_failures WHERE key = ANY(:keys)"),
        {"keys": list(keys)},
    )
    return {row.key: FailureCount(row.failures, row.last_failure_at) for row in rows}


async def count_failure(session: AsyncSession, keys: Sequence[str], now: datetime) -> None:
    for key in keys:
        await session.execute(
            _q(
                "INSERT INTO login_failures (key, failures, last_failure_at) "
                "VALUES (:key, 1, :now) ON CONFLICT (key) DO UPDATE "
                "SET failures = login_failures.failures + 1, last_failure_at = :now"
            ),
            {"key": key, "now": now},
        )


async def clear_failures(session: AsyncSession, keys: Sequence[str]) -> None:
    await session.execute(
        _q("DELETE FROM login_failures WHERE key = ANY(:keys)"), {"keys": list(keys)}
    )


# --- OIDC ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OidcLogin:
    provider: str
    nonce: str
    code_verifier: str
    redirect_uri: str


async def save_oidc_login(
    session: AsyncSession,
    *,
    state: str,
    login: OidcLogin,
    now: datetime,
    ttl_s: int,
) -> None:
    await session.execute(
        _q(
            "INSERT INTO oidc_logins (state, provider, nonce, code_verifier, redirect_uri, "
            "created_at, expires_at) VALUES (:state, :provider, :nonce, :verifier, :uri, :now, "
            ":expires)"
        ),
        {
            "state": state,
            "provider": login.provider,
            "nonce": login.nonce,
            "verifier": login.code_verifier,
            "uri": login.redirect_uri,
            "now": now,
            "expires": now + timedelta(seconds=ttl_s),
        },
    )


async def take_oidc_login(session: AsyncSession, state: str, now: datetime) -> OidcLogin | None:
    """The login started with `state`, used up; None when unknown, used or expired."""
    row = await session.execute(
        _q(
            "UPDATE oidc_logins SET used_at = :now "
            "WHERE state = :state AND used_at IS NULL AND expires_at > :now "
            "RETURNING provider, nonce, code_verifier, redirect_uri"
        ),
        {"state": state, "now": now},
    )
    found = row.first()
    if found is None:
        return None
    return OidcLogin(found.provider, found.nonce, found.code_verifier, found.redirect_uri)


async def oidc_identity_user(db: Db, provider: str, subject: str) -> str | None:
    row = await db.execute(
        _q("SELECT user_id FROM oidc_identities WHERE provider = :p AND subject = :s"),
        {"p": provider, "s": subject},
    )
    user_id = row.scalar_one_or_none()
    return str(user_id) if user_id else None


async def link_oidc_identity(
    session: AsyncSession, *, provider: str, subject: str, user_id: str, email: str
) -> None:
    await session.execute(
        _q(
            "INSERT INTO oidc_identities (provider, subject, user_id, email) "
            "VALUES (:p, :s, :id, :email) ON CONFLICT DO NOTHING"
        ),
        {"p": provider, "s": subject, "id": uuid.UUID(user_id), "email": email},
    )


# --- the audit log ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    event_id: str
    service: str
    action: str
    actor_subject: str
    actor_kind: str
    target_type: str
    target_id: str
    outcome: str
    client_ip: str
    user_agent: str
    before_json: str
    after_json: str
    detail: str
    occurred_at: datetime


@dataclass(frozen=True)
class StoredAuditEntry:
    id: int
    entry: AuditRecord


async def append_audit_entry(session: AsyncSession, record: AuditRecord) -> bool:
    """Append one entry; False when its event was already recorded (a redelivery)."""
    result = await session.execute(
        _q(
            "INSERT INTO audit_log (event_id, service, action, actor_subject, actor_kind, "
            "target_type, target_id, outcome, client_ip, user_agent, before_json, after_json, "
            "detail, occurred_at) VALUES (:event_id, :service, :action, :actor_subject, "
            ":actor_kind, :target_type, :target_id, :outcome, :client_ip, :user_agent, "
            ":before_json, :after_json, :detail, :occurred_at) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id"
        ),
        {**record.__dict__, "event_id": uuid.UUID(record.event_id)},
    )
    return result.first() is not None


@dataclass(frozen=True)
class AuditQuery:
    actor_subject: str = ""
    action_prefix: str = ""
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    # Keyset position: entries strictly older than (occurred_at, id).
    before: tuple[datetime, int] | None = None
    limit: int = 50


async def list_audit_entries(db: Db, query: AuditQuery) -> list[StoredAuditEntry]:
    """Entries newest first; one more than `limit` when a next page exists."""
    conditions = ["true"]
    params: dict[str, Any] = {"limit": query.limit + 1}
    if query.actor_subject:
        conditions.append("actor_subject = :actor")
        params["actor"] = query.actor_subject
    if query.action_prefix:
        conditions.append("action LIKE :action")
        params["action"] = _like_prefix(query.action_prefix)
    if query.occurred_after is not None:
        conditions.append("occurred_at >= :after")
        params["after"] = query.occurred_after
    if query.occurred_before is not None:
        conditions.append("occurred_at < :before")
        params["before"] = query.occurred_before
    if query.before is not None:
        conditions.append("(occurred_at, id) < (:cursor_at, :cursor_id)")
        params.update(cursor_at=query.before[0], cursor_id=query.before[1])
    rows = await db.execute(
        _q(
            "SELECT id, event_id, service, action, actor_subject, actor_kind, target_type, "
            "target_id, outcome, client_ip, user_agent, before_json, after_json, detail, "
            f"occurred_at FROM audit_log WHERE {' AND '.join(conditions)} "
            "ORDER BY occurred_at DESC, id DESC LIMIT :limit"
        ),
        params,
    )
    return [
        StoredAuditEntry(
            row.id,
            AuditRecord(
                event_id=str(row.event_id),
                service=row.service,
                action=row.action,
                actor_subject=row.actor_subject,
                actor_kind=row.actor_kind,
                target_type=row.target_type,
                target_id=row.target_id,
                outcome=row.outcome,
                client_ip=row.client_ip,
                user_agent=row.user_agent,
                before_json=row.before_json,
                after_json=row.after_json,
                detail=row.detail,
                occurred_at=row.occurred_at,
            ),
        )
        for row in rows
    ]
