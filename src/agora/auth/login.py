"""Logging in: with a password (under the lockout counters), through an identity provider
(OIDC), and the TOTP step of a login that needs one. A first factor leads to an MFA challenge
or to a session and its tokens (`next_login_step`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.auth import store
from agora.auth.domain import (
    EMAIL_NOT_VERIFIED,
    INVALID_CREDENTIALS,
    MFA_CODE_INVALID,
    OIDC_STATE_INVALID,
    Clock,
    LockoutPolicy,
    LoginNext,
    OidcLogin,
    Refusal,
    UserRecord,
    account_ip_key,
    account_key,
    account_locked,
    check_mfa_challenge,
    ensure_may_sign_in,
    ensure_not_locked,
    next_login_step,
    with_second_factor,
)
from agora.auth.events import ANONYMOUS_ACTOR, DENIED, FAILED, Actor, Target, audit
from agora.auth.passwords import Passwords
from agora.auth.sessions import IssuedTokens, Sessions
from agora.auth.settings import AuthSettings
from agora.auth.two_factor import SecondFactor
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from agora.platform.security.origin import Origin

if TYPE_CHECKING:  # the OIDC client is optional: the bootstrap builds it when configured
    from agora.auth.oidc import OidcClient, OidcStart

# argon2 hashes any length; what is longer than any valid password is cut, not refused.
MAX_PASSWORD_TRIED = 512


@dataclass(frozen=True)
class LoginOutcome:
    """What a login leads to: tokens (perhaps restricted until the account enrols in 2FA), or
    an MFA challenge to answer with `VerifyLoginTotp`."""

    tokens: IssuedTokens | None = None
    mfa_token: str = ""
    enrollment_required: bool = False


@dataclass(frozen=True)
class Candidate:
    """Who a password login claims to be, read before the (slow) password check."""

    email: str
    user: UserRecord | None
    lockout_keys: Sequence[str]


@dataclass(frozen=True)
class PasswordAttempt:
    candidate: Candidate
    matched: bool
    # A new hash of the password when the stored one uses outdated parameters.
    rehash: str | None


class Login:
    """Password, OIDC and second-step logins."""

    def __init__(
        self,
        settings: AuthSettings,
        passwords: Passwords,
        sessions: Sessions,
        second_factor: SecondFactor,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._passwords = passwords
        self._sessions = sessions
        self._second_factor = second_factor
        self._now = clock

    def _lockout(self, email: str, origin: Origin) -> list[tuple[str, LockoutPolicy]]:
        return [
            (account_key(email), self._settings.account_lockout()),
            (account_ip_key(email, origin.client_ip), self._settings.account_ip_lockout()),
        ]

    async def candidate(self, conn: AsyncConnection, email: str, origin: Origin) -> Candidate:
        """The account `email` names (if any); RESOURCE_EXHAUSTED while a lockout counter of
        the email (alone, or from this address) is locked."""
        lockout = self._lockout(email, origin)
        keys = [key for key, _ in lockout]
        counts = await store.failure_counts(conn, keys)
        ensure_not_locked(
            ((counts[key], policy) for key, policy in lockout if key in counts), self._now()
        )
        return Candidate(email, await store.user_by_email(conn, email), keys)

    async def check_password(self, candidate: Candidate, password: str) -> PasswordAttempt:
        """Whether `password` is the account's (an unknown email takes as long as a wrong
        password), outside any transaction: hashing is slow."""
        user = candidate.user
        password = password[:MAX_PASSWORD_TRIED]
        stored = user.password_hash if user else None
        matched = await self._passwords.verify(stored, password)
        rehash = None
        if matched and stored and self._passwords.needs_rehash(stored):
            rehash = await self._passwords.hash(password)
        return PasswordAttempt(candidate, matched and user is not None, rehash)

    async def finish_password(
        self, session: AsyncSession, attempt: PasswordAttempt, origin: Origin
    ) -> LoginOutcome | Refusal:
        """A wrong password counted and audited, then refused; a right one clears the counters."""
        candidate = attempt.candidate
        user = candidate.user
        if not attempt.matched or user is None:
            await store.count_failure(session, candidate.lockout_keys, self._now())
            await audit(
                session,
                "login_failed",
                Actor.user(user.id) if user else ANONYMOUS_ACTOR,
                origin,
                Target.user(user.id if user else ""),
                outcome=FAILED,
                detail="wrong password" if user else f"unknown email {candidate.email}",
            )
            wrong = Unauthenticated("wrong email or password", reason=INVALID_CREDENTIALS)
            return Refusal(wrong)
        if self._settings.require_verified_email and not user.email_verified:
            raise FailedPrecondition(
                "confirm your email address first (see the mail we sent)",
                metadata={"reason": EMAIL_NOT_VERIFIED},
            )
        await store.clear_failures(session, candidate.lockout_keys)
        if attempt.rehash is not None:
            await store.set_password(session, user.id, attempt.rehash)
        if user.locked:
            return await self._locked_out(session, user, origin)
        return await self.complete(session, user, ("pwd",), origin)

    async def _locked_out(self, session: AsyncSession, user: UserRecord, origin: Origin) -> Refusal:
        """A locked account proved its first factor: recorded, then refused."""
        await audit(
            session,
            "login_refused",
            Actor.user(user.id),
            origin,
            Target.user(user.id),
            outcome=DENIED,
            detail="the account is locked",
        )
        return Refusal(account_locked())

    async def complete(
        self, session: AsyncSession, user: UserRecord, amr: Sequence[str], origin: Origin
    ) -> LoginOutcome:
        """After a first factor: an MFA challenge, or a new session and its tokens (none for
        a locked account)."""
        ensure_may_sign_in(user)
        step = next_login_step(
            user.roles,
            totp_enabled=user.totp_enabled,
            require_2fa_roles=self._settings.require_2fa_roles,
        )
        if step is LoginNext.MFA_CHALLENGE:
            ttl_s = self._settings.mfa_challenge_ttl_s
            token = await store.create_mfa_challenge(
                session, user.id, amr=amr, origin=origin, now=self._now(), ttl_s=ttl_s
            )
            return LoginOutcome(mfa_token=token)
        tokens = await self._sessions.open(session, user, amr, origin)
        return LoginOutcome(tokens, enrollment_required=step is LoginNext.ENROLL_MFA)

    async def answer_challenge(
        self,
        session: AsyncSession,
        mfa_token: str,
        code: str,
        recovery_code: str,
        origin: Origin,
        refusals: AsyncSession,
    ) -> LoginOutcome | Refusal:
        """The second step: a TOTP or recovery code opens the session; a wrong one counts on
        the account (in `refusals`) and on the challenge (here), then is refused."""
        now = self._now()
        challenge = check_mfa_challenge(
            await store.mfa_challenge(session, mfa_token),
            now,
            max_attempts=self._settings.mfa_challenge_attempts,
        )
        user = await store.user_by_id(session, challenge.user_id, for_update=True)
        if user.locked:  # locked between the password and the code
            return await self._locked_out(session, user, origin)
        actor = Actor.user(user.id)
        try:
            method = await self._second_factor.check(
                session, user, code, recovery_code, step="login", actor=actor, refusals=refusals
            )
        except InvalidArgument as wrong:
            await store.count_mfa_attempt(session, mfa_token)
            return Refusal(Unauthenticated(wrong.message, reason=MFA_CODE_INVALID))
        await store.use_mfa_challenge(session, mfa_token, now)
        if method == "recovery":
            await audit(session, "recovery_code_used", actor, origin, Target.user(user.id))
        # Where the first step came from stands in for what this call does not say.
        login_origin = Origin(
            origin.client_ip or challenge.client_ip, origin.user_agent or challenge.user_agent
        )
        amr = with_second_factor(challenge.amr)
        return LoginOutcome(await self._sessions.open(session, user, amr, login_origin))

    async def start_oidc(
        self, session: AsyncSession, client: OidcClient, provider: str, redirect_uri: str
    ) -> OidcStart:
        """Where to send the user, the flow's secrets kept until the provider redirects back."""
        started = await client.start(provider, redirect_uri)
        await store.save_oidc_login(
            session,
            state=started.state,
            login=OidcLogin(provider, started.nonce, started.code_verifier, redirect_uri),
            now=self._now(),
            ttl_s=self._settings.oidc_login_ttl_s,
        )
        return started

    async def take_oidc_login(self, session: AsyncSession, state: str) -> OidcLogin:
        """The sign-in started with `state`, used up (a state works once, and not for long)."""
        login = await store.take_oidc_login(session, state, self._now())
        if login is None:
            raise Unauthenticated(
                "this sign-in has expired or was already used: start again",
                reason=OIDC_STATE_INVALID,
            )
        return login
