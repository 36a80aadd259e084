"""Signing-key rotation and the JWKS, roles and permissions, and the append-only audit log."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from auth_support import (
    TIMEOUT_S,
    Clock,
    as_user,
    failure,
    key,
    kids,
    logged_in,
    login,
    unique_email,
    verified_account,
    verified_claims,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.auth.v1 import auth_pb2 as pb
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.auth.commands import rotate_signing_keys
from agora.auth.settings import AuthSettings
from agora.platform.security.envelope import SecretBox

Metadata = list[tuple[str, str]]
Flush = Callable[[], Awaitable[None]]


async def user_id_of(auth: AuthServiceStub, access_token: str) -> str:
    return (await auth.GetMe(pb.GetMeRequest(), metadata=as_user(access_token))).id


async def test_a_rotated_key_is_published_first_then_signs_and_old_tokens_stay_valid(
    auth: AuthServiceStub,
    mail_dir: Path,
    database_url: str,
    clock: Clock,
    auth_secrets: SecretBox,
) -> None:
    email, before = await logged_in(auth, mail_dir)
    old_header, _ = await verified_claims(auth, before.access_token)

    rotation = await rotate_signing_keys(
        database_url, auth_secrets, AuthSettings(key_activation_delay_s=12)
    )

    published = kids(await auth.GetJwks(pb.GetJwksRequest(), timeout=TIMEOUT_S))
    assert published[0] == rotation.new_kid
    assert old_header["kid"] in published
    not_yet, _ = await verified_claims(auth, (await login(auth, email)).tokens.access_token)
    assert not_yet["kid"] != rotation.new_kid

    clock.advance(13)
    after = (await login(auth, email)).tokens
    new_header, _ = await verified_claims(auth, after.access_token)
    assert new_header["kid"] == rotation.new_kid
    await verified_claims(auth, before.access_token)
    # Services verify both (the interceptor looks the new kid up in GetJwks).
    assert await user_id_of(auth, before.access_token) == await user_id_of(auth, after.access_token)

    clock.advance(900 + 61)  # past the old key's last token and the verifiers' leeway
    later = kids(await auth.GetJwks(pb.GetJwksRequest(), timeout=TIMEOUT_S))
    assert rotation.new_kid in later
    assert rotation.previous_kid not in later


async def test_the_jwks_holds_public_ed25519_keys_only(auth: AuthServiceStub) -> None:
    jwks = await auth.GetJwks(pb.GetJwksRequest(), timeout=TIMEOUT_S)

    assert jwks.keys
    for published in jwks.keys:
        assert (published.kty, published.crv, published.alg, published.use) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        assert "d" not in [f.name for f, _ in published.ListFields()]


async def test_builtin_roles_are_listed_with_admin_holding_every_permission(
    auth: AuthServiceStub, admin: Metadata
) -> None:
    roles = {r.name: r for r in (await auth.ListRoles(pb.ListRolesRequest(), metadata=admin)).roles}

    assert {"customer", "support", "staff", "admin"} <= set(roles)
    assert {"audit:read", "auth:roles:write", "catalog:write"} <= set(roles["admin"].permissions)
    assert roles["staff"].requires_2fa
    assert not roles["customer"].requires_2fa


async def test_a_custom_role_is_created_assigned_and_revoked_by_an_admin(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    user_id = await user_id_of(auth, tokens.access_token)
    name = f"refunds-{key()[:6]}"
    role = await auth.CreateRole(
        pb.CreateRoleRequest(
            idempotency_key=key(), name=name, permissions=["payments:refund"], description="desk"
        ),
        metadata=admin,
    )
    assert list(role.permissions) == ["payments:refund"]

    assigned = await auth.AssignRole(
        pb.AssignRoleRequest(idempotency_key=key(), user_id=user_id, role=name), metadata=admin
    )
    assert sorted(assigned.roles) == sorted(["customer", name])
    _, claims = await verified_claims(auth, (await login(auth, email)).tokens.access_token)
    assert "payments:refund" in claims["perms"]

    revoked = await auth.RevokeRole(
        pb.RevokeRoleRequest(idempotency_key=key(), user_id=user_id, role=name), metadata=admin
    )
    assert list(revoked.roles) == ["customer"]


async def test_a_role_with_an_unknown_permission_is_refused(
    auth: AuthServiceStub, admin: Metadata
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.CreateRole(
            pb.CreateRoleRequest(idempotency_key=key(), name="thief", permissions=["bank:rob"]),
            metadata=admin,
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_customer_may_not_manage_roles_or_list_users(
    auth: AuthServiceStub, mail_dir: Path
) -> None:
    _, tokens = await logged_in(auth, mail_dir)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await auth.ListUsers(pb.ListUsersRequest(), metadata=as_user(tokens.access_token))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_users_are_listed_by_email_prefix_page_by_page(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata
) -> None:
    prefix = f"lister-{key()[:6]}"
    emails = [await verified_account(auth, mail_dir, f"{prefix}-{i}@example.com") for i in range(3)]

    first = await auth.ListUsers(
        pb.ListUsersRequest(email_prefix=prefix, page_size=2), metadata=admin
    )
    second = await auth.ListUsers(
        pb.ListUsersRequest(email_prefix=prefix, page_size=2, page_token=first.next_page_token),
        metadata=admin,
    )

    assert [u.email for u in [*first.users, *second.users]] == emails
    assert not second.next_page_token


async def test_a_page_size_over_100_is_refused_naming_page_size(
    auth: AuthServiceStub, admin: Metadata
) -> None:
    for listing in (
        auth.ListUsers(pb.ListUsersRequest(page_size=101), metadata=admin),
        auth.ListAuditEntries(pb.ListAuditEntriesRequest(page_size=101), metadata=admin),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await listing
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in failure(refused.value).violations] == ["pageSize"]


async def test_a_page_token_serves_only_the_query_it_came_from(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata
) -> None:
    prefix = f"paged-{key()[:6]}"
    for i in range(2):
        await verified_account(auth, mail_dir, f"{prefix}-{i}@example.com")
    first = await auth.ListUsers(
        pb.ListUsersRequest(email_prefix=prefix, page_size=1), metadata=admin
    )
    assert first.next_page_token

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await auth.ListUsers(
            pb.ListUsersRequest(
                email_prefix="other", page_size=1, page_token=first.next_page_token
            ),
            metadata=admin,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in failure(refused.value).violations] == ["pageToken"]


async def test_role_changes_and_logins_are_in_the_audit_log(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata, flush_audit: Flush
) -> None:
    email, tokens = await logged_in(auth, mail_dir)
    user_id = await user_id_of(auth, tokens.access_token)
    with pytest.raises(grpc.aio.AioRpcError):
        await login(auth, email, "not the password at all", ip="198.51.100.9")
    await auth.AssignRole(
        pb.AssignRoleRequest(idempotency_key=key(), user_id=user_id, role="support"),
        metadata=admin,
    )
    await flush_audit()

    mine = await auth.ListAuditEntries(
        pb.ListAuditEntriesRequest(actor_subject=user_id), metadata=admin
    )
    actions = [e.action for e in mine.entries]
    assert actions[0] == "auth.login_failed"
    assert {"auth.registered", "auth.email_verified", "auth.login"} <= set(actions)
    failed = mine.entries[0]
    assert (failed.outcome, failed.client_ip, failed.service) == ("failed", "198.51.100.9", "auth")

    changes = await auth.ListAuditEntries(
        pb.ListAuditEntriesRequest(action_prefix="auth.role_"), metadata=admin
    )
    change = next(e for e in changes.entries if e.target_id == user_id)
    assert change.action == "auth.role_assigned"
    assert json.loads(change.before_json) == {"roles": ["customer"]}
    assert json.loads(change.after_json) == {"roles": ["customer", "support"]}
    assert change.actor_kind == "user"


async def test_audit_entries_page_newest_first_within_a_time_range(
    auth: AuthServiceStub, mail_dir: Path, admin: Metadata, flush_audit: Flush
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    _, tokens = await logged_in(auth, mail_dir)
    user_id = await user_id_of(auth, tokens.access_token)
    await flush_audit()
    request = pb.ListAuditEntriesRequest(actor_subject=user_id, page_size=1)
    request.occurred_after.FromDatetime(since)

    seen = []
    while True:
        page = await auth.ListAuditEntries(request, metadata=admin)
        seen.extend(page.entries)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token

    assert [e.action for e in seen] == ["auth.login", "auth.email_verified", "auth.registered"]
    assert [e.occurred_at.ToDatetime() for e in seen] == sorted(
        (e.occurred_at.ToDatetime() for e in seen), reverse=True
    )


async def test_the_audit_log_refuses_updates_and_deletes(
    auth_engine: AsyncEngine, auth: AuthServiceStub, mail_dir: Path, flush_audit: Flush
) -> None:
    await verified_account(auth, mail_dir, unique_email("audited"))
    await flush_audit()
    for statement in (
        "UPDATE audit_log SET outcome = 'success'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        async with auth_engine.begin() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(sa.text(statement))
    async with auth_engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM audit_log"))).scalar_one() > 0
