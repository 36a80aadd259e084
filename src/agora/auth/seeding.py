"""Auth's part of a seed plan: accounts and their roles, written with COPY into its own tables.

Seeded accounts are what registration and email verification leave: an argon2id hash (made
by the tool), a verified email, built-in roles. Development staff and admin accounts also get
TOTP switched on (their random logins are printed once, `agora.seed.logins`), since 2FA is
required for those roles; their TOTP secrets are sealed here, as the service seals them.

Each account's registration and verification events (`auth.user.registered`, source `seed`, and
`auth.user.email_verified`, at its creation time) go to auth's outbox, built by `auth.events`
and marked `seeded` (see `agora.platform.seeding.outbox_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import sqlalchemy as sa

from agora.auth import tables
from agora.auth.domain import UserRecord
from agora.auth.events import (
    EMAIL_VERIFIED,
    PRODUCER,
    USER_REGISTERED,
    registration,
    verification,
)
from agora.auth.totp import TotpSecrets
from agora.platform.security.envelope import SecretBox
from agora.platform.seeding import (
    HistoricalEvent,
    Progress,
    SeedPlan,
    SeedUser,
    clean_outbox,
    outbox_rows,
    write_outbox,
)

SOURCE = "seed"

BATCH = 20_000

# What a seeded account is: registered, verified, TOTP on for staff (never pending).
_SEEDED_USER_COLUMNS = tuple(
    column.name
    for column in (
        tables.users.c.id,
        tables.users.c.email,
        tables.users.c.name,
        tables.users.c.password_hash,
        tables.users.c.email_verified_at,
        tables.users.c.totp_secret,
        tables.users.c.totp_enabled_at,
        tables.users.c.created_at,
        tables.users.c.updated_at,
    )
)
_SEEDED_ROLE_COLUMNS = tuple(tables.user_roles.c.keys())


def _delete_of_users(table: sa.Table, key: str = "user_id") -> str:
    return f"DELETE FROM {table.name} WHERE {key} = ANY($1::uuid[])"


# Rows of a user that other auth tables hold (sessions' tokens first), deleted before the user.
_USER_CHILDREN = (
    f"DELETE FROM {tables.refresh_tokens.name} WHERE session_id IN"
    f" (SELECT id FROM {tables.sessions.name} WHERE user_id = ANY($1::uuid[]))",
    *map(
        _delete_of_users,
        (
            tables.sessions,
            tables.one_time_tokens,
            tables.recovery_codes,
            tables.mfa_challenges,
            tables.oidc_identities,
        ),
    ),
)


class AuthSeeder:
    """Writes and removes the accounts of a plan (search_path = auth)."""

    service = "auth"

    def __init__(self, secrets: SecretBox | None = None) -> None:
        self._totp = TotpSecrets(secrets) if secrets is not None else None

    def _sealed_totp(self, user_id: str, secret: str) -> str | None:
        if not secret:
            return None
        if self._totp is None:
            raise ValueError("a plan with TOTP secrets needs the auth seeder's SecretBox")
        return self._totp.seal(user_id, secret)

    async def write(
        self, conn: asyncpg.Connection, plan: SeedPlan, progress: Progress
    ) -> dict[str, int]:
        users = [
            (
                u.id,
                u.email.lower(),
                u.name,
                u.password_hash,
                u.created_at,
                self._sealed_totp(u.id, u.totp_secret),
                u.created_at if u.totp_secret else None,
                u.created_at,
                u.created_at,
            )
            for u in plan.users
        ]
        for start in range(0, len(users), BATCH):
            batch = users[start : start + BATCH]
            await conn.copy_records_to_table(
                tables.users.name, records=batch, columns=_SEEDED_USER_COLUMNS
            )
            progress("users", len(batch))
        roles = [(u.id, role, u.created_at) for u in plan.users for role in u.roles]
        for start in range(0, len(roles), BATCH):
            role_batch = roles[start : start + BATCH]
            await conn.copy_records_to_table(
                tables.user_roles.name, records=role_batch, columns=_SEEDED_ROLE_COLUMNS
            )
            progress("user_roles", len(role_batch))
        written = 0
        for start in range(0, len(plan.users), BATCH):
            announced = [e for u in plan.users[start : start + BATCH] for e in _account_events(u)]
            written += await write_outbox(conn, outbox_rows(PRODUCER, announced, plan.profile))
        return {"users": len(users), "user_roles": len(roles), "events": written}

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        ids: Sequence[str] = [u.id for u in plan.users]
        events = await clean_outbox(conn, plan.profile)
        for statement in _USER_CHILDREN:
            await conn.execute(statement, ids)
        roles = await conn.execute(_delete_of_users(tables.user_roles), ids)
        accounts = await conn.execute(_delete_of_users(tables.users, "id"), ids)
        return {
            "user_roles": int(roles.split()[-1]),
            "users": int(accounts.split()[-1]),
            "events": events,
        }


def _account_events(seeded: SeedUser) -> list[HistoricalEvent]:
    """The account's registration and verification, as `auth.events` announces them."""
    user = UserRecord(
        id=seeded.id,
        email=seeded.email.lower(),
        name=seeded.name,
        password_hash=seeded.password_hash,
        email_verified=True,
        totp_secret=None,
        totp_pending_secret=None,
        totp_last_step=None,
        created_at=seeded.created_at,
        roles=seeded.roles,
    )
    at = seeded.created_at
    return [
        HistoricalEvent(USER_REGISTERED, registration(user, SOURCE), user.id, at),
        HistoricalEvent(EMAIL_VERIFIED, verification(user), user.id, at),
    ]


SEEDER = AuthSeeder()
