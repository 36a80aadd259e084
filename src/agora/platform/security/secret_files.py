"""Secret files a deployment generates once (the service key, the KEK, the page-token key):
written readable by their owner only, never seen half written, and the first writer wins when
processes start together."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


def write_private(path: Path, content: bytes, *, replace: bool) -> None:
    """`content` at `path`, mode 0600 in a 0700 directory, written under a temporary name then
    moved into place. Without `replace` an existing file is kept (its writer came first)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
