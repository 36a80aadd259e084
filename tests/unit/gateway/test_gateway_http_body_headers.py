"""What of an HttpBody answer's metadata reaches the HTTP response: the allowed headers alone,
each checked; a media type only when well-formed; an HttpBody method's binding rules."""

from __future__ import annotations

import pytest

from agora.gateway.descriptors import default_pool, files_of, read_descriptor_set
from agora.gateway.http_body import ALLOWED_HEADERS, backend_headers, media_type_of
from agora.gateway.transcoding import build_routes


def test_only_the_allowed_headers_are_copied_the_first_of_each() -> None:
    copied = backend_headers(
        [
            ("content-disposition", 'attachment; filename="sales.csv"'),
            ("cache-control", "private, max-age=60"),
            ("x-agora-report-status", "provisional"),
            ("x-agora-report-status", "final"),
            ("set-cookie", "a=b"),
            ("x-request-id", "r-1"),
            ("location", "https://elsewhere.example"),
        ]
    )

    assert copied == [
        (b"content-disposition", b'attachment; filename="sales.csv"'),
        (b"cache-control", b"private, max-age=60"),
        (b"x-agora-report-status", b"provisional"),
    ]
    assert {key.decode() for key, _ in copied} <= set(ALLOWED_HEADERS)


@pytest.mark.parametrize(
    ("etag", "sent"),
    [
        ('"abc"', '"abc"'),
        ('W/"abc"', 'W/"abc"'),
        ("e3b0c44298fc1c149afbf4c8996fb924", '"e3b0c44298fc1c149afbf4c8996fb924"'),
        ('"a"b"', None),
        ("two words", None),
    ],
)
def test_an_etag_is_an_entity_tag_or_a_bare_one_quoted(etag: str, sent: str | None) -> None:
    copied = dict(backend_headers([("etag", etag)]))

    assert copied.get(b"etag") == (sent.encode() if sent else None)


def test_a_header_that_is_not_printable_ascii_too_long_or_no_date_is_dropped() -> None:
    copied = backend_headers(
        [
            ("content-disposition", 'attachment; filename="bücher.csv"'),
            ("cache-control", "x" * 1025),
            ("last-modified", "yesterday"),
            ("x-agora-report-status", "\tfinal\x7f"),
        ]
    )

    assert copied == []


def test_a_valid_last_modified_is_kept() -> None:
    copied = backend_headers([("last-modified", "Wed, 02 Dec 2026 10:00:00 GMT")])

    assert copied == [(b"last-modified", b"Wed, 02 Dec 2026 10:00:00 GMT")]


@pytest.mark.parametrize(
    ("content_type", "sent"),
    [
        ("text/csv", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv; charset=utf-8"),
        ('application/pdf; name="sales q1"', 'application/pdf; name="sales q1"'),
        ("", "application/octet-stream"),
        ("text/html\r\nSet-Cookie: a=b", "application/octet-stream"),
        ("csv", "application/octet-stream"),
        ("image/" + "x" * 300, "application/octet-stream"),
    ],
)
def test_the_media_type_is_the_backends_only_when_well_formed(content_type: str, sent: str) -> None:
    assert media_type_of(content_type) == sent


def test_agoras_media_route_is_a_public_httpbody_get() -> None:
    routes = build_routes(files_of(read_descriptor_set(), default_pool()))
    media = next(r for r in routes if r.method.name == "GetMediaFile")

    assert media.http_body
    assert not media.server_streaming
    assert media.policy.public
    assert media.cache_ttl_s == 0
    assert not any(r.http_body for r in routes if r.method.name == "GetPublishedPage")
