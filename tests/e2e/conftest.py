"""End-to-end layer: `agora up` in a subprocess on free ports, then HTTP through the gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agora_stack import Stack, stack_environment


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `agora up` for the end-to-end layer (browser tests included), stopped when the layer
    ends: the layers after it get the machine to themselves."""
    data_dir = tmp_path_factory.mktemp("agora-up")
    running = Stack(data_dir, stack_environment(data_dir))
    running.start()
    try:
        yield running
    finally:
        running.stop(check=False)
