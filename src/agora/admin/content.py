"""Content management's rules: what a page, banner, menu or post may hold, which locales exist,
what the storefront sees when, versions and their diff, rollback, optimistic concurrency.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only. Rendering
Markdown (content_rendering.py) and reading images (content_media.py) are adapters outside it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from agora.platform.errors import (
    Conflict,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from agora.platform.kernel.checks import raise_if_any, text_violations

MAX_SLUG = 120
MAX_TITLE = 200
MAX_MARKDOWN = 100_000
MAX_URL = 2000
MAX_LABEL = 100
MAX_MENU_ITEMS = 100
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SHA256 = re.compile(r"[0-9a-f]{64}")
# BCP 47 as shops use it: a language, optionally a script and a region (`en`, `de-CH`, `zh-Hant`).
LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")
_SCHEMES = ("https://", "http://", "mailto:")
# What "now" is: utcnow in production; tests move it to reach a schedule without sleeping.
Clock = Callable[[], datetime]


class ContentKind(Enum):
    PAGE = "page"
    BANNER = "banner"
    MENU = "menu"
    POST = "post"


class ContentStatus(Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    EXPIRED = "expired"


class Change(Enum):
    """What made a version."""

    CREATED = "created"
    UPDATED = "updated"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str


@dataclass(frozen=True)
class ContentFields:
    """What staff edit; each save stores them as a version."""

    slug: str
    title: str
    body_markdown: str = ""
    placement: str = ""
    link_url: str = ""
    image_sha256: str = ""
    menu_items: tuple[MenuItem, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """When a publication shows: from `publish_at` (None: since it was published) until
    `unpublish_at` (None: until unpublished)."""

    publish_at: datetime | None = None
    unpublish_at: datetime | None = None

    def shows_at(self, now: datetime) -> bool:
        started = self.publish_at is None or self.publish_at <= now
        return started and (self.unpublish_at is None or now < self.unpublish_at)


@dataclass(frozen=True)
class ContentEntry:
    id: str
    kind: ContentKind
    locale: str
    fields: ContentFields
    version: int
    created_at: datetime
    updated_at: datetime
    # The version the storefront shows, and when (0 and an empty schedule: none).
    published_version: int = 0
    schedule: Schedule = Schedule()

    def status(self, now: datetime) -> ContentStatus:
        """Where the entry stands on the storefront at `now`."""
        if not self.published_version:
            return ContentStatus.DRAFT
        if self.schedule.unpublish_at is not None and self.schedule.unpublish_at <= now:
            return ContentStatus.EXPIRED
        if self.schedule.publish_at is not None and now < self.schedule.publish_at:
            return ContentStatus.SCHEDULED
        return ContentStatus.PUBLISHED


@dataclass(frozen=True)
class ContentVersion:
    entry_id: str
    version: int
    fields: ContentFields
    author: str
    change: Change
    created_at: datetime


def validate_locale(locale: str, allowed: Sequence[str], path: str = "locale") -> str:
    """`locale` when it is one of the configured ones, else INVALID_ARGUMENT listing them."""
    if locale not in allowed:
        raise InvalidArgument.for_field(path, f"must be one of: {', '.join(allowed)}")
    return locale


def locale_violations(locales: Sequence[str]) -> list[str]:
    """Configured locales that are not BCP 47 tags of the accepted shape."""
    return [locale for locale in locales if not LOCALE.fullmatch(locale)]


def validate_fields(kind: ContentKind, fields: ContentFields) -> ContentFields:
    """`fields` trimmed, when each is acceptable for `kind`; else INVALID_ARGUMENT naming every
    bad one (`fields.slug`, `fields.menuItems[2].url`)."""
    trimmed = replace(fields, slug=fields.slug.strip(), title=fields.title.strip())
    violations = [
        *_slug_violations(trimmed.slug, "fields.slug", required=True),
        *text_violations(trimmed.title, "fields.title", max_len=MAX_TITLE, required=True),
        *text_violations(trimmed.body_markdown, "fields.bodyMarkdown", max_len=MAX_MARKDOWN),
        *_url_violations(trimmed.link_url, "fields.linkUrl"),
        *_kind_violations(kind, trimmed),
    ]
    if trimmed.image_sha256 and not SHA256.fullmatch(trimmed.image_sha256):
        violations.append(FieldViolation("fields.imageSha256", "a lower-case hex SHA-256"))
    raise_if_any(violations)
    return trimmed


def _kind_violations(kind: ContentKind, fields: ContentFields) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if kind is ContentKind.BANNER:
        violations += _slug_violations(fields.placement, "fields.placement", required=True)
    elif fields.placement:
        violations.append(FieldViolation("fields.placement", "only banners have a placement"))
    if kind is not ContentKind.MENU and fields.menu_items:
        violations.append(FieldViolation("fields.menuItems", "only menus have items"))
    if len(fields.menu_items) > MAX_MENU_ITEMS:
        violations.append(FieldViolation("fields.menuItems", f"at most {MAX_MENU_ITEMS} items"))
    for index, item in enumerate(fields.menu_items[:MAX_MENU_ITEMS]):
        at = f"fields.menuItems[{index}]"
        violations += text_violations(item.label, f"{at}.label", max_len=MAX_LABEL, required=True)
        violations += _url_violations(item.url, f"{at}.url", required=True)
    return violations


def _slug_violations(value: str, path: str, *, required: bool) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(path, "required")] if required else []
    if len(value) > MAX_SLUG or not SLUG.fullmatch(value):
        return [FieldViolation(path, f"lower-case words joined by '-', at most {MAX_SLUG}")]
    return []


def _url_violations(value: str, path: str, *, required: bool = False) -> list[FieldViolation]:
    """A link is a path on the shop (`/pages/about`, never `//host`) or an http(s)/mailto URL:
    `javascript:` and the like never reach a page."""
    if not value:
        return [FieldViolation(path, "required")] if required else []
    if len(value) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return [FieldViolation(path, f"a URL without spaces, at most {MAX_URL} characters")]
    on_shop = value.startswith("/") and not value.startswith("//")
    if not on_shop and not value.lower().startswith(_SCHEMES):
        return [FieldViolation(path, "a path starting with '/' or an http(s) or mailto URL")]
    return []


def create_entry(
    kind: ContentKind, locale: str, fields: ContentFields, *, entry_id: str, now: datetime
) -> ContentEntry:
    """A new draft at version 1."""
    return ContentEntry(
        id=entry_id,
        kind=kind,
        locale=locale,
        fields=validate_fields(kind, fields),
        version=1,
        created_at=now,
        updated_at=now,
    )


def ensure_version(entry: ContentEntry, expected_version: int) -> None:
    """Optimistic concurrency: a change made against version N applies only while the entry
    is still at N; CONFLICT (409) carries the current version for the editor to reload."""
    if expected_version != entry.version:
        raise Conflict(
            f"content {entry.id} is at version {entry.version}, not {expected_version}",
            metadata={"currentVersion": str(entry.version), "contentId": entry.id},
            preconditions=[
                PreconditionViolation(
                    "VERSION_CHANGED", entry.id, f"the current version is {entry.version}"
                )
            ],
        )


def revise(entry: ContentEntry, fields: ContentFields, *, now: datetime) -> ContentEntry:
    """The entry with `fields` as its next version (the published version stays shown)."""
    checked = validate_fields(entry.kind, fields)
    return replace(entry, fields=checked, version=entry.version + 1, updated_at=now)


def version_of(entry: ContentEntry, *, author: str, change: Change) -> ContentVersion:
    """The history record of the entry's current version."""
    return ContentVersion(entry.id, entry.version, entry.fields, author, change, entry.updated_at)


def find_version(versions: Sequence[ContentVersion], version: int) -> ContentVersion:
    for candidate in versions:
        if candidate.version == version:
            return candidate
    raise NotFound("content version", str(version))


def publish(
    entry: ContentEntry,
    *,
    publish_at: datetime | None,
    unpublish_at: datetime | None,
    now: datetime,
) -> ContentEntry:
    """The entry's current version shown from `publish_at` (or now) until `unpublish_at`."""
    if unpublish_at is not None and unpublish_at <= (publish_at or now):
        raise InvalidArgument.for_field("unpublishAt", "must be later than the publication")
    schedule = Schedule(publish_at=publish_at or now, unpublish_at=unpublish_at)
    return replace(entry, published_version=entry.version, schedule=schedule, updated_at=now)


def unpublish(entry: ContentEntry, *, now: datetime) -> ContentEntry:
    """The entry back to a draft only: its history stays."""
    return replace(entry, published_version=0, schedule=Schedule(), updated_at=now)


def diff(older: ContentVersion, newer: ContentVersion) -> str:
    """A unified diff of two versions' title and Markdown ("" when they are equal)."""

    def lines(version: ContentVersion) -> list[str]:
        text = f"# {version.fields.title}\n\n{version.fields.body_markdown}"
        return [line + "\n" for line in text.splitlines()]

    return "".join(
        difflib.unified_diff(
            lines(older),
            lines(newer),
            fromfile=f"version {older.version}",
            tofile=f"version {newer.version}",
        )
    )
