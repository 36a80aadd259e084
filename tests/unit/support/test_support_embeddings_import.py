"""Loading the embedding model leaves the process's logging as it was (wordllama configures the
root logger at import)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import logging
from agora.support.embeddings import _import_quietly
_import_quietly()
root = logging.getLogger()
print(len(root.handlers), root.level)
"""

UNGUARDED = "import logging, wordllama; print(len(logging.getLogger().handlers))"


def test_importing_wordllama_adds_no_root_handler() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["0", str(30)]  # no handler, WARNING as Python starts


def test_without_the_guard_wordllama_would_add_one() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, wordllama; print(len(logging.getLogger().handlers))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.split() == ["1"]
