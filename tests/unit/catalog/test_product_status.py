"""The product status machine, every (status, action) pair, and the rules of changing a
product: publication, optimistic versions, variant positions."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agora.catalog.domain import (
    PRODUCT_TRANSITIONS,
    Product,
    ProductAction,
    ProductStatus,
    Variant,
    VariantChanges,
    change_product_status,
    changed_variant,
    ensure_publishable,
    ensure_version,
    next_product_status,
    next_variant_position,
    validate_variant_changes,
)
from agora.platform.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument
from agora.platform.kernel.money import Money

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)

ALLOWED = {
    (ProductStatus.DRAFT, ProductAction.PUBLISH): ProductStatus.PUBLISHED,
    (ProductStatus.DRAFT, ProductAction.ARCHIVE): ProductStatus.ARCHIVED,
    (ProductStatus.PUBLISHED, ProductAction.UNPUBLISH): ProductStatus.DRAFT,
    (ProductStatus.PUBLISHED, ProductAction.ARCHIVE): ProductStatus.ARCHIVED,
    (ProductStatus.ARCHIVED, ProductAction.RESTORE): ProductStatus.DRAFT,
}
EVERY_PAIR = list(itertools.product(ProductStatus, ProductAction))


def test_the_transition_table_is_exactly_the_allowed_transitions() -> None:
    assert dict(PRODUCT_TRANSITIONS) == ALLOWED


@pytest.mark.parametrize(("status", "action"), EVERY_PAIR)
def test_each_status_and_action_either_moves_as_allowed_or_is_refused(
    status: ProductStatus, action: ProductAction
) -> None:
    if (status, action) in ALLOWED:
        assert next_product_status(status, action) is ALLOWED[(status, action)]
    else:
        with pytest.raises(FailedPrecondition) as refused:
            next_product_status(status, action)
        assert refused.value.metadata == {"status": status.value, "action": action.value}


def test_a_published_product_cannot_be_published_again() -> None:
    with pytest.raises(FailedPrecondition, match="cannot publish a published product"):
        next_product_status(ProductStatus.PUBLISHED, ProductAction.PUBLISH)


def test_publishing_needs_a_priced_variant() -> None:
    with pytest.raises(FailedPrecondition, match="variant with a price"):
        ensure_publishable(0)
    ensure_publishable(1)


def _variant(position: int, prices: tuple[Money, ...] = (Money(1000, "EUR"),)) -> Variant:
    return Variant(
        id=f"v{position}",
        product_id="p",
        sku=f"SKU-{position}",
        title=f"V{position}",
        options={},
        prices=prices,
        available=0,
        position=position,
    )


def _product(status: ProductStatus, *variants: Variant, version: int = 3) -> Product:
    return Product(
        id="p",
        slug="lamp",
        title="Lamp",
        description="",
        status=status,
        attributes={},
        image_urls=(),
        category_id=None,
        version=version,
        created_at=NOW,
        updated_at=NOW,
        published_at=None,
        variants=variants,
    )


def test_publishing_a_draft_with_a_priced_variant_stamps_its_publication() -> None:
    published = change_product_status(
        _product(ProductStatus.DRAFT, _variant(0)), ProductAction.PUBLISH, now=NOW
    )
    assert (published.status, published.published_at) == (ProductStatus.PUBLISHED, NOW)


def test_a_draft_whose_variants_have_no_price_is_not_published() -> None:
    unpriced = _product(ProductStatus.DRAFT, _variant(0, prices=()))
    with pytest.raises(FailedPrecondition, match="variant with a price"):
        change_product_status(unpriced, ProductAction.PUBLISH, now=NOW)


def test_archiving_keeps_the_publication_time() -> None:
    published = replace(_product(ProductStatus.PUBLISHED, _variant(0)), published_at=NOW)
    archived = change_product_status(published, ProductAction.ARCHIVE, now=NOW.replace(hour=13))
    assert (archived.status, archived.published_at) == (ProductStatus.ARCHIVED, NOW)


def test_a_change_made_against_an_older_version_conflicts_and_names_the_current_one() -> None:
    product = _product(ProductStatus.DRAFT, version=3)
    ensure_version(product, 3)
    ensure_version(product, 0)
    with pytest.raises(Conflict) as conflict:
        ensure_version(product, 2)
    assert conflict.value.metadata == {"version": "3"}


def test_a_new_variant_goes_after_the_others() -> None:
    assert next_variant_position(_product(ProductStatus.DRAFT)) == 0
    assert next_variant_position(_product(ProductStatus.DRAFT, _variant(0), _variant(4))) == 5


def test_a_variant_change_applies_only_the_masked_fields() -> None:
    product = _product(ProductStatus.PUBLISHED, _variant(0), _variant(1))
    changes = VariantChanges(
        variant_id="v1", fields=frozenset({"options"}), title="ignored", options={"size": "L"}
    )
    changed = changed_variant(product, validate_variant_changes(changes))
    assert (changed.title, changed.sku, dict(changed.options)) == ("V1", "SKU-1", {"size": "L"})


def test_a_variant_may_not_take_another_variants_options() -> None:
    small = replace(_variant(0), options={"size": "S"})
    product = _product(ProductStatus.DRAFT, small, _variant(1))
    changes = VariantChanges(variant_id="v1", fields=frozenset({"options"}), options={"size": "S"})
    with pytest.raises(AlreadyExists) as refused:
        changed_variant(product, changes)
    assert refused.value.metadata == {"field": "variant.options"}
    # Its own options, sent again, are no clash.
    again = VariantChanges(variant_id="v0", fields=frozenset({"options"}), options={"size": "S"})
    assert dict(changed_variant(product, again).options) == {"size": "S"}


def test_a_variant_change_is_checked_like_a_new_variant() -> None:
    changes = VariantChanges(
        variant_id="v0", fields=frozenset({"sku", "title", "position"}), sku="no spaces", title=" "
    )
    with pytest.raises(InvalidArgument) as refused:
        validate_variant_changes(changes)
    assert sorted(v.field for v in refused.value.violations) == [
        "updateMask",
        "variant.sku",
        "variant.title",
    ]
