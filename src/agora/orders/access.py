"""Who may see and change carts and orders (docs/adr/0007).

A guest cart (no `customer_id`) belongs to whoever holds its unguessable token. A guest order
belongs to whoever holds its access token, a capability made at checkout and handed to the guest
once (only its SHA-256 is kept); its id alone is no credential, since it travels in invoices,
events and links. A customer's cart or order belongs to that customer (`orders:read:own`) and to
staff (`orders:read:any` to read, `orders:write:any` to change). Anyone else is told it does not
exist (NOT_FOUND), so an id never reveals that someone else's order exists.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from agora.platform.errors import NotFound, PermissionDenied
from agora.platform.security.permissions import ORDERS_READ_ANY, ORDERS_READ_OWN, ORDERS_WRITE_ANY
from agora.platform.security.principal import Principal


def may_read(principal: Principal, customer_id: str) -> bool:
    if not customer_id:
        return True
    if principal.can(ORDERS_READ_ANY):
        return True
    return principal.owns(customer_id) and principal.can(ORDERS_READ_OWN)


def may_change(principal: Principal, customer_id: str) -> bool:
    if not customer_id:
        return True
    if principal.can(ORDERS_WRITE_ANY):
        return True
    return principal.owns(customer_id) and principal.can(ORDERS_READ_OWN)


def ensure_readable(principal: Principal, customer_id: str, resource: str, name: str) -> None:
    """NOT_FOUND unless `principal` may see the cart or order of `customer_id`."""
    if not may_read(principal, customer_id):
        raise NotFound(resource, name)


def ensure_changeable(principal: Principal, customer_id: str, resource: str, name: str) -> None:
    """NOT_FOUND unless `principal` may change the cart or order of `customer_id`."""
    if not may_change(principal, customer_id):
        raise NotFound(resource, name)


@dataclass(frozen=True)
class OrderCapability:
    """A guest order's access token (given to the guest) and its digest (kept)."""

    token: str
    digest: bytes


def new_order_capability() -> OrderCapability:
    """256 random bits, URL-safe: the storefront puts it in the order's link."""
    token = secrets.token_urlsafe(32)
    return OrderCapability(token, token_digest(token))


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def may_read_order(principal: Principal, customer_id: str, *, holds_token: bool) -> bool:
    """A customer's order as for carts; a guest order to staff and the access token's holder."""
    if customer_id:
        return may_read(principal, customer_id)
    return holds_token or principal.can(ORDERS_READ_ANY)


def may_change_order(principal: Principal, customer_id: str, *, holds_token: bool) -> bool:
    if customer_id:
        return may_change(principal, customer_id)
    return holds_token or principal.can(ORDERS_WRITE_ANY)


def ensure_may_list(principal: Principal, customer_id: str) -> None:
    """A customer lists their own orders; staff anyone's (PERMISSION_DENIED otherwise: the
    customer id is in the request, nothing is revealed by refusing)."""
    if principal.can(ORDERS_READ_ANY):
        return
    if not principal.owns(customer_id):
        raise PermissionDenied.missing(ORDERS_READ_ANY)
    if not principal.can(ORDERS_READ_OWN):
        raise PermissionDenied.missing(ORDERS_READ_OWN)


def new_cart_owner(principal: Principal, requested: str) -> str:
    """The `customer_id` of a new cart: the user's own; a customer named in the request only for
    staff (`orders:write:any`); none for a guest."""
    requested = requested.strip()
    if requested and principal.can(ORDERS_WRITE_ANY):
        return requested
    if principal.kind == "user":
        return principal.subject
    if requested:
        raise PermissionDenied.missing(ORDERS_WRITE_ANY)
    return ""


def order_owner(principal: Principal, cart_customer_id: str) -> str:
    """The `customer_id` of an order placed from a cart: the cart's customer, else the user who
    places it (a guest cart checked out while logged in), else none (a guest order)."""
    if cart_customer_id:
        return cart_customer_id
    return principal.subject if principal.kind == "user" else ""
