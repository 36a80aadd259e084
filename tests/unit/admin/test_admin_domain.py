"""The admin service's rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agora.admin.domain import MAX_NAME, NewPage, create_page
from agora.platform.errors import InvalidArgument

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ID = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def test_a_new_page_starts_at_version_1_with_its_name_trimmed() -> None:
    page = create_page(NewPage(name="  First  "), page_id=ID, now=NOW)
    assert (page.id, page.name, page.version, page.created_at) == (ID, "First", 1, NOW)


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_NAME + 1), "nul\x00"])
def test_a_page_needs_a_bounded_nul_free_name(name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        create_page(NewPage(name=name), page_id=ID, now=NOW)
    assert [violation.field for violation in refused.value.violations] == ["name"]
