"""The product CSV import's format: rows grouped into products by slug, product columns from
a product's first row, every bad row named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.gateway.web.admin import product_csv
from agora.gateway.web.admin.product_csv import (
    CheckedFile,
    FileRefused,
    Problem,
    Row,
    check_batch,
    check_csv,
    slugify,
)
from agora.gateway.web.i18n import languages

CATEGORIES = {"kitchen"}
HEADER = "slug,name,category,publish,sku,option_size,price_eur,price_USD,stock"


def checked(*lines: str, header: str = HEADER) -> CheckedFile:
    return check_csv("\n".join([header, *lines]) + "\n", CATEGORIES, max_rows=1000)


def english(message: str, **values: object) -> str:
    return message % values if values else message


def said(problems: list[Problem]) -> str:
    return " ".join(problem.said(english) for problem in problems)


def errors_by_line(result: CheckedFile) -> dict[int, str]:
    return {line: said(problems) for line, problems in result.errors}


def test_rows_sharing_a_slug_are_one_product_with_a_variant_each() -> None:
    result = checked(
        "tee,Tee,kitchen,yes,TEE-S,S,10.00,11.50,3",
        "tee,,,,TEE-M,M,10.00,11.50,4",
        "mug,Mug,,no,MUG,,4.99,,",
        "tee,,,,TEE-L,L,12.00,,0",
    )

    assert result.errors == []
    assert [(g.line, [r.line for r in g.rows]) for g in result.groups] == [
        (2, [2, 3, 5]),
        (4, [4]),
    ]
    assert result.groups[0].product_cells == {
        "slug": "tee",
        "name": "Tee",
        "category": "kitchen",
        "publish": "yes",
    }


def test_a_row_without_a_slug_joins_the_product_made_from_its_name() -> None:
    result = checked(",Crème Tee,,,TEE-S,S,1,,", "creme-tee,,,,TEE-M,M,1,,")

    assert result.errors == []
    assert [(g.line, [r.line for r in g.rows]) for g in result.groups] == [(2, [2, 3])]
    assert slugify("Crème brûlée, large!") == "creme-brulee-large"


def test_a_later_row_contradicting_the_first_rows_product_column_is_refused_with_its_line() -> None:
    result = checked(
        "tee,Tee,kitchen,yes,TEE-S,S,10.00,,",
        "tee,Tea shirt,,,TEE-M,M,10.00,,",
        "tee,,,no,TEE-L,L,10.00,,",
        "tee,Tee,kitchen,true,TEE-XL,XL,10.00,,",
    )

    errors = errors_by_line(result)
    assert set(errors) == {3, 4}
    assert "name: “Tea shirt” differs from line 2" in errors[3]
    assert "publish: “no” differs from line 2" in errors[4]
    assert [r.line for r in result.groups[0].rows] == [2, 5]


def test_a_broken_first_row_takes_its_products_later_rows_down() -> None:
    result = checked(
        "tee,Tee,garden,,TEE-S,S,10.00,,",
        "tee,,,,TEE-M,M,10.00,,",
    )

    errors = errors_by_line(result)
    assert "category: no category with the slug “garden”" in errors[2]
    assert errors[3] == "The product's first row (line 2) has errors."
    assert result.groups == []


def test_a_first_row_with_a_bad_variant_still_makes_the_product_of_its_later_rows() -> None:
    result = checked(
        "tee,Tee,,,TEE-S,S,10.5.0,,",
        "tee,,,,TEE-M,M,10.00,,",
    )

    assert set(errors_by_line(result)) == {2}
    assert [(g.line, [r.line for r in g.rows]) for g in result.groups] == [(2, [3])]


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        ("tee,,,,TEE-S,M,1,,", "sku: TEE-S is also on line 2."),
        ("tee,,,,TEE-M,S,1,,", "The same option values as line 2"),
        ("tee,,,,TEE-M,M,1.234,,", "price_eur: EUR has 2 decimal places at most."),
        ("tee,,,,TEE-M,M,1,,-3", "stock: a whole number from 0."),
        ("tee,,,,,M,1,,", "sku: required."),
    ],
)
def test_a_bad_variant_row_is_refused_with_its_line(second: str, problem: str) -> None:
    result = checked("tee,Tee,,,TEE-S,S,1,,", second)

    assert problem in errors_by_line(result)[3]


def test_a_product_to_publish_without_any_price_is_refused_on_every_row() -> None:
    result = checked("tee,Tee,,yes,TEE-S,S,,,", "tee,,,,TEE-M,M,,,")

    assert set(errors_by_line(result)) == {2, 3}
    assert result.groups == []


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("slug,sku", "missing column(s): name"),
        ("name,sku,colour", "unknown column(s): colour"),
        ("name,sku,price_xyz", "unknown column(s): price_xyz"),
        ("name,sku,price_eur,price_EUR", "a column appears twice"),
    ],
)
def test_a_bad_header_refuses_the_file(header: str, problem: str) -> None:
    with pytest.raises(FileRefused) as refused:
        check_csv(header + "\nx,y\n", CATEGORIES, max_rows=1000)

    assert problem in said([refused.value.problem])


def test_a_batch_checks_its_rows_against_the_products_first_row_again() -> None:
    first = Row(2, {"slug": "tee", "name": "Tee", "publish": "yes"})
    rows = [
        Row(7, {"slug": "tee", "name": "", "sku": "TEE-M", "option_size": "M", "price_eur": "1"}),
        Row(8, {"slug": "cup", "name": "", "sku": "CUP", "price_eur": "1"}),
        Row(9, {"slug": "", "name": "Tea", "sku": "TEA", "publish": "no"}),
    ]

    batch = check_batch(first, rows, CATEGORIES)

    assert batch.product is not None
    assert batch.product.publish
    good, other, wrong = batch.rows
    assert good.variant is not None
    assert good.variant.title == "M"
    assert good.variant.prices == (("EUR", 100),)
    assert other.variant is None
    assert wrong.variant is None
    assert said(wrong.problems) == (
        "name: “Tea” differs from line 2, the product's first row (“Tee”); leave it empty or "
        "write the same. publish: “no” differs from line 2, the product's first row (“yes”); "
        "leave it empty or write the same. The row does not belong to this product."
    )


def test_a_problem_is_said_in_the_readers_language() -> None:
    german = languages(("en", "de"))["de"]
    problem = Problem("sku: %(sku)s is also on line %(line)s.", {"sku": "TEE-S", "line": 2})

    assert problem.said(german.gettext) == "sku: TEE-S steht auch in Zeile 2."


def test_the_example_file_offered_on_the_page_checks_without_errors() -> None:
    example = Path(product_csv.__file__).parents[1] / "static/examples/product-import.csv"

    result = check_csv(example.read_text(encoding="utf-8"), CATEGORIES, max_rows=1000)

    assert result.errors == []
    assert [len(group.rows) for group in result.groups] == [3, 1]


@pytest.mark.parametrize(
    ("cell", "publish"), [("yes", True), ("No", False), ("0", False), ("", None)]
)
def test_an_empty_publish_cell_leaves_the_status_and_no_asks_for_a_draft(
    cell: str, publish: bool | None
) -> None:
    batch = check_batch(Row(2, {"slug": "tee", "name": "Tee", "publish": cell}), [], CATEGORIES)

    assert batch.product is not None
    assert batch.product.publish is publish
