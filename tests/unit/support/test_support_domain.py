"""The support service's rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agora.platform.errors import InvalidArgument
from agora.support.domain import MAX_NAME, NewSupport, create_support

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ID = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def test_a_new_support_starts_at_version_1_with_its_name_trimmed() -> None:
    support = create_support(NewSupport(name="  First  "), support_id=ID, now=NOW)
    assert (support.id, support.name, support.version, support.created_at) == (ID, "First", 1, NOW)


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_NAME + 1), "nul\x00"])
def test_a_support_needs_a_bounded_nul_free_name(name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        create_support(NewSupport(name=name), support_id=ID, now=NOW)
    assert [violation.field for violation in refused.value.violations] == ["name"]
