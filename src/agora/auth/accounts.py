"""Accounts: registration and email verification, password reset, and the account an external
identity signs in to.

Mail goes out after commit, in the background, so an answer never waits for (nor reveals) the
SMTP exchange: each flow appends what to send to the caller's `outbox`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from agora.auth import store
from agora.auth.domain import (
    CUSTOMER,
    Clock,
    TokenPurpose,
    UserRecord,
    check_one_time_token,
    normalize_email,
    validate_password,
)
from agora.auth.events import (
    ANONYMOUS_ACTOR,
    DENIED,
    Actor,
    Target,
    audit,
    email_verified,
    user_registered,
)
from agora.auth.mail import already_registered_mail, password_reset_mail, verification_mail
from agora.auth.settings import AuthSettings
from agora.platform.errors import FailedPrecondition
from agora.platform.mail import Mail
from agora.platform.security.origin import Origin

if TYPE_CHECKING:
    from agora.auth.oidc import OidcIdentity

# The storefront's page that confirms the mailed token (it calls VerifyEmail).
VERIFY_PAGE = "/account/verify"
RESET_PAGE = "/account/password-reset"


class Accounts:
    """Makes accounts and proves their email addresses and passwords."""

    def __init__(self, settings: AuthSettings, clock: Clock) -> None:
        self._settings = settings
        self._now = clock

    def _link(self, path: str, token: str = "") -> str:
        link = f"{self._settings.public_base_url.rstrip('/')}{path}"
        return f"{link}?token={token}" if token else link

    async def register(
        self,
        session: AsyncSession,
        *,
        email: str,
        name: str,
        password_hash: str,
        origin: Origin,
        outbox: list[Mail],
    ) -> None:
        """A customer account waiting for its email's verification link; a taken email gets a
        mail saying so instead (the answer is the same either way)."""
        user = await store.create_user(
            session,
            email=email,
            name=name,
            password_hash=password_hash,
            verified_at=None,
            roles=[CUSTOMER],
        )
        if user is None:
            outbox.append(already_registered_mail(email, self._link(RESET_PAGE)))
            await audit(
                session,
                "registration_refused",
                ANONYMOUS_ACTOR,
                origin,
                outcome=DENIED,
                detail="email already registered",
            )
            return
        ttl_s = self._settings.email_verification_ttl_s
        token = await store.issue_one_time_token(
            session, user.id, TokenPurpose.VERIFY_EMAIL, now=self._now(), ttl_s=ttl_s
        )
        outbox.append(verification_mail(email, self._link(VERIFY_PAGE, token), ttl_s // 3600))
        await user_registered(session, user, source="password")
        await audit(session, "registered", Actor.user(user.id), origin, Target.user(user.id))

    async def verify_email(self, session: AsyncSession, token: str, origin: Origin) -> str:
        """Use the mailed token; the verified address."""
        now = self._now()
        found = check_one_time_token(
            await store.one_time_token(session, token), TokenPurpose.VERIFY_EMAIL, now
        )
        await store.use_one_time_token(session, token, now)
        user = await store.user_by_id(session, found.user_id)
        if await store.mark_email_verified(session, user.id, now):
            await email_verified(session, user)
            await audit(
                session, "email_verified", Actor.user(user.id), origin, Target.user(user.id)
            )
        return user.email

    async def request_password_reset(
        self, session: AsyncSession, email: str, origin: Origin, outbox: list[Mail]
    ) -> None:
        """Mail a reset link when an account uses `email` (nothing otherwise, and nothing said)."""
        user = await store.user_by_email(session, email)
        if user is None:
            return
        ttl_s = self._settings.password_reset_ttl_s
        token = await store.issue_one_time_token(
            session, user.id, TokenPurpose.RESET_PASSWORD, now=self._now(), ttl_s=ttl_s
        )
        outbox.append(password_reset_mail(email, self._link(RESET_PAGE, token), ttl_s // 60))
        actor = Actor.user(user.id)
        await audit(session, "password_reset_requested", actor, origin, Target.user(user.id))

    async def reset_password(
        self,
        session: AsyncSession,
        token: str,
        new_password: str,
        password_hash: str,
        origin: Origin,
    ) -> list[str]:
        """Set the password with the mailed token; every session of the account ends (the
        ids ended)."""
        now = self._now()
        found = check_one_time_token(
            await store.one_time_token(session, token), TokenPurpose.RESET_PASSWORD, now
        )
        user = await store.user_by_id(session, found.user_id, for_update=True)
        validate_password(new_password, user.email, "newPassword")
        await store.use_one_time_token(session, token, now)
        await store.set_password(session, user.id, password_hash)
        # The mailed link proves the address as well as a verification link does.
        await store.mark_email_verified(session, user.id, now)
        ended = await store.revoke_user_sessions(session, user.id, reason="password_reset", now=now)
        await audit(
            session,
            "password_reset",
            Actor.user(user.id),
            origin,
            Target.user(user.id),
            detail=f"sessions revoked: {len(ended)}",
        )
        return ended

    async def for_identity(
        self, session: AsyncSession, identity: OidcIdentity, origin: Origin
    ) -> UserRecord:
        """The account an external identity signs in to: the one it is linked to; else the
        local account with the same email when both the provider and we verified it; else a new
        customer account."""
        linked = await store.oidc_identity_user(session, identity.provider, identity.subject)
        if linked is not None:
            return await store.user_by_id(session, linked)
        if not identity.email:
            raise FailedPrecondition("the identity provider shared no email address")
        email = normalize_email(identity.email)
        user = await store.user_by_email(session, email)
        created = user is None
        if user is None:
            user = await self._from_identity(session, identity, email)
        elif not (identity.email_verified and user.email_verified):
            raise FailedPrecondition(
                "an account already uses this email address: log in with its password"
            )
        await store.link_oidc_identity(
            session,
            provider=identity.provider,
            subject=identity.subject,
            user_id=user.id,
            email=email,
        )
        await audit(
            session,
            "oidc_identity_linked",
            Actor.user(user.id),
            origin,
            Target.user(user.id),
            detail=f"{identity.provider}:{identity.subject}"
            + (" (new account)" if created else ""),
        )
        return user

    async def _from_identity(
        self, session: AsyncSession, identity: OidcIdentity, email: str
    ) -> UserRecord:
        made = await store.create_user(
            session,
            email=email,
            name=identity.name,
            password_hash=None,
            verified_at=self._now() if identity.email_verified else None,
            roles=[CUSTOMER],
        )
        if made is None:  # registered by a concurrent call a moment ago
            raise FailedPrecondition("an account already uses this email address")
        await user_registered(session, made, source=f"oidc:{identity.provider}")
        return made
