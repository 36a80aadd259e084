"""The permission registry: every RPC's `(agora.options.v1.rule)`, the permissions services check
in code (ownership), and what each service's own identity may do (docs/adr/0007).

Names are `<service>:<resource>[:<scope>]`: `catalog:write`, `orders:read:any`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import MethodDescriptor

import agora._proto
from agora._proto.agora.options.v1 import options_pb2

DESCRIPTOR_SET_PATH = Path(agora._proto.__file__).parent / "descriptors.binpb"

# Checked by the owning service on top of the method's rule (`current_principal().can(...)`).
ORDERS_READ_OWN = "orders:read:own"
ORDERS_READ_ANY = "orders:read:any"
ORDERS_WRITE_ANY = "orders:write:any"
# Declared by the refund RPCs' rules too; checked in code where an approval carries a refund.
ORDERS_REFUND = "orders:refund"
# The support chat is one public stream: who may take a conversation over, and read their own
# conversations, is checked in the servicer.
SUPPORT_CONVERSATIONS_WRITE = "support:conversations:write"
SUPPORT_READ_OWN = "support:read:own"
CHECKED_IN_CODE: frozenset[str] = frozenset(
    {ORDERS_READ_OWN, ORDERS_READ_ANY, ORDERS_WRITE_ANY, ORDERS_REFUND,
     SUPPORT_CONVERSATIONS_WRITE, SUPPORT_READ_OWN}
)  # fmt: skip

# What a service's own token (`service:<name>`) carries: exactly what it calls elsewhere.
# `seed` is the demo seeder of `agora up` / `agora seed`.
SERVICE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "catalog": frozenset(),
    "orders": frozenset(
        {
            "catalog:read",
            "catalog:reservations:write",
            "payments:invoices:write",
            # Staff's refunds and cancellations of paid orders go through payments.
            "payments:refund",
        }
    ),
    # The `chain` payment provider asks the chain service for an invoice's payment options.
    "payments": frozenset({"chain:payments:write"}),
    # Reconciliation reads payments' crypto ledger.
    "chain": frozenset({"payments:invoices:read"}),
    "auth": frozenset(),
    # The edge proves itself with its own token only so services trust the origin it reports
    # (`x-agora-gateway`); it acts with its clients' tokens, never its own.
    "gateway": frozenset(),
    # `agora bench checkout` tops up and reads the stock it sells; `agora bench chain` creates
    # the invoices its transfers pay; `agora bench admin` reads the analytics it rebuilt and
    # exports a report of them.
    "bench": frozenset(
        {
            "catalog:stock:read",
            "catalog:stock:write",
            "payments:invoices:write",
            "admin:analytics:read",
            "admin:reports:read",
        }
    ),
    # `agora chain reconcile` starts a reconciliation and reads its report.
    "chain-reconcile": frozenset({"chain:reconcile", "chain:read"}),
    # Scheduled reports look up their staff recipients' addresses.
    "admin": frozenset({"auth:users:read"}),
}

# Always callable without a token: load balancers and tools probe them.
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

# The generated stub types extensions as plain FieldDescriptors, which typeshed's
# Extensions[...] rejects; this is the `(agora.options.v1.rule)` method option.
_RULE: Any = options_pb2.rule


@dataclass(frozen=True)
class Rule:
    """Who may call a method: anyone (`public`), holders of `permission`, or else any
    authenticated caller."""

    public: bool = False
    permission: str = ""

    @property
    def authenticated_only(self) -> bool:
        return not self.public and not self.permission


PUBLIC = Rule(public=True)
AUTHENTICATED = Rule()


def service_permissions(name: str) -> frozenset[str]:
    """The permissions of `service:<name>` (none for a service not listed)."""
    return SERVICE_PERMISSIONS.get(name, frozenset())


def rule_of_method(method: MethodDescriptor) -> Rule:
    """The rule a method declares (a method without one needs an authenticated caller)."""
    options = method.GetOptions()
    if not options.HasExtension(_RULE):
        return AUTHENTICATED
    declared = options.Extensions[_RULE]
    return Rule(public=declared.public, permission=declared.permission)


def rule_of(method_path: str, pool: descriptor_pool.DescriptorPool | None = None) -> Rule:
    """The rule of `/package.Service/Method`, from the descriptors of the served protos.

    Health and reflection are public; a method unknown to the pool needs an authenticated
    caller (never public by accident).
    """
    if method_path.startswith(PUBLIC_SERVICES):
        return PUBLIC
    service, _, name = method_path.lstrip("/").partition("/")
    try:
        method = (pool or descriptor_pool.Default()).FindMethodByName(f"{service}.{name}")
    except KeyError:
        return AUTHENTICATED
    return rule_of_method(method)


def declared_rules(
    descriptor_set: descriptor_pb2.FileDescriptorSet | None = None,
) -> Iterator[tuple[str, Rule]]:
    """(`/package.Service/Method`, rule) of every method of every Agora proto."""
    files = descriptor_set or _generated_descriptor_set()
    for file in files.file:
        for service in file.service:
            for method in service.method:
                path = f"/{file.package}.{service.name}/{method.name}"
                if method.options.HasExtension(_RULE):
                    declared = method.options.Extensions[_RULE]
                    yield path, Rule(public=declared.public, permission=declared.permission)
                else:
                    yield path, AUTHENTICATED


def all_declared_permissions(
    descriptor_set: descriptor_pb2.FileDescriptorSet | None = None,
) -> frozenset[str]:
    """The permission registry: every permission a rule declares or a service checks in code."""
    declared = {rule.permission for _, rule in declared_rules(descriptor_set) if rule.permission}
    return frozenset(declared | CHECKED_IN_CODE)


@cache
def streaming_methods(
    descriptor_set: descriptor_pb2.FileDescriptorSet | None = None,
) -> tuple[str, ...]:
    """`package.Service/Method` of every Agora method that streams requests or answers."""
    files = descriptor_set or _generated_descriptor_set()
    return tuple(
        f"{file.package}.{service.name}/{method.name}"
        for file in files.file
        for service in file.service
        for method in service.method
        if method.client_streaming or method.server_streaming
    )


@cache
def _generated_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET_PATH.read_bytes())
