"""Path templates of google/api/http.proto: parsing, matching, decoding, specificity."""

from __future__ import annotations

import pytest

from agora.gateway.templates import TemplateError, parse_template


def test_a_literal_template_matches_only_its_path() -> None:
    template = parse_template("/v1/products")

    assert template.match("/v1/products") == {}
    assert template.match("/v1/products/x") is None
    assert template.match("/v1/product") is None


def test_a_simple_variable_binds_one_segment() -> None:
    template = parse_template("/v1/products/{slug}")

    assert template.match("/v1/products/green-tea") == {"slug": "green-tea"}
    assert template.match("/v1/products/a/b") is None
    assert template.match("/v1/products/") is None


def test_a_nested_field_path_variable_is_named_by_its_dotted_path() -> None:
    template = parse_template("/v1/items/{item.slug}")

    assert template.match("/v1/items/mug") == {"item.slug": "mug"}
    assert template.variables[0].field_path == ("item", "slug")


def test_a_variable_with_segments_binds_the_whole_matched_text() -> None:
    template = parse_template("/v1/{name=shelves/*/books/*}")

    assert template.match("/v1/shelves/s1/books/b2") == {"name": "shelves/s1/books/b2"}
    assert template.match("/v1/shelves/s1") is None


def test_a_double_wildcard_binds_the_rest_of_the_path() -> None:
    template = parse_template("/v1/{path=files/**}")

    assert template.match("/v1/files/a/b/c.txt") == {"path": "files/a/b/c.txt"}


def test_a_single_wildcard_outside_variables_matches_without_binding() -> None:
    template = parse_template("/v1/*/items")

    assert template.match("/v1/anything/items") == {}


def test_a_verb_is_matched_after_the_last_segment() -> None:
    template = parse_template("/v1/items/{slug}:reserve")

    assert template.verb == "reserve"
    assert template.match("/v1/items/tea:reserve") == {"slug": "tea"}
    assert template.match("/v1/items/tea") is None


def test_single_segment_values_are_percent_decoded() -> None:
    template = parse_template("/v1/items/{slug}")

    assert template.match("/v1/items/tea%20pot%2F1") == {"slug": "tea pot/1"}


def test_double_wildcard_values_keep_an_encoded_slash_encoded() -> None:
    template = parse_template("/v1/{path=**}")

    assert template.match("/v1/a%20b/c%2Fd") == {"path": "a b/c%2Fd"}


def test_literal_segments_are_not_regular_expressions() -> None:
    template = parse_template("/v1/a.b")

    assert template.match("/v1/a.b") == {}
    assert template.match("/v1/aXb") is None


def test_more_literals_are_more_specific_and_a_verb_beats_none() -> None:
    by_literals = parse_template("/v1/items/special")
    by_variable = parse_template("/v1/items/{slug}")
    with_verb = parse_template("/v1/items/{slug}:reserve")
    catch_all = parse_template("/v1/{path=**}")

    ranked = sorted(
        [catch_all, by_variable, with_verb, by_literals], key=lambda t: t.specificity, reverse=True
    )

    assert [t.source for t in ranked] == [
        "/v1/items/special",
        "/v1/items/{slug}:reserve",
        "/v1/items/{slug}",
        "/v1/{path=**}",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "v1/items",
        "/v1//items",
        "/v1/{slug",
        "/v1/slug}",
        "/v1/{a{b}}",
        "/v1/{1abc}",
        "/v1/{path=**}/tail",
        "/v1/items:",
        "/v1/{slug}x",
    ],
)
def test_malformed_templates_are_rejected(source: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(source)
