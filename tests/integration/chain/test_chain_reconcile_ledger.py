"""Reconciliation on a real chain (anvil) against payments served for real: paid invoices all
match; planted mismatches (a transfer payments never credited, a credited payment reorged away
with evm_revert, a credited amount that is not the chain's) are each found, stored, reported in
the CSV of `agora chain reconcile` and announced by chain.reconciliation.completed."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chain_reconcile_support import Shop, reconcile_shop
from chain_watch_support import USDT
from nats.js import JetStreamContext
from security_support import SecurityFiles, service_identity
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.chain.commands import run_reconciliation, write_report
from agora.platform.bus.envelope import decode, new_envelope
from agora.platform.bus.relay import MSG_ID, OutboxRelay
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import timestamp

WINDOW = timedelta(minutes=10)


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
    ) as opened:
        yield opened  # type: ignore[misc]


async def _options(shop: Shop, invoice_id: str) -> pb.PaymentOptions:
    return await shop.bed.service.GetPaymentOptions(
        pb.GetPaymentOptionsRequest(invoice_id=invoice_id), None
    )


async def _items(shop: Shop, run_id: str) -> list[pb.ReconciliationItem]:
    found: list[pb.ReconciliationItem] = []
    token = ""
    while True:
        page = await shop.bed.service.ListReconciliationItems(
            pb.ListReconciliationItemsRequest(id=run_id, page_size=2, page_token=token), None
        )
        found.extend(page.items)
        token = page.next_page_token
        if not token:
            return found


async def test_paid_invoices_reconcile_as_matched(shop: Shop) -> None:
    bed = shop.bed
    invoices = [await shop.invoice(5) for _ in range(3)]
    bed.transfer_usdt(invoices[0].instructions.pay_to, 5 * USDT)
    bed.transfer_usdt(invoices[1].instructions.pay_to, 5 * USDT)
    bed.pay_by_router(await _options(shop, invoices[2].id))
    bed.anvil.mine(3)
    await shop.credit()
    assert [await shop.paid(i.id) for i in invoices] == [str(5 * USDT)] * 3

    now = utcnow()
    run_id = await shop.reconciler.reconcile(now - WINDOW, now + WINDOW)

    run = await bed.service.GetReconciliation(pb.GetReconciliationRequest(id=run_id), None)
    assert run.status == pb.RECONCILIATION_STATUS_COMPLETED
    assert run.counts == pb.ReconciliationCounts(matched=3)
    assert not run.has_mismatches
    assert run.from_block < run.to_block == bed.w3.eth.block_number
    items = await _items(shop, run_id)
    assert {i.invoice_id for i in items} == {i.id for i in invoices}
    assert {i.outcome for i in items} == {pb.RECONCILIATION_OUTCOME_MATCHED}
    assert {(i.on_chain.base_units, i.credited.base_units) for i in items} == {
        (str(5 * USDT), str(5 * USDT))
    }
    listed = await bed.service.ListReconciliations(pb.ListReconciliationsRequest(), None)
    assert run_id in [r.id for r in listed.runs]


async def _forged_credit(shop: Shop, invoice_id: str, tx_hash: str, amount: int) -> None:
    """payments told (by an event that lies about the amount) of a transfer the chain holds."""
    bed = shop.bed
    receipt = bed.w3.eth.get_transaction_receipt(tx_hash)
    [log] = receipt["logs"]
    block = bed.w3.eth.get_block(receipt["blockNumber"])
    reference = f"{bed.chain_id}:{tx_hash}:{log['logIndex']}"
    deposit = "0x" + bytes(log["topics"][2])[-20:].hex()
    transfer = pb.Transfer(
        chain_id=bed.chain_id,
        tx_hash=tx_hash,
        log_index=log["logIndex"],
        block_number=receipt["blockNumber"],
        block_hash="0x" + bytes(block["hash"]).hex(),
        kind=pb.TRANSFER_KIND_DEPOSIT,
        token_address=bed.deployment.usdt.lower(),
        symbol="USDT",
        from_address=bed.deployer.address.lower(),
        to_address=deposit,
        amount=CryptoAmount(base_units=str(amount), asset="USDT", decimals=6),
        invoice_id=invoice_id,
        confirmations=3,
        confirmations_required=2,
        status=pb.TRANSFER_STATUS_CONFIRMED,
        reference=reference,
    )
    transfer.block_time.CopyFrom(timestamp(datetime.fromtimestamp(block["timestamp"], UTC)))
    subject = "chain.transfer.detected"
    envelope = new_envelope(
        producer="chain",
        subject=subject,
        event=events.TransferDetected(transfer=transfer),
        aggregate_id=reference,
    )
    await shop.js.publish(
        subject, envelope.SerializeToString(), headers={MSG_ID: envelope.event_id}
    )
    while await shop.consumer.consume_once(timeout_s=0.5):
        pass


async def _completed_event(shop: Shop, run_id: str) -> events.ReconciliationCompleted:
    await OutboxRelay(shop.bed.engine, shop.js, schema="chain").publish_all_pending()
    info = await shop.js.stream_info("CHAIN")
    for seq in range(info.state.last_seq, info.state.first_seq - 1, -1):
        message = await shop.js.get_msg("CHAIN", seq)
        envelope = EventEnvelope.FromString(message.data or b"")
        if envelope.subject == "chain.reconciliation.completed" and envelope.aggregate_id == run_id:
            return decode(envelope, events.ReconciliationCompleted)
    raise AssertionError("no chain.reconciliation.completed for the run")


async def test_planted_mismatches_are_found_reported_in_csv_and_announced(
    shop: Shop, tmp_path: Path
) -> None:
    bed = shop.bed
    matched, reorged, uncredited, misstated = [await shop.invoice(5) for _ in range(4)]
    bed.transfer_usdt(matched.instructions.pay_to, 5 * USDT)
    bed.anvil.mine(3)
    await shop.credit()
    # Credited, then its block leaves the chain (and the watcher never reads the new one).
    snapshot = bed.anvil.rpc("evm_snapshot")
    bed.transfer_usdt(reorged.instructions.pay_to, 5 * USDT)
    bed.anvil.mine(3)
    await shop.credit()
    assert await shop.paid(reorged.id) == str(5 * USDT)
    assert bed.anvil.rpc("evm_revert", snapshot) is True
    bed.anvil.mine(6)
    # On chain, never credited (the watcher is not run again).
    bed.transfer_usdt(uncredited.instructions.pay_to, 5 * USDT)
    # On chain 5 USDT, credited as 4.
    misstated_tx = bed.transfer_usdt(misstated.instructions.pay_to, 5 * USDT)
    await _forged_credit(shop, misstated.id, misstated_tx, 4 * USDT)
    assert await shop.paid(misstated.id) == str(4 * USDT)

    now = utcnow()
    run, items = await run_reconciliation(
        shop.chain_address,
        service_identity("chain-reconcile").authorization(),
        now - WINDOW,
        now + WINDOW,
    )

    assert run.status == pb.RECONCILIATION_STATUS_COMPLETED
    assert run.counts == pb.ReconciliationCounts(
        matched=1, not_credited=1, not_on_chain=1, amount_mismatch=1
    )
    assert run.has_mismatches
    outcomes = {i.invoice_id: i.outcome for i in items}
    assert outcomes == {
        matched.id: pb.RECONCILIATION_OUTCOME_MATCHED,
        reorged.id: pb.RECONCILIATION_OUTCOME_NOT_ON_CHAIN,
        uncredited.id: pb.RECONCILIATION_OUTCOME_NOT_CREDITED,
        misstated.id: pb.RECONCILIATION_OUTCOME_AMOUNT_MISMATCH,
    }

    report = tmp_path / "report.csv"
    write_report(report, items)
    with report.open() as file:
        rows = list(csv.DictReader(file))
    by_invoice = {row["invoice_id"]: row for row in rows}
    assert len(rows) == 4
    assert by_invoice[misstated.id]["outcome"] == "AMOUNT_MISMATCH"
    assert (by_invoice[misstated.id]["on_chain"], by_invoice[misstated.id]["credited"]) == (
        "5000000",
        "4000000",
    )
    assert by_invoice[misstated.id]["tx_hash"] == misstated_tx
    assert (by_invoice[reorged.id]["on_chain"], by_invoice[reorged.id]["credited"]) == (
        "",
        "5000000",
    )
    assert by_invoice[uncredited.id]["outcome"] == "NOT_CREDITED"
    assert by_invoice[uncredited.id]["on_chain"] == "5000000"

    announced = await _completed_event(shop, run.id)
    assert announced.run.counts == run.counts
    assert announced.run.has_mismatches


async def test_start_reconciliation_is_idempotent_bounded_and_for_reconcilers_only(
    shop: Shop,
) -> None:
    import grpc

    from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub

    reconciler = (("authorization", service_identity("chain-reconcile").authorization()),)
    now = utcnow()
    request = pb.StartReconciliationRequest(
        idempotency_key="recon-once", since=timestamp(now - WINDOW), until=timestamp(now)
    )
    async with grpc.aio.insecure_channel(shop.chain_address) as channel:
        stub = ChainServiceStub(channel)
        first = await stub.StartReconciliation(request, metadata=reconciler, timeout=60)
        again = await stub.StartReconciliation(request, metadata=reconciler, timeout=60)
        assert again.id == first.id
        assert again.status == first.status == pb.RECONCILIATION_STATUS_COMPLETED
        listed = await stub.ListReconciliations(
            pb.ListReconciliationsRequest(page_size=100), metadata=reconciler, timeout=10
        )
        assert [r.id for r in listed.runs].count(first.id) == 1

        for since, until in [(now, now - WINDOW), (now - timedelta(days=40), now)]:
            bad = pb.StartReconciliationRequest(
                idempotency_key=f"bad-{since.timestamp()}",
                since=timestamp(since),
                until=timestamp(until),
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.StartReconciliation(bad, metadata=reconciler, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        orders = (("authorization", service_identity("orders").authorization()),)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.StartReconciliation(request, metadata=orders, timeout=10)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_run_that_cannot_read_the_ledger_is_stored_failed_and_announced(
    shop: Shop,
) -> None:
    from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
    from agora.chain.clients import Payments
    from agora.chain.reconciliation import Reconciler
    from agora.platform.net import free_port
    from agora.platform.rpc.client import ServiceChannels
    from agora.platform.rpc.discovery import Resolver

    nowhere = ServiceChannels(
        Resolver(static={"payments": f"127.0.0.1:{free_port()}"}), timeout_s=2, max_attempts=2
    )
    reconciler = Reconciler(
        shop.bed.engine,
        shop.bed.config,
        Payments(lambda: nowhere.stub("payments", PaymentsServiceStub), timeout_s=2),
    )
    now = utcnow()
    try:
        run_id = await reconciler.reconcile(now - WINDOW, now)
    finally:
        await nowhere.close()

    run = await shop.bed.service.GetReconciliation(pb.GetReconciliationRequest(id=run_id), None)
    assert run.status == pb.RECONCILIATION_STATUS_FAILED
    assert "payments is unavailable" in run.failure
    assert run.HasField("completed_at")
    announced = await _completed_event(shop, run_id)
    assert announced.run.status == pb.RECONCILIATION_STATUS_FAILED
