"""`agora events replay admin` rebuilds every analytics table identically from the streams:
watching the running consumers (the admin service's), or consuming in the command itself."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from analytics_events import plan_events, publish, seeded_plan
from cli_support import one_line
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agora import cli
from agora.admin import analytics_store
from agora.admin.analytics_consumers import analytics_consumers
from agora.admin.analytics_tables import ANALYTICS_TABLES
from agora.admin.reports_consumers import reports_consumers
from agora.platform.bus.consumer import EventConsumer
from agora.platform.db import create_engine, session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.migrations import migrate
from agora.platform.net import free_port, wait_for_port

runner = CliRunner()


@pytest.fixture(scope="module")
def private_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server of this module's own (synthetic events stay off the session's streams)."""
    server = EmbeddedNats(tmp_path_factory.mktemp("replay-nats"), free_port())
    with (server.data_dir / "nats.log").open("ab") as log:
        process = subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
async def js(private_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(private_nats_url)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture(scope="module")
def replay_database_url(database_url: str) -> str:
    """A database of this module's own: the rebuild empties the analytics tables it runs on."""
    head, _, _ = database_url.rpartition("/")
    return f"{head}/agora_replay_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def engine(replay_database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("admin", replay_database_url)
    made = create_engine(replay_database_url, "admin", pool_size=4)
    yield made
    await made.dispose()


PLAN = plan_events(seeded_plan(0.001))
# The reports' refund facts read the ORDERS stream's refunds again (a consumer of their own).
REPLAYED = len(PLAN) + sum(e.subject == "orders.order.refunded" for e in PLAN)


@pytest.fixture(scope="module")
async def built(js: JetStreamContext, engine: AsyncEngine) -> dict[str, list]:
    """The plan's events published and folded once by the consumers: the tables to reproduce."""
    await publish(js, PLAN)
    await drain(analytics_consumers(js, session_factory(engine)))
    return await tables(engine)


@pytest.fixture
def configured(
    monkeypatch: pytest.MonkeyPatch, private_nats_url: str, replay_database_url: str
) -> None:
    monkeypatch.setenv("AGORA_NATS_URL", private_nats_url)
    monkeypatch.setenv("AGORA_DATABASE_URL", replay_database_url)


async def drain(consumers: list[EventConsumer]) -> None:
    for consumer in consumers:
        while await consumer.consume_once(timeout_s=0.5):
            pass


async def tables(engine: AsyncEngine) -> dict[str, list]:
    async with engine.connect() as conn:
        return await analytics_store.dump_models(conn, ANALYTICS_TABLES)


async def scramble(engine: AsyncEngine) -> None:
    """Damage the read models, so that only a rebuild from the streams can restore them."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE analytics_daily_sales SET revenue_minor = 0")
        await conn.exec_driver_sql("DELETE FROM analytics_accounts")


async def test_replay_admin_consuming_itself_rebuilds_identical_tables(
    built: dict[str, list], engine: AsyncEngine, configured: None
) -> None:
    assert built["analytics_orders"]
    assert built["analytics_daily_sales"]
    await scramble(engine)
    assert await tables(engine) != built

    result = await asyncio.to_thread(
        runner.invoke, cli.app, ["events", "replay", "admin", "--consume"]
    )

    assert result.exit_code == 0, result.output
    assert f"admin: read models rebuilt from {REPLAYED:,} events" in one_line(result.output)
    assert await tables(engine) == built


async def test_replay_admin_waits_for_the_running_consumers_to_catch_up(
    built: dict[str, list], engine: AsyncEngine, js: JetStreamContext, configured: None
) -> None:
    await scramble(engine)
    sessions = session_factory(engine)
    service = [*analytics_consumers(js, sessions), *reports_consumers(js, sessions)]  # admin's
    running = [asyncio.create_task(c.run()) for c in service]
    try:
        result = await asyncio.to_thread(runner.invoke, cli.app, ["events", "replay", "admin"])
    finally:
        for consumer in service:
            await consumer.stop()
        await asyncio.gather(*running)

    assert result.exit_code == 0, result.output
    assert await tables(engine) == built


async def test_replay_admin_without_consumers_gives_up_naming_the_remedy(
    built: dict[str, list], configured: None
) -> None:
    result = await asyncio.to_thread(
        runner.invoke, cli.app, ["events", "replay", "admin", "--timeout", "1"]
    )

    assert result.exit_code == 1
    assert "is the admin service running?" in one_line(result.output)


def test_replay_of_an_unknown_service_asks_for_a_stream(configured: None) -> None:
    result = runner.invoke(cli.app, ["events", "replay", "nobody"])

    assert result.exit_code == 1
    assert "give --stream" in one_line(result.output)
    assert "admin" in one_line(result.output)
