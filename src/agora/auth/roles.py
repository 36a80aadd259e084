"""Roles: the built-in ones (patterns over the permission registry) with the custom ones stored,
what a session or an account is granted by them, and granting or withdrawing one."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth import store
from agora.auth.domain import (
    Grant,
    Role,
    UserRecord,
    builtin_roles,
    ensure_may_grant,
    session_grant,
)
from agora.auth.events import Actor, Target, audit, roles_changed
from agora.auth.store import Db
from agora.platform.errors import NotFound
from agora.platform.security.origin import Origin


class RoleBook:
    """Every role a user may hold, and which of them require a second factor."""

    def __init__(self, registry: Iterable[str], require_2fa: Collection[str]) -> None:
        self.registry = frozenset(registry)
        self.require_2fa = frozenset(require_2fa)
        self._builtin = builtin_roles(self.registry)

    async def roles(self, db: Db) -> dict[str, Role]:
        return {**self._builtin, **await store.custom_roles(db)}

    def session_grant(
        self, user_roles: Iterable[str], roles: dict[str, Role], amr: Sequence[str]
    ) -> Grant:
        """What a session with `amr` may use (2FA roles only with a second factor)."""
        return session_grant(user_roles, roles, amr=amr, require_2fa_roles=self.require_2fa)

    @staticmethod
    def held(user_roles: Iterable[str], roles: dict[str, Role]) -> Grant:
        """Everything the account's roles grant, second factor or not (for administrators)."""
        return session_grant(user_roles, roles, amr=("otp",), require_2fa_roles=())


async def create_role(session: AsyncSession, role: Role, actor: Actor, origin: Origin) -> None:
    await store.create_role(session, role)
    after = {"name": role.name, "permissions": sorted(role.permissions)}
    await audit(session, "role_created", actor, origin, Target("role", role.name), after=after)


async def change_role(
    session: AsyncSession,
    roles: dict[str, Role],
    user_id: str,
    role: str,
    *,
    grant: bool,
    actor: Actor,
    caller_permissions: Collection[str],
    origin: Origin,
) -> UserRecord:
    """Grant (or withdraw) `role`, which the caller may hand out only if they hold all its
    permissions themselves; the account after the change, announced if it changed."""
    if role not in roles:
        raise NotFound("role", role)
    ensure_may_grant(caller_permissions, roles[role].permissions)
    before = await store.user_by_id(session, user_id, for_update=True)
    if grant:
        changed = await store.add_role(session, user_id, role)
    else:
        changed = await store.remove_role(session, user_id, role)
    after = await store.user_by_id(session, user_id)
    if changed:
        await roles_changed(session, after)
        await audit(
            session,
            "role_assigned" if grant else "role_revoked",
            actor,
            origin,
            Target.user(user_id),
            before={"roles": list(before.roles)},
            after={"roles": list(after.roles)},
            detail=role,
        )
    return after
