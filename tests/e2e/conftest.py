"""End-to-end layer: `agora up` in a subprocess on free ports, then HTTP through the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agora_stack import Stack, stack_environment

E2E_DIR = Path(__file__).parent
_RUNNING: list[Stack] = []


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `agora up` for the end-to-end layer (browser tests included), stopped when the layer
    ends (`pytest_runtest_teardown` below): the layers after it get the machine to themselves."""
    data_dir = tmp_path_factory.mktemp("agora-up")
    running = Stack(data_dir, stack_environment(data_dir))
    running.start()
    _RUNNING.append(running)
    try:
        yield running
    finally:
        _stop_stacks()


def _stop_stacks() -> None:
    while _RUNNING:
        _RUNNING.pop().stop(check=False)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the last end-to-end test (its module's fixtures already torn down), stop the
    stack: without packages (`__init__.py`) a package-scoped fixture would live until the
    session ends, through every layer after this one."""
    if nextitem is None or E2E_DIR not in nextitem.path.parents:
        _stop_stacks()
