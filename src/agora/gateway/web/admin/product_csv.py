"""The product CSV import's file format, checked without I/O.

Rows that share a product key (the `slug` column, or the slug made from `name` when it is
empty) form one product, each row one of its variants (Shopify's layout). The product columns
come from the product's first row; a later row may leave them empty but not contradict them.
Every problem is an English message with `%(name)s` placeholders, the key of the message
catalogs, so that the page says it in the reader's language.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from agora.platform.kernel.checks import whole_number
from agora.platform.kernel.money import ISO_EXPONENTS

# The catalog's bounds: variants of a product, an amount, a quantity on hand, lengths.
MAX_VARIANTS = 100
MAX_MINOR = 1_000_000_000_000
MAX_STOCK = 1_000_000_000
MAX_SLUG = 120
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_SKU = 64
MAX_OPTION_VALUE = 200

PRODUCT_COLUMNS = ("slug", "name", "category", "description", "publish")
VARIANT_COLUMNS = ("sku", "stock")
REQUIRED_COLUMNS = ("sku", "name")
PRICE_COLUMN = re.compile(r"^price_([A-Za-z]{3})$")
OPTION_COLUMN = re.compile(r"^option_(\w[\w -]{0,49})$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_YES = ("yes", "true", "1")
_NO = ("", "no", "false", "0")

Cells = Mapping[str, str]
# Bad rows: each line with its problems.
RowErrors = list[tuple[int, list["Problem"]]]


@dataclass(frozen=True)
class Problem:
    """What is wrong, in English with `%(name)s` placeholders (the message catalogs' key)."""

    message: str
    values: Mapping[str, object] = field(default_factory=dict)

    def said(self, gettext: Callable[..., str]) -> str:
        return gettext(self.message, **self.values)


class FileRefused(Exception):
    """The file cannot be read as a whole: its header or its CSV syntax."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Bad(Exception):
    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.problem = Problem(message, values)


@dataclass(frozen=True)
class ProductFields:
    """A product's columns, from its first row (`category` is a category's slug; `publish`
    is None when the cell is empty: an existing product keeps its status)."""

    slug: str
    name: str
    category: str
    description: str
    publish: bool | None


@dataclass(frozen=True)
class VariantRow:
    """One row's variant: its options (`size: M`), prices in minor units and stock."""

    line: int
    sku: str
    options: tuple[tuple[str, str], ...]
    prices: tuple[tuple[str, int], ...]
    stock: int | None

    @property
    def title(self) -> str:
        """Its option values (`M / Blue`), or `Default` when it has none."""
        return " / ".join(value for _, value in self.options) or "Default"


@dataclass(frozen=True)
class Row:
    """A data row as the file has it: its line (where it starts) and its cells by column."""

    line: int
    cells: dict[str, str]


@dataclass
class ProductGroup:
    """A product's good rows, and the cells of its first row (sent again with every batch, so
    a batch holding only later rows still knows the product)."""

    line: int
    product_cells: dict[str, str]
    rows: list[Row] = field(default_factory=list)


@dataclass
class CheckedFile:
    columns: list[str]
    groups: list[ProductGroup]
    errors: RowErrors


@dataclass(frozen=True)
class CheckedRow:
    line: int
    variant: VariantRow | None
    problems: list[Problem]


@dataclass(frozen=True)
class CheckedBatch:
    """A batch's share of one product checked again by the server: the product (None when
    its first row is wrong, then every row fails with `product_problems`) and its rows."""

    product: ProductFields | None
    product_problems: list[Problem]
    rows: list[CheckedRow]


def slugify(title: str) -> str:
    """A URL slug from a title, as the catalog makes one: "Crème brûlée" → "creme-brulee"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", ascii_title).strip("-")[:MAX_SLUG].rstrip("-")


def product_key(cells: Cells) -> str:
    """The key grouping rows into a product: the slug, else the one made from the name."""
    return cells.get("slug", "").strip() or slugify(cells.get("name", "").strip())


def currency_of(column: str) -> str | None:
    match = PRICE_COLUMN.match(column)
    return match.group(1).upper() if match else None


def option_of(column: str) -> str | None:
    match = OPTION_COLUMN.match(column)
    return match.group(1).strip() if match else None


def price_minor(text: str, currency: str, column: str) -> int:
    """A decimal amount (`12.50`) in minor units of `currency` (1250)."""
    cleaned = text.strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", cleaned):
        raise _Bad(
            "%(column)s: write a number like 12.50 (no sign, no thousands separator).",
            column=column,
        )
    places = ISO_EXPONENTS[currency]
    if len(cleaned.partition(".")[2]) > places:
        raise _Bad(
            "%(column)s: %(currency)s has %(places)s decimal places at most.",
            column=column,
            currency=currency,
            places=places,
        )
    try:
        minor = int(Decimal(cleaned).scaleb(places))
    except InvalidOperation:
        raise _Bad("%(column)s: not a number.", column=column) from None
    if minor > MAX_MINOR:
        raise _Bad("%(column)s: the amount is too large.", column=column)
    return minor


def _publish_text(cells: Cells) -> str:
    value = cells.get("publish", "").strip().lower()
    return "yes" if value in _YES else "no" if value in _NO else value


def product_fields(
    cells: Cells, categories: Collection[str]
) -> tuple[ProductFields | None, list[Problem]]:
    """A product's first row read for the product's columns: the product, or its problems."""
    problems: list[Problem] = []
    name = cells.get("name", "").strip()
    slug = cells.get("slug", "").strip()
    category = cells.get("category", "").strip()
    description = cells.get("description", "").strip()
    if not name:
        problems.append(Problem("name: required on a product's first row."))
    elif len(name) > MAX_TITLE:
        problems.append(Problem("name: %(max)s characters at most.", {"max": MAX_TITLE}))
    if slug and (not SLUG.match(slug) or len(slug) > MAX_SLUG):
        problems.append(Problem("slug: lowercase letters, digits and single hyphens."))
    elif name and not product_key(cells):
        problems.append(Problem("slug: required when the name has no letters or digits."))
    if category and category not in categories:
        problems.append(
            Problem("category: no category with the slug “%(slug)s”.", {"slug": category})
        )
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            Problem("description: %(max)s characters at most.", {"max": MAX_DESCRIPTION})
        )
    publish = _publish_text(cells)
    if publish not in ("yes", "no"):
        problems.append(Problem("publish: yes or no."))
    if problems:
        return None, problems
    fields = ProductFields(
        slug=product_key(cells),
        name=name,
        category=category,
        description=description,
        publish=publish == "yes" if cells.get("publish", "").strip() else None,
    )
    return fields, []


def variant_row(line: int, cells: Cells) -> tuple[VariantRow | None, list[Problem]]:
    """A row read for its variant's columns: the variant, or its problems."""
    problems: list[Problem] = []
    sku = cells.get("sku", "").strip()
    if not sku:
        problems.append(Problem("sku: required."))
    elif not SKU.match(sku) or len(sku) > MAX_SKU:
        problems.append(
            Problem(
                "sku: letters, digits, dots, hyphens and underscores (%(max)s at most).",
                {"max": MAX_SKU},
            )
        )
    options: list[tuple[str, str]] = []
    prices: list[tuple[str, int]] = []
    for column, value in cells.items():
        if not value.strip():
            continue
        if (name := option_of(column)) is not None:
            if len(value.strip()) > MAX_OPTION_VALUE:
                problems.append(
                    Problem(
                        "%(column)s: %(max)s characters at most.",
                        {"column": column, "max": MAX_OPTION_VALUE},
                    )
                )
            options.append((name, value.strip()))
        elif (currency := currency_of(column)) is not None:
            try:
                prices.append((currency, price_minor(value, currency, column)))
            except _Bad as bad:
                problems.append(bad.problem)
    stock_text = cells.get("stock", "").strip()
    stock = None
    if stock_text:
        stock = whole_number(stock_text, MAX_STOCK)
        if stock is None:
            problems.append(Problem("stock: a whole number from 0."))
    if problems:
        return None, problems
    return VariantRow(line, sku, tuple(options), tuple(prices), stock), []


def conflicts(first: Row, cells: Cells) -> list[Problem]:
    """A later row's product columns that contradict the product's first row (empty is fine;
    the slug is the product's key, so it cannot differ)."""
    problems: list[Problem] = []
    for column in PRODUCT_COLUMNS:
        if column == "slug":
            continue
        value = cells.get(column, "").strip()
        if not value:
            continue
        same = (
            _publish_text(cells) == _publish_text(first.cells)
            if column == "publish"
            else value == first.cells.get(column, "").strip()
        )
        if not same:
            problems.append(
                Problem(
                    "%(column)s: “%(value)s” differs from line %(first)s, the product's first "
                    "row (“%(other)s”); leave it empty or write the same.",
                    {
                        "column": column,
                        "value": value,
                        "first": first.line,
                        "other": first.cells.get(column, "").strip(),
                    },
                )
            )
    return problems


def read_columns(header: Sequence[str] | None) -> list[str]:
    """The header's columns, or the file refused with what is wrong with them."""
    if not header:
        raise FileRefused(Problem("The file is empty."))
    columns = [c.strip() for c in header]
    unknown = [
        c
        for c in columns
        if c not in PRODUCT_COLUMNS
        and c not in VARIANT_COLUMNS
        and option_of(c) is None
        and (currency_of(c) or "") not in ISO_EXPONENTS
    ]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FileRefused(
            Problem(
                "Line 1 (header): missing column(s): %(columns)s.", {"columns": ", ".join(missing)}
            )
        )
    if unknown:
        raise FileRefused(
            Problem(
                "Line 1 (header): unknown column(s): %(columns)s.",
                {"columns": ", ".join(unknown)},
            )
        )
    meaning = [currency_of(c) or option_of(c) or c for c in columns]
    if len(set(meaning)) != len(meaning):
        raise FileRefused(Problem("Line 1 (header): a column appears twice."))
    return columns


def read_rows(text: str, max_rows: int) -> tuple[list[str], list[Row], RowErrors]:
    """The file's columns, its data rows (blank lines left out) and the rows whose cells do
    not match the header. Line 1 is the header; a row's line is the file line it starts on."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: list[Row] = []
    errors: RowErrors = []
    try:
        columns = read_columns(next(reader, None))
        while True:
            line = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(errors) >= max_rows:
                raise FileRefused(
                    Problem("The file has more than %(max)s rows.", {"max": max_rows})
                )
            if len(record) != len(columns):
                errors.append(
                    (
                        line,
                        [
                            Problem(
                                "%(cells)s cells, the header has %(columns)s.",
                                {"cells": len(record), "columns": len(columns)},
                            )
                        ],
                    )
                )
                continue
            rows.append(Row(line, dict(zip(columns, record, strict=True))))
    except csv.Error as bad:
        raise FileRefused(
            Problem("Line %(line)s: %(error)s.", {"line": reader.line_num, "error": str(bad)})
        ) from None
    return columns, rows, errors


@dataclass
class _Building:
    """A product while the file is read: its group, or the line of its broken first row."""

    first: Row
    group: ProductGroup | None
    options: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict)
    priced: bool = False


def check_csv(text: str, categories: Collection[str], max_rows: int) -> CheckedFile:
    """The whole file checked: its products (each with its good rows) and every bad row with
    its problems. A product whose first row is wrong takes its later rows down with it."""
    columns, rows, errors = read_rows(text, max_rows)
    products: dict[str, _Building] = {}
    skus: dict[str, int] = {}
    for row in rows:
        key = product_key(row.cells)
        if not key:
            errors.append((row.line, [Problem("slug or name: required.")]))
            continue
        variant, problems = variant_row(row.line, row.cells)
        building = products.get(key)
        if building is None:
            product, product_problems = product_fields(row.cells, categories)
            group = ProductGroup(row.line, _product_cells(row.cells)) if product else None
            building = products[key] = _Building(row, group)
            problems = product_problems + problems
        elif building.group is None:
            problems = [_broken(building.first.line)]
        else:
            problems = conflicts(building.first, row.cells) + problems
        if variant is not None and building.group is not None:
            problems += _variant_clashes(building, variant, skus)
        if problems or variant is None or building.group is None:
            errors.append((row.line, problems))
            continue
        skus[variant.sku] = row.line
        building.options[variant.options] = row.line
        building.priced = building.priced or bool(variant.prices)
        building.group.rows.append(row)
    groups: list[ProductGroup] = []
    for building in products.values():
        group = building.group
        if group is None or not group.rows:
            continue
        if _publish_text(group.product_cells) == "yes" and not building.priced:
            needs_price = Problem("publish: a published product needs a variant with a price.")
            errors.extend((row.line, [needs_price]) for row in group.rows)
        else:
            groups.append(group)
    errors.sort(key=lambda error: error[0])
    return CheckedFile(columns, groups, errors)


def _product_cells(cells: Cells) -> dict[str, str]:
    return {c: cells[c] for c in PRODUCT_COLUMNS if c in cells}


def _broken(line: int) -> Problem:
    return Problem("The product's first row (line %(line)s) has errors.", {"line": line})


def _variant_clashes(
    building: _Building, variant: VariantRow, skus: Mapping[str, int]
) -> list[Problem]:
    problems: list[Problem] = []
    if variant.sku in skus:
        problems.append(
            Problem(
                "sku: %(sku)s is also on line %(line)s.",
                {"sku": variant.sku, "line": skus[variant.sku]},
            )
        )
    if variant.options in building.options:
        problems.append(
            Problem(
                "The same option values as line %(line)s: a product's variants need different "
                "values in the option columns (option_size, option_colour, …).",
                {"line": building.options[variant.options]},
            )
        )
    assert building.group is not None
    if len(building.group.rows) >= MAX_VARIANTS:
        problems.append(Problem("A product has %(max)s variants at most.", {"max": MAX_VARIANTS}))
    return problems


def check_batch(product: Row, rows: Sequence[Row], categories: Collection[str]) -> CheckedBatch:
    """A batch's share of one product checked again (the file was checked whole before, but
    the server trusts no browser): `product` is the product's first row (its line and product
    columns), `rows` the batch's rows of it."""
    fields, product_problems = product_fields(product.cells, categories)
    if fields is None:
        return CheckedBatch(None, product_problems, [])
    checked = []
    for row in rows:
        variant, problems = variant_row(row.line, row.cells)
        if product_key(row.cells) != fields.slug:
            problems = [Problem("The row does not belong to this product."), *problems]
        problems = conflicts(product, row.cells) + problems
        checked.append(CheckedRow(row.line, None if problems else variant, problems))
    return CheckedBatch(fields, [], checked)
