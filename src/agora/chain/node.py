"""A minimal Ethereum JSON-RPC client (HTTP, with batches) and the new-heads subscription
(WebSocket `eth_subscribe newHeads`). Every answer is checked: a node that is down, slow, or
answers something malformed raises NodeUnavailable, which the watcher retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog

log = structlog.get_logger("agora.chain.node")

Call = tuple[str, Sequence[Any]]


class NodeUnavailable(RuntimeError):
    """The node could not answer usefully now (down, slow, an error, malformed data)."""


def quantity(value: Any, what: str) -> int:
    """A JSON-RPC hex quantity (`0x1a`) as an int; anything else is malformed."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) > 66:
        raise NodeUnavailable(f"malformed {what}: {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise NodeUnavailable(f"malformed {what}: {value!r}") from None


_HEX = re.compile(r"0x(?:[0-9a-f]{2})*")


def hex_data(value: Any, what: str, *, size: int | None = None) -> str:
    """0x-hex data, lowercased, of `size` bytes when given."""
    text = value.lower() if isinstance(value, str) else ""
    if _HEX.fullmatch(text) is None or (size is not None and len(text) != 2 + 2 * size):
        raise NodeUnavailable(f"malformed {what}: {value!r}")
    return text


class JsonRpc:
    """Calls to one node over HTTP; `batch` sends several calls in one request."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, *params: Any) -> Any:
        (result,) = await self.batch([(method, params)])
        return result

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """The results of `calls`, in order; any error fails the whole batch."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        payload: Any = body[0] if len(body) == 1 else body
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self.url, json=payload) as response:
                if response.status != 200:
                    raise NodeUnavailable(f"{self.url} answered HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError, ValueError) as error:
            raise NodeUnavailable(f"{self.url}: {error!r}") from error
        answers = answer if isinstance(answer, list) else [answer]
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        results = []
        for i, (method, _) in zip(ids, calls, strict=True):
            one = by_id.get(i)
            if one is None:
                raise NodeUnavailable(f"no answer to {method}")
            if "error" in one:
                raise NodeUnavailable(f"{method}: {one['error']!r}")
            if "result" not in one:
                raise NodeUnavailable(f"{method}: malformed answer")
            results.append(one["result"])
        return results


class NewHeads:
    """Sets `event` on every new head the node announces over WebSocket; reconnects after a
    failure (the watcher polls meanwhile, so a lost subscription only costs latency)."""

    def __init__(self, ws_url: str, event: asyncio.Event, *, retry_s: float = 1.0) -> None:
        self._url = ws_url
        self._event = event
        self._retry_s = retry_s
        self.connected = False

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self._follow(session)
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
                    log.info("chain_new_heads_lost", url=self._url, error=repr(error))
                finally:
                    self.connected = False
                await asyncio.sleep(self._retry_s)

    async def _follow(self, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(self._url, heartbeat=30) as ws:
            await ws.send_json(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            )
            self.connected = True
            self._event.set()  # a head may have come while disconnected
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                with contextlib.suppress(ValueError):
                    if json.loads(message.data).get("method") == "eth_subscription":
                        self._event.set()
