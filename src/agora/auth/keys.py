"""The signing keys of access tokens: Ed25519 pairs kept in the auth schema. One key signs at a
time; a rotation schedules a successor that is published at once but signs only after a delay
(so every verifier can learn it first), and the predecessor stays published until the last
token it signed has expired.

The private key (PKCS8 PEM) is stored sealed in `signing_keys.private_pem` (envelope encryption
bound to its kid, `agora.platform.security.envelope`), so a database dump alone cannot mint
tokens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from joserfc.jwk import OKPKey
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.auth.domain import (
    ACCESS_TOKEN_TYPE,
    SigningKeySlot,
    published_keys,
    scheduled_key,
    signing_key,
    successor_schedule,
)
from agora.auth.tables import signing_keys
from agora.platform.security.envelope import SecretBox
from agora.platform.security.tokens import ALGORITHM, sign_token

# Taken by every process that creates or rotates keys, so two never create a current key each.
_KEYS_LOCK = "agora-auth-signing-keys"


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    activates_at: datetime
    # The key that signs until then, and until when it stays published ("" on the first key).
    previous_kid: str
    previous_published_until: datetime | None


def new_key_pair() -> tuple[str, str, dict[str, Any]]:
    """A fresh Ed25519 pair: (kid, private PKCS8 PEM, public JWK)."""
    key = OKPKey.generate_key("Ed25519")
    public = key.as_dict(private=False)
    # The kid names the public key: stable, and different for every pair.
    kid = hashlib.sha256(str(public["x"]).encode()).hexdigest()[:16]
    public.update(kid=kid, alg=ALGORITHM, use="sig")
    pem = key.as_pem(private=True)
    return kid, pem.decode() if isinstance(pem, bytes) else str(pem), public


def signing_key_context(kid: str) -> str:
    """What a private key is sealed for: its own kid (a key moved to another row does not open)."""
    return f"auth.signing_keys:{kid}"


async def _lock(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(_KEYS_LOCK))))


async def _slots(db: AsyncSession | AsyncConnection) -> list[SigningKeySlot]:
    k = signing_keys.c
    rows = await db.execute(sa.select(k.kid, k.created_at, k.activates_at, k.published_until))
    return [
        SigningKeySlot(row.kid, row.created_at, row.activates_at, row.published_until)
        for row in rows
    ]


async def _insert(session: AsyncSession, activates_at: datetime, box: SecretBox) -> str:
    kid, pem, public = new_key_pair()
    sealed = box.seal(pem, signing_key_context(kid))
    await session.execute(
        sa.insert(signing_keys).values(
            kid=kid,
            private_pem=sealed,
            public_jwk=public,
            created_at=sa.func.clock_timestamp(),
            activates_at=activates_at,
        )
    )
    return kid


async def ensure_current_key(session: AsyncSession, now: datetime, box: SecretBox) -> str:
    """The kid of the key signing at `now`; the first key is created on first use."""
    current = signing_key(await _slots(session), now)
    if current is not None:
        return current.kid
    await _lock(session)
    slots = await _slots(session)
    current = signing_key(slots, now)
    if current is not None:
        return current.kid
    waiting = scheduled_key(slots, now)
    if waiting is None:
        return await _insert(session, now, box)
    # Nothing signs yet but a key is published and scheduled: it signs from now on.
    await session.execute(
        sa.update(signing_keys).where(signing_keys.c.kid == waiting.kid).values(activates_at=now)
    )
    return waiting.kid


async def rotate_keys(
    session: AsyncSession,
    box: SecretBox,
    *,
    now: datetime,
    access_ttl_s: int,
    activation_delay_s: float,
) -> Rotation:
    """Schedule a new key: published now, signing after `activation_delay_s`; the key it
    replaces stays published until its last token has expired."""
    await _lock(session)
    slots = await _slots(session)
    activates_at, previous_until = successor_schedule(
        now,
        activation_delay_s=activation_delay_s,
        access_ttl_s=access_ttl_s,
        predecessor_signs=signing_key(slots, now) is not None,
    )
    open_ended = [slot for slot in slots if slot.published_until is None]
    for slot in open_ended:
        await session.execute(
            sa.update(signing_keys)
            .where(signing_keys.c.kid == slot.kid)
            .values(published_until=previous_until)
        )
    previous = max(open_ended, key=lambda slot: slot.created_at, default=None)
    return Rotation(
        new_kid=await _insert(session, activates_at, box),
        activates_at=activates_at,
        previous_kid=previous.kid if previous else "",
        previous_published_until=previous_until if previous else None,
    )


async def jwks_keys(db: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    """Public JWKs that verify live tokens (and the next key), newest first."""
    wanted = [slot.kid for slot in published_keys(await _slots(db), now)]
    rows = await db.execute(
        sa.select(signing_keys.c.kid, signing_keys.c.public_jwk).where(
            signing_keys.c.kid.in_(wanted)
        )
    )
    by_kid = {row.kid: dict(row.public_jwk) for row in rows}
    return [by_kid[kid] for kid in wanted if kid in by_kid]


async def purge_expired_keys(session: AsyncSession, now: datetime) -> int:
    """Delete keys past their publication window (they can verify nothing any more)."""
    result = await session.execute(
        sa.delete(signing_keys).where(signing_keys.c.published_until < now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class TokenSigner:
    """Signs access tokens with the key signing at the time, read from the database on each
    signing so a rotation by another process (`agora auth rotate-keys`) takes effect."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._parsed: dict[str, OKPKey] = {}

    async def sign(self, db: AsyncSession, claims: dict[str, object], now: datetime) -> str:
        kid = await ensure_current_key(db, now, self._box)
        key = self._parsed.get(kid)
        if key is None:
            row = await db.execute(
                sa.select(signing_keys.c.private_pem).where(signing_keys.c.kid == kid)
            )
            pem = self._box.open(row.scalar_one(), signing_key_context(kid))
            key = OKPKey.import_key(pem)
            self._parsed[kid] = key
        return sign_token(claims, key=key, kid=kid, typ=ACCESS_TOKEN_TYPE)
