"""Keyset pagination: one page-size rule and one opaque, signed page-token format.

A page token carries the last row's sort position, bound to the query it came from (a
fingerprint of the filters and sort order) and signed with HMAC-SHA256, so a client can
neither edit it nor replay it against another query. The key is `AGORA_PAGE_TOKEN_KEY`
(hex; `agora up` generates one per data directory), the same in every replica.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from functools import lru_cache

from agora.platform.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE_TOKEN = 1024
KEY_VARIABLE = "AGORA_PAGE_TOKEN_KEY"

# Development only: production refuses to start without its own key.
_DEVELOPMENT_KEY = b"agora development page tokens"
_MAC_SIZE = 16

Position = str | int


def page_size(requested: int, path: str = "pageSize") -> int:
    """The page size to use: DEFAULT_PAGE_SIZE for 0, `requested` within 1..MAX_PAGE_SIZE,
    INVALID_ARGUMENT naming `path` otherwise (never silently capped)."""
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= requested <= MAX_PAGE_SIZE:
        raise InvalidArgument.for_field(path, f"between 1 and {MAX_PAGE_SIZE}")
    return requested


@lru_cache(maxsize=4)
def _key(configured: str | None) -> bytes:
    if not configured:
        return _DEVELOPMENT_KEY
    try:
        return bytes.fromhex(configured)
    except ValueError:
        raise ValueError(f"{KEY_VARIABLE} must be hex") from None


def _mac(body: bytes) -> bytes:
    key = _key(os.environ.get(KEY_VARIABLE))
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_SIZE]


def encode_page_token(position: Sequence[Position], query: str = "") -> str:
    """An opaque token for the page after `position` (the last row's sort key and id) of the
    query whose fingerprint is `query`."""
    body = json.dumps({"p": list(position), "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body + _mac(body)).decode().rstrip("=")


def decode_page_token(token: str, query: str = "", arity: int = 2) -> list[Position] | None:
    """The position in `token` (None for an empty token: the first page), or INVALID_ARGUMENT
    naming `pageToken` when it was not issued for this query or was altered."""
    if not token:
        return None
    invalid = InvalidArgument.for_field("pageToken", "not a page token of this query")
    if len(token) > MAX_PAGE_TOKEN:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    body, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
    if len(raw) <= _MAC_SIZE or not hmac.compare_digest(mac, _mac(body)):
        raise invalid
    data = json.loads(body)
    position = data.get("p")
    if data.get("q") != query or not isinstance(position, list) or len(position) != arity:
        raise invalid
    if not all(isinstance(part, str | int) and not isinstance(part, bool) for part in position):
        raise invalid
    return position
