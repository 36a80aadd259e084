"""Protobuf <-> domain translation at the servicer's edge."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora.catalog.translation import list_request, money, product_changes


def test_an_update_without_mask_changes_the_fields_that_are_set() -> None:
    changes = product_changes(
        pb.UpdateProductRequest(product=pb.Product(id="x", title="New", image_urls=["/a.jpg"]))
    )
    assert changes.fields == {"title", "image_urls"}


def test_mask_paths_are_accepted_in_json_or_proto_spelling() -> None:
    changes = product_changes(
        pb.UpdateProductRequest(
            product=pb.Product(id="x", version=3),
            update_mask=FieldMask(paths=["imageUrls", "category_id", "description"]),
        )
    )
    assert changes.fields == {"image_urls", "category_id", "description"}
    assert (changes.category_id, changes.expected_version) == (None, 3)


def test_price_bounds_are_absent_unless_sent() -> None:
    assert list_request(pb.ListProductsRequest()).min_price is None
    bounded = list_request(pb.ListProductsRequest(min_price=0, max_price=500))
    assert (bounded.min_price, bounded.max_price) == (0, 500)


def test_currency_codes_are_normalised_to_upper_case() -> None:
    assert money(pb.Money(amount_minor=100, currency=" eur")).currency == "EUR"
