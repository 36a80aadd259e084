"""The second factor of an account: turning TOTP on (enrol, confirm) and off, its recovery codes,
and checking a TOTP or recovery code.

Wrong codes count per account, across logins and every other check, and are recorded in a
transaction of their own (`refusals`) so the record survives the refusal that rolls the call
back. (`totp.py` is the algorithm; the rules are in the domain.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora.auth import store, totp
from agora.auth.domain import (
    Clock,
    UserRecord,
    accept_totp_step,
    ensure_not_locked,
    new_recovery_codes,
    recovery_code_digest,
    second_factor_key,
)
from agora.auth.events import DENIED, FAILED, Actor, Target, audit
from agora.auth.settings import AuthSettings
from agora.auth.totp import TotpSecrets
from agora.platform.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from agora.platform.security.origin import Origin, current_origin
from agora.platform.security.principal import Principal

CheckedT = TypeVar("CheckedT")
Method = Literal["otp", "recovery"]


@dataclass(frozen=True)
class Enrolment:
    """A TOTP secret waiting for its first code, shown once."""

    secret: str
    otpauth_uri: str
    qr_png_base64: str


class SecondFactor:
    """TOTP and recovery codes of accounts, and the counter of wrong codes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: AuthSettings,
        secrets: TotpSecrets,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._totp = secrets
        self._now = clock

    @asynccontextmanager
    async def refusals(self) -> AsyncIterator[AsyncSession]:
        """A session of its own for recording refused codes, its connection taken before the
        call locks the account: the refusal rolls the call's transaction back, its record must
        survive, and a lock holder must never wait for the pool while others wait for it."""
        async with self._sessions() as refusals:
            await refusals.connection()
            yield refusals

    async def check(
        self,
        session: AsyncSession,
        user: UserRecord,
        code: str,
        recovery_code: str,
        *,
        step: str,
        actor: Actor,
        refusals: AsyncSession,
    ) -> Method:
        """Check a TOTP code (remembering its step) or spend a recovery code. A wrong code is
        INVALID_ARGUMENT on `code` / `recoveryCode`, counted on the account."""
        secret = user.totp_secret
        if secret is None:
            raise FailedPrecondition("this account has no TOTP")

        async def check() -> Method:
            if recovery_code:
                used = await store.use_recovery_code(
                    session, user.id, recovery_code_digest(recovery_code), self._now()
                )
                if not used:
                    raise InvalidArgument.for_field("recoveryCode", "unknown or already used")
                return "recovery"
            matched = accept_totp_step(
                totp.matching_step(self._totp.open(user.id, secret), code, self._now()),
                user.totp_last_step,
            )
            await store.set_totp_last_step(session, user.id, matched)
            return "otp"

        return await self._counted(
            session, user.id, check, step=step, actor=actor, refusals=refusals
        )

    async def _counted(
        self,
        session: AsyncSession,
        user_id: str,
        check: Callable[[], Awaitable[CheckedT]],
        *,
        step: str,
        actor: Actor,
        refusals: AsyncSession,
    ) -> CheckedT:
        """Run `check` of a code under the account's second-factor counter: refused with
        RESOURCE_EXHAUSTED (and a retry-after) while locked, each wrong code counted and
        audited, the counter cleared by a right one.

        Every caller holds the account's row lock (`user_by_id(…, for_update=True)`), so checks
        of one account queue up and each sees the failures the previous one committed."""
        key = second_factor_key(user_id)
        counts = await store.failure_counts(session, [key])
        policy = self._settings.second_factor_lockout()
        try:
            ensure_not_locked(
                [(counts[key], policy)] if key in counts else [], self._now(), what="wrong codes"
            )
        except ResourceExhausted as locked:
            await self._refused(refusals, user_id, step, actor, locked.message, counted=False)
            raise
        try:
            checked = await check()
        except InvalidArgument as wrong:
            await self._refused(refusals, user_id, step, actor, wrong.message, counted=True)
            raise
        if key in counts:
            await store.clear_failures(session, [key])
        return checked

    async def _refused(
        self,
        refusals: AsyncSession,
        user_id: str,
        step: str,
        actor: Actor,
        detail: str,
        *,
        counted: bool,
    ) -> None:
        """Count and audit a refused code, committed before the refusal rolls back the call's
        transaction (and so before the account's lock is released)."""
        if counted:
            await store.count_failure(refusals, [second_factor_key(user_id)], self._now())
        await audit(
            refusals,
            "second_factor_failed" if counted else "second_factor_locked",
            actor,
            current_origin(),
            Target.user(user_id),
            outcome=FAILED if counted else DENIED,
            detail=f"{step}: {detail}",
        )
        await refusals.commit()

    async def enrol(self, session: AsyncSession, caller: Principal, origin: Origin) -> Enrolment:
        """A new pending secret (sealed) for the caller's account, replacing any pending one."""
        user, actor = await _own_account(session, caller)
        if user.totp_enabled:
            raise FailedPrecondition("TOTP is already on: disable it before enrolling again")
        secret = totp.new_secret()
        await store.set_pending_totp(session, user.id, self._totp.seal(user.id, secret))
        await audit(session, "totp_enrollment_started", actor, origin, Target.user(user.id))
        uri = totp.otpauth_uri(secret, user.email)
        return Enrolment(secret, uri, totp.qr_png_base64(uri))

    async def confirm(
        self,
        session: AsyncSession,
        caller: Principal,
        code: str,
        origin: Origin,
        refusals: AsyncSession,
    ) -> list[str]:
        """Turn TOTP on with the pending secret's first code; the new recovery codes."""
        user, actor = await _own_account(session, caller)
        if user.totp_enabled:
            raise FailedPrecondition("TOTP is already on")
        if user.totp_pending_secret is None:
            raise FailedPrecondition("start with EnrollTotp")
        pending = self._totp.open(user.id, user.totp_pending_secret)

        async def check() -> int:
            return accept_totp_step(totp.matching_step(pending, code, self._now()), None)

        step = await self._counted(
            session, user.id, check, step="totp_confirm", actor=actor, refusals=refusals
        )
        await store.enable_totp(session, user.id, step=step, now=self._now())
        codes = await self._new_recovery_codes(session, user.id)
        await audit(session, "totp_enabled", actor, origin, Target.user(user.id))
        return codes

    async def disable(
        self,
        session: AsyncSession,
        caller: Principal,
        code: str,
        recovery_code: str,
        origin: Origin,
        refusals: AsyncSession,
    ) -> None:
        """Turn TOTP off (with a code), unless a role of the account requires it."""
        user, actor = await _own_account(session, caller)
        required = sorted(set(user.roles) & set(self._settings.require_2fa_roles))
        if required:
            raise FailedPrecondition(
                f"the role {required[0]!r} requires 2FA: it cannot be turned off"
            )
        await self.check(
            session,
            user,
            code,
            recovery_code,
            step="totp_disable",
            actor=actor,
            refusals=refusals,
        )
        await store.disable_totp(session, user.id)
        await audit(session, "totp_disabled", actor, origin, Target.user(user.id))

    async def regenerate_recovery_codes(
        self,
        session: AsyncSession,
        caller: Principal,
        code: str,
        origin: Origin,
        refusals: AsyncSession,
    ) -> list[str]:
        """New recovery codes (with a TOTP code), the old ones void."""
        user, actor = await _own_account(session, caller)
        step = "recovery_codes_regenerate"
        await self.check(session, user, code, "", step=step, actor=actor, refusals=refusals)
        codes = await self._new_recovery_codes(session, user.id)
        await audit(session, "recovery_codes_regenerated", actor, origin, Target.user(user.id))
        return codes

    @staticmethod
    async def _new_recovery_codes(session: AsyncSession, user_id: str) -> list[str]:
        codes = new_recovery_codes()
        await store.replace_recovery_codes(session, user_id, map(recovery_code_digest, codes))
        return codes


async def _own_account(session: AsyncSession, caller: Principal) -> tuple[UserRecord, Actor]:
    """The caller's account, locked: every check of one account's codes queues up behind it."""
    return await store.user_by_id(session, caller.subject, for_update=True), Actor.of(caller)
