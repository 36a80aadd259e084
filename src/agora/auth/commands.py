"""What `agora auth …` does, straight on the auth schema (the service need not run): rotate the
signing keys, create an account with roles (development bootstrap of staff and admins), and
re-wrap the secrets at rest under the current KEK (`agora secrets rotate-kek`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from agora._proto.agora.auth.v1 import events_pb2 as ev
from agora.auth import store
from agora.auth.domain import (
    CUSTOMER,
    UserRecord,
    builtin_roles,
    normalize_email,
    validate_password,
)
from agora.auth.events import CLI_ACTOR, USER_REGISTERED, Target, audit, record
from agora.auth.keys import Rotation, rotate_keys
from agora.auth.passwords import Passwords
from agora.auth.secrets_at_rest import rewrap_all
from agora.auth.settings import AuthSettings
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.errors import AlreadyExists, InvalidArgument
from agora.platform.migrations import migrate
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.envelope import SecretBox
from agora.platform.security.origin import Origin
from agora.platform.security.permissions import all_declared_permissions

SERVICE = "auth"
LOCAL = Origin("", "agora-cli")


async def rotate_signing_keys(
    database_url: str, box: SecretBox, settings: AuthSettings | None = None
) -> Rotation:
    """Schedule a new signing key (published now, signing after the activation delay); the old
    one stays in the JWKS until its tokens have expired."""
    settings = settings or AuthSettings()
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            rotation = await rotate_keys(
                session,
                box,
                now=datetime.now(UTC),
                access_ttl_s=settings.access_token_ttl_s,
                activation_delay_s=settings.key_activation_delay_s,
            )
            await audit(
                session,
                "keys_rotated",
                CLI_ACTOR,
                LOCAL,
                Target("signing_key", rotation.new_kid),
                detail=f"replaces {rotation.previous_kid}"
                if rotation.previous_kid
                else "first key",
            )
    finally:
        await engine.dispose()
    return rotation


async def rewrap_secrets(database_url: str, box: SecretBox) -> dict[str, int]:
    """Re-wrap every secret at rest not wrapped by the current KEK; rows changed per column."""
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            counts = await rewrap_all(session, box)
            await audit(
                session,
                "secrets_rewrapped",
                CLI_ACTOR,
                LOCAL,
                Target("kek", box.current_kek_id),
                detail=", ".join(f"{column}: {rows}" for column, rows in counts.items()),
            )
    finally:
        await engine.dispose()
    return counts


async def create_user(
    database_url: str,
    *,
    email: str,
    password: str,
    roles: Sequence[str],
    name: str = "",
) -> UserRecord:
    """A verified account with `roles` (customer when none is given)."""
    address = normalize_email(email)
    validate_password(password, address)
    wanted = sorted(set(roles or [CUSTOMER]))
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        password_hash = await Passwords().hash(password)
        async with transaction(session_factory(engine)) as session:
            known = {
                **builtin_roles(all_declared_permissions()),
                **await store.custom_roles(session),
            }
            unknown = [role for role in wanted if role not in known]
            if unknown:
                raise InvalidArgument.for_field(
                    "role", f"unknown role {unknown[0]!r} (known: {', '.join(sorted(known))})"
                )
            user = await store.create_user(
                session,
                email=address,
                name=name,
                password_hash=password_hash,
                verified_at=datetime.now(UTC),
                roles=wanted,
            )
            if user is None:
                raise AlreadyExists(f"an account already uses {address}")
            await record(
                session,
                USER_REGISTERED,
                ev.UserRegistered(
                    user_id=user.id,
                    email=address,
                    name=name,
                    registered_at=timestamp(user.created_at),
                    source="cli",
                ),
                aggregate_id=user.id,
            )
            await audit(
                session,
                "user_created",
                CLI_ACTOR,
                LOCAL,
                Target.user(user.id),
                after={"email": address, "roles": wanted},
            )
    finally:
        await engine.dispose()
    return user
