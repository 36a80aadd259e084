"""The verified caller of the RPC being served, set by the security interceptor."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

PrincipalKind = Literal["user", "service", "anonymous"]


@dataclass(frozen=True)
class Principal:
    """A verified token's holder: a user (by id), a service (`service:<name>`) or nobody."""

    subject: str
    kind: PrincipalKind
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    session_id: str = ""
    auth_methods: tuple[str, ...] = ()

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def owns(self, customer_id: str) -> bool:
        """True when this is the user `customer_id` (ownership of orders, carts, sessions)."""
        return self.kind == "user" and bool(customer_id) and self.subject == customer_id


ANONYMOUS = Principal(subject="", kind="anonymous")

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "agora_principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    """The caller of the RPC being served (ANONYMOUS outside a call or for a public call)."""
    return _current.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Make `principal` the current one for the block (the interceptor wraps each call)."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)
