"""Who may see and change carts and orders (docs/adr/0007).

A guest cart or guest order (no `customer_id`) belongs to whoever holds its unguessable token or
id. A customer's belongs to that customer (`orders:read:own`) and to staff (`orders:read:any` to
read, `orders:write:any` to change). Anyone else is told it does not exist (NOT_FOUND), so an id
never reveals that someone else's order exists.
"""

from __future__ import annotations

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
