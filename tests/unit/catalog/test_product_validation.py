"""Validation of products, variants, prices and categories: violations named by JSON path."""

from __future__ import annotations

import uuid

import pytest

from agora.catalog.domain import (
    NewCategory,
    NewProduct,
    NewVariant,
    ProductChanges,
    price_list_violations,
    slugify,
    validate_new_category,
    validate_new_product,
    validate_on_hand,
    validate_product_changes,
)
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import Money


def product(**changes: object) -> NewProduct:
    fields: dict[str, object] = {
        "slug": "",
        "title": "Linen Shirt",
        "description": "Breathable.",
        "attributes": {"material": "linen"},
        "image_urls": ("https://img.example/1.jpg",),
        "category_id": None,
        "variants": (),
    }
    fields.update(changes)
    return NewProduct(**fields)  # type: ignore[arg-type]


def variant(sku: str = "SHIRT-M", *prices: Money) -> NewVariant:
    return NewVariant(sku=sku, title="M", options={"size": "M"}, prices=prices)


def fields_of(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_an_empty_title_is_named_title() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_product(product(title="   "))
    assert fields_of(error) == ["title"]


def test_a_negative_price_is_named_by_its_amount_path() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_product(product(variants=(variant("S-1", Money(-1, "EUR")),)))
    assert fields_of(error) == ["variants[0].prices[0].amountMinor"]


def test_a_negative_price_in_a_price_list_is_named_prices_index_amount_minor() -> None:
    found = price_list_violations([Money(100, "EUR"), Money(-5, "USD")], "prices")
    assert [v.field for v in found] == ["prices[1].amountMinor"]


def test_an_unknown_currency_and_a_repeated_currency_are_refused() -> None:
    found = price_list_violations([Money(1, "EUR"), Money(1, "XXX"), Money(2, "EUR")], "prices")
    assert [v.field for v in found] == ["prices[1].currency", "prices[2].currency"]


def test_yen_prices_are_whole_yen_and_zero_is_a_valid_price() -> None:
    assert price_list_violations([Money(1500, "JPY"), Money(0, "EUR")], "prices") == []


def test_the_slug_is_derived_from_the_title_when_missing() -> None:
    assert validate_new_product(product(title="  Linen Shirt — Blue ")).slug == "linen-shirt-blue"


@pytest.mark.parametrize("slug", ["Linen", "linen--shirt", "-linen", "linen shirt", "a" * 121])
def test_malformed_slugs_are_refused(slug: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_product(product(slug=slug))
    assert fields_of(error) == ["slug"]


def test_all_violations_are_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_product(
            product(
                title="",
                image_urls=("ftp://x",),
                category_id="nope",
                variants=(variant("bad sku"), variant("bad sku")),
            )
        )
    assert fields_of(error) == [
        "title",
        "imageUrls[0]",
        "categoryId",
        "variants[0].sku",
        "variants[1].sku",
        "variants[1].sku",
    ]


def test_a_valid_product_keeps_its_values() -> None:
    category = str(uuid.uuid4())
    valid = validate_new_product(
        product(category_id=category, variants=(variant("S-1", Money(1999, "EUR")),))
    )
    assert valid.slug == "linen-shirt"
    assert valid.category_id == category
    assert valid.variants[0].prices == (Money(1999, "EUR"),)


def test_slugify_drops_what_urls_cannot_carry() -> None:
    assert slugify("Café & Crème 100%!") == "cafe-creme-100"


def test_an_update_checks_only_the_masked_fields() -> None:
    changes = ProductChanges(fields=frozenset({"description"}), title="")
    assert validate_product_changes(changes) is changes
    with pytest.raises(InvalidArgument) as error:
        validate_product_changes(ProductChanges(fields=frozenset({"title"}), title=""))
    assert fields_of(error) == ["product.title"]


def test_an_update_mask_must_name_updatable_fields() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_product_changes(ProductChanges(fields=frozenset({"status"})))
    assert fields_of(error) == ["updateMask"]
    with pytest.raises(InvalidArgument):
        validate_product_changes(ProductChanges(fields=frozenset()))


def test_a_category_needs_a_name_and_a_valid_parent() -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_new_category(NewCategory(slug="", name=" ", parent_id="x"))
    assert fields_of(error) == ["name", "parentId"]
    assert validate_new_category(
        NewCategory(slug="", name="Home & Garden", parent_id=None)
    ).slug == ("home-garden")


@pytest.mark.parametrize("on_hand", [-1, 1_000_000_001])
def test_stock_on_hand_is_bounded(on_hand: int) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate_on_hand(on_hand)
    assert fields_of(error) == ["onHand"]
