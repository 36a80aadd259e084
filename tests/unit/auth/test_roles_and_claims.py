"""Built-in roles over the permission registry, custom roles, what a session's token carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agora.auth.domain import (
    ADMIN,
    BUILTIN_ROLES,
    CUSTOMER,
    DEFAULT_2FA_ROLES,
    STAFF,
    SUPPORT,
    SigningKeySlot,
    access_claims,
    builtin_roles,
    published_keys,
    retired_key_published_until,
    scheduled_key,
    session_grant,
    signing_key,
    successor_schedule,
    validate_new_role,
)
from agora.auth.settings import AuthSettings
from agora.platform.errors import InvalidArgument
from agora.platform.security.jwks import MIN_REFRESH_INTERVAL_S
from agora.platform.security.permissions import all_declared_permissions

REGISTRY = frozenset(
    {
        "audit:read",
        "auth:roles:write",
        "auth:users:read",
        "auth:users:write",
        "catalog:read",
        "catalog:write",
        "orders:read:any",
        "orders:read:own",
        "payments:invoices:read",
        "payments:refund",
        "support:conversations:read",
        "support:conversations:write",
        "support:read:own",
    }
)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_admin_holds_every_permission_of_the_registry() -> None:
    assert builtin_roles(REGISTRY)[ADMIN].permissions == REGISTRY


def test_admin_holds_every_permission_declared_by_the_protos() -> None:
    declared = all_declared_permissions()
    assert "audit:read" in declared
    assert "auth:roles:write" in declared
    assert builtin_roles(declared)[ADMIN].permissions == declared


def test_customers_hold_only_permissions_on_their_own_things() -> None:
    assert builtin_roles(REGISTRY)[CUSTOMER].permissions == {"orders:read:own", "support:read:own"}


def test_staff_manage_catalog_orders_and_payments_and_read_the_audit_but_not_roles() -> None:
    staff = builtin_roles(REGISTRY)[STAFF].permissions
    assert {
        "catalog:write",
        "orders:read:any",
        "payments:refund",
        "payments:invoices:read",
        "audit:read",
    } <= staff
    assert not {"auth:roles:write", "auth:users:write"} & staff


def test_support_reads_the_shop_and_answers_the_chat_queue() -> None:
    support = builtin_roles(REGISTRY)[SUPPORT].permissions
    assert support == {
        "catalog:read",
        "orders:read:any",
        "orders:read:own",
        "payments:invoices:read",
        "auth:users:read",
        "support:conversations:read",
        "support:conversations:write",
        "support:read:own",
    }


def test_every_builtin_role_is_defined() -> None:
    assert set(builtin_roles(REGISTRY)) == set(BUILTIN_ROLES)


def test_a_custom_role_takes_known_permissions_only() -> None:
    role = validate_new_role("refunds", "refund desk", ["payments:refund"], REGISTRY)
    assert role.permissions == {"payments:refund"}
    assert not role.builtin
    with pytest.raises(InvalidArgument) as error:
        validate_new_role("refunds", "", ["payments:refund", "payments:steal"], REGISTRY)
    assert [v.field for v in error.value.violations] == ["permissions[1]"]


@pytest.mark.parametrize("description", ["x" * 501, "refund\x00desk"])
def test_a_custom_roles_description_is_bounded_and_nul_free(description: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_role("refunds", description, ["payments:refund"], REGISTRY)
    assert [v.field for v in error.value.violations] == ["description"]


@pytest.mark.parametrize("name", ["admin", "A", "has space", "x" * 41, "1st"])
def test_a_custom_role_needs_a_fresh_well_formed_name(name: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_role(name, "", ["catalog:read"], REGISTRY)
    assert error.value.violations[0].field == "name"


def test_roles_requiring_2fa_are_withheld_from_a_password_only_session() -> None:
    roles = builtin_roles(REGISTRY)
    grant = session_grant(
        [CUSTOMER, STAFF], roles, amr=["pwd"], require_2fa_roles=DEFAULT_2FA_ROLES
    )
    assert grant.roles == (CUSTOMER,)
    assert grant.withheld_roles == (STAFF,)
    assert grant.permissions == ("orders:read:own", "support:read:own")


def test_a_session_with_a_second_factor_gets_every_role() -> None:
    roles = builtin_roles(REGISTRY)
    grant = session_grant(
        [STAFF, CUSTOMER, "gone"], roles, amr=["pwd", "otp"], require_2fa_roles=DEFAULT_2FA_ROLES
    )
    assert grant.roles == (CUSTOMER, STAFF)
    assert list(grant.permissions) == sorted(grant.permissions)
    assert "catalog:write" in grant.permissions


def test_access_claims_are_those_of_adr_0007() -> None:
    roles = builtin_roles(REGISTRY)
    grant = session_grant([CUSTOMER], roles, amr=["pwd"], require_2fa_roles=())
    claims = access_claims(
        user_id="u1", session_id="s1", grant=grant, amr=["pwd"], now=NOW, ttl_s=900, jti="j1"
    )
    issued = int(NOW.timestamp())
    assert claims == {
        "iss": "agora",
        "aud": "agora",
        "sub": "u1",
        "sid": "s1",
        "roles": ["customer"],
        "perms": ["orders:read:own", "support:read:own"],
        "amr": ["pwd"],
        "iat": issued,
        "nbf": issued,
        "exp": issued + 900,
        "jti": "j1",
    }


def test_a_retired_key_is_published_past_its_last_tokens_expiry_and_the_leeway() -> None:
    until = retired_key_published_until(NOW, 900)
    assert until >= NOW + timedelta(seconds=900 + 30)


def slot(
    kid: str, created_s: int, activates_s: int, published_for_s: int | None = None
) -> SigningKeySlot:
    until = None if published_for_s is None else NOW + timedelta(seconds=published_for_s)
    at = NOW + timedelta(seconds=created_s)
    return SigningKeySlot(kid, at, NOW + timedelta(seconds=activates_s), until)


def test_the_newest_active_key_signs_and_a_scheduled_one_waits() -> None:
    keys = [slot("old", -7200, -3600, 1000), slot("current", -90, -60, 2000), slot("next", 0, 30)]
    assert signing_key(keys, NOW) == keys[1]
    assert signing_key(keys, NOW + timedelta(seconds=30)) == keys[2]
    assert signing_key([slot("next", 0, 30)], NOW) is None


def test_a_later_rotation_with_a_shorter_delay_wins_over_an_earlier_one() -> None:
    slow = slot("slow", -10, 60, 1000)
    quick = slot("quick", -5, 0)
    assert signing_key([slow, quick], NOW + timedelta(seconds=90)) == quick


def test_the_next_key_is_published_before_it_signs_and_old_ones_until_their_end() -> None:
    keys = [slot("old", -7200, -3600, -1), slot("current", -90, -60, 2000), slot("next", 0, 30)]
    assert [k.kid for k in published_keys(keys, NOW)] == ["next", "current"]


def test_a_successor_signs_after_the_delay_and_its_predecessor_outlives_its_last_token() -> None:
    activates_at, predecessor_until = successor_schedule(
        NOW, activation_delay_s=30, access_ttl_s=900
    )
    assert activates_at == NOW + timedelta(seconds=30)
    assert predecessor_until == retired_key_published_until(activates_at, 900)


def test_a_new_key_is_published_longer_than_a_verifier_waits_before_looking_for_it() -> None:
    assert AuthSettings().key_activation_delay_s > MIN_REFRESH_INTERVAL_S


def test_a_first_key_signs_at_once_when_no_key_signs_yet() -> None:
    activates_at, _ = successor_schedule(
        NOW, activation_delay_s=30, access_ttl_s=900, predecessor_signs=False
    )
    assert activates_at == NOW


def test_the_earliest_scheduled_unretired_key_is_the_one_waiting() -> None:
    keys = [slot("retired", 10, 20, 40), slot("later", 0, 60), slot("sooner", 0, 30)]
    waiting = scheduled_key(keys, NOW)
    assert waiting is not None
    assert waiting.kid == "sooner"
    assert scheduled_key([slot("current", -90, -60)], NOW) is None
