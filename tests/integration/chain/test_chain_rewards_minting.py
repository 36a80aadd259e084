"""Paid orders' rewards minted on a real EVM node (anvil, the project's AgoraToken): once per
order to a registered wallet, accrued without one and minted once when claimed, nothing for a
guest; a lost, displaced or reverted mint transaction and a node outage mint exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import nats
import pytest
import sqlalchemy as sa
from anvil_support import Anvil, running_anvil
from chain_rewards_support import (
    ONE_AGT,
    RULE,
    MovableClock,
    agt_balance,
    as_customer,
    chain_with_minter,
    new_customer,
    new_wallet,
    operator,
    place_and_pay,
    publish_order_event,
    register_wallet,
    rewards_server,
)
from nats.js import JetStreamContext
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as orders_events
from agora.chain.consumers import reward_consumers
from agora.chain.contracts import contract, dev_deployer
from agora.chain.rewards import RewardMinting, TokenMinter
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import new_envelope
from agora.platform.db import session_factory

Stub = chain_pb2_grpc.ChainServiceStub


@dataclass
class Rig:
    """One test's chain node, token, minting job, consumer and rewards RPCs."""

    anvil: Anvil
    token: str
    minting: RewardMinting
    consumer: EventConsumer
    chain: Stub
    js: JetStreamContext
    engine: AsyncEngine
    clock: MovableClock

    async def grant(self) -> None:
        """Handle every orders event published so far."""
        while await self.consumer.consume_once(timeout_s=0.5):
            pass

    async def mint(self) -> None:
        """Run the minting job until nothing moves (anvil mines each transaction at once)."""
        while await self.minting.run_once():
            pass

    def balance(self, address: str) -> int:
        return agt_balance(self.anvil, self.token, address)

    async def rewards(self, customer: str) -> pb.Rewards:
        return await self.chain.GetRewards(pb.GetRewardsRequest(), metadata=as_customer(customer))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Anvil]:
    """A fresh anvil keeping its state across a stop and start (an outage, not a new chain)."""
    with running_anvil(tmp_path, state_dir=tmp_path / "anvil") as anvil:
        yield anvil


@pytest.fixture
async def rig(
    node: Anvil, chain_engine: AsyncEngine, nats_url: str, security_files: SecurityFiles
) -> AsyncIterator[Rig]:
    token = chain_with_minter(node)
    clock = MovableClock()
    minter = TokenMinter(node.url, token, operator, chain_id=node.chain_id, timeout_s=5)
    minting = RewardMinting(chain_engine, minter, clock=clock)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    durable = f"chain-rewards-test-{uuid.uuid4().hex[:8]}"
    [consumer] = reward_consumers(js, session_factory(chain_engine), RULE, durable=durable)
    async with rewards_server(chain_engine, security_files, clock) as chain:
        yield Rig(node, token, minting, consumer, chain, js, chain_engine, clock)
    await js.delete_consumer("ORDERS", durable)
    await nc.close()


async def mint_rows(engine: AsyncEngine, customer: str) -> list[sa.Row[tuple[str, str, int]]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT status, failure, attempts FROM reward_mints WHERE customer_id = :c"),
            {"c": customer},
        )
        return list(result)  # type: ignore[arg-type]


async def test_a_paid_order_mints_its_reward_once_to_the_registered_wallet(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)

    order_id = await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    await rig.mint()

    assert rig.balance(wallet.address) == ONE_AGT
    rewards = await rig.rewards(customer)
    assert [(r.order_id, r.amount.base_units, r.minted) for r in rewards.rewards] == [
        (order_id, str(ONE_AGT), True)
    ]
    assert rewards.rewards[0].tx_hash.startswith("0x")
    assert (rewards.minted.base_units, rewards.accrued.base_units) == (str(ONE_AGT), "0")

    # The same event again (a redelivery), and another paid event for the order: nothing more.
    paid = orders_events.OrderPaid(order_id=order_id, invoice_id=str(uuid.uuid4()))
    await publish_order_event(rig.js, "orders.order.paid", paid, order_id)
    await rig.grant()
    await rig.mint()
    assert rig.balance(wallet.address) == ONE_AGT
    assert len((await rig.rewards(customer)).rewards) == 1


async def test_a_redelivered_paid_event_is_handled_once(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)
    order_id = str(uuid.uuid4())
    placed = orders_events.OrderPlaced(order_id=order_id, customer_id=customer, currency="EUR")
    placed.totals.total.amount_minor, placed.totals.total.currency = 20_000, "EUR"
    await publish_order_event(rig.js, "orders.order.placed", placed, order_id)
    paid = orders_events.OrderPaid(order_id=order_id, invoice_id=str(uuid.uuid4()))
    # The relay re-publishing one envelope after the duplicate window: the same event id twice.
    envelope = new_envelope(
        producer="orders", subject="orders.order.paid", event=paid, aggregate_id=order_id
    )
    for attempt in range(2):
        await rig.js.publish(
            "orders.order.paid",
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": f"{envelope.event_id}-{attempt}"},
        )
    await rig.grant()
    await rig.mint()
    assert rig.balance(wallet.address) == 2 * ONE_AGT
    assert len(await mint_rows(rig.engine, customer)) == 1


async def test_without_a_wallet_the_reward_accrues_and_a_claim_mints_it_once(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await place_and_pay(rig.js, customer_id=customer, total_minor=5_000)
    await rig.grant()
    await rig.mint()

    accrued = await rig.rewards(customer)
    assert not accrued.HasField("wallet")
    assert (accrued.minted.base_units, accrued.accrued.base_units) == ("0", str(3 * ONE_AGT // 2))
    assert [r.minted for r in accrued.rewards] == [False, False]

    await register_wallet(rig.chain, customer, wallet)
    claim = pb.ClaimRewardsRequest(idempotency_key=str(uuid.uuid4()))
    first = await rig.chain.ClaimRewards(claim, metadata=as_customer(customer))
    retried = await rig.chain.ClaimRewards(claim, metadata=as_customer(customer))
    assert retried == first
    await rig.mint()
    again = pb.ClaimRewardsRequest(idempotency_key=str(uuid.uuid4()))
    await rig.chain.ClaimRewards(again, metadata=as_customer(customer))
    await rig.mint()

    assert rig.balance(wallet.address) == 3 * ONE_AGT // 2
    claimed = await rig.rewards(customer)
    assert (claimed.minted.base_units, claimed.accrued.base_units) == (str(3 * ONE_AGT // 2), "0")
    assert [r.minted for r in claimed.rewards] == [True, True]
    assert [row.status for row in await mint_rows(rig.engine, customer)] == ["minted"]


async def test_a_guest_order_earns_nothing(rig: Rig) -> None:
    order_id = await place_and_pay(rig.js, customer_id="", total_minor=10_000)
    await rig.grant()
    async with rig.engine.connect() as conn:
        found = await conn.execute(
            sa.text("SELECT count(*) FROM rewards WHERE order_id = :o"), {"o": order_id}
        )
        assert found.scalar() == 0
        placed = await conn.execute(
            sa.text("SELECT count(*) FROM reward_orders WHERE order_id = :o"), {"o": order_id}
        )
        assert placed.scalar() == 1  # the order was seen: it is the guest that earns nothing


async def test_a_node_outage_loses_no_reward(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)
    rig.anvil.stop()
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    with pytest.raises(aiohttp.ClientConnectionError):  # the node refuses connections
        await rig.minting.run_once()
    assert [row.status for row in await mint_rows(rig.engine, customer)] == ["pending"]

    rig.anvil.start()
    await rig.mint()
    assert rig.balance(wallet.address) == ONE_AGT
    assert [row.status for row in await mint_rows(rig.engine, customer)] == ["minted"]


async def test_a_mint_the_node_lost_is_broadcast_again_and_minted_once(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    rig.anvil.rpc("evm_setAutomine", False)
    assert await rig.minting.send_pending() == 1
    rig.anvil.rpc("anvil_dropAllTransactions")  # as a node restart empties its pool

    assert await rig.minting.settle_sent() == 0  # re-sent as it was: still "sent"
    rig.anvil.mine(1)
    await rig.mint()
    assert rig.balance(wallet.address) == ONE_AGT
    assert [row.status for row in await mint_rows(rig.engine, customer)] == ["minted"]


async def test_a_mint_whose_nonce_went_to_another_transaction_is_signed_anew(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    rig.anvil.rpc("evm_setAutomine", False)
    await rig.minting.send_pending()
    rig.anvil.rpc("anvil_dropAllTransactions")
    # Another use of the operator account (a sweep's gas) takes the nonce first.
    w3 = rig.anvil.web3()
    account = operator()
    transfer = {
        "to": dev_deployer().address,
        "value": 1,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price * 2,
        "nonce": w3.eth.get_transaction_count(account.address),
        "chainId": w3.eth.chain_id,
    }
    w3.eth.send_raw_transaction(account.sign_transaction(transfer).raw_transaction)
    rig.anvil.mine(1)
    rig.anvil.rpc("evm_setAutomine", True)

    await rig.mint()
    assert rig.balance(wallet.address) == ONE_AGT
    [minted] = await mint_rows(rig.engine, customer)
    assert (minted.status, minted.failure, minted.attempts) == ("minted", "nonce taken", 2)


async def test_a_mint_that_would_revert_is_retried_later(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await register_wallet(rig.chain, customer, wallet)
    set_minter(rig, allowed=False)
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    await rig.mint()
    [refused] = await mint_rows(rig.engine, customer)
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert "revert" in refused.failure
    assert rig.balance(wallet.address) == 0

    set_minter(rig, allowed=True)
    await rig.mint()
    assert rig.balance(wallet.address) == 0  # not due yet: it backs off
    rig.clock.offset = timedelta(minutes=1)
    await rig.mint()
    assert rig.balance(wallet.address) == ONE_AGT


def set_minter(rig: Rig, *, allowed: bool) -> None:
    w3 = rig.anvil.web3()
    deployer = dev_deployer()
    token = contract(w3, "AgoraToken", rig.token)
    tx = token.functions.set_minter(operator().address, allowed).build_transaction(
        {
            "from": deployer.address,
            "nonce": w3.eth.get_transaction_count(deployer.address),
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
    )


async def granted_events(engine: AsyncEngine, customer: str) -> list[tuple[str, bool]]:
    """(order id, minted) of every chain.reward.granted event for `customer`, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT payload FROM outbox WHERE subject = 'chain.reward.granted' ORDER BY seq"
            )
        )
        found = []
        for row in rows:
            envelope = EventEnvelope.FromString(bytes(row.payload))
            granted = events.RewardGranted.FromString(envelope.payload)
            if granted.customer_id == customer:
                found.append((granted.reward.order_id, granted.reward.minted))
        return found


async def test_rewards_are_announced_when_accrued_and_when_minted(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    order_id = await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    assert await granted_events(rig.engine, customer) == [(order_id, False)]

    await register_wallet(rig.chain, customer, wallet)
    claim = pb.ClaimRewardsRequest(idempotency_key=str(uuid.uuid4()))
    await rig.chain.ClaimRewards(claim, metadata=as_customer(customer))
    await rig.mint()
    assert await granted_events(rig.engine, customer) == [(order_id, False), (order_id, True)]


async def test_the_running_job_mints_a_claim_it_is_woken_for(rig: Rig) -> None:
    customer, wallet = new_customer(), new_wallet()
    await place_and_pay(rig.js, customer_id=customer, total_minor=10_000)
    await rig.grant()
    await register_wallet(rig.chain, customer, wallet)
    job = asyncio.create_task(rig.minting.run())
    try:
        claim = pb.ClaimRewardsRequest(idempotency_key=str(uuid.uuid4()))
        await rig.chain.ClaimRewards(claim, metadata=as_customer(customer))
        rig.minting.wake()
        for _ in range(200):
            if (await rig.rewards(customer)).minted.base_units == str(ONE_AGT):
                break
            await asyncio.sleep(0.1)
    finally:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
    assert rig.balance(wallet.address) == ONE_AGT
