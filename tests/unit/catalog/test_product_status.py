"""The product status machine, every (status, action) pair."""

from __future__ import annotations

import itertools

import pytest

from agora.catalog.domain import (
    PRODUCT_TRANSITIONS,
    ProductAction,
    ProductStatus,
    ensure_publishable,
    next_product_status,
)
from agora.platform.errors import FailedPrecondition

ALLOWED = {
    (ProductStatus.DRAFT, ProductAction.PUBLISH): ProductStatus.PUBLISHED,
    (ProductStatus.DRAFT, ProductAction.ARCHIVE): ProductStatus.ARCHIVED,
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
