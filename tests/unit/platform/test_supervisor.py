"""The process supervisor behind `agora up`: what it refuses before starting anything (its
processes are exercised in tests/integration/platform/test_supervisor.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.platform.supervisor import ProcessSpec, Supervisor


async def test_an_unknown_dependency_is_refused(tmp_path: Path) -> None:
    async def healthy() -> bool:
        return True

    supervisor = Supervisor(tmp_path / "logs")
    orphan = ProcessSpec("gateway", ["true"], healthy, depends_on=("catalog",))

    with pytest.raises(ValueError, match="unknown processes"):
        await supervisor.start([orphan])
    assert supervisor.snapshot() == [], "nothing was started"
