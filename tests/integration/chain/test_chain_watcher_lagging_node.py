"""A node that shows a new head before the logs of its block (a provider's load balancer in
front of nodes at different heights does): the log missed by one pass is recorded by the next,
once, because each pass reads its last blocks again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from chain_watch_support import USDT, chain_bed
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora.chain.configuration import ChainConfig
from agora.chain.domain import transfer_reference
from agora.chain.watcher import Watcher
from agora.platform.net import free_port

CONFIRMED = "chain.transfer.confirmed"


@dataclass
class LaggingNode:
    """A JSON-RPC proxy in front of the real node; `hide(block)` makes the next `eth_getLogs`
    answers leave that block's logs out (the head and the headers stay true)."""

    upstream: str
    port: int = field(default_factory=free_port)
    hidden_block: int | None = None
    hidden: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hide(self, block: int) -> None:
        self.hidden_block = block

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.upstream, json=payload) as response,
        ):
            answer = await response.json(content_type=None)
        calls = payload if isinstance(payload, list) else [payload]
        answers = answer if isinstance(answer, list) else [answer]
        by_id = {a.get("id"): a for a in answers}
        lagging = False
        for call in calls:
            reply = by_id.get(call.get("id"))
            if call.get("method") != "eth_getLogs" or self.hidden_block is None or reply is None:
                continue
            logs = reply.get("result") or []
            kept = [log for log in logs if int(log["blockNumber"], 16) != self.hidden_block]
            self.hidden += len(logs) - len(kept)
            reply["result"] = kept
            lagging = True
        if lagging:
            self.hidden_block = None  # one pass only: the node catches up
        return web.Response(text=json.dumps(answer), content_type="application/json")


@asynccontextmanager
async def lagging_node(upstream: str) -> AsyncIterator[LaggingNode]:
    node = LaggingNode(upstream)
    app = web.Application()
    app.router.add_post("/", node.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", node.port).start()
    try:
        yield node
    finally:
        await runner.cleanup()


def through(config: ChainConfig, url: str) -> ChainConfig:
    settings = config.settings.model_copy(update={"rpc_url": url})
    return ChainConfig(settings, config.wallet)


async def test_a_log_the_node_showed_late_is_recorded_once_by_the_next_pass(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with (
        chain_bed(tmp_path, chain_engine, chain_js) as bed,
        lagging_node(bed.anvil.url) as node,
    ):
        options = await bed.options(5 * USDT, speed=pb.SPEED_LOW)  # 1 confirmation
        watcher = Watcher(bed.engine, through(bed.config, node.url))
        await watcher.catch_up()
        tx = bed.transfer_usdt(options.deposit_address, 5 * USDT)
        block: Any = bed.w3.eth.get_transaction_receipt(tx)["blockNumber"]

        node.hide(block)
        await watcher.catch_up()
        missed = await bed.transfer_rows()
        bed.anvil.mine(1)
        await watcher.catch_up()
        bed.anvil.mine(3)
        await watcher.catch_up()

        assert (missed, node.hidden) == ([], 1)
        (row,) = await bed.transfer_rows()
        assert (row.tx_hash, row.block_number, row.status) == (tx, block, 2)
        reference = transfer_reference(bed.chain_id, tx, row.log_index)
        assert await bed.events() == [(CONFIRMED, reference)]
        await watcher.close()
