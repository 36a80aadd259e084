"""Auth's part of a seed plan: accounts and their roles, written with COPY into its own tables.

Seeded accounts are what registration and email verification leave: an argon2id hash (made
once per distinct password by the tool), a verified email, built-in roles. Development staff
and admin accounts also get TOTP switched on (their secrets are printed with the credentials),
since 2FA is required for those roles: a developer logs in with password and code at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from agora.platform.seeding import Progress, SeedPlan

BATCH = 20_000

# Rows of a user that other auth tables hold (sessions' tokens first), deleted before the user.
_USER_CHILDREN = (
    "DELETE FROM refresh_tokens WHERE session_id IN"
    " (SELECT id FROM sessions WHERE user_id = ANY($1::uuid[]))",
    "DELETE FROM sessions WHERE user_id = ANY($1::uuid[])",
    "DELETE FROM one_time_tokens WHERE user_id = ANY($1::uuid[])",
    "DELETE FROM recovery_codes WHERE user_id = ANY($1::uuid[])",
    "DELETE FROM mfa_challenges WHERE user_id = ANY($1::uuid[])",
    "DELETE FROM oidc_identities WHERE user_id = ANY($1::uuid[])",
)


class AuthSeeder:
    """Writes and removes the accounts of a plan (search_path = auth)."""

    service = "auth"

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
                u.totp_secret or None,
                u.created_at if u.totp_secret else None,
                u.created_at,
                u.created_at,
            )
            for u in plan.users
        ]
        for start in range(0, len(users), BATCH):
            batch = users[start : start + BATCH]
            await conn.copy_records_to_table(
                "users",
                records=batch,
                columns=(
                    "id",
                    "email",
                    "name",
                    "password_hash",
                    "email_verified_at",
                    "totp_secret",
                    "totp_enabled_at",
                    "created_at",
                    "updated_at",
                ),
            )
            progress("users", len(batch))
        roles = [(u.id, role, u.created_at) for u in plan.users for role in u.roles]
        for start in range(0, len(roles), BATCH):
            role_batch = roles[start : start + BATCH]
            await conn.copy_records_to_table(
                "user_roles", records=role_batch, columns=("user_id", "role", "granted_at")
            )
            progress("user_roles", len(role_batch))
        return {"users": len(users), "user_roles": len(roles)}

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        ids: Sequence[str] = [u.id for u in plan.users]
        for statement in _USER_CHILDREN:
            await conn.execute(statement, ids)
        roles = await conn.execute("DELETE FROM user_roles WHERE user_id = ANY($1::uuid[])", ids)
        users = await conn.execute("DELETE FROM users WHERE id = ANY($1::uuid[])", ids)
        return {"user_roles": int(roles.split()[-1]), "users": int(users.split()[-1])}


SEEDER = AuthSeeder()
