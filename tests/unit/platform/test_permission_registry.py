"""The permission registry read from the protos' rules (docs/adr/0007)."""

from __future__ import annotations

import re

import pytest

from agora.platform.security.permissions import (
    AUTHENTICATED,
    CHECKED_IN_CODE,
    PUBLIC,
    SERVICE_PERMISSIONS,
    all_declared_permissions,
    declared_rules,
    rule_of,
)

NAME = re.compile(r"[a-z]+(:[a-z_]+){1,2}")
STAFF_MUTATIONS = re.compile(
    r"/agora\.catalog\.v1\.CatalogService/(Create|Update|Set|Publish|Archive|Restore)\w*"
)


def test_every_permission_is_named_service_resource_scope() -> None:
    assert all(NAME.fullmatch(name) for name in all_declared_permissions())


def test_the_registry_holds_the_ownership_permissions_services_check_in_code() -> None:
    assert all_declared_permissions() >= CHECKED_IN_CODE
    assert {"catalog:write", "orders:read:any", "payments:refund"} <= all_declared_permissions()


def test_service_identities_carry_only_registered_permissions() -> None:
    for name, permissions in SERVICE_PERMISSIONS.items():
        assert permissions <= all_declared_permissions(), name


def test_catalog_changes_need_a_staff_permission() -> None:
    rules = dict(declared_rules())
    mutations = [path for path in rules if STAFF_MUTATIONS.fullmatch(path)]

    assert mutations
    assert all(rules[path].permission.startswith("catalog:") for path in mutations)


@pytest.mark.parametrize(
    "method",
    [
        "/agora.catalog.v1.CatalogService/ReserveStock",
        "/agora.catalog.v1.CatalogService/CommitReservation",
        "/agora.catalog.v1.CatalogService/ReleaseReservation",
    ],
)
def test_reservations_are_for_the_orders_service(method: str) -> None:
    permission = dict(declared_rules())[method].permission

    assert permission == "catalog:reservations:write"
    assert permission in SERVICE_PERMISSIONS["orders"]


def test_health_and_reflection_are_public_and_unknown_methods_need_a_caller() -> None:
    assert rule_of("/grpc.health.v1.Health/Check") == PUBLIC
    assert rule_of("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") == PUBLIC
    assert rule_of("/no.such.v1.Service/Method") == AUTHENTICATED
