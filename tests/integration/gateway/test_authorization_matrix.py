"""Who may call what, for every REST route: generated from the descriptors, asserted over HTTP
through the real gateway and the real services (docs/adr/0007).

For each route and each caller (anonymous, and a token of each built-in role with exactly that
role's permissions, as auth grants them), the expected outcome follows from the route's declared
rule: public routes let everyone through; the others refuse an anonymous caller with 401
TOKEN_MISSING, and a caller without the declared permission with 403 PERMISSION_MISSING.
"Let through" means the answer is not a refusal: whatever the service then says about the
request itself (400 for an empty body, 404 for a made-up id) is not a 401 or a 403. A path that
names a customer names the caller (a customer's own orders); another customer's are refused in
code, beyond the declared rule: `test_a_customer_lists_only_their_own_orders`; a guest order is
reached only with the access token its checkout gave (or by staff), and an invoice in full only
by its customer and staff, everyone else getting its payment view:
`test_guest_orders_and_invoices_by_id_need_the_capability_the_owner_or_staff`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from edge_stack import EdgeStack
from google.protobuf.descriptor import FieldDescriptor

from agora.auth.domain import BUILTIN_ROLES, builtin_roles
from agora.gateway.descriptors import default_pool, files_of, read_descriptor_set
from agora.gateway.templates import Segment
from agora.gateway.transcoding import Route, build_routes
from agora.platform.security.permissions import all_declared_permissions

ANONYMOUS = "anonymous"
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    name: role.permissions for name, role in builtin_roles(all_declared_permissions()).items()
}
CALLERS = (ANONYMOUS, *BUILTIN_ROLES)
ROUTES: list[Route] = build_routes(files_of(read_descriptor_set(), default_pool()))
# A session with its second factor: roles that require 2FA keep their permissions.
AUTH_METHODS = ["pwd", "otp"]
# Path variables naming the owner of what is asked for: the caller's own subject goes there.
OWNER_FIELDS = frozenset({"customer_id"})
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


@dataclass(frozen=True)
class Expectation:
    status: int | None  # None: let through
    reason: str = ""

    def __str__(self) -> str:
        return "allowed" if self.status is None else f"{self.status} {self.reason}"


ALLOWED = Expectation(None)
NO_TOKEN = Expectation(401, "TOKEN_MISSING")
NO_PERMISSION = Expectation(403, "PERMISSION_MISSING")


def expected(route: Route, caller: str) -> Expectation:
    """What the route's declared rule says about this caller."""
    if route.policy.public:
        return ALLOWED
    if caller == ANONYMOUS:
        return NO_TOKEN
    permission = route.policy.permission
    if permission and permission not in ROLE_PERMISSIONS[caller]:
        return NO_PERMISSION
    return ALLOWED


def sample_value(field: FieldDescriptor) -> str:
    """A well-formed value for a path variable, so that the request reaches the service."""
    if field.enum_type is not None:
        values = [v for v in field.enum_type.values if v.number != 0] or field.enum_type.values
        return values[0].name
    if field.type in _INTEGER_TYPES:
        return "1"
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true"
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return "1.5"
    return str(uuid.uuid4())


def concrete_path(route: Route, subject: str) -> str:
    """The route's template with a sample value in every variable and wildcard, and `subject`
    as the owner."""
    template = route.rule.template
    pieces: list[str] = []
    for part in template.parts:
        if isinstance(part, Segment):
            pieces.append(part.literal or str(uuid.uuid4()))
            continue
        leaf = route.path_fields[part.name][-1]
        value = subject if leaf.name in OWNER_FIELDS else sample_value(leaf)
        pieces.append("/".join(s.literal or value for s in part.segments))
    path = "/" + "/".join(pieces)
    return f"{path}:{template.verb}" if template.verb else path


def matrix() -> Iterator[tuple[Route, str]]:
    for route in ROUTES:
        for caller in CALLERS:
            yield route, caller


def case_id(case: tuple[Route, str]) -> str:
    route, caller = case
    return f"{route.rule.http_method} {route.rule.template.source} as {caller}"


CASES = list(matrix())


def test_the_matrix_covers_every_route_and_role() -> None:
    services = {route.backend for route in ROUTES}

    assert {"catalog", "orders", "payments", "auth"} <= services
    assert set(CALLERS) == {ANONYMOUS, "customer", "support", "staff", "admin"}
    # Every kind of rule is exercised: public, authenticated only, and a permission.
    assert any(route.policy.public for route in ROUTES)
    assert any(not route.policy.public and not route.policy.permission for route in ROUTES)
    assert any(route.policy.permission for route in ROUTES)
    assert ROLE_PERMISSIONS["admin"] >= {r.policy.permission for r in ROUTES} - {""}


@pytest.fixture(scope="module")
def role_subjects() -> dict[str, str]:
    return {caller: str(uuid.uuid4()) for caller in CALLERS}


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
async def test_each_route_lets_through_exactly_the_callers_its_rule_names(
    edge: EdgeStack,
    mint_token: Callable[..., str],
    role_subjects: dict[str, str],
    case: tuple[Route, str],
) -> None:
    route, caller = case
    headers = {"Accept": "application/json"}
    if caller != ANONYMOUS:
        headers["Authorization"] = _bearer(mint_token, caller, role_subjects[caller])
    async with (
        edge.client(_client_ip(caller)) as http,
        http.stream(
            route.rule.http_method,
            concrete_path(route, role_subjects[caller]),
            json={} if route.has_body else None,
            headers=headers,
        ) as response,
    ):
        # An event stream stays open: its status says enough.
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()

    want = expected(route, caller)
    got = _outcome(response)
    assert got == str(want), (
        f"{case_id(case)} (rule: {_rule(route)}): expected {want}, got {response.status_code} "
        f"{response.text[:300]}"
    )


async def test_a_customer_lists_only_their_own_orders(
    edge: EdgeStack, mint_token: Callable[..., str], role_subjects: dict[str, str]
) -> None:
    ada, someone = role_subjects["customer"], str(uuid.uuid4())
    as_ada = {"Authorization": _bearer(mint_token, "customer", ada)}
    as_support = {"Authorization": _bearer(mint_token, "support", role_subjects["support"])}
    async with edge.client(_client_ip("customer")) as http:
        own = await http.get(f"/v1/customers/{ada}/orders", headers=as_ada)
        other = await http.get(f"/v1/customers/{someone}/orders", headers=as_ada)
    async with edge.client(_client_ip("support")) as http:
        by_support = await http.get(f"/v1/customers/{someone}/orders", headers=as_support)

    assert own.status_code == 200, own.text
    assert other.status_code == 403
    assert other.json()["reason"] == "PERMISSION_MISSING"
    assert by_support.status_code == 200, by_support.text


BERLIN = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postalCode": "10115",
    "country": "DE",
    "email": "ada@example.com",
    "phone": "+49 30 1234567",
}


async def _json(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _variant(http: httpx.AsyncClient, as_admin: dict[str, str]) -> tuple[str, str]:
    slug = f"matrix-{uuid.uuid4().hex[:10]}"
    product = await _json(
        await http.post(
            "/v1/products",
            headers=as_admin,
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "title": "Matrix Lamp",
                "slug": slug,
                "variants": [
                    {
                        "sku": slug.upper(),
                        "title": "Brass",
                        "prices": [{"amountMinor": "900", "currency": "EUR"}],
                    }
                ],
            },
        )
    )
    variant_id = product["variants"][0]["id"]
    stock = {"idempotencyKey": str(uuid.uuid4()), "onHand": "10"}
    await _json(await http.put(f"/v1/variants/{variant_id}/stock", headers=as_admin, json=stock))
    publish = {"idempotencyKey": str(uuid.uuid4())}
    path = f"/v1/products/{product['id']}:publish"
    await _json(await http.post(path, headers=as_admin, json=publish))
    return product["id"], variant_id


async def _checkout(
    http: httpx.AsyncClient, variant: tuple[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    """An order placed through the REST API by whoever `headers` name (none: a guest)."""

    def body(**fields: Any) -> dict[str, Any]:
        return {"idempotencyKey": str(uuid.uuid4()), **fields}

    cart = await _json(await http.post("/v1/carts", headers=headers, json=body(currency="EUR")))
    lines = body(productId=variant[0], variantId=variant[1], quantity=1)
    at = f"/v1/carts/{cart['token']}"
    await _json(await http.post(f"{at}/lines", headers=headers, json=lines))
    address = {"idempotencyKey": str(uuid.uuid4())}
    await _json(
        await http.put(f"{at}/shipping-address", headers=headers, params=address, json=BERLIN)
    )
    method = body(code="de-standard")
    await _json(await http.put(f"{at}/shipping-method", headers=headers, json=method))
    return await _json(
        await http.post("/v1/orders", headers=headers, json=body(cartToken=cart["token"]))
    )


async def _invoice_of(
    http: httpx.AsyncClient, order: dict[str, Any], headers: dict[str, str]
) -> str:
    """The invoice the checkout saga attaches to the order, read as `headers` allow."""
    params = {"accessToken": order["accessToken"]} if order.get("accessToken") else {}
    for _ in range(300):
        found = await _json(
            await http.get(f"/v1/orders/{order['id']}", headers=headers, params=params)
        )
        if found.get("invoiceId"):
            return str(found["invoiceId"])
        await asyncio.sleep(0.1)
    raise AssertionError("no invoice was attached to the order")


async def test_guest_orders_and_invoices_by_id_need_the_capability_the_owner_or_staff(
    edge: EdgeStack, mint_token: Callable[..., str], role_subjects: dict[str, str]
) -> None:
    ada = role_subjects["customer"]
    as_ada = {"Authorization": _bearer(mint_token, "customer", ada)}
    as_other = {"Authorization": _bearer(mint_token, "customer", str(uuid.uuid4()))}
    as_support = {"Authorization": _bearer(mint_token, "support", role_subjects["support"])}
    as_admin = {"Authorization": _bearer(mint_token, "admin", role_subjects["admin"])}
    async with edge.client("198.18.100.1") as http:
        variant = await _variant(http, as_admin)
        guest_order = await _checkout(http, variant, {})
        adas_order = await _checkout(http, variant, as_ada)
        guest_invoice = await _invoice_of(http, guest_order, {})
        adas_invoice = await _invoice_of(http, adas_order, as_ada)
        order_at = f"/v1/orders/{guest_order['id']}"
        capability = {"accessToken": guest_order["accessToken"]}
        orders = {
            "anonymous by id": await http.get(order_at),
            "another customer by id": await http.get(order_at, headers=as_other),
            "a made-up token": await http.get(order_at, params={"accessToken": "x" * 43}),
            "the capability": await http.get(order_at, params=capability),
            "support": await http.get(order_at, headers=as_support),
        }
        invoices = {
            "anonymous": await http.get(f"/v1/invoices/{guest_invoice}"),
            "another customer": await http.get(f"/v1/invoices/{adas_invoice}", headers=as_other),
            "a customer, a guest's": await http.get(
                f"/v1/invoices/{guest_invoice}", headers=as_ada
            ),
            "its customer": await http.get(f"/v1/invoices/{adas_invoice}", headers=as_ada),
            "support": await http.get(f"/v1/invoices/{guest_invoice}", headers=as_support),
        }
        payment_view = await http.get(f"/v1/invoices/{guest_invoice}/payment")

    assert {name: r.status_code for name, r in orders.items()} == {
        "anonymous by id": 404,
        "another customer by id": 404,
        "a made-up token": 404,
        "the capability": 200,
        "support": 200,
    }
    assert orders["the capability"].json().get("accessToken", "") == ""
    assert {name: r.status_code for name, r in invoices.items()} == {
        "anonymous": 401,
        "another customer": 404,
        "a customer, a guest's": 404,
        "its customer": 200,
        "support": 200,
    }
    assert invoices["its customer"].json()["customerId"] == ada
    assert invoices["support"].json()["reference"] == guest_order["id"]
    view = await _json(payment_view)
    assert view["id"] == guest_invoice
    assert {"reference", "customerId", "payments"}.isdisjoint(view)
    for private in (guest_order["id"], BERLIN["email"], BERLIN["phone"]):
        assert private not in payment_view.text


def _bearer(mint_token: Callable[..., str], role: str, subject: str) -> str:
    token = mint_token(subject, roles=[role], permissions=ROLE_PERMISSIONS[role], amr=AUTH_METHODS)
    return f"Bearer {token}"


def _client_ip(caller: str) -> str:
    # One client address per caller: the matrix stays under the per-IP rate limit.
    return f"198.18.{CALLERS.index(caller)}.1"


def _outcome(response: httpx.Response) -> str:
    if response.status_code not in (401, 403):
        assert response.status_code != 429, "rate limited: the matrix must stay under the limits"
        return "allowed"
    return f"{response.status_code} {response.json().get('reason', '')}"


def _rule(route: Route) -> str:
    if route.policy.public:
        return "public"
    return f"permission {route.policy.permission}" if route.policy.permission else "authenticated"
