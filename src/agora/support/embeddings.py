"""Text embeddings of products for "similar products": WordLlama's model, whose weights ship in
its wheel (PyPI `wordllama`), loaded from there with downloads disabled, so it works offline.

Loading takes a few seconds and ~130 MB, so it happens once, on first use, in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agora.support.tables import EMBEDDING_DIMENSIONS


class TextEmbedder:
    """L2-normalised embeddings of texts (cosine similarity is their dot product)."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self) -> None:
        self._model: Any = None
        self._loading = threading.Lock()

    def _loaded(self) -> Any:
        with self._loading:
            if self._model is None:
                wordllama = _import_quietly()
                self._model = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent,
                    disable_download=True,
                    dim=self.dimensions,
                )
            return self._model

    def matrix(self, texts: Sequence[str]) -> Any:
        """A numpy array, one row per text (blocking: milliseconds per hundred short texts)."""
        return self._loaded().embed(list(texts), norm=True)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text (blocking)."""
        if not texts:
            return []
        return [[float(x) for x in row] for row in self.matrix(texts)]

    async def embed_async(self, texts: Sequence[str]) -> list[list[float]]:
        """`embed` off the event loop."""
        return await asyncio.to_thread(self.embed, texts)


def _import_quietly() -> Any:
    """`wordllama`, imported without the `logging.basicConfig(level=INFO)` it runs at import
    (which would print every INFO record of the process, httpx's requests included)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import wordllama
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return wordllama
