"""Auth's part of a seed plan: accounts and their roles, written with COPY into its own tables.

Seeded accounts are what registration and email verification leave: an argon2id hash (made
by the tool), a verified email, built-in roles. Development staff and admin accounts also get
TOTP switched on (their random logins are printed once, `agora.seed.logins`), since 2FA is
required for those roles; their TOTP secrets are sealed here, as the service seals them.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from agora.auth.totp import TotpSecrets
from agora.platform.security.envelope import SecretBox
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
