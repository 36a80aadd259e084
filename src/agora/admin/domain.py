"""The admin service's rules: what a page is and what makes a new one valid.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only (the import
contract forbids grpc, sqlalchemy, asyncpg, nats and the generated protos, even indirectly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agora.platform.kernel.checks import raise_if_any, text_violations

MAX_NAME = 200  # agrees with the proto's rule on `name`


@dataclass(frozen=True)
class NewPage:
    """What a caller asks for."""

    name: str


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    version: int
    created_at: datetime


def create_page(new: NewPage, *, page_id: str, now: datetime) -> Page:
    """The page `new` describes, at version 1, or INVALID_ARGUMENT naming each bad field."""
    raise_if_any(text_violations(new.name, "name", max_len=MAX_NAME, required=True))
    return Page(id=page_id, name=new.name.strip(), version=1, created_at=now)
