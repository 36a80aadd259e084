"""Staff managing other people's accounts through auth: search, one account's details, lock and
unlock, ending every session, resetting the second factor; each only on accounts whose rights
the staff member holds too, each audited with the staff member as actor."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from auth_support import (
    PASSWORD,
    TIMEOUT_S,
    as_user,
    enroll_totp,
    failure,
    key,
    logged_in,
    login,
    verified_account,
)
from security_support import bearer, mint_token

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.commands import create_user

Metadata = list[tuple[str, str]]
Flush = Callable[[], Awaitable[None]]

STAFF_PERMISSIONS = (
    "auth:users:read",
    "auth:users:write",
    "auth:totp:reset",
    "audit:read",
    "orders:read:any",
    "support:read:own",
    "orders:read:own",
)


def staff(*permissions: str, subject: str | None = None) -> Metadata:
    """Metadata of a staff member holding exactly `permissions` (the staff defaults if none)."""
    token = mint_token(
        subject or str(uuid.uuid4()), roles=["staff"], permissions=permissions or STAFF_PERMISSIONS
    )
    return [("authorization", bearer(token))]


async def user_id_of(auth: AuthServiceStub, access_token: str) -> str:
    return (await auth.GetMe(pb.GetMeRequest(), metadata=as_user(access_token))).id


async def a_customer(auth: AuthServiceStub, mail_dir: Path) -> tuple[str, str, pb.Tokens]:
    """(email, id, tokens of a fresh session) of a verified customer."""
    email, tokens = await logged_in(auth, mail_dir)
    return email, await user_id_of(auth, tokens.access_token), tokens


async def refresh(auth: AuthServiceStub, refresh_token: str) -> pb.Tokens:
    return await auth.Refresh(pb.RefreshRequest(refresh_token=refresh_token), timeout=TIMEOUT_S)


async def lock(auth: AuthServiceStub, user_id: str, by: Metadata, reason: str = "") -> pb.User:
    return await auth.LockUser(
        pb.LockUserRequest(idempotency_key=key(), user_id=user_id, reason=reason),
        metadata=by,
        timeout=TIMEOUT_S,
    )


async def test_a_locked_account_cannot_log_in_or_refresh_until_unlocked(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, user_id, tokens = await a_customer(auth, mail_dir)

    locked = await lock(auth, user_id, staff(), "chargeback fraud")
    assert (locked.locked, locked.HasField("locked_at")) == (True, True)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await login(auth, email)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert failure(refused.value).reason == "ACCOUNT_LOCKED"
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await login(auth, email, "a wrong password, not telling")
    assert failure(wrong.value).reason == "INVALID_CREDENTIALS"  # a lock is not revealed
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await refresh(auth, tokens.refresh_token)
    assert stale.value.code() == grpc.StatusCode.UNAUTHENTICATED

    unlocked = await auth.UnlockUser(
        pb.UnlockUserRequest(idempotency_key=key(), user_id=user_id), metadata=staff()
    )
    assert not unlocked.locked
    assert (await login(auth, email)).HasField("tokens")


async def test_locking_twice_changes_nothing_and_a_retry_answers_the_first_result(
    auth: AuthServiceStub, mail_dir: Path, flush_audit: Flush
) -> None:
    _, user_id, _ = await a_customer(auth, mail_dir)
    by = staff()
    request = pb.LockUserRequest(idempotency_key=key(), user_id=user_id, reason="spam")
    first = await auth.LockUser(request, metadata=by)
    again = await auth.LockUser(request, metadata=by)
    other_key = await lock(auth, user_id, by, "spam again")
    await flush_audit()

    assert again == first
    assert other_key.locked_at == first.locked_at
    trail = await auth.ListAuditEntries(
        pb.ListAuditEntriesRequest(
            target_type="user", target_id=user_id, action_prefix="auth.user_"
        ),
        metadata=staff(),
    )
    assert [e.action for e in trail.entries] == ["auth.user_locked"]


async def test_revoking_every_session_of_an_account_stops_its_refresh_tokens(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, user_id, laptop = await a_customer(auth, mail_dir)
    phone = (await login(auth, email, user_agent="Phone/2")).tokens

    ended = await auth.RevokeUserSessions(
        pb.RevokeUserSessionsRequest(idempotency_key=key(), user_id=user_id), metadata=staff()
    )

    assert ended.revoked == 2
    for tokens in (laptop, phone):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await refresh(auth, tokens.refresh_token)
        assert failure(refused.value).reason == "REFRESH_TOKEN_INVALID"
    details = await auth.GetUser(pb.GetUserRequest(user_id=user_id), metadata=staff())
    assert list(details.sessions) == []
    assert (await login(auth, email)).HasField("tokens")  # not locked: a new login works


async def test_resetting_totp_lets_the_account_enroll_again_and_ends_its_sessions(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, user_id, tokens = await a_customer(auth, mail_dir)
    await enroll_totp(auth, tokens.access_token)
    assert (await login(auth, email)).mfa_required

    reset = await auth.ResetUserTotp(
        pb.ResetUserTotpRequest(idempotency_key=key(), user_id=user_id), metadata=staff()
    )

    assert not reset.totp_enabled
    with pytest.raises(grpc.aio.AioRpcError):
        await refresh(auth, tokens.refresh_token)
    fresh = await login(auth, email)
    assert fresh.HasField("tokens")
    assert not fresh.mfa_required
    again = await auth.EnrollTotp(
        pb.EnrollTotpRequest(idempotency_key=key()), metadata=as_user(fresh.tokens.access_token)
    )
    assert again.secret


async def test_the_details_of_an_account_show_its_sessions_and_status_but_no_secret(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    email, user_id, tokens = await a_customer(auth, mail_dir)
    await enroll_totp(auth, tokens.access_token)

    details = await auth.GetUser(pb.GetUserRequest(user_id=user_id), metadata=staff())

    assert (details.user.email, details.user.totp_enabled, details.user.locked) == (
        email,
        True,
        False,
    )
    assert [s.id for s in details.sessions] == [tokens.session_id]
    assert not details.sessions[0].current
    fields = {
        field.name
        for message in (pb.UserDetails, pb.User, pb.Session)
        for field in message.DESCRIPTOR.fields
    }
    assert not {f for f in fields if any(w in f for w in ("secret", "hash", "code", "token"))}


async def test_users_are_searched_by_words_role_and_status(
    auth: AuthServiceStub, mail_dir: Path, database_url: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    plain = await verified_account(auth, mail_dir, f"plain-{tag}@example.com")
    await create_user(
        database_url,
        email=f"desk-{tag}@example.com",
        password=PASSWORD,
        name=f"Ada Desk{tag}",
        roles=["support"],
    )
    locked_email = await verified_account(auth, mail_dir, f"gone-{tag}@example.com")
    found = await auth.ListUsers(pb.ListUsersRequest(email_prefix=locked_email), metadata=staff())
    await lock(auth, found.users[0].id, staff())

    def search(**where: object) -> Awaitable[pb.ListUsersResponse]:
        return auth.ListUsers(pb.ListUsersRequest(**where), metadata=staff())  # type: ignore[arg-type]

    every = await search(query=tag)
    assert sorted(u.email for u in every.users) == sorted(
        [plain, f"desk-{tag}@example.com", locked_email]
    )
    by_name = await search(query=f"desk{tag.upper()} ada")
    assert [u.email for u in by_name.users] == [f"desk-{tag}@example.com"]
    support = await search(query=tag, role="support")
    assert [u.email for u in support.users] == [f"desk-{tag}@example.com"]
    locked = await search(query=tag, status=pb.USER_STATUS_LOCKED)
    assert [(u.email, u.locked) for u in locked.users] == [(locked_email, True)]
    active = await search(query=tag, status=pb.USER_STATUS_ACTIVE)
    assert locked_email not in [u.email for u in active.users]


async def test_staff_may_not_act_on_accounts_with_more_rights_or_on_their_own(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata
) -> None:
    _, user_id, _ = await a_customer(auth, mail_dir)
    await auth.AssignRole(
        pb.AssignRoleRequest(idempotency_key=key(), user_id=user_id, role="admin"), metadata=admin
    )

    with pytest.raises(grpc.aio.AioRpcError) as stronger:
        await lock(auth, user_id, staff())
    assert stronger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as own:
        await lock(auth, user_id, staff(subject=user_id))
    assert own.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await lock(auth, user_id, admin)).locked


async def test_staff_may_not_hand_out_a_role_with_permissions_they_lack(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, user_id, _ = await a_customer(auth, mail_dir)
    me = staff(subject=user_id)  # even to themselves

    with pytest.raises(grpc.aio.AioRpcError) as escalation:
        await auth.AssignRole(
            pb.AssignRoleRequest(idempotency_key=key(), user_id=user_id, role="admin"),
            metadata=me,
        )
    assert escalation.value.code() == grpc.StatusCode.PERMISSION_DENIED
    granted = await auth.AssignRole(
        pb.AssignRoleRequest(idempotency_key=key(), user_id=user_id, role="customer"),
        metadata=staff("auth:users:write", "orders:read:own", "support:read:own"),
    )
    assert list(granted.roles) == ["customer"]


async def test_a_customer_is_refused_every_staff_call(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, user_id, tokens = await a_customer(auth, mail_dir)
    me = as_user(tokens.access_token)
    calls = [
        auth.GetUser(pb.GetUserRequest(user_id=user_id), metadata=me),
        auth.LockUser(pb.LockUserRequest(idempotency_key=key(), user_id=user_id), metadata=me),
        auth.UnlockUser(pb.UnlockUserRequest(idempotency_key=key(), user_id=user_id), metadata=me),
        auth.RevokeUserSessions(
            pb.RevokeUserSessionsRequest(idempotency_key=key(), user_id=user_id), metadata=me
        ),
        auth.ResetUserTotp(
            pb.ResetUserTotpRequest(idempotency_key=key(), user_id=user_id), metadata=me
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_staff_actions_are_audited_with_the_staff_member_as_actor(
    auth: AuthServiceStub, mail_dir: Path, flush_audit: Flush
) -> None:
    _, user_id, tokens = await a_customer(auth, mail_dir)
    await enroll_totp(auth, tokens.access_token)
    staff_id = str(uuid.uuid4())
    by = staff(subject=staff_id)
    await lock(auth, user_id, by, "suspicious")
    await auth.UnlockUser(pb.UnlockUserRequest(idempotency_key=key(), user_id=user_id), metadata=by)
    await auth.RevokeUserSessions(
        pb.RevokeUserSessionsRequest(idempotency_key=key(), user_id=user_id), metadata=by
    )
    await auth.ResetUserTotp(
        pb.ResetUserTotpRequest(idempotency_key=key(), user_id=user_id), metadata=by
    )
    await flush_audit()

    done = await auth.ListAuditEntries(
        pb.ListAuditEntriesRequest(actor_subject=staff_id), metadata=staff()
    )

    assert [e.action for e in reversed(done.entries)] == [
        "auth.user_locked",
        "auth.user_unlocked",
        "auth.user_sessions_revoked",
        "auth.totp_reset",
    ]
    assert {(e.target_type, e.target_id) for e in done.entries} == {("user", user_id)}
    assert "suspicious" in done.entries[-1].detail


async def test_an_audit_target_id_without_its_type_is_refused(auth: AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await auth.ListAuditEntries(
            pb.ListAuditEntriesRequest(target_id=str(uuid.uuid4())), metadata=staff()
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in failure(refused.value).violations] == ["targetType"]
