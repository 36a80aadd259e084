"""The auth service's gRPC servicer: protobuf in, one unit of work through the flows of
`accounts`, `login`, `two_factor`, `sessions` and `roles`, protobuf out (`translation`).

Each mutation is one transaction with its idempotency record, its state change, its events and
its audit entries (both through the outbox). A flow that must record a refusal (a failed login,
a reused refresh token) returns a `Refusal`: its transaction commits, then the call fails
(`_settle`). Mail goes out after commit; revoked sessions are announced once committed. Who
calls comes from `current_principal()` (set by the security interceptor), from where from
`current_origin()` (what the gateway reports, believed only under its proof).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1 import auth_pb2_grpc
from agora.auth import store
from agora.auth.accounts import Accounts
from agora.auth.domain import (
    AuditQuery,
    Clock,
    Refusal,
    audit_target,
    normalize_email,
    user_filter,
    validate_name,
    validate_new_role,
    validate_password,
)
from agora.auth.events import Actor
from agora.auth.keys import TokenSigner, ensure_current_key, jwks_keys
from agora.auth.login import Login
from agora.auth.passwords import Passwords
from agora.auth.roles import RoleBook, change_role, create_role
from agora.auth.sessions import Sessions
from agora.auth.settings import AuthSettings
from agora.auth.totp import TotpSecrets
from agora.auth.translation import (
    USER_STATUSES,
    audit_entry_pb,
    confirmed_totp_pb,
    enrolment_pb,
    jwks_pb,
    login_pb,
    role_pb,
    session_pb,
    tokens_pb,
    user_details_pb,
    user_pb,
)
from agora.auth.two_factor import SecondFactor
from agora.auth.user_admin import Managed, UserAdministration
from agora.platform.db import session_factory, transaction
from agora.platform.errors import (
    TOKEN_MISSING,
    FailedPrecondition,
    InvalidArgument,
    Unauthenticated,
)
from agora.platform.idempotency import Capability, idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.mail import Mail, Mailer
from agora.platform.rpc.timestamps import datetime_of
from agora.platform.security.envelope import SecretBox
from agora.platform.security.origin import current_origin
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.security.principal import Principal, current_principal
from agora.platform.security.revocation import RevocationPublisher

if TYPE_CHECKING:  # the OIDC client is optional: the bootstrap builds it when configured
    from agora.auth.oidc import OidcClient

ResponseT = TypeVar("ResponseT", bound=Message)
SettledT = TypeVar("SettledT")
Change = Callable[[AsyncSession], Awaitable[ResponseT]]
SessionsEnded = Callable[[AsyncSession], Awaitable[list[str]]]

REGISTERED_MESSAGE = "Check your inbox: we sent a link to confirm your email address."
RESET_MESSAGE = "If an account uses this address, we sent it a link to reset the password."


class AuthService(auth_pb2_grpc.AuthServiceServicer):
    """AuthService over the auth schema reached through `engine`."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: AuthSettings,
        mailer: Mailer,
        *,
        secrets: SecretBox,
        revocations: RevocationPublisher,
        oidc: OidcClient | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._mailer = mailer
        self._passwords = Passwords()
        self._oidc = oidc
        self._secrets = secrets
        self._now = clock
        self._roles = RoleBook(all_declared_permissions(), settings.require_2fa_roles)
        self._accounts = Accounts(settings, clock)
        self._sessions = Sessions(settings, TokenSigner(secrets), self._roles, clock, revocations)
        self._second_factor = SecondFactor(self._db, settings, TotpSecrets(secrets), clock)
        self._login = Login(settings, self._passwords, self._sessions, self._second_factor, clock)
        self._administration = UserAdministration(self._roles, clock)

    # --- plumbing ----------------------------------------------------------------------------

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[ResponseT],
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
            self._db,
            operation=f"auth.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None if guest_token is None else Capability("token", guest_token),
            authorize_replay=None,
            secret_answer=secret_answer,
        )

    async def _settle(self, outcome: SettledT | Refusal) -> SettledT:
        """The outcome of a committed change, or its refusal raised (the sessions it ended
        announced first)."""
        if isinstance(outcome, Refusal):
            await self._sessions.announce_ended(outcome.ended_sessions)
            raise outcome.error
        return outcome

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
            await self._accounts.register(
                session,
                email=email,
                name=name,
                password_hash=password_hash,
                origin=origin,
                outbox=outbox,
            )
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
            email = await self._accounts.verify_email(session, request.token, origin)
            return pb.VerifyEmailResponse(email=email)

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
            await self._accounts.request_password_reset(session, email, origin, outbox)
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
        ended: list[str] = []

        async def change(session: AsyncSession) -> pb.ResetPasswordResponse:
            ended.extend(
                await self._accounts.reset_password(
                    session, request.token, request.new_password, password_hash, origin
                )
            )
            return pb.ResetPasswordResponse()

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
        await self._sessions.announce_ended(ended)
        return response

    # --- login, second factor, refresh -------------------------------------------------------

    async def Login(self, request: pb.LoginRequest, context: Any) -> pb.LoginResponse:
        origin = current_origin()
        email = normalize_email(request.email)
        async with self._reads.connect() as conn:
            candidate = await self._login.candidate(conn, email, origin)
        attempt = await self._login.check_password(candidate, request.password)
        async with transaction(self._db) as session:
            outcome = await self._login.finish_password(session, attempt, origin)
        return login_pb(await self._settle(outcome))

    async def VerifyLoginTotp(
        self, request: pb.VerifyLoginTotpRequest, context: Any
    ) -> pb.LoginResponse:
        origin = current_origin()
        if not request.mfa_token:
            raise InvalidArgument.for_field("mfaToken", "required")
        if not request.code and not request.recovery_code:
            raise InvalidArgument.for_field("code", "a code or a recovery code is required")
        async with self._second_factor.refusals() as refusals, transaction(self._db) as session:
            outcome = await self._login.answer_challenge(
                session, request.mfa_token, request.code, request.recovery_code, origin, refusals
            )
        return login_pb(await self._settle(outcome))

    async def Refresh(self, request: pb.RefreshRequest, context: Any) -> pb.Tokens:
        origin = current_origin()
        if not request.refresh_token:
            raise InvalidArgument.for_field("refreshToken", "required")
        async with transaction(self._db) as session:
            outcome = await self._sessions.refresh(session, request.refresh_token, origin)
        return tokens_pb(await self._settle(outcome))

    # --- sessions ----------------------------------------------------------------------------

    async def Logout(self, request: pb.LogoutRequest, context: Any) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()
        return await self._end_sessions(
            "Logout", request, lambda session: self._sessions.log_out(session, caller, origin)
        )

    async def LogoutEverywhere(
        self, request: pb.LogoutEverywhereRequest, context: Any
    ) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()
        return await self._end_sessions(
            "LogoutEverywhere",
            request,
            lambda session: self._sessions.log_out_everywhere(session, caller, origin),
        )

    async def RevokeSession(
        self, request: pb.RevokeSessionRequest, context: Any
    ) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()
        session_id = require_id(request.session_id, "sessionId")
        return await self._end_sessions(
            "RevokeSession",
            request,
            lambda session: self._sessions.revoke(session, caller, session_id, origin),
        )

    async def _end_sessions(
        self, operation: str, request: Any, end: SessionsEnded
    ) -> pb.LogoutResponse:
        """End sessions in one idempotent transaction, then announce them."""
        ended: list[str] = []

        async def change(session: AsyncSession) -> pb.LogoutResponse:
            ended.extend(await end(session))
            return pb.LogoutResponse(revoked=len(ended))

        response = await self._mutate(operation, request, pb.LogoutResponse, change)
        await self._sessions.announce_ended(ended)
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

    async def GetMe(self, request: pb.GetMeRequest, context: Any) -> pb.User:
        caller = self._caller()
        async with self._reads.connect() as conn:
            user = await store.user_by_id(conn, caller.subject)
            roles = await self._roles.roles(conn)
        return user_pb(user, self._roles.session_grant(user.roles, roles, caller.auth_methods))

    # --- TOTP --------------------------------------------------------------------------------

    async def EnrollTotp(
        self, request: pb.EnrollTotpRequest, context: Any
    ) -> pb.EnrollTotpResponse:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.EnrollTotpResponse:
            return enrolment_pb(await self._second_factor.enrol(session, caller, origin))

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
            codes = await self._second_factor.confirm(
                session, caller, request.code, origin, refusals
            )
            # The code just typed is a second factor: the session now counts it.
            tokens = await self._sessions.count_second_factor(session, caller)
            return confirmed_totp_pb(codes, tokens)

        async with self._second_factor.refusals() as refusals:
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
            await self._second_factor.disable(
                session, caller, request.code, request.recovery_code, origin, refusals
            )
            return pb.DisableTotpResponse()

        async with self._second_factor.refusals() as refusals:
            return await self._mutate("DisableTotp", request, pb.DisableTotpResponse, change)

    async def RegenerateRecoveryCodes(
        self, request: pb.RegenerateRecoveryCodesRequest, context: Any
    ) -> pb.RecoveryCodes:
        caller = self._caller()
        origin = current_origin()

        async def change(session: AsyncSession) -> pb.RecoveryCodes:
            codes = await self._second_factor.regenerate_recovery_codes(
                session, caller, request.code, origin, refusals
            )
            return pb.RecoveryCodes(codes=codes)

        async with self._second_factor.refusals() as refusals:
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
            async with transaction(self._db) as session:
                await ensure_current_key(session, self._now(), self._secrets)
            async with self._reads.connect() as conn:
                keys = await jwks_keys(conn, self._now())
        return jwks_pb(keys)

    # --- roles and users ---------------------------------------------------------------------

    async def ListRoles(self, request: pb.ListRolesRequest, context: Any) -> pb.ListRolesResponse:
        async with self._reads.connect() as conn:
            roles = await self._roles.roles(conn)
        return pb.ListRolesResponse(
            roles=[role_pb(role, role.name in self._roles.require_2fa) for role in roles.values()]
        )

    async def CreateRole(self, request: pb.CreateRoleRequest, context: Any) -> pb.Role:
        actor = self._actor()
        origin = current_origin()
        role = validate_new_role(
            request.name, request.description, request.permissions, self._roles.registry
        )

        async def change(session: AsyncSession) -> pb.Role:
            await create_role(session, role, actor, origin)
            return role_pb(role, role.name in self._roles.require_2fa)

        return await self._mutate("CreateRole", request, pb.Role, change)

    async def AssignRole(self, request: pb.AssignRoleRequest, context: Any) -> pb.User:
        return await self._change_role("AssignRole", request, grant=True)

    async def RevokeRole(self, request: pb.RevokeRoleRequest, context: Any) -> pb.User:
        return await self._change_role("RevokeRole", request, grant=False)

    async def _change_role(
        self, operation: str, request: pb.AssignRoleRequest | pb.RevokeRoleRequest, *, grant: bool
    ) -> pb.User:
        actor = self._actor()
        permissions = current_principal().permissions
        origin = current_origin()
        user_id = require_id(request.user_id, "userId")

        async def change(session: AsyncSession) -> pb.User:
            roles = await self._roles.roles(session)
            after = await change_role(
                session,
                roles,
                user_id,
                request.role,
                grant=grant,
                actor=actor,
                caller_permissions=permissions,
                origin=origin,
            )
            return user_pb(after, self._roles.held(after.roles, roles))

        return await self._mutate(operation, request, pb.User, change)

    async def ListUsers(self, request: pb.ListUsersRequest, context: Any) -> pb.ListUsersResponse:
        limit = page_size(request.page_size)
        if request.status not in (pb.USER_STATUS_UNSPECIFIED, *USER_STATUSES):
            raise InvalidArgument.for_field("status", "unknown user status")
        found = user_filter(
            request.email_prefix, request.query, request.role, USER_STATUSES.get(request.status)
        )
        query = _fingerprint(
            "users", found.email_prefix, " ".join(found.words), found.role, request.status
        )
        cursor = decode_page_token(request.page_token, query)
        after = None
        if cursor is not None:
            after = (_position_time(cursor[0]), require_id(str(cursor[1]), "pageToken"))
        async with self._reads.connect() as conn:
            page = await store.list_users(conn, found, after=after, limit=limit)
            roles = await self._roles.roles(conn)
        token = ""
        if page.next_after is not None:
            at, last_id = page.next_after
            token = encode_page_token([at.isoformat(), last_id], query)
        return pb.ListUsersResponse(
            users=[user_pb(u, self._roles.held(u.roles, roles)) for u in page.users],
            next_page_token=token,
        )

    # --- staff managing accounts ------------------------------------------------------------

    async def GetUser(self, request: pb.GetUserRequest, context: Any) -> pb.UserDetails:
        user_id = require_id(request.user_id, "userId")
        async with self._reads.connect() as conn:
            user = await store.user_by_id(conn, user_id)
            sessions = await store.live_sessions(conn, user_id)
            roles = await self._roles.roles(conn)
        return user_details_pb(user, self._roles.held(user.roles, roles), sessions)

    async def LockUser(self, request: pb.LockUserRequest, context: Any) -> pb.User:
        return await self._manage(
            "LockUser",
            request,
            lambda session, caller, user_id, origin: self._administration.lock(
                session, caller, user_id, request.reason, origin
            ),
        )

    async def UnlockUser(self, request: pb.UnlockUserRequest, context: Any) -> pb.User:
        return await self._manage("UnlockUser", request, self._administration.unlock)

    async def ResetUserTotp(self, request: pb.ResetUserTotpRequest, context: Any) -> pb.User:
        return await self._manage("ResetUserTotp", request, self._administration.reset_totp)

    async def RevokeUserSessions(
        self, request: pb.RevokeUserSessionsRequest, context: Any
    ) -> pb.LogoutResponse:
        caller = self._caller()
        origin = current_origin()
        user_id = require_id(request.user_id, "userId")

        async def end(session: AsyncSession) -> list[str]:
            managed = await self._administration.revoke_sessions(session, caller, user_id, origin)
            return managed.ended_sessions

        return await self._end_sessions("RevokeUserSessions", request, end)

    async def _manage(
        self,
        operation: str,
        request: pb.LockUserRequest | pb.UnlockUserRequest | pb.ResetUserTotpRequest,
        action: Callable[[AsyncSession, Principal, str, Any], Awaitable[Managed]],
    ) -> pb.User:
        """A staff member's action on an account in one idempotent transaction; the sessions
        it ended announced once committed."""
        caller = self._caller()
        origin = current_origin()
        user_id = require_id(request.user_id, "userId")
        ended: list[str] = []

        async def change(session: AsyncSession) -> pb.User:
            managed = await action(session, caller, user_id, origin)
            ended.extend(managed.ended_sessions)
            roles = await self._roles.roles(session)
            return user_pb(managed.user, self._roles.held(managed.user.roles, roles))

        response = await self._mutate(operation, request, pb.User, change)
        await self._sessions.announce_ended(ended)
        return response

    # --- the audit log -----------------------------------------------------------------------

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: Any
    ) -> pb.ListAuditEntriesResponse:
        limit = page_size(request.page_size)
        occurred_after = (
            datetime_of(request.occurred_after) if request.HasField("occurred_after") else None
        )
        occurred_before = (
            datetime_of(request.occurred_before) if request.HasField("occurred_before") else None
        )
        target_type, target_id = audit_target(request.target_type, request.target_id)
        query = _fingerprint(
            "audit",
            request.actor_subject,
            request.action_prefix,
            occurred_after,
            occurred_before,
            target_type,
            target_id,
        )
        cursor = decode_page_token(request.page_token, query)
        before = None
        if cursor is not None:
            if not isinstance(cursor[1], int):
                raise InvalidArgument.for_field("pageToken", "not a page token of this query")
            before = (_position_time(cursor[0]), cursor[1])
        audit_query = AuditQuery(
            limit=limit,
            actor_subject=request.actor_subject,
            action_prefix=request.action_prefix,
            occurred_after=occurred_after,
            occurred_before=occurred_before,
            before=before,
            target_type=target_type,
            target_id=target_id,
        )
        async with self._reads.connect() as conn:
            found = await store.list_audit_entries(conn, audit_query)
        page = found[:limit]
        token = ""
        if len(found) > limit:
            last = page[-1]
            token = encode_page_token([last.entry.occurred_at.isoformat(), last.id], query)
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
            started = await self._login.start_oidc(
                session, client, request.provider, request.redirect_uri
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
        async with transaction(self._db) as session:
            login = await self._login.take_oidc_login(session, request.state)
        # The provider's answer is awaited outside any transaction.
        identity = await client.finish(
            login.provider,
            code=request.code,
            redirect_uri=login.redirect_uri,
            code_verifier=login.code_verifier,
            nonce=login.nonce,
        )
        async with transaction(self._db) as session:
            user = await self._accounts.for_identity(session, identity, origin)
            return login_pb(await self._login.complete(session, user, ("oidc",), origin))


def _fingerprint(*parts: object) -> str:
    """What a page token is bound to: the list and its filters."""
    return "\x1f".join("" if part is None else str(part) for part in parts)


def _position_time(value: object) -> datetime:
    """The time of a page token's position (tokens are signed: a bad one is a bug or a key
    change, still refused as the client's)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidArgument.for_field("pageToken", "not a page token of this query") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
