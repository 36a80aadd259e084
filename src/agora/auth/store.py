"""Loading and saving auth's records, with statements built from `tables.py`: accounts, roles,
sessions and refresh tokens, one-time tokens, TOTP and recovery codes, MFA challenges, login
failure counters, OIDC logins and identities, and the audit log.

Writers take the session of the caller's transaction; readers take a session or an autocommit
connection. Every secret a client holds (refresh, mail, challenge tokens; recovery codes) is
stored as a digest only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.auth.domain import (
    AUDIT_ENTRY_FIELDS,
    AuditQuery,
    AuditRecord,
    FailureCount,
    MfaChallenge,
    OidcLogin,
    OneTimeToken,
    RefreshTokenState,
    Role,
    SessionRecord,
    StoredAuditEntry,
    TokenPurpose,
    UserFilter,
    UserPage,
    UserRecord,
    UserStatus,
    new_opaque_token,
    token_digest,
)
from agora.auth.tables import (
    audit_log,
    login_failures,
    mfa_challenges,
    oidc_identities,
    oidc_logins,
    one_time_tokens,
    recovery_codes,
    refresh_tokens,
    roles,
    sessions,
    user_roles,
    users,
)
from agora.platform.errors import AlreadyExists, NotFound
from agora.platform.security.origin import Origin

Db = AsyncSession | AsyncConnection


def _id(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _changed(result: Any) -> bool:
    return bool(result.rowcount)


async def _issue_token(
    session: AsyncSession, table: sa.Table, *, now: datetime, ttl_s: int, **values: Any
) -> str:
    """A new opaque token for the client; `table` keeps only its digest, with `values`."""
    token = new_opaque_token()
    expires_at = now + timedelta(seconds=ttl_s)
    await session.execute(
        sa.insert(table).values(token_hash=token_digest(token), expires_at=expires_at, **values)
    )
    return token


def _by_token(table: sa.Table, token: str) -> sa.ColumnElement[bool]:
    return table.c.token_hash == token_digest(token)


async def _locked_by_token(
    session: AsyncSession, statement: sa.Select[Any], table: sa.Table, token: str
) -> Any:
    """The row `statement` selects for `token` in `table`, locked for the caller's transaction."""
    return (
        await session.execute(statement.where(_by_token(table, token)).with_for_update())
    ).first()


# --- users --------------------------------------------------------------------------------

_ROLES_OF_USER = (
    sa.select(sa.func.array_agg(aggregate_order_by(user_roles.c.role, user_roles.c.role)))
    .where(user_roles.c.user_id == users.c.id)
    .scalar_subquery()
)
_USERS = sa.select(
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.password_hash,
    users.c.email_verified_at.is_not(None).label("email_verified"),
    users.c.totp_secret,
    users.c.totp_pending_secret,
    users.c.totp_last_step,
    users.c.created_at,
    users.c.locked_at,
    users.c.locked_reason,
    _ROLES_OF_USER.label("roles"),
)


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
        roles=tuple(row.roles or ()),
        locked_at=row.locked_at,
        locked_reason=row.locked_reason,
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
        pg_insert(users)
        .values(
            id=user_id,
            email=email,
            name=name,
            password_hash=password_hash,
            email_verified_at=verified_at,
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(users.c.id)
    )
    if inserted.first() is None:
        return None
    for role in roles:
        await add_role(session, str(user_id), role)
    return await user_by_id(session, str(user_id))


async def user_by_email(db: Db, email: str) -> UserRecord | None:
    found = (await db.execute(_USERS.where(users.c.email == email))).first()
    return _user(found) if found else None


async def user_by_id(db: Db, user_id: str, *, for_update: bool = False) -> UserRecord:
    statement = _USERS.where(users.c.id == _id(user_id))
    if for_update:
        statement = statement.with_for_update(of=users)
    found = (await db.execute(statement)).first()
    if found is None:
        raise NotFound("user", user_id)
    return _user(found)


def _update_user(user_id: str, **values: Any) -> sa.Update:
    changed = sa.update(users).where(users.c.id == _id(user_id))
    return changed.values(updated_at=sa.func.now(), **values)


async def set_password(session: AsyncSession, user_id: str, password_hash: str) -> None:
    await session.execute(_update_user(user_id, password_hash=password_hash))


async def lock_user(session: AsyncSession, user_id: str, now: datetime, reason: str) -> bool:
    """Lock the account; False when it already was."""
    result = await session.execute(
        _update_user(user_id, locked_at=now, locked_reason=reason).where(
            users.c.locked_at.is_(None)
        )
    )
    return _changed(result)


async def unlock_user(session: AsyncSession, user_id: str) -> bool:
    """Unlock the account; False when it was not locked."""
    result = await session.execute(
        _update_user(user_id, locked_at=None, locked_reason="").where(
            users.c.locked_at.is_not(None)
        )
    )
    return _changed(result)


async def mark_email_verified(session: AsyncSession, user_id: str, now: datetime) -> bool:
    """Mark verified; False when it already was."""
    result = await session.execute(
        _update_user(user_id, email_verified_at=now).where(users.c.email_verified_at.is_(None))
    )
    return _changed(result)


def _matching(wanted: UserFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if wanted.email_prefix:
        conditions.append(users.c.email.startswith(wanted.email_prefix, autoescape=True))
    for word in wanted.words:
        conditions.append(
            sa.or_(
                users.c.email.contains(word, autoescape=True),
                sa.func.lower(users.c.name).contains(word, autoescape=True),
            )
        )
    if wanted.role:
        held = sa.select(user_roles.c.user_id).where(user_roles.c.role == wanted.role)
        conditions.append(users.c.id.in_(held))
    match wanted.status:
        case UserStatus.LOCKED:
            conditions.append(users.c.locked_at.is_not(None))
        case UserStatus.ACTIVE:
            conditions.append(users.c.locked_at.is_(None))
    return conditions


async def list_users(
    db: Db, wanted: UserFilter, *, after: tuple[datetime, str] | None, limit: int
) -> UserPage:
    """Accounts matching `wanted`, oldest first, after the keyset position `after`."""
    statement = (
        _USERS.where(*_matching(wanted)).order_by(users.c.created_at, users.c.id).limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(
            sa.tuple_(users.c.created_at, users.c.id) > sa.tuple_(after[0], _id(after[1]))
        )
    found = [_user(row) for row in await db.execute(statement)]
    page = found[:limit]
    last = page[-1] if len(found) > limit else None
    return UserPage(page, (last.created_at, last.id) if last else None)


# --- roles --------------------------------------------------------------------------------


async def custom_roles(db: Db) -> dict[str, Role]:
    rows = await db.execute(
        sa.select(roles.c.name, roles.c.description, roles.c.permissions).order_by(roles.c.name)
    )
    return {
        row.name: Role(row.name, row.description, frozenset(row.permissions), builtin=False)
        for row in rows
    }


async def create_role(session: AsyncSession, role: Role) -> Role:
    inserted = await session.execute(
        pg_insert(roles)
        .values(name=role.name, description=role.description, permissions=sorted(role.permissions))
        .on_conflict_do_nothing(index_elements=[roles.c.name])
        .returning(roles.c.name)
    )
    if inserted.first() is None:
        raise AlreadyExists(f"role {role.name!r} already exists")
    return role


async def add_role(session: AsyncSession, user_id: str, role: str) -> bool:
    """Grant `role`; False when the user already had it."""
    result = await session.execute(
        pg_insert(user_roles)
        .values(user_id=_id(user_id), role=role)
        .on_conflict_do_nothing()
        .returning(user_roles.c.role)
    )
    return result.first() is not None


async def remove_role(session: AsyncSession, user_id: str, role: str) -> bool:
    """Withdraw `role`; False when the user did not have it."""
    result = await session.execute(
        sa.delete(user_roles).where(user_roles.c.user_id == _id(user_id), user_roles.c.role == role)
    )
    return _changed(result)


# --- one-time tokens ----------------------------------------------------------------------


async def issue_one_time_token(
    session: AsyncSession, user_id: str, purpose: TokenPurpose, *, now: datetime, ttl_s: int
) -> str:
    """A new single-use token for `purpose`; earlier unused ones of the same purpose die."""
    await session.execute(
        sa.update(one_time_tokens)
        .where(
            one_time_tokens.c.user_id == _id(user_id),
            one_time_tokens.c.purpose == purpose.value,
            one_time_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return await _issue_token(
        session,
        one_time_tokens,
        now=now,
        ttl_s=ttl_s,
        user_id=_id(user_id),
        purpose=purpose.value,
        created_at=now,
    )


async def one_time_token(session: AsyncSession, token: str) -> OneTimeToken | None:
    """The token's record, locked for the caller's transaction."""
    t = one_time_tokens
    columns = sa.select(t.c.user_id, t.c.purpose, t.c.expires_at, t.c.used_at)
    found = await _locked_by_token(session, columns, t, token)
    if found is None:
        return None
    return OneTimeToken(
        str(found.user_id), TokenPurpose(found.purpose), found.expires_at, found.used_at
    )


async def use_one_time_token(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(
        sa.update(one_time_tokens).where(_by_token(one_time_tokens, token)).values(used_at=now)
    )


# --- sessions and refresh tokens ----------------------------------------------------------


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


_SESSIONS = sa.select(
    sessions.c.id,
    sessions.c.user_id,
    sessions.c.amr,
    sessions.c.user_agent,
    sessions.c.client_ip,
    sessions.c.created_at,
    sessions.c.last_seen_at,
    sessions.c.revoked_at,
)


async def create_session(
    session: AsyncSession,
    user_id: str,
    *,
    amr: Sequence[str],
    origin: Origin,
    now: datetime,
) -> str:
    session_id = uuid.uuid4()
    await session.execute(
        sa.insert(sessions).values(
            id=session_id,
            user_id=_id(user_id),
            amr=list(amr),
            user_agent=origin.user_agent,
            client_ip=origin.client_ip,
            created_at=now,
            last_seen_at=now,
        )
    )
    return str(session_id)


async def session_by_id(db: Db, session_id: str) -> SessionRecord | None:
    found = (await db.execute(_SESSIONS.where(sessions.c.id == _id(session_id)))).first()
    return _session(found) if found else None


async def set_session_amr(session: AsyncSession, session_id: str, amr: Sequence[str]) -> None:
    await session.execute(
        sa.update(sessions).where(sessions.c.id == _id(session_id)).values(amr=list(amr))
    )


async def live_sessions(db: Db, user_id: str) -> list[SessionRecord]:
    """The account's sessions not revoked, newest first."""
    rows = await db.execute(
        _SESSIONS.where(
            sessions.c.user_id == _id(user_id), sessions.c.revoked_at.is_(None)
        ).order_by(sessions.c.created_at.desc())
    )
    return [_session(row) for row in rows]


async def _revoke(
    session: AsyncSession, *conditions: sa.ColumnElement[bool], reason: str, now: datetime
) -> list[str]:
    result = await session.execute(
        sa.update(sessions)
        .where(sessions.c.revoked_at.is_(None), *conditions)
        .values(revoked_at=now, revoked_reason=reason)
        .returning(sessions.c.id)
    )
    return [str(row.id) for row in result]


async def revoke_session(
    session: AsyncSession, session_id: str, *, reason: str, now: datetime, user_id: str = ""
) -> list[str]:
    """End one session (only the account's own when `user_id` is given); the id if it ended."""
    owner = [sessions.c.user_id == _id(user_id)] if user_id else []
    return await _revoke(session, sessions.c.id == _id(session_id), *owner, reason=reason, now=now)


async def revoke_user_sessions(
    session: AsyncSession, user_id: str, *, reason: str, now: datetime
) -> list[str]:
    """End every live session of the account; the ids of those that ended."""
    return await _revoke(session, sessions.c.user_id == _id(user_id), reason=reason, now=now)


async def sessions_revoked_since(db: Db, since: datetime) -> list[str]:
    """Ids of the sessions revoked at or after `since` (their tokens may still be alive)."""
    rows = await db.execute(sa.select(sessions.c.id).where(sessions.c.revoked_at >= since))
    return [str(row.id) for row in rows]


async def issue_refresh_token(
    session: AsyncSession, session_id: str, *, now: datetime, ttl_s: int
) -> str:
    return await _issue_token(
        session, refresh_tokens, now=now, ttl_s=ttl_s, session_id=_id(session_id), created_at=now
    )


async def refresh_token_state(session: AsyncSession, token: str) -> RefreshTokenState | None:
    """The token and its session, both locked: concurrent refreshes of one family queue up."""
    t, s = refresh_tokens, sessions
    columns = sa.select(
        t.c.session_id,
        s.c.user_id,
        t.c.expires_at,
        t.c.used_at,
        s.c.revoked_at.is_not(None).label("revoked"),
    ).join_from(t, s, s.c.id == t.c.session_id)
    found = await _locked_by_token(session, columns, t, token)
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
    """Mark the token used and note the session's latest activity (and where from, if known)."""
    used = await session.execute(
        sa.update(refresh_tokens)
        .where(_by_token(refresh_tokens, token))
        .values(used_at=now)
        .returning(refresh_tokens.c.session_id)
    )
    seen: dict[str, Any] = {"last_seen_at": now}
    if user_agent:
        seen["user_agent"] = user_agent
    if client_ip:
        seen["client_ip"] = client_ip
    await session.execute(
        sa.update(sessions).where(sessions.c.id == used.scalar_one()).values(**seen)
    )


# --- MFA challenges -----------------------------------------------------------------------


async def create_mfa_challenge(
    session: AsyncSession,
    user_id: str,
    *,
    amr: Sequence[str],
    origin: Origin,
    now: datetime,
    ttl_s: int,
) -> str:
    return await _issue_token(
        session,
        mfa_challenges,
        now=now,
        ttl_s=ttl_s,
        user_id=_id(user_id),
        amr=list(amr),
        user_agent=origin.user_agent,
        client_ip=origin.client_ip,
    )


async def mfa_challenge(session: AsyncSession, token: str) -> MfaChallenge | None:
    """The challenge, locked for the caller's transaction."""
    c = mfa_challenges
    columns = sa.select(
        c.c.user_id,
        c.c.amr,
        c.c.user_agent,
        c.c.client_ip,
        c.c.attempts,
        c.c.expires_at,
        c.c.used_at,
    )
    found = await _locked_by_token(session, columns, c, token)
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


def _update_challenge(token: str) -> sa.Update:
    return sa.update(mfa_challenges).where(_by_token(mfa_challenges, token))


async def count_mfa_attempt(session: AsyncSession, token: str) -> None:
    await session.execute(_update_challenge(token).values(attempts=mfa_challenges.c.attempts + 1))


async def use_mfa_challenge(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(_update_challenge(token).values(used_at=now))


# --- TOTP and recovery codes --------------------------------------------------------------


async def set_pending_totp(session: AsyncSession, user_id: str, secret: str) -> None:
    await session.execute(_update_user(user_id, totp_pending_secret=secret))


async def enable_totp(session: AsyncSession, user_id: str, *, step: int, now: datetime) -> None:
    """The pending secret becomes the account's, its first code's step already used."""
    await session.execute(
        _update_user(
            user_id,
            totp_secret=users.c.totp_pending_secret,
            totp_pending_secret=None,
            totp_enabled_at=now,
            totp_last_step=step,
        )
    )


async def set_totp_last_step(session: AsyncSession, user_id: str, step: int) -> None:
    await session.execute(
        sa.update(users).where(users.c.id == _id(user_id)).values(totp_last_step=step)
    )


async def disable_totp(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        _update_user(
            user_id,
            totp_secret=None,
            totp_pending_secret=None,
            totp_enabled_at=None,
            totp_last_step=None,
        )
    )
    await session.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == _id(user_id)))


async def replace_recovery_codes(
    session: AsyncSession, user_id: str, digests: Iterable[bytes]
) -> None:
    await session.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == _id(user_id)))
    rows = [{"user_id": _id(user_id), "code_hash": digest} for digest in digests]
    if rows:
        await session.execute(sa.insert(recovery_codes), rows)


async def use_recovery_code(
    session: AsyncSession, user_id: str, digest: bytes, now: datetime
) -> bool:
    """Spend a recovery code; False when it is unknown or already spent."""
    result = await session.execute(
        sa.update(recovery_codes)
        .where(
            recovery_codes.c.user_id == _id(user_id),
            recovery_codes.c.code_hash == digest,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return _changed(result)


# --- login failure counters ---------------------------------------------------------------


async def failure_counts(db: Db, keys: Sequence[str]) -> dict[str, FailureCount]:
    f = login_failures
    rows = await db.execute(
        sa.select(f.c.key, f.c.failures, f.c.last_failure_at).where(f.c.key.in_(list(keys)))
    )
    return {row.key: FailureCount(row.failures, row.last_failure_at) for row in rows}


async def count_failure(session: AsyncSession, keys: Sequence[str], now: datetime) -> None:
    f = login_failures
    for key in keys:
        await session.execute(
            pg_insert(f)
            .values(key=key, failures=1, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[f.c.key],
                set_={"failures": f.c.failures + 1, "last_failure_at": now},
            )
        )


async def clear_failures(session: AsyncSession, keys: Sequence[str]) -> None:
    await session.execute(sa.delete(login_failures).where(login_failures.c.key.in_(list(keys))))


# --- OIDC ---------------------------------------------------------------------------------


async def save_oidc_login(
    session: AsyncSession,
    *,
    state: str,
    login: OidcLogin,
    now: datetime,
    ttl_s: int,
) -> None:
    await session.execute(
        sa.insert(oidc_logins).values(
            state=state,
            provider=login.provider,
            nonce=login.nonce,
            code_verifier=login.code_verifier,
            redirect_uri=login.redirect_uri,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )


async def take_oidc_login(session: AsyncSession, state: str, now: datetime) -> OidcLogin | None:
    """The login started with `state`, used up; None when unknown, used or expired."""
    o = oidc_logins
    found = (
        await session.execute(
            sa.update(o)
            .where(o.c.state == state, o.c.used_at.is_(None), o.c.expires_at > now)
            .values(used_at=now)
            .returning(o.c.provider, o.c.nonce, o.c.code_verifier, o.c.redirect_uri)
        )
    ).first()
    if found is None:
        return None
    return OidcLogin(found.provider, found.nonce, found.code_verifier, found.redirect_uri)


async def oidc_identity_user(db: Db, provider: str, subject: str) -> str | None:
    i = oidc_identities
    user_id = (
        await db.execute(
            sa.select(i.c.user_id).where(i.c.provider == provider, i.c.subject == subject)
        )
    ).scalar_one_or_none()
    return str(user_id) if user_id else None


async def link_oidc_identity(
    session: AsyncSession, *, provider: str, subject: str, user_id: str, email: str
) -> None:
    await session.execute(
        pg_insert(oidc_identities)
        .values(provider=provider, subject=subject, user_id=_id(user_id), email=email)
        .on_conflict_do_nothing()
    )


# --- the audit log ------------------------------------------------------------------------

_AUDIT_FIELDS = ("service", *AUDIT_ENTRY_FIELDS, "occurred_at")


async def append_audit_entry(session: AsyncSession, record: AuditRecord) -> bool:
    """Append one entry; False when its event was already recorded (a redelivery)."""
    values = {name: getattr(record, name) for name in _AUDIT_FIELDS}
    result = await session.execute(
        pg_insert(audit_log)
        .values(event_id=_id(record.event_id), **values)
        .on_conflict_do_nothing(index_elements=[audit_log.c.event_id])
        .returning(audit_log.c.id)
    )
    return result.first() is not None


async def list_audit_entries(db: Db, query: AuditQuery) -> list[StoredAuditEntry]:
    """Entries newest first; one more than `limit` when a next page exists."""
    a = audit_log
    statement = (
        sa.select(a.c.id, a.c.event_id, *(a.c[name] for name in _AUDIT_FIELDS))
        .order_by(a.c.occurred_at.desc(), a.c.id.desc())
        .limit(query.limit + 1)
    )
    if query.actor_subject:
        statement = statement.where(a.c.actor_subject == query.actor_subject)
    if query.action_prefix:
        statement = statement.where(a.c.action.startswith(query.action_prefix, autoescape=True))
    if query.target_type:
        statement = statement.where(a.c.target_type == query.target_type)
    if query.target_id:
        statement = statement.where(a.c.target_id == query.target_id)
    if query.occurred_after is not None:
        statement = statement.where(a.c.occurred_at >= query.occurred_after)
    if query.occurred_before is not None:
        statement = statement.where(a.c.occurred_at < query.occurred_before)
    if query.before is not None:
        statement = statement.where(sa.tuple_(a.c.occurred_at, a.c.id) < sa.tuple_(*query.before))
    rows = await db.execute(statement)
    return [
        StoredAuditEntry(
            row.id,
            AuditRecord(
                event_id=str(row.event_id), **{name: row._mapping[name] for name in _AUDIT_FIELDS}
            ),
        )
        for row in rows
    ]
