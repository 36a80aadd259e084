"""Content management's rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agora.admin.content import (
    Change,
    ContentFields,
    ContentKind,
    ContentStatus,
    MenuItem,
    create_entry,
    diff,
    ensure_version,
    locale_violations,
    publish,
    revise,
    unpublish,
    validate_locale,
    version_of,
)
from agora.platform.errors import Conflict, InvalidArgument

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ID = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
ABOUT = ContentFields(slug="about", title="  About us ", body_markdown="We sell lamps.")


def test_a_new_entry_is_a_draft_at_version_1_with_its_title_trimmed() -> None:
    page = create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW)
    assert (page.version, page.fields.title, page.status(NOW)) == (
        1,
        "About us",
        ContentStatus.DRAFT,
    )


def _f(**fields: object) -> ContentFields:
    return ContentFields(**{"slug": "a", "title": "t", **fields})  # type: ignore[arg-type]


BAD_FIELDS = [
    (ContentKind.PAGE, _f(slug="About Us"), ["fields.slug"]),
    (ContentKind.PAGE, _f(title=""), ["fields.title"]),
    (ContentKind.PAGE, _f(title="t\x00"), ["fields.title"]),
    (ContentKind.BANNER, _f(), ["fields.placement"]),
    (ContentKind.PAGE, _f(placement="hero"), ["fields.placement"]),
    (ContentKind.PAGE, _f(link_url="javascript:alert(1)"), ["fields.linkUrl"]),
    (ContentKind.PAGE, _f(link_url="//evil.example"), ["fields.linkUrl"]),
    (ContentKind.PAGE, _f(menu_items=(MenuItem("x", "/"),)), ["fields.menuItems"]),
    (
        ContentKind.MENU,
        _f(menu_items=(MenuItem("", "data:x"),)),
        ["fields.menuItems[0].label", "fields.menuItems[0].url"],
    ),
    (ContentKind.POST, _f(image_sha256="abc"), ["fields.imageSha256"]),
]


@pytest.mark.parametrize(("kind", "fields", "bad"), BAD_FIELDS)
def test_bad_fields_are_refused_naming_each(
    kind: ContentKind, fields: ContentFields, bad: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        create_entry(kind, "en", fields, entry_id=ID, now=NOW)
    assert [v.field for v in refused.value.violations] == bad


def test_a_menu_takes_shop_paths_and_http_urls() -> None:
    items = (MenuItem("Lamps", "/c/lamps"), MenuItem("Blog", "https://blog.example/"))
    menu = create_entry(ContentKind.MENU, "de", ContentFields("main", "Main", menu_items=items),
                        entry_id=ID, now=NOW)  # fmt: skip
    assert menu.fields.menu_items == items


def test_only_configured_locales_are_accepted_and_configured_ones_must_be_bcp47() -> None:
    assert validate_locale("de", ["en", "de"]) == "de"
    with pytest.raises(InvalidArgument):
        validate_locale("fr", ["en", "de"])
    assert locale_violations(["en", "de-CH", "zh-Hant", "EN", "english", "de_CH"]) == [
        "EN", "english", "de_CH"
    ]  # fmt: skip


def test_a_save_against_an_older_version_is_a_conflict_naming_the_current_one() -> None:
    page = revise(create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW), ABOUT, now=NOW)
    ensure_version(page, 2)
    with pytest.raises(Conflict) as refused:
        ensure_version(page, 1)
    assert refused.value.metadata["currentVersion"] == "2"
    assert refused.value.preconditions[0].type == "VERSION_CHANGED"


def test_publication_follows_its_schedule() -> None:
    page = create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW)
    shown = publish(page, publish_at=NOW + HOUR, unpublish_at=NOW + 3 * HOUR, now=NOW)
    assert shown.published_version == 1
    assert [shown.status(NOW + k * HOUR) for k in (0, 1, 2, 3)] == [
        ContentStatus.SCHEDULED,
        ContentStatus.PUBLISHED,
        ContentStatus.PUBLISHED,
        ContentStatus.EXPIRED,
    ]
    assert unpublish(shown, now=NOW).status(NOW + HOUR) is ContentStatus.DRAFT


def test_an_unpublication_before_the_publication_is_refused() -> None:
    page = create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW)
    with pytest.raises(InvalidArgument):
        publish(page, publish_at=NOW + HOUR, unpublish_at=NOW + HOUR, now=NOW)
    with pytest.raises(InvalidArgument):
        publish(page, publish_at=None, unpublish_at=NOW - HOUR, now=NOW)


def test_the_diff_shows_changed_lines_and_is_empty_between_equal_versions() -> None:
    first = create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW)
    second = revise(first, ContentFields("about", "About us", "We sell lamps and rugs."), now=NOW)
    old = version_of(first, author="u", change=Change.CREATED)
    new = version_of(second, author="u", change=Change.UPDATED)
    text = diff(old, new)
    assert "-We sell lamps.\n" in text
    assert "+We sell lamps and rugs.\n" in text
    assert text.startswith("--- version 1\n+++ version 2\n")
    assert diff(old, old) == ""


def test_a_rollback_is_a_new_version_equal_to_the_old_one() -> None:
    first = create_entry(ContentKind.PAGE, "en", ABOUT, entry_id=ID, now=NOW)
    second = revise(first, ContentFields("about", "Changed", "Other."), now=NOW)
    rolled = revise(second, first.fields, now=NOW + HOUR)
    assert (rolled.version, rolled.fields) == (3, first.fields)
