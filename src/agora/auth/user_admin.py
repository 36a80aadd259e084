"""Staff managing other people's accounts: locking and unlocking, ending every session of an
account, resetting its second factor. Each acts only on an account whose permissions the staff
member holds too (`ensure_may_manage`), is audited with the staff member as actor, and changes
nothing when there is nothing to change (a retry, or two staff members at once), so it is
idempotent whatever the key.

Sessions ended here are announced by the caller once committed (`Sessions.announce_ended`), so
access tokens already handed out stop working everywhere within a watch's delay."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth import store
from agora.auth.domain import (
    Clock,
    Role,
    UserRecord,
    ensure_may_manage,
    validate_lock_reason,
)
from agora.auth.events import Actor, Target, audit
from agora.auth.roles import RoleBook
from agora.platform.security.origin import Origin
from agora.platform.security.principal import Principal


@dataclass(frozen=True)
class Managed:
    """An account after a staff action, and the sessions the action ended."""

    user: UserRecord
    ended_sessions: list[str]


class UserAdministration:
    """What staff do to accounts, with the rights of the staff member who asks."""

    def __init__(self, roles: RoleBook, clock: Clock) -> None:
        self._roles = roles
        self._now = clock

    async def _target(
        self, session: AsyncSession, caller: Principal, user_id: str
    ) -> tuple[UserRecord, dict[str, Role]]:
        """The account, locked for the change, once the caller may manage it."""
        user = await store.user_by_id(session, user_id, for_update=True)
        roles = await self._roles.roles(session)
        held = self._roles.held(user.roles, roles).permissions
        ensure_may_manage(caller.subject, caller.permissions, user.id, held)
        return user, roles

    async def lock(
        self, session: AsyncSession, caller: Principal, user_id: str, reason: str, origin: Origin
    ) -> Managed:
        """Lock the account and end its sessions (nothing new when already locked)."""
        reason = validate_lock_reason(reason)
        user, _ = await self._target(session, caller, user_id)
        now = self._now()
        ended: list[str] = []
        if await store.lock_user(session, user.id, now, reason):
            ended = await store.revoke_user_sessions(session, user.id, reason="locked", now=now)
            await audit(
                session,
                "user_locked",
                Actor.of(caller),
                origin,
                Target.user(user.id),
                before={"locked": False},
                after={"locked": True},
                detail=_with_sessions(reason, ended),
            )
        return Managed(await store.user_by_id(session, user.id), ended)

    async def unlock(
        self, session: AsyncSession, caller: Principal, user_id: str, origin: Origin
    ) -> Managed:
        user, _ = await self._target(session, caller, user_id)
        if await store.unlock_user(session, user.id):
            await audit(
                session,
                "user_unlocked",
                Actor.of(caller),
                origin,
                Target.user(user.id),
                before={"locked": True},
                after={"locked": False},
            )
        return Managed(await store.user_by_id(session, user.id), [])

    async def revoke_sessions(
        self, session: AsyncSession, caller: Principal, user_id: str, origin: Origin
    ) -> Managed:
        """End every live session of the account (audited even when none was live: staff
        asked, and the log says that it held)."""
        user, _ = await self._target(session, caller, user_id)
        ended = await store.revoke_user_sessions(
            session, user.id, reason="revoked_by_staff", now=self._now()
        )
        await audit(
            session,
            "user_sessions_revoked",
            Actor.of(caller),
            origin,
            Target.user(user.id),
            detail=f"sessions revoked: {len(ended)}",
        )
        return Managed(user, ended)

    async def reset_totp(
        self, session: AsyncSession, caller: Principal, user_id: str, origin: Origin
    ) -> Managed:
        """Remove the account's TOTP (pending enrolment included) and recovery codes, and end
        its sessions: they counted the factor being withdrawn."""
        user, _ = await self._target(session, caller, user_id)
        if not user.totp_enabled and user.totp_pending_secret is None:
            return Managed(user, [])
        now = self._now()
        await store.disable_totp(session, user.id)
        ended = await store.revoke_user_sessions(session, user.id, reason="totp_reset", now=now)
        await audit(
            session,
            "totp_reset",
            Actor.of(caller),
            origin,
            Target.user(user.id),
            before={"totp_enabled": user.totp_enabled},
            after={"totp_enabled": False},
            detail=f"sessions revoked: {len(ended)}",
        )
        return Managed(await store.user_by_id(session, user.id), ended)


def _with_sessions(reason: str, ended: list[str]) -> str:
    ending = f"sessions revoked: {len(ended)}"
    return f"{reason} ({ending})" if reason else ending
