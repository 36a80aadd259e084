"""Sessions and their tokens: opening a session, signing its access tokens and rotating its
refresh tokens (a used one coming back ends the session), ending sessions, and announcing ended
sessions to every token verifier once committed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth import store
from agora.auth.domain import (
    REFRESH_TOKEN_INVALID,
    REFRESH_TOKEN_REUSED,
    Clock,
    RefreshVerdict,
    Refusal,
    UserRecord,
    access_claims,
    account_locked,
    judge_refresh,
    with_second_factor,
)
from agora.auth.events import DENIED, Actor, Target, audit
from agora.auth.keys import TokenSigner
from agora.auth.roles import RoleBook
from agora.auth.settings import AuthSettings
from agora.platform.errors import NotFound, Unauthenticated
from agora.platform.security.origin import Origin
from agora.platform.security.principal import Principal
from agora.platform.security.revocation import RevocationPublisher

log = structlog.get_logger("agora.auth")


@dataclass(frozen=True)
class IssuedTokens:
    """A signed access token and the next refresh token of its session's family."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str


class Sessions:
    """Opens, refreshes and ends the sessions of accounts."""

    def __init__(
        self,
        settings: AuthSettings,
        signer: TokenSigner,
        roles: RoleBook,
        clock: Clock,
        revocations: RevocationPublisher,
    ) -> None:
        self._settings = settings
        self._signer = signer
        self._roles = roles
        self._now = clock
        self._revocations = revocations

    async def tokens(
        self, session: AsyncSession, user: UserRecord, session_id: str, amr: Sequence[str]
    ) -> IssuedTokens:
        """A signed access token and a new refresh token of the session's family."""
        now = self._now()
        grant = self._roles.session_grant(user.roles, await self._roles.roles(session), amr)
        ttl = self._settings.access_token_ttl_s
        claims = access_claims(
            user_id=user.id,
            session_id=session_id,
            grant=grant,
            amr=amr,
            now=now,
            ttl_s=ttl,
            jti=uuid.uuid4().hex,
        )
        access = await self._signer.sign(session, claims, now)
        refresh = await store.issue_refresh_token(
            session, session_id, now=now, ttl_s=self._settings.refresh_token_ttl_s
        )
        return IssuedTokens(access, refresh, ttl, session_id)

    async def open(
        self, session: AsyncSession, user: UserRecord, amr: Sequence[str], origin: Origin
    ) -> IssuedTokens:
        """A new session (audited as the login) and its first tokens."""
        session_id = await store.create_session(
            session, user.id, amr=amr, origin=origin, now=self._now()
        )
        actor = Actor.user(user.id, session_id)
        detail = f"amr={','.join(amr)}"
        await audit(session, "login", actor, origin, Target.session(session_id), detail=detail)
        return await self.tokens(session, user, session_id, amr)

    async def refresh(
        self, session: AsyncSession, refresh_token: str, origin: Origin
    ) -> IssuedTokens | Refusal:
        """New tokens for a live refresh token; a used one ends its session (recorded, then
        refused), an unknown or expired one is refused."""
        now = self._now()
        state = await store.refresh_token_state(session, refresh_token)
        match judge_refresh(state, now):
            case RefreshVerdict.ROTATE:
                assert state is not None
                await store.use_refresh_token(
                    session,
                    refresh_token,
                    now=now,
                    user_agent=origin.user_agent,
                    client_ip=origin.client_ip,
                )
                user = await store.user_by_id(session, state.user_id)
                if user.locked:  # a session opened while the lock was being taken
                    ended = await store.revoke_session(
                        session, state.session_id, reason="locked", now=now
                    )
                    return Refusal(account_locked(), ended)
                current = await store.session_by_id(session, state.session_id)
                assert current is not None
                return await self.tokens(session, user, state.session_id, current.amr)
            case RefreshVerdict.REUSED:
                assert state is not None
                ended = await store.revoke_session(
                    session, state.session_id, reason="refresh_token_reused", now=now
                )
                await audit(
                    session,
                    "refresh_token_reused",
                    Actor.user(state.user_id, state.session_id),
                    origin,
                    Target.session(state.session_id),
                    outcome=DENIED,
                    detail="a used refresh token came back: the session is revoked",
                )
                reused = Unauthenticated(
                    "this refresh token was already used: the session has ended",
                    reason=REFRESH_TOKEN_REUSED,
                )
                return Refusal(reused, ended)
            case RefreshVerdict.REJECTED:
                return Refusal(
                    Unauthenticated(
                        "the refresh token is invalid or has expired",
                        reason=REFRESH_TOKEN_INVALID,
                    )
                )

    async def count_second_factor(
        self, session: AsyncSession, caller: Principal
    ) -> IssuedTokens | None:
        """The caller's session, once its account has proved a second factor, counts it: new
        tokens carrying `otp` (None when the call came without a live session)."""
        if not caller.session_id:
            return None
        current = await store.session_by_id(session, caller.session_id)
        if current is None or current.revoked:
            return None
        amr = with_second_factor(current.amr)
        await store.set_session_amr(session, current.id, amr)
        user = await store.user_by_id(session, caller.subject)
        return await self.tokens(session, user, current.id, amr)

    async def log_out(self, session: AsyncSession, caller: Principal, origin: Origin) -> list[str]:
        """End the caller's own session; the ids ended."""
        ended: list[str] = []
        if caller.session_id:
            ended = await store.revoke_session(
                session, caller.session_id, reason="logout", now=self._now(), user_id=caller.subject
            )
        target = Target.session(caller.session_id)
        await audit(session, "logout", Actor.of(caller), origin, target)
        return ended

    async def log_out_everywhere(
        self, session: AsyncSession, caller: Principal, origin: Origin
    ) -> list[str]:
        """End every session of the caller's account; the ids ended."""
        ended = await store.revoke_user_sessions(
            session, caller.subject, reason="logout_everywhere", now=self._now()
        )
        await audit(
            session,
            "logout_everywhere",
            Actor.of(caller),
            origin,
            Target.user(caller.subject),
            detail=f"sessions revoked: {len(ended)}",
        )
        return ended

    async def revoke(
        self, session: AsyncSession, caller: Principal, session_id: str, origin: Origin
    ) -> list[str]:
        """End one of the caller's sessions (NOT_FOUND for another account's)."""
        ended = await store.revoke_session(
            session, session_id, reason="revoked_by_user", now=self._now(), user_id=caller.subject
        )
        if not ended:
            raise NotFound("session", session_id)
        await audit(
            session, "session_revoked", Actor.of(caller), origin, Target.session(session_id)
        )
        return ended

    async def announce_ended(self, session_ids: Sequence[str]) -> None:
        """Tell every token verifier, once committed, that these sessions have ended.

        A failure (NATS away) does not fail the call: the revocation is committed, and
        `jobs.RevocationRepublisher` writes it again until it is older than any token."""
        if not session_ids:
            return
        try:
            await self._revocations.publish(session_ids)
        except Exception as error:
            log.warning("revocation_not_published", sessions=len(session_ids), error=repr(error))
