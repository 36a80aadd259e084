"""`agora seed`: each profile fills a fresh database with data that keeps every service's
invariants; the test profile is byte-for-byte the same in every run; a second run changes
nothing; cleaning removes exactly the seeded rows; bad input writes nothing."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Console
from seed_support import count, dump, execute, fresh_database_url, migrated_database
from typer.testing import CliRunner

from agora.catalog import store
from agora.catalog.domain import NewProduct, NewVariant
from agora.cli import app
from agora.platform.db import create_engine, ensure_database, session_factory, transaction
from agora.platform.kernel.money import Money
from agora.platform.seeding import seed_id
from agora.seed.checks import check_consistency
from agora.seed.generate import build_plan
from agora.seed.runner import SeedError, clean_database, seed_database

QUIET = Console(quiet=True)


async def test_the_minimal_profile_is_consistent_and_seeding_it_again_changes_nothing(
    database_url: str,
) -> None:
    url = await migrated_database(database_url)
    first = await seed_database(url, "minimal", seed=1, scale=1.0, console=QUIET)
    before = await dump(url)
    second = await seed_database(url, "minimal", seed=1, scale=1.0, console=QUIET)

    assert first.written
    assert not second.written
    assert first.plan is not None
    assert await check_consistency(url, first.plan) == []
    assert await dump(url) == before
    assert await count(url, "SELECT count(*) FROM catalog.products") == 48
    staff = await count(
        url, "SELECT count(*) FROM auth.user_roles WHERE role = ANY($1::text[])", ["staff", "admin"]
    )
    assert staff == 2
    statuses = await count(url, "SELECT count(DISTINCT status) FROM orders.order_list")
    assert statuses == 9


async def test_the_test_profile_is_byte_for_byte_the_same_in_every_run(database_url: str) -> None:
    one, two = await migrated_database(database_url), await migrated_database(database_url)
    await seed_database(one, "test", seed=7, scale=1.0, console=QUIET)
    await seed_database(two, "test", seed=7, scale=1.0, console=QUIET)
    plan = build_plan("test", seed=7, scale=1.0)

    first = await dump(one)
    assert first == await dump(two)
    assert sum(len(rows) for rows in first.values()) > 500
    assert await check_consistency(one, plan) == []


async def test_clean_removes_every_seeded_row_and_keeps_what_the_api_created(
    database_url: str,
) -> None:
    url = await migrated_database(database_url)
    await seed_database(url, "test", seed=1, scale=1.0, console=QUIET)
    garden = seed_id("test", "category", "garden")
    engine = create_engine(url, "catalog")
    try:
        async with transaction(session_factory(engine)) as session:
            real = await store.create_product(
                session,
                NewProduct(
                    slug="a-real-watering-can",
                    title="A Real Watering Can",
                    description="made through the catalog's own store",
                    attributes={},
                    image_urls=(),
                    category_id=garden,
                    variants=(NewVariant("REAL-1", "Green", {}, (Money(1990, "EUR"),)),),
                ),
            )
    finally:
        await engine.dispose()

    removed = await clean_database(url, None, console=QUIET)

    left = await dump(url)
    seeded_left = {t: rows for t, rows in left.items() if rows and "outbox" not in t}
    assert removed["catalog.products"] == 24
    assert await count(url, "SELECT count(*) FROM catalog.products WHERE id = $1", real.id) == 1
    assert await count(url, "SELECT count(*) FROM catalog.variants") == 1
    # The category the real product is filed under (and its parent) stay; nothing else does.
    assert await count(url, "SELECT count(*) FROM catalog.categories") == 2
    assert set(seeded_left) <= {
        '"catalog"."products"',
        '"catalog"."variants"',
        '"catalog"."prices"',
        '"catalog"."product_prices"',
        '"catalog"."stock"',
        '"catalog"."categories"',
        # Its one row, back at zero orders.
        '"support"."purchase_totals"',
    }
    assert await count(url, "SELECT orders FROM support.purchase_totals") == 0
    assert await count(url, "SELECT count(*) FROM seed.runs WHERE status = 'removed'") == 1


async def test_a_new_seed_replaces_the_recorded_run_in_place(database_url: str) -> None:
    url = await migrated_database(database_url)
    await seed_database(url, "test", seed=1, scale=1.0, console=QUIET)
    replaced = await seed_database(url, "test", seed=2, scale=1.0, console=QUIET)

    assert replaced.written
    assert replaced.removed_runs == 1
    assert replaced.plan is not None
    assert await check_consistency(url, replaced.plan) == []
    assert await count(url, "SELECT count(*) FROM catalog.products") == 24
    assert await count(url, "SELECT count(*) FROM seed.runs WHERE status = 'finished'") == 1


async def test_a_run_whose_data_version_has_no_generator_is_refused_not_half_cleaned(
    database_url: str,
) -> None:
    url = await migrated_database(database_url)
    await seed_database(url, "test", seed=1, scale=1.0, console=QUIET)
    await execute(url, "UPDATE seed.runs SET data_version = 0")

    with pytest.raises(SeedError, match="seed data version 0 has no generator"):
        await seed_database(url, "test", seed=2, scale=1.0, console=QUIET)

    assert await count(url, "SELECT count(*) FROM catalog.products") == 24
    assert await count(url, "SELECT count(*) FROM seed.runs WHERE status = 'finished'") == 1


async def test_the_full_profile_at_a_reduced_scale_is_consistent(database_url: str) -> None:
    url = await migrated_database(database_url)
    outcome = await seed_database(url, "full", seed=1, scale=0.01, console=QUIET)

    assert outcome.plan is not None
    assert await check_consistency(url, outcome.plan) == []
    assert await count(url, "SELECT count(*) FROM orders.order_list") == 2_000
    assert await count(url, "SELECT count(DISTINCT currency) FROM orders.order_list") >= 3
    tags = {t for p in outcome.plan.products for t in p.tags}
    assert "bestseller" in tags
    assert any(t.startswith("bundle:") for t in tags)
    assert {f"seasonal:{m}" for m in range(1, 13)} <= tags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "--profile", "huge"], "unknown profile 'huge'"),
        (["seed", "--scale", "-1"], "must be positive"),
        (["seed", "--scale", "0"], "must be positive"),
        (["seed", "clean", "--profile", "huge"], "unknown profile 'huge'"),
    ],
)
def test_bad_input_is_a_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2
    assert message in result.output


def test_an_unmigrated_database_is_refused_and_nothing_is_written(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url(database_url)
    asyncio.run(ensure_database(url))
    monkeypatch.setenv("AGORA_DATABASE_URL", url)

    result = CliRunner().invoke(app, ["seed", "--profile", "test"])

    assert result.exit_code == 1
    assert "not migrated" in result.output
    seed_schema = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'seed'"
    assert asyncio.run(count(url, seed_schema)) == 0
