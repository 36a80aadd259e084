"""`agora up` brings a real shop up: the demo catalog through the gateway, bad input answered
with the right problem, a crashed service restarted, and a clean stop.

The tests run in file order against one stack; the last one stops and restarts it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import nats
import psutil
from agora_stack import Stack, alive
from nats.js.api import ConsumerConfig, DeliverPolicy
from web3 import Web3

from agora.chain.contracts import dev_addresses
from agora.chain.devnet import USDT_TARGET, balances, dev_wallets

PROBLEM = "application/problem+json"
DEMO_CURRENCIES = {"EUR", "USD", "GBP", "CHF", "JPY"}


def all_products(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    token = ""
    while True:
        page = client.get(
            "/v1/products",
            params={"pageSize": "100", **params, **({"pageToken": token} if token else {})},
        )
        assert page.status_code == 200, page.text
        body = page.json()
        products += body.get("products", [])
        token = body.get("nextPageToken", "")
        if not token:
            return products


def currencies_of(product: dict[str, Any]) -> set[str]:
    return {
        price["currency"]
        for variant in product.get("variants", [])
        for price in variant.get("prices", [])
    }


def violated_fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


def new_product(**overrides: Any) -> dict[str, Any]:
    product: dict[str, Any] = {
        "idempotencyKey": str(uuid.uuid4()),
        "slug": f"e2e-{uuid.uuid4().hex[:10]}",
        "title": "Walnut desk",
        "variants": [
            {
                "sku": f"E2E-{uuid.uuid4().hex[:8]}",
                "prices": [{"amountMinor": "1999", "currency": "EUR"}],
            }
        ],
    }
    product.update(overrides)
    return product


def test_the_minimal_profile_lists_about_fifty_products_priced_in_five_currencies(
    stack: Stack,
) -> None:
    with stack.client() as client:
        products = all_products(client)

    assert 40 <= len(products) <= 60
    assert len({p["slug"] for p in products}) == len(products)
    assert all(currencies_of(p) == DEMO_CURRENCIES for p in products)
    amounts = [
        int(price["amountMinor"])
        for product in products
        for variant in product["variants"]
        for price in variant["prices"]
    ]
    assert all(amount > 0 for amount in amounts)


def test_the_embedded_chain_runs_with_the_contracts_and_the_funded_dev_wallets(
    stack: Stack,
) -> None:
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{stack.env['AGORA_ANVIL_PORT']}"))

    assert stack.process_row("anvil")["state"] == "healthy"
    assert w3.eth.chain_id == 31337
    deployment = dev_addresses()
    assert all(w3.eth.get_code(a) for a in (deployment.token, deployment.usdt, deployment.router))
    dev1 = dev_wallets()["dev-1"].address
    assert balances(w3, deployment, dev1).usdt == USDT_TARGET
    assert dev1 in stack.output(), "the announcement lists the development wallets"
    head = w3.eth.block_number
    mined = run_cli(stack, "chain", "mine", "3")
    assert mined.returncode == 0, mined.stdout
    assert w3.eth.block_number >= head + 3


def test_the_embedded_model_answers_where_every_service_is_told_to_find_it(stack: Stack) -> None:
    base_url = f"http://127.0.0.1:{stack.env['AGORA_LLM_PORT']}/v1"
    model = stack.process_row("llm")
    support = psutil.Process(stack.process_row("support")["pid"]).environ()

    assert model["state"] == "healthy"
    assert model["url"] == base_url
    assert support["AGORA_SUPPORT_LLM_BASE_URL"] == base_url
    assert support["AGORA_SUPPORT_LLM_MODEL"] == "smollm2-135m-instruct"
    assert "smollm2-135m-instruct, embedded" in stack.output(), "the announcement names it"
    reply = httpx.post(
        f"{base_url}/chat/completions",
        json={
            "model": "smollm2-135m-instruct",
            "messages": [{"role": "user", "content": "Where is my order?"}],
            "max_tokens": 16,
        },
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"].strip()
    assert reply.json()["usage"]["completion_tokens"] >= 1


def test_a_list_in_one_currency_shows_the_lowest_price_in_it(stack: Stack) -> None:
    with stack.client() as client:
        products = all_products(client, currency="JPY")

    assert products
    assert all(p["priceFrom"]["currency"] == "JPY" for p in products)


def test_a_product_is_found_by_its_slug(stack: Stack) -> None:
    with stack.client() as client:
        first = client.get("/v1/products", params={"pageSize": "1"}).json()["products"][0]
        found = client.get(f"/v1/products/{first['slug']}")

    assert found.status_code == 200
    assert found.json()["id"] == first["id"]
    assert found.json()["title"] == first["title"]


def test_an_unknown_slug_is_a_404_problem(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/v1/products/no-such-product-anywhere")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 404


def test_a_page_size_above_the_maximum_is_a_400_naming_page_size(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/v1/products", params={"pageSize": "101"})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "pageSize" in violated_fields(response)


def test_a_post_that_is_not_json_is_a_415(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post(
            "/v1/products", content=b"title=Desk", headers={"content-type": "text/plain"}
        )

    assert response.status_code == 415
    assert response.headers["content-type"].startswith(PROBLEM)


def test_malformed_json_is_a_400(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post(
            "/v1/products",
            content=b'{"title": "Desk",',
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


def test_a_field_of_the_wrong_type_is_a_400_naming_it(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/products", json=new_product(variants="not a list"))

    assert response.status_code == 400
    assert any("variants" in name for name in violated_fields(response))


def test_an_empty_title_is_a_400_naming_title(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/products", json=new_product(title=""))

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert "title" in violated_fields(response)


def test_a_negative_price_is_a_400_naming_the_amount(stack: Stack) -> None:
    negative = [
        {"sku": f"E2E-{uuid.uuid4().hex[:8]}", "prices": [{"amountMinor": "-5", "currency": "EUR"}]}
    ]
    with stack.client() as client:
        response = client.post("/v1/products", json=new_product(variants=negative))

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert any(name.endswith("amountMinor") for name in violated_fields(response))


def test_a_dead_catalog_is_a_fast_503_then_it_is_restarted(stack: Stack) -> None:
    catalog = stack.process_row("catalog")
    restarts_before = catalog["restarts"]
    os.kill(catalog["pid"], signal.SIGKILL)

    with stack.client() as client:
        asked = time.monotonic()
        # A query nobody asked before, so no cached answer can hide the dead backend.
        dead = client.get("/v1/products", params={"q": f"nothing-{uuid.uuid4().hex}"})
        answered_in = time.monotonic() - asked

        assert dead.status_code == 503
        assert int(dead.headers["retry-after"]) >= 1
        assert answered_in < 2.0

        deadline = time.monotonic() + 30
        while True:
            again = client.get("/v1/products", params={"q": f"anew-{uuid.uuid4().hex}"})
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)

    assert again.status_code == 200
    restarted = stack.process_row("catalog")
    assert restarted["restarts"] == restarts_before + 1
    assert restarted["pid"] != catalog["pid"]
    assert restarted["exit_signal"] == "SIGKILL"
    assert restarted["restart_reason"] == "killed by SIGKILL"
    assert not alive(catalog["pid"])


def test_status_and_doctor_see_the_running_stack(stack: Stack) -> None:
    status = run_cli(stack, "status")
    doctor = run_cli(stack, "doctor")

    assert status.returncode == 0, status.stdout
    for name in ("postgres", "nats", "catalog", "gateway"):
        assert name in status.stdout
    assert doctor.returncode == 0, doctor.stdout
    assert "in use by this Agora" in doctor.stdout
    assert "PostgreSQL 16" in doctor.stdout
    assert "JetStream enabled" in doctor.stdout


def test_seeding_and_migrating_again_change_nothing(stack: Stack) -> None:
    with stack.client() as client:
        before = {p["slug"] for p in all_products(client)}

    seeded = run_cli(stack, "seed")
    migrated = run_cli(stack, "migrate")

    assert seeded.returncode == 0, seeded.stdout
    assert "already seeded" in seeded.stdout
    assert migrated.returncode == 0, migrated.stdout
    assert "migrated catalog" in migrated.stdout
    with stack.client() as client:
        assert {p["slug"] for p in all_products(client)} == before


async def test_events_replay_moves_a_durable_consumer_back(stack: Stack) -> None:
    client = await nats.connect(f"nats://127.0.0.1:{stack.env['AGORA_NATS_PORT']}")
    try:
        js = client.jetstream()
        await js.add_consumer(
            "CATALOG",
            ConsumerConfig(durable_name="e2e-projection", filter_subject="catalog.>"),
        )
        replayed = await asyncio.to_thread(
            run_cli, stack, "events", "replay", "e2e-projection", "--stream", "CATALOG",
            "--from-seq", "3",
        )  # fmt: skip
        config = (await js.consumer_info("CATALOG", "e2e-projection")).config
    finally:
        await client.close()

    assert replayed.returncode == 0, replayed.stdout
    assert "now delivers from sequence 3" in replayed.stdout
    assert config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert config.opt_start_seq == 3


def test_replaying_an_unknown_consumer_is_refused(stack: Stack) -> None:
    result = run_cli(stack, "events", "replay", "nobody", "--stream", "CATALOG", "--from-seq", "1")

    assert result.returncode == 1
    assert "consumer 'CATALOG/nobody' not found" in result.stdout


def test_a_second_agora_up_on_the_same_data_dir_is_refused(stack: Stack) -> None:
    second = run_cli(stack, "up")

    assert second.returncode == 1
    assert "already runs" in second.stdout


def test_agora_up_restarts_cleanly_without_seeding_again(stack: Stack) -> None:
    with stack.client() as client:
        before = {p["slug"] for p in all_products(client)}
    earlier_output = len(stack.output())

    stack.stop()  # asserts exit code 0 and that no child process survives
    stack.start()

    with stack.client() as client:
        after = {p["slug"] for p in all_products(client)}
    assert after == before
    assert "Seeded the minimal profile" not in stack.output()[earlier_output:]
    chain = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{stack.env['AGORA_ANVIL_PORT']}"))
    assert chain.eth.get_code(dev_addresses().router), "the chain's state survives a restart"
    print(f"\nagora up times (first, with seeding; restart): {stack.startup_times_s}")


def run_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agora", *args],
        env={**stack.env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_agora_up_prints_the_storefront_and_admin_urls_that_serve_pages(stack: Stack) -> None:
    urls = stack.status()["urls"]

    assert urls["Storefront"] == f"{stack.gateway}/"
    assert urls["Admin"] == f"{stack.gateway}/admin"
    home = httpx.get(urls["Storefront"], timeout=10)
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "Storefront" in stack.output()
