"""The field rules of the protos, checked by the platform's request validator (docs/adr/0008)."""

from __future__ import annotations

from agora._proto.agora.auth.v1 import auth_pb2
from agora._proto.agora.catalog.v1 import catalog_pb2
from agora._proto.agora.orders.v1 import orders_pb2
from agora.platform.errors import FieldViolation
from agora.platform.kernel.money import MAX_AMOUNT_MINOR
from agora.platform.validation import MAX_VIOLATIONS, RequestValidator

VARIANT = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def fields_of(violations: list[FieldViolation]) -> list[str]:
    return [v.field for v in violations]


def test_a_nul_in_any_string_is_refused_with_the_field_named_nested_and_repeated_too() -> None:
    request = catalog_pb2.CreateProductRequest(
        title="Lamp",
        image_urls=["/a.png", "/b\x00.png"],
        attributes={"colour": "re\x00d"},
        variants=[catalog_pb2.NewVariant(sku="L-1", title="Lamp\x00", prices=[])],
    )
    found = RequestValidator().violations(request)
    assert fields_of(found) == ["attributes['colour']", "imageUrls[1]", "variants[0].title"]
    assert {v.description for v in found} == {"must not contain NUL characters"}


def test_a_nul_in_a_field_without_any_rule_is_refused() -> None:
    # `ListSessionsRequest` has no fields; the TOTP code only a length: NUL is checked anyway.
    found = RequestValidator().violations(auth_pb2.ConfirmTotpRequest(code="12\x003456"))
    assert fields_of(found) == ["code"]


def test_a_500000_character_cancel_reason_is_refused_without_echoing_it() -> None:
    reason = "x" * 500_000
    found = RequestValidator().violations(orders_pb2.CancelOrderRequest(id=VARIANT, reason=reason))
    assert found == [FieldViolation("reason", "at most 2000 characters")]


def test_prices_above_the_shop_maximum_are_refused() -> None:
    money = catalog_pb2.Money(amount_minor=2**63 - 1, currency="EUR")
    request = catalog_pb2.SetPricesRequest(variant_id=VARIANT, prices=[money])
    found = RequestValidator().violations(request)
    assert fields_of(found) == ["prices[0].amountMinor"]
    at_most = catalog_pb2.Money(amount_minor=MAX_AMOUNT_MINOR, currency="EUR")
    assert (
        RequestValidator().violations(
            catalog_pb2.SetPricesRequest(variant_id=VARIANT, prices=[at_most])
        )
        == []
    )


def test_ids_formats_ranges_and_required_fields_are_checked() -> None:
    request = orders_pb2.AddCartLineRequest(cart_token="", variant_id="not-an-id", quantity=100)
    found = RequestValidator().violations(request)
    assert found == [
        FieldViolation("cartToken", "required"),
        FieldViolation("variantId", "not a valid id"),
        FieldViolation("quantity", "must be between 1 and 99"),
    ]


def test_a_list_longer_than_its_maximum_is_refused_once_not_per_item() -> None:
    line = catalog_pb2.ReservationLine(variant_id="bad\x00", quantity=1)
    found = RequestValidator().violations(catalog_pb2.ReserveStockRequest(lines=[line] * 201))
    assert found == [FieldViolation("lines", "at most 200 items")]
    many_bad = RequestValidator().violations(catalog_pb2.ReserveStockRequest(lines=[line] * 200))
    assert len(many_bad) == MAX_VIOLATIONS


def test_a_valid_request_has_no_violations() -> None:
    request = orders_pb2.SetShippingAddressRequest(
        cart_token="tok",
        address=orders_pb2.Address(
            name="Ada", line1="1 Main St", city="Berlin", country="de", email="ada@example.org"
        ),
    )
    assert RequestValidator().violations(request) == []
