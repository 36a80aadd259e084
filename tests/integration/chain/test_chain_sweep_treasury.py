"""Sweeps on a real chain (anvil, the project's TestUSDT, which returns nothing from transfer):
a paid deposit is moved to the treasury with its gas funded from the operations account,
recorded once however often the job runs, announced by chain.sweep.completed, listed by
ListSweeps and reported by reconciliation as a sweep checked on chain."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from chain_reconcile_support import Shop, reconcile_shop
from chain_watch_support import TEST_SEED, USDT
from nats.js import JetStreamContext
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.chain.configuration import ChainConfig
from agora.chain.sweeper import Sweeper
from agora.chain.wallets import Wallet, create_keystore
from agora.platform.bus.relay import OutboxRelay
from agora.platform.kernel.clock import utcnow


@pytest.fixture
async def shop(
    tmp_path: Path,
    chain_engine: AsyncEngine,
    chain_js: JetStreamContext,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
) -> Shop:
    async with reconcile_shop(
        tmp_path,
        chain_engine,
        chain_js,
        database_url=database_url,
        nats_url=nats_url,
        security_files=security_files,
        sweep_min_age_s=0,
        sweep_confirmations=2,
    ) as opened:
        yield opened  # type: ignore[misc]


def keyed_config(shop: Shop, tmp_path: Path) -> ChainConfig:
    """The bed's configuration with the keystore of its seed (the bed's wallet is xpub-only)."""
    keystore, passphrase = tmp_path / "keystore.json", tmp_path / "passphrase"
    create_keystore(keystore, passphrase, seed=TEST_SEED.value)
    wallet = Wallet.open(keystore, passphrase, xpub=None, create=False)
    assert wallet.deposits.xpub == shop.bed.config.wallet.deposits.xpub
    return ChainConfig(shop.bed.config.settings, wallet)


def usdt_of(shop: Shop, holder: str) -> int:
    return int(shop.bed.usdt().functions.balanceOf(Web3.to_checksum_address(holder)).call())


async def sweep_events(shop: Shop, sweep_id: str) -> list[str]:
    await OutboxRelay(shop.bed.engine, shop.js, schema="chain").publish_all_pending()
    info = await shop.js.stream_info("CHAIN")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        envelope = EventEnvelope.FromString((await shop.js.get_msg("CHAIN", seq)).data or b"")
        if envelope.aggregate_id == sweep_id:
            found.append(envelope.subject)
    return found


async def test_a_paid_deposit_is_swept_to_the_treasury_once_with_gas_funded(
    shop: Shop, tmp_path: Path
) -> None:
    bed = shop.bed
    config = keyed_config(shop, tmp_path)
    hot = config.wallet.hot_account().address
    bed.anvil.rpc("anvil_setBalance", hot, hex(10**18))
    treasury = config.network.treasury_address
    invoice = await shop.invoice(5)
    deposit = invoice.instructions.pay_to
    assert bed.w3.eth.get_balance(Web3.to_checksum_address(deposit)) == 0  # no gas of its own
    sweeper = Sweeper(bed.engine, config)
    before = usdt_of(shop, treasury)

    bed.transfer_usdt(deposit, 5 * USDT)
    await shop.credit()  # detected, not yet confirmed: nothing to sweep
    assert await sweeper.run_once() == 0
    bed.anvil.mine(3)
    await shop.credit()
    for _ in range(4):  # record, sign and fund, send, settle
        await sweeper.run_once()

    assert usdt_of(shop, deposit) == 0
    assert usdt_of(shop, treasury) == before + 5 * USDT
    listed = await bed.service.ListSweeps(pb.ListSweepsRequest(page_size=100), None)
    [sweep] = [s for s in listed.sweeps if s.deposit_address == deposit.lower()]
    assert sweep.status == pb.SWEEP_STATUS_CONFIRMED
    assert sweep.amount.base_units == str(5 * USDT)
    assert sweep.treasury_address == treasury
    assert sweep.gas_tx_hash
    assert bed.w3.eth.get_transaction(sweep.gas_tx_hash)["from"] == hot
    assert bed.w3.eth.get_transaction_receipt(sweep.tx_hash)["status"] == 1

    for _ in range(2):  # the job again: nothing more is recorded or sent
        assert await sweeper.run_once() == 0
    listed = await bed.service.ListSweeps(pb.ListSweepsRequest(page_size=100), None)
    assert [s.id for s in listed.sweeps if s.deposit_address == deposit.lower()] == [sweep.id]
    assert usdt_of(shop, treasury) == before + 5 * USDT
    assert await sweep_events(shop, sweep.id) == ["chain.sweep.completed"]

    now = utcnow()
    run_id = await shop.reconciler.reconcile(
        now - timedelta(minutes=10), now + timedelta(minutes=10)
    )
    run = await bed.service.GetReconciliation(pb.GetReconciliationRequest(id=run_id), None)
    assert run.counts == pb.ReconciliationCounts(matched=1, sweeps=1)
    assert not run.has_mismatches


async def test_a_sweep_whose_broadcast_was_lost_is_sent_again_as_recorded(
    shop: Shop, tmp_path: Path
) -> None:
    bed = shop.bed
    config = keyed_config(shop, tmp_path)
    bed.anvil.rpc("anvil_setBalance", config.wallet.hot_account().address, hex(10**18))
    invoice = await shop.invoice(7)
    deposit = invoice.instructions.pay_to
    bed.transfer_usdt(deposit, 7 * USDT)
    bed.anvil.mine(3)
    await shop.credit()
    sweeper = Sweeper(bed.engine, config)

    # Recorded and signed, then the node loses what was broadcast (as if the process had
    # ended between the commit and the broadcast).
    bed.anvil.rpc("evm_setAutomine", False)
    await sweeper.run_once()
    bed.anvil.rpc("anvil_dropAllTransactions")
    bed.anvil.rpc("evm_setAutomine", True)
    listed = await bed.service.ListSweeps(pb.ListSweepsRequest(page_size=100), None)
    [signed] = [s for s in listed.sweeps if s.deposit_address == deposit.lower()]
    assert signed.status == pb.SWEEP_STATUS_PENDING
    assert signed.gas_tx_hash
    assert signed.tx_hash

    for _ in range(4):
        await sweeper.run_once()

    listed = await bed.service.ListSweeps(pb.ListSweepsRequest(page_size=100), None)
    [swept] = [s for s in listed.sweeps if s.deposit_address == deposit.lower()]
    assert swept.status == pb.SWEEP_STATUS_CONFIRMED
    assert (swept.id, swept.gas_tx_hash, swept.tx_hash) == (
        signed.id,
        signed.gas_tx_hash,
        signed.tx_hash,
    )
    assert usdt_of(shop, deposit) == 0
    assert bed.w3.eth.get_transaction_receipt(swept.tx_hash)["status"] == 1
