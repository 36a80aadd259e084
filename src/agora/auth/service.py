"""The auth service's gRPC servicer: translates protobuf to the rules of the domain and the
store, and back.

Each mutation is one transaction with its idempotency record, its state change, its events and
its audit entries (both through the outbox). Calls that must record a refusal (a failed login,
a reused refresh token) commit that record and raise afterwards. Mail goes out after commit, in
the background, so an answer never waits for (nor reveals) the SMTP exchange. Who calls comes
from `current_principal()` (set by the security interceptor), from where from `current_origin()`
(what the gateway reports, believed only under its proof). Wrong second-factor codes count per
account and are recorded in a transaction of their own (`_counted_code_check`); revoked sessions
are announced to every token verifier once committed (`_announce_revoked`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora._proto.agora.auth.v1 import events_pb2 as ev
from agora.auth import store, totp
from agora.auth.domain import (
    CUSTOMER,
    AuditQuery,
    LockoutPolicy,
    LoginNext,
    OidcLogin,
    RefreshVerdict,
    Role,
    TokenPurpose,
    UserRecord,
    accept_totp_step,
    access_claims,
    account_ip_key,
    account_key,
    builtin_roles,
    check_one_time_token,
    decode_page_token,
    encode_page_token,
    ensure_not_locked,
    judge_refresh,
    new_recovery_codes,
    next_login_step,
    normalize_email,
    page_size,
    recovery_code_digest,
    require_uuid,
    second_factor_key,
    session_grant,
    validate_name,
    validate_new_role,
    validate_password,
)
from agora.auth.events import (
    ANONYMOUS_ACTOR,
    DENIED,
    EMAIL_VERIFIED,
    FAILED,
    USER_REGISTERED,
    USER_ROLES_CHANGED,
    Actor,
    Target,
    audit,
    record,
)
from agora.auth.keys import TokenSigner, ensure_current_key, jwks_keys
from agora.auth.mail import (
    Mail,
    Mailer,
    already_registered_mail,
    password_reset_mail,
    verification_mail,
)
from agora.auth.passwords import Passwords
from agora.auth.settings import AuthSettings
from agora.auth.totp import TotpSecrets
from agora.auth.translation import audit_entry_pb, role_pb, session_pb, timestamp, user_pb
from agora.platform.db import session_factory, transaction
from agora.platform.errors import (
    TOKEN_MISSING,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from agora.platform.idempotency import Capability, idempotent_mutation
from agora.platform.security.envelope import SecretBox
from agora.platform.security.origin import Origin, current_origin
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.security.principal import Principal, current_principal
from agora.platform.security.revocation import RevocationPublisher

if TYPE_CHECKING:  # the OIDC client is optional: the bootstrap builds it when configured
    from agora.auth.oidc import OidcClient, OidcIdentity

ResponseT = TypeVar("ResponseT", bound=Message)
CheckedT = TypeVar("CheckedT")
Change = Callable[[AsyncSession], Awaitable[ResponseT]]
Clock = Callable[[], datetime]

REGISTERED_MESSAGE = "Check your inbox: we sent a link to confirm your email address."
RESET_MESSAGE = "If an account uses this address, we sent it a link to reset the password."
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
MFA_TOKEN_INVALID = "MFA_TOKEN_INVALID"
MFA_CODE_INVALID = "MFA_CODE_INVALID"
REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
OIDC_STATE_INVALID = "OIDC_STATE_INVALID"

log = structlog.get_logger("agora.auth")


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuthService(auth_pb2_grpc.AuthServiceServicer):
    """AuthService over the auth schema reached through `engine`."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: AuthSettings,
        mailer: Mailer,
        *,
        secrets: SecretBox,
        passwords: Passwords | None = None,
        oidc: OidcClient | None = None,
        permissions: Iterable[str] | None = None,
        revocations: RevocationPublisher | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._settings = settings
        self._mailer = mailer
        self._passwords = passwords or Passwords()
        self._oidc = oidc
        self._registry = frozenset(
            permissions if permissions is not None else all_declared_permissions()
        )
        self._builtin_roles = builtin_roles(self._registry)
        self._require_2fa = frozenset(settings.require_2fa_roles)
        self._secrets = secrets
        self._totp = TotpSecrets(secrets)
        self._signer = TokenSigner(secrets)
        self._revocations = revocations
        self._now = clock

    # --- plumbing ----------------------------------------------------------------------------

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[Any],
        *,
        guest_token: str | None = None,
        secret_answer: str | None = None,
    ) -> ResponseT:
        """One transaction: claim the idempotency key, make the change, record its events.

        Keys are scoped to the caller (the platform's `key_scope`); a guest's to the mailed
        one-time token they act on (`guest_token`), or, with none, to all guests, whose keys
        must then be UUIDs. Who may call was checked before (`_caller`, `_actor`, the
        interceptor's permissions) and is checked again on a replay, so there is nothing more
        to re-check. `secret_answer`: the answer holds secrets and is not stored; a replay is
        refused with this explanation."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"auth.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None if guest_token is None else Capability("token", guest_token),
            authorize_replay=None,
            secret_answer=secret_answer,
        )

    def _caller(self) -> Principal:
        """The calling user (a service token is not enough for account calls)."""
        principal = current_principal()
        if principal.kind != "user" or not principal.subject:
            raise Unauthenticated("this call needs a user's access token", reason=TOKEN_MISSING)
        return principal

    def _actor(self) -> Actor:
        principal = current_principal()
        if not principal.is_authenticated:
            raise Unauthenticated("this call needs an access token", reason=TOKEN_MISSING)
        return Actor.of(principal)

    def _send(self, outbox: Sequence[Mail]) -> None:
        for mail in outbox:
            self._mailer.send_later(mail)

    async def _announce_revoked(self, session_ids: Sequence[str]) -> None:
        """Tell every token verifier, once committed, that these sessions have ended.

        A failure (NATS away) does not fail the call: the revocation is committed, and
        `jobs.RevocationRepublisher` writes it again until it is older than any token."""
        if not session_ids or self._revocations is None:
            return
        try:
            await self._revocations.publish(session_ids)
        except Exception as error:
            log.warning("revocation_not_published", sessions=len(session_ids), error=repr(error))

    def _link(self, path: str, token: str) -> str:
        return f"{self._settings.public_base_url.rstrip('/')}{path}?token={token}"

    async def _roles(self, db: Any) -> dict[str, Role]:
        return {**self._builtin_roles, **await store.custom_roles(db)}

    async def _tokens(
        self, session: AsyncSession, user: UserRecord, session_id: str, amr: Sequence[str]
    ) -> pb.Tokens:
        """A signed access token and a new refresh token of the session's family."""
        now = self._now()
        grant = session_grant(
            user.roles, await self._roles(session), amr=amr, require_2fa_roles=self._require_2fa
        )
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
        return pb.Tokens(
            access_token=access,
            refresh_token=refresh,
            expires_in=ttl,
            token_type="Bearer",
            session_id=session_id,
        )

    async def _complete_login(
        self, session: AsyncSession, user: UserRecord, amr: Sequence[str], origin: Origin
    ) -> pb.LoginResponse:
        """After a first factor: an MFA challenge, or a new session and its tokens."""
        step = next_login_step(
            user.roles, totp_enabled=user.totp_enabled, require_2fa_roles=self._require_2fa
        )
        if step is LoginNext.MFA_CHALLENGE:
            token = await store.create_mfa_challenge(
                session,
                user.id,
                amr=amr,
                user_agent=origin.user_agent,
                client_ip=origin.client_ip,
                now=self._now(),
                ttl_s=self._settings.mfa_challenge_ttl_s,
            )
            return pb.LoginResponse(mfa_required=True, mfa_token=token)
        tokens = await self._open_session(session, user, amr, origin)
        return pb.LoginResponse(tokens=tokens, mfa_enrollment_required=step is LoginNext.ENROLL_MFA)

    async def _open_session(
        self, session: AsyncSession, user: UserRecord, amr: Sequence[str], origin: Origin
    ) -> pb.Tokens:
        session_id = await store.create_session(
            session,
            user.id,
            amr=amr,
            user_agent=origin.user_agent,
            client_ip=origin.client_ip,
            now=self._now(),
        )
        await audit(
            session,
            "login",
            Actor.user(user.id, session_id),
            origin,
            Target.session(session_id),
            detail=f"amr={','.join(amr)}",
        )
        return await self._tokens(session, user, session_id, amr)

    def _lockout(self, email: str, origin: Origin) -> list[tuple[str, LockoutPolicy]]:
        return [
            (account_key(email), self._settings.account_lockout()),
            (account_ip_key(email, origin.client_ip), self._settings.account_ip_lockout()),
        ]

    # --- registration, verification, password reset ----------------------------------------

    async def Register(self, request: pb.RegisterRequest, context: Any) -> pb.RegisterResponse:
        origin = current_origin()
        email = normalize_email(request.email)
        validate_password(request.password, email)
        name = validate_name(request.name)
        # Hashed whether or not the email is taken: both answers take as long.
        password_hash = await self._passwords.hash(request.password)
        outbox: list[Mail] = []

        async def change(session: AsyncSession) -> pb.RegisterResponse:
            user = await store.create_user(
                session,
                email=email,
                name=name,
                password_hash=password_hash,
                verified_at=None,
                roles=[CUSTOMER],
            )
            if user is None:
                outbox.append(
                    already_registered_mail(
                        email, f"{self._settings.public_base_url.rstrip('/')}/password-reset"
                    )
                )
                await audit(
                    session,
                    "registration_refused",
                    ANONYMOUS_ACTOR,
                    origin,
                    outcome=DENIED,
                    detail="email already registered",
                )
                return pb.RegisterResponse(message=REGISTERED_MESSAGE)
            token = await store.issue_one_time_token(
                session,
                user.id,
                TokenPurpose.VERIFY_EMAIL,
                now=self._now(),
                ttl_s=self._settings.email_verification_ttl_s,
            )
            outbox.append(
                verification_mail(
                    email,
                    self._link("/verify-email", token),
                    self._settings.email_verification_ttl_s // 3600,
                )
            )
            registered = ev.UserRegistered(
                user_id=user.id,
                email=email,
                name=name,
                registered_at=timestamp(user.created_at),
                source="password",
            )
            await record(session, USER_REGISTERED, registered, aggregate_id=user.id)
            await audit(session, "registered", Actor.user(user.id), origin, Target.user(user.id))
            return pb.RegisterResponse(message=REGISTERED_MESSAGE)

        # The idempotency record keeps a digest of the request: never one of the password.
        fingerprint = pb.RegisterRequest(
            idempotency_key=request.idempotency_key, email=email, name=name
        )
        response = await self._mutate("Register", fingerprint, pb.RegisterResponse, change)
        self._send(outbox)
        return response

    async def VerifyEmail(
        self, request: pb.VerifyEmailRequest, context: Any
    ) -> pb.VerifyEmailResponse:
        origin = current_origin()
        if not request.token:
            raise InvalidArgument.for_field("token", "required")

        async def change(session: AsyncSession) -> pb.VerifyEmailResponse:
            now = self._now()
            found = await store.one_time_token(session, request.token)
            token = check_one_time_token(found, TokenPurpose.VERIFY_EMAIL, now)
            await store.use_one_time_token(session, request.token, now)
            user = await store.user_by_id(session, token.user_id)
            if await store.mark_email_verified(session, user.id, now):
                verified = ev.EmailVerified(user_id=user.id, email=user.email)
                await record(session, EMAIL_VERIFIED, verified, aggregate_id=user.id)
                await audit(
                    session, "email_verified", Actor.user(user.id), origin, Target.user(user.id)
                )
            return pb.VerifyEmailResponse(email=user.email)

        return await self._mutate(
            "VerifyEmail", request, pb.VerifyEmailResponse, change, guest_token=request.token
        )

    async def RequestPasswordReset(
        self, request: pb.RequestPasswordResetRequest, context: Any
    ) -> pb.RequestPasswordResetResponse:
        origin = current_origin()
        email = normalize_email(request.email)
        outbox: list[Mail] = []

        async def change(session: AsyncSession) -> pb.RequestPasswordResetResponse:
            user = await store.user_by_email(session, email)
            if user is not None:
                token = await store.issue_one_time_token(
                    session,
                    user.id,
                    TokenPurpose.RESET_PASSWORD,
                    now=self._now(),
                    ttl_s=self._settings.password_reset_ttl_s,
                )
                outbox.append(
                    password_reset_mail(
                        email,
                        self._link("/password-reset", token),
                        self._settings.password_reset_ttl_s // 60,
                    )
                )
                await audit(
                    session,
                    "password_reset_requested",
                    Actor.user(user.id),
                    origin,
                    Target.user(user.id),
                )
            return pb.RequestPasswordResetResponse(message=RESET_MESSAGE)

        response = await self._mutate(
            "RequestPasswordReset", request, pb.RequestPasswordResetResponse, change
        )
        self._send(outbox)
        return response

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: Any
    ) -> pb.ResetPasswordResponse:
        origin = current_origin()
        if not request.token:
            raise InvalidArgument.for_field("token", "required")
        validate_password(request.new_password, "", "newPassword")
        password_hash = await self._passwords.hash(request.new_password)

        async def change(session: AsyncSession) -> pb.ResetPasswordResponse:
            now = self._now()
            found = await store.one_time_token(session, request.token)
            token = check_one_time_token(found, TokenPurpose.RESET_PASSWORD, now)
            user = await store.user_by_id(session, token.user_id, for_update=True)
            validate_password(request.new_password, user.email, "newPassword")
            await store.use_one_time_token(session, request.token, now)
            await store.set_password(session, user.id, password_hash)
            # The mailed link proves the address as well as a verification link does.
            await store.mark_email_verified(session, user.id, now)
            revoked = await store.revoke_user_sessions(
                session, user.id, reason="password_reset", now=now
            )
            ended.extend(revoked)
            await audit(
                session,
                "password_reset",
                Actor.user(user.id),
                origin,
                Target.user(user.id),
                detail=f"sessions revoked: {len(revoked)}",
            )
            return pb.ResetPasswordResponse()

        ended: list[str] = []
        fingerprint = pb.ResetPasswordRequest(
            idempotency_key=request.idempotency_key, token=request.token
        )
        response = await self._mutate(
            "ResetPassword",
            fingerprint,
            pb.ResetPasswordResponse,
            change,
            guest_token=request.token,
        )
        await self._announce_revoked(ended)
        return response

    # --- login, second factor, refresh -------------------------------------------------------

    async def Login(self, request: pb.LoginRequest, context: Any) -> pb.LoginResponse:
        origin = current_origin()
        email = normalize_email(request.email)
        lockout = self._lockout(email, origin)
        keys = [key for key, _ in lockout]
        async with self._reads.connect() as conn:
            counts = await store.failure_counts(conn, keys)
            ensure_not_locked(
                ((counts[key], policy) for key, policy in lockout if key in counts), self._now()
            )
            user = await store.user_by_email(conn, email)
        password = request.password[:512]
        matched = await self._passwords.verify(user.password_hash if user else None, password)
        if not matched or user is None:
            async with transaction(self._sessions) as session:
                await store.count_failure(session, keys, self._now())
                await audit(
                    session,
                    "login_failed",
                    Actor.user(user.id) if user else ANONYMOUS_ACTOR,
                    origin,
                    Target.user(user.id if user else ""),
                    outcome=FAILED,
                    detail="wrong password" if user else f"unknown email {email}",
                )
            raise Unauthenticated("wrong email or password", reason=INVALID_CREDENTIALS)
        if self._settings.require_verified_email and not user.email_verified:
            raise FailedPrecondition(
                "confirm your email address first (see the mail we sent)",
                metadata={"reason": EMAIL_NOT_VERIFIED},
            )
        rehash = (
            await self._passwords.hash(password)
            if user.password_hash and self._passwords.needs_rehash(user.password_hash)
            else None
        )
        async with transaction(self._sessions) as session:
            await store.clear_failures(session, keys)
            if rehash is not None:
                await store.set_password(session, user.id, rehash)
            return await self._complete_login(session, user, ("pwd",), origin)

    async def VerifyLoginTotp(
        self, request: pb.VerifyLoginTotpRequest, context: Any
    ) -> pb.LoginResponse:
        origin = current_origin()
        if not request.mfa_token:
            raise InvalidArgument.for_field("mfaToken", "required")
        if not request.code and not request.recovery_code:
            raise InvalidArgument.for_field("code", "a code or a recovery code is required")
        refusal: DomainError | None = None
        async with self._code_refusals() as refusals, transaction(self._sessions) as session:
            now = self._now()
            challenge = await store.mfa_challenge(session, request.mfa_token)
            if (
                challenge is None
                or challenge.used
                or challenge.expires_at <= now
                or challenge.attempts >= self._settings.mfa_challenge_attempts
            ):
                raise Unauthenticated(
                    "this login has expired: log in again", reason=MFA_TOKEN_INVALID
                )
            user = await store.user_by_id(session, challenge.user_id, for_update=True)
            try:
                method = await self._second_factor(
                    session,
                    user,
                    request.code,
                    request.recovery_code,
                    step="login",
                    actor=Actor.user(user.id),
                    refusals=refusals,
                )
            except InvalidArgument as wrong:
                # Counted and audited on the account already; the challenge counts it too.
                await store.count_mfa_attempt(session, request.mfa_token)
                refusal = Unauthenticated(wrong.message, reason=MFA_CODE_INVALID)
            else:
                await store.use_mfa_challenge(session, request.mfa_token, now)
                amr = [*challenge.amr, "otp"]
                if method == "recovery":
                    await audit(
                        session,
                        "recovery_code_used",
                        Actor.user(user.id),
                        origin,
                        Target.user(user.id),
                    )
                login_origin = Origin(
                    origin.client_ip or challenge.client_ip,
                    origin.user_agent or challenge.user_agent,
                )
                tokens = await self._open_session(session, user, amr, login_origin)
                return pb.LoginResponse(tokens=tokens)
        assert refusal is not None
        raise refusal

    async def _second_factor(
        self,
        session: AsyncSession,
        user: UserRecord,
        code: str,
        recovery_code: str,
        *,
        step: str,
        actor: Actor,
        refusals: AsyncSession,
    ) -> str:
        """Check a TOTP code (remembering its step) or spend a recovery code; "otp" or
        "recovery". A wrong code is INVALID_ARGUMENT on `code` / `recoveryCode`, counted on the
        account (`_counted_code_check`)."""
        secret = user.totp_secret
        if secret is None:
            raise FailedPrecondition("this account has no TOTP")

        async def check() -> str:
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

        return await self._counted_code_check(
            session, user.id, check, step=step, actor=actor, refusals=refusals
        )

    async def _counted_code_check(
        self,
        session: AsyncSession,
        user_id: str,
        check: Callable[[], Awaitable[CheckedT]],
        *,
        step: str,
        actor: Actor,
        refusals: AsyncSession,
    ) -> CheckedT:
        """Run `check` of a TOTP or recovery code under the account's second-factor counter:
        refused with RESOURCE_EXHAUSTED (and a retry-after) while locked, each wrong code
        counted and audited, the counter cleared by a right one.

        Every caller holds the account's row lock (`user_by_id(…, for_update=True)`), so checks
        of one account queue up and each sees the failures the previous one committed (in
        `refusals`, see `_code_refusals`)."""
        key = second_factor_key(user_id)
        counts = await store.failure_counts(session, [key])
        policy = self._settings.second_factor_lockout()
        try:
            ensure_not_locked(
                [(counts[key], policy)] if key in counts else [], self._now(), what="wrong codes"
            )
        except ResourceExhausted as locked:
            await self._code_refused(refusals, user_id, step, actor, locked.message, counted=False)
            raise
        try:
            checked = await check()
        except InvalidArgument as wrong:
            await self._code_refused(refusals, user_id, step, actor, wrong.message, counted=True)
            raise
        if key in counts:
            await store.clear_failures(session, [key])
        return checked

    @asynccontextmanager
    async def _code_refusals(self) -> AsyncIterator[AsyncSession]:
        """A session of its own for recording refused codes, its connection taken before the
        call locks the account: the refusal rolls the call's transaction back, its record must
        survive, and a lock holder must never wait for the pool while others wait for it."""
        async with self._sessions() as refusals:
            await refusals.connection()
            yield refusals

    async def _code_refused(
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

    async def Refresh(self, request: pb.RefreshRequest, context: Any) -> pb.Tokens:
        origin = current_origin()
        if not request.refresh_token:
            raise InvalidArgument.for_field("refreshToken", "required")
        refusal: DomainError
        ended: list[str] = []
        async with transaction(self._sessions) as session:
            now = self._now()
            state = await store.refresh_token_state(session, request.refresh_token)
            match judge_refresh(state, now):
                case RefreshVerdict.ROTATE:
                    assert state is not None
                    await store.use_refresh_token(
                        session,
                        request.refresh_token,
                        now=now,
                        user_agent=origin.user_agent,
                        client_ip=origin.client_ip,
                    )
                    user = await store.user_by_id(session, state.user_id)
                    current = await store.session_by_id(session, state.session_id)
                    assert current is not None
                    return await self._tokens(session, user, state.session_id, current.amr)
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
                    refusal = Unauthenticated(
                        "this refresh token was already used: the session has ended",
                        reason=REFRESH_TOKEN_REUSED,
                    )
                case RefreshVerdict.REJECTED:
                    refusal = Unauthenticated(
                        "the refresh token is invalid or has expired",
                        reason=REFRESH_TOKEN_INVALID,
                    )
        await self._announce_revoked(ended)
        raise refusal

    # --- sessions ----------------------------------------------------------------------------

    async def Logout(self, request: pb.LogoutRequest, context: Any) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.LogoutResponse:
            revoked: list[str] = []
            if caller.session_id:
                revoked = await store.revoke_session(
                    session,
                    caller.session_id,
                    reason="logout",
                    now=self._now(),
                    user_id=caller.subject,
                )
            ended.extend(revoked)
            await audit(
                session, "logout", Actor.of(caller), origin, Target.session(caller.session_id)
            )
            return pb.LogoutResponse(revoked=len(revoked))

        ended: list[str] = []
        response = await self._mutate("Logout", request, pb.LogoutResponse, change)
        await self._announce_revoked(ended)
        return response

    async def LogoutEverywhere(
        self, request: pb.LogoutEverywhereRequest, context: Any
    ) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.LogoutResponse:
            revoked = await store.revoke_user_sessions(
                session, caller.subject, reason="logout_everywhere", now=self._now()
            )
            ended.extend(revoked)
            await audit(
                session,
                "logout_everywhere",
                Actor.of(caller),
                origin,
                Target.user(caller.subject),
                detail=f"sessions revoked: {len(revoked)}",
            )
            return pb.LogoutResponse(revoked=len(revoked))

        ended: list[str] = []
        response = await self._mutate("LogoutEverywhere", request, pb.LogoutResponse, change)
        await self._announce_revoked(ended)
        return response

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: Any
    ) -> pb.ListSessionsResponse:
        caller = self._caller()
        async with self._reads.connect() as conn:
            sessions = await store.live_sessions(conn, caller.subject)
        return pb.ListSessionsResponse(
            sessions=[session_pb(s, caller.session_id) for s in sessions]
        )

    async def RevokeSession(
        self, request: pb.RevokeSessionRequest, context: Any
    ) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()
        session_id = require_uuid(request.session_id, "sessionId")

        async def change(session: AsyncSession) -> pb.LogoutResponse:
            revoked = await store.revoke_session(
                session,
                session_id,
                reason="revoked_by_user",
                now=self._now(),
                user_id=caller.subject,
            )
            if not revoked:
                raise NotFound("session", session_id)
            ended.extend(revoked)
            await audit(
                session, "session_revoked", Actor.of(caller), origin, Target.session(session_id)
            )
            return pb.LogoutResponse(revoked=len(revoked))

        ended: list[str] = []
        response = await self._mutate("RevokeSession", request, pb.LogoutResponse, change)
        await self._announce_revoked(ended)
        return response

    async def GetMe(self, request: pb.GetMeRequest, context: Any) -> pb.User:
        caller = self._caller()
        async with self._reads.connect() as conn:
            user = await store.user_by_id(conn, caller.subject)
            roles = await self._roles(conn)
        grant = session_grant(
            user.roles, roles, amr=caller.auth_methods, require_2fa_roles=self._require_2fa
        )
        return user_pb(user, grant)

    # --- TOTP --------------------------------------------------------------------------------

    async def EnrollTotp(
        self, request: pb.EnrollTotpRequest, context: Any
    ) -> pb.EnrollTotpResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.EnrollTotpResponse:
            user = await store.user_by_id(session, caller.subject, for_update=True)
            if user.totp_enabled:
                raise FailedPrecondition("TOTP is already on: disable it before enrolling again")
            secret = totp.new_secret()
            await store.set_pending_totp(session, user.id, self._totp.seal(user.id, secret))
            await audit(
                session, "totp_enrollment_started", Actor.of(caller), origin, Target.user(user.id)
            )
            uri = totp.otpauth_uri(secret, user.email)
            return pb.EnrollTotpResponse(
                secret=secret, otpauth_uri=uri, qr_png_base64=totp.qr_png_base64(uri)
            )

        return await self._mutate(
            "EnrollTotp",
            request,
            pb.EnrollTotpResponse,
            change,
            secret_answer="enrolment was started, but its secret is shown once and not kept: "
            "start again with a new idempotency key",
        )

    async def ConfirmTotp(
        self, request: pb.ConfirmTotpRequest, context: Any
    ) -> pb.ConfirmTotpResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.ConfirmTotpResponse:
            user = await store.user_by_id(session, caller.subject, for_update=True)
            if user.totp_enabled:
                raise FailedPrecondition("TOTP is already on")
            if user.totp_pending_secret is None:
                raise FailedPrecondition("start with EnrollTotp")
            pending = self._totp.open(user.id, user.totp_pending_secret)

            async def check() -> int:
                return accept_totp_step(
                    totp.matching_step(pending, request.code, self._now()), None
                )

            step = await self._counted_code_check(
                session,
                user.id,
                check,
                step="totp_confirm",
                actor=Actor.of(caller),
                refusals=refusals,
            )
            await store.enable_totp(session, user.id, step=step, now=self._now())
            codes = new_recovery_codes()
            await store.replace_recovery_codes(session, user.id, map(recovery_code_digest, codes))
            await audit(session, "totp_enabled", Actor.of(caller), origin, Target.user(user.id))
            response = pb.ConfirmTotpResponse(recovery_codes=pb.RecoveryCodes(codes=codes))
            current = (
                await store.session_by_id(session, caller.session_id) if caller.session_id else None
            )
            if current is not None and not current.revoked:
                # The code just typed is a second factor: the session now counts it.
                amr = [*current.amr, "otp"] if "otp" not in current.amr else list(current.amr)
                await store.set_session_amr(session, current.id, amr)
                enabled = await store.user_by_id(session, user.id)
                response.tokens.CopyFrom(await self._tokens(session, enabled, current.id, amr))
            return response

        async with self._code_refusals() as refusals:
            return await self._mutate(
                "ConfirmTotp",
                request,
                pb.ConfirmTotpResponse,
                change,
                secret_answer="TOTP is on; its recovery codes and tokens were shown once and are "
                "not kept: regenerate the recovery codes, and refresh for new tokens",
            )

    async def DisableTotp(
        self, request: pb.DisableTotpRequest, context: Any
    ) -> pb.DisableTotpResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.DisableTotpResponse:
            user = await store.user_by_id(session, caller.subject, for_update=True)
            required = sorted(set(user.roles) & self._require_2fa)
            if required:
                raise FailedPrecondition(
                    f"the role {required[0]!r} requires 2FA: it cannot be turned off"
                )
            await self._second_factor(
                session,
                user,
                request.code,
                request.recovery_code,
                step="totp_disable",
                actor=Actor.of(caller),
                refusals=refusals,
            )
            await store.disable_totp(session, user.id)
            await audit(session, "totp_disabled", Actor.of(caller), origin, Target.user(user.id))
            return pb.DisableTotpResponse()

        async with self._code_refusals() as refusals:
            return await self._mutate("DisableTotp", request, pb.DisableTotpResponse, change)

    async def RegenerateRecoveryCodes(
        self, request: pb.RegenerateRecoveryCodesRequest, context: Any
    ) -> pb.RecoveryCodes:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.RecoveryCodes:
            user = await store.user_by_id(session, caller.subject, for_update=True)
            await self._second_factor(
                session,
                user,
                request.code,
                "",
                step="recovery_codes_regenerate",
                actor=Actor.of(caller),
                refusals=refusals,
            )
            codes = new_recovery_codes()
            await store.replace_recovery_codes(session, user.id, map(recovery_code_digest, codes))
            await audit(
                session,
                "recovery_codes_regenerated",
                Actor.of(caller),
                origin,
                Target.user(user.id),
            )
            return pb.RecoveryCodes(codes=codes)

        async with self._code_refusals() as refusals:
            return await self._mutate(
                "RegenerateRecoveryCodes",
                request,
                pb.RecoveryCodes,
                change,
                secret_answer="new recovery codes were made, shown once and not kept: "
                "regenerate them again with a new idempotency key",
            )

    # --- keys --------------------------------------------------------------------------------

    async def GetJwks(self, request: pb.GetJwksRequest, context: Any) -> pb.Jwks:
        async with self._reads.connect() as conn:
            keys = await jwks_keys(conn, self._now())
        if not keys:
            async with transaction(self._sessions) as session:
                await ensure_current_key(session, self._now(), self._secrets)
            async with self._reads.connect() as conn:
                keys = await jwks_keys(conn, self._now())
        fields = ("kty", "crv", "x", "kid", "alg", "use")
        return pb.Jwks(keys=[pb.Jwk(**{f: str(key.get(f, "")) for f in fields}) for key in keys])

    # --- roles and users ---------------------------------------------------------------------

    async def ListRoles(self, request: pb.ListRolesRequest, context: Any) -> pb.ListRolesResponse:
        async with self._reads.connect() as conn:
            roles = await self._roles(conn)
        return pb.ListRolesResponse(
            roles=[role_pb(role, role.name in self._require_2fa) for role in roles.values()]
        )

    async def CreateRole(self, request: pb.CreateRoleRequest, context: Any) -> pb.Role:
        actor = self._actor()
        origin = current_origin()
        role = validate_new_role(
            request.name, request.description, request.permissions, self._registry
        )

        async def change(session: AsyncSession) -> pb.Role:
            await store.create_role(session, role)
            created = role_pb(role, role.name in self._require_2fa)
            await audit(
                session,
                "role_created",
                actor,
                origin,
                Target("role", role.name),
                after={"name": role.name, "permissions": sorted(role.permissions)},
            )
            return created

        return await self._mutate("CreateRole", request, pb.Role, change)

    async def AssignRole(self, request: pb.AssignRoleRequest, context: Any) -> pb.User:
        return await self._change_role("AssignRole", request, context, grant=True)

    async def RevokeRole(self, request: pb.RevokeRoleRequest, context: Any) -> pb.User:
        return await self._change_role("RevokeRole", request, context, grant=False)

    async def _change_role(
        self,
        operation: str,
        request: pb.AssignRoleRequest | pb.RevokeRoleRequest,
        context: Any,
        *,
        grant: bool,
    ) -> pb.User:
        actor = self._actor()
        origin = current_origin()
        user_id = require_uuid(request.user_id, "userId")

        async def change(session: AsyncSession) -> pb.User:
            roles = await self._roles(session)
            if request.role not in roles:
                raise NotFound("role", request.role)
            before = await store.user_by_id(session, user_id, for_update=True)
            if grant:
                changed = await store.add_role(session, user_id, request.role)
            else:
                changed = await store.remove_role(session, user_id, request.role)
            after = await store.user_by_id(session, user_id)
            if changed:
                await record(
                    session,
                    USER_ROLES_CHANGED,
                    ev.UserRolesChanged(user_id=user_id, roles=list(after.roles)),
                    aggregate_id=user_id,
                )
                await audit(
                    session,
                    "role_assigned" if grant else "role_revoked",
                    actor,
                    origin,
                    Target.user(user_id),
                    before={"roles": list(before.roles)},
                    after={"roles": list(after.roles)},
                    detail=request.role,
                )
            full = session_grant(after.roles, roles, amr=("otp",), require_2fa_roles=())
            return user_pb(after, full)

        return await self._mutate(operation, request, pb.User, change)

    async def ListUsers(self, request: pb.ListUsersRequest, context: Any) -> pb.ListUsersResponse:
        limit = page_size(request.page_size)
        cursor = decode_page_token(request.page_token, 2)
        after = None
        if cursor is not None:
            after = (_parse_time(cursor[0]), require_uuid(cursor[1], "pageToken"))
        async with self._reads.connect() as conn:
            page = await store.list_users(
                conn, email_prefix=request.email_prefix, after=after, limit=limit
            )
            roles = await self._roles(conn)
        users = [
            user_pb(u, session_grant(u.roles, roles, amr=("otp",), require_2fa_roles=()))
            for u in page.users
        ]
        token = ""
        if page.next_after is not None:
            token = encode_page_token(page.next_after[0].isoformat(), page.next_after[1])
        return pb.ListUsersResponse(users=users, next_page_token=token)

    # --- the audit log -----------------------------------------------------------------------

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: Any
    ) -> pb.ListAuditEntriesResponse:
        limit = page_size(request.page_size)
        cursor = decode_page_token(request.page_token, 2)
        before = None
        if cursor is not None:
            try:
                before = (_parse_time(cursor[0]), int(cursor[1]))
            except ValueError:
                raise InvalidArgument.for_field(
                    "pageToken", "not a token this service issued"
                ) from None
        query = AuditQuery(
            actor_subject=request.actor_subject,
            action_prefix=request.action_prefix,
            occurred_after=(
                request.occurred_after.ToDatetime(tzinfo=UTC)
                if request.HasField("occurred_after")
                else None
            ),
            occurred_before=(
                request.occurred_before.ToDatetime(tzinfo=UTC)
                if request.HasField("occurred_before")
                else None
            ),
            before=before,
            limit=limit,
        )
        async with self._reads.connect() as conn:
            found = await store.list_audit_entries(conn, query)
        page = found[:limit]
        token = ""
        if len(found) > limit:
            last = page[-1]
            token = encode_page_token(last.entry.occurred_at.isoformat(), str(last.id))
        return pb.ListAuditEntriesResponse(
            entries=[audit_entry_pb(e) for e in page], next_page_token=token
        )

    # --- OIDC --------------------------------------------------------------------------------

    def _oidc_client(self) -> OidcClient:
        if self._oidc is None or not self._oidc.provider_names():
            raise FailedPrecondition("no identity provider is configured")
        return self._oidc

    async def StartOidcLogin(
        self, request: pb.StartOidcLoginRequest, context: Any
    ) -> pb.StartOidcLoginResponse:
        client = self._oidc_client()
        if not request.redirect_uri:
            raise InvalidArgument.for_field("redirectUri", "required")

        async def change(session: AsyncSession) -> pb.StartOidcLoginResponse:
            started = await client.start(request.provider, request.redirect_uri)
            await store.save_oidc_login(
                session,
                state=started.state,
                login=OidcLogin(
                    request.provider, started.nonce, started.code_verifier, request.redirect_uri
                ),
                now=self._now(),
                ttl_s=self._settings.oidc_login_ttl_s,
            )
            return pb.StartOidcLoginResponse(
                authorization_url=started.authorization_url, state=started.state
            )

        return await self._mutate("StartOidcLogin", request, pb.StartOidcLoginResponse, change)

    async def FinishOidcLogin(
        self, request: pb.FinishOidcLoginRequest, context: Any
    ) -> pb.LoginResponse:
        client = self._oidc_client()
        origin = current_origin()
        if not request.state or not request.code:
            raise InvalidArgument.for_field("code", "state and code are required")
        async with transaction(self._sessions) as session:
            login = await store.take_oidc_login(session, request.state, self._now())
        if login is None:
            raise Unauthenticated(
                "this sign-in has expired or was already used: start again",
                reason=OIDC_STATE_INVALID,
            )
        identity = await client.finish(
            login.provider,
            code=request.code,
            redirect_uri=login.redirect_uri,
            code_verifier=login.code_verifier,
            nonce=login.nonce,
        )
        async with transaction(self._sessions) as session:
            user = await self._oidc_account(session, identity, origin)
            return await self._complete_login(session, user, ("oidc",), origin)

    async def _oidc_account(
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
        existing = await store.user_by_email(session, email)
        if existing is not None:
            if not (identity.email_verified and existing.email_verified):
                raise FailedPrecondition(
                    "an account already uses this email address: log in with its password"
                )
            user = existing
            created = False
        else:
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
            user, created = made, True
            registered = ev.UserRegistered(
                user_id=user.id,
                email=email,
                name=user.name,
                registered_at=timestamp(user.created_at),
                source=f"oidc:{identity.provider}",
            )
            await record(session, USER_REGISTERED, registered, aggregate_id=user.id)
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


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.for_field("pageToken", "not a token this service issued") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
