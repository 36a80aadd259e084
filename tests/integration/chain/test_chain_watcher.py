"""The watcher on a real EVM node (anvil) running the project's contracts: deposits and router
payments detected then confirmed, flags, events on the CHAIN stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chain_watch_support import PAYER, USDT, chain_bed
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora.chain.contracts import artifact
from agora.chain.domain import transfer_reference
from agora.platform.errors import InvalidArgument

DETECTED, CONFIRMED = "chain.transfer.detected", "chain.transfer.confirmed"


async def test_a_transfer_to_a_deposit_address_is_detected_then_confirmed(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        options = await bed.options(5 * USDT, speed=pb.SPEED_HIGH)  # 3 confirmations
        tx = bed.transfer_usdt(options.deposit_address, 5 * USDT)
        watcher = bed.watcher()
        await watcher.catch_up()
        (row,) = await bed.transfer_rows()
        reference = transfer_reference(bed.chain_id, tx, row.log_index)
        assert (row.tx_hash, row.invoice_id, int(row.amount)) == (tx, options.invoice_id, 5 * USDT)
        assert (row.status, row.confirmations, row.flags) == (1, 1, [])
        assert await bed.events() == [(DETECTED, reference)]

        bed.anvil.mine(1)
        await watcher.catch_up()
        assert [(r.status, r.confirmations) for r in await bed.transfer_rows()] == [(1, 2)]
        bed.anvil.mine(1)
        await watcher.catch_up()
        assert [(r.status, r.confirmations) for r in await bed.transfer_rows()] == [(2, 3)]
        bed.anvil.mine(5)
        await watcher.catch_up()
        assert await bed.events() == [(DETECTED, reference), (CONFIRMED, reference)]

        listed = await bed.service.ListTransfers(
            pb.ListTransfersRequest(invoice_id=options.invoice_id), None
        )
        (shown,) = listed.transfers
        assert (shown.reference, shown.symbol, shown.amount.base_units) == (
            reference,
            "USDT",
            str(5 * USDT),
        )
        assert shown.status == pb.TRANSFER_STATUS_CONFIRMED
        assert shown.kind == pb.TRANSFER_KIND_DEPOSIT
        await watcher.close()


async def test_a_router_payment_is_matched_by_its_invoice_id(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        options = await bed.options(7 * USDT, speed=pb.SPEED_LOW)
        tx = bed.pay_by_router(options)
        watcher = bed.watcher()
        await watcher.catch_up()
        (row,) = await bed.transfer_rows()
        assert (row.kind, row.tx_hash, row.invoice_id) == (2, tx, options.invoice_id)
        assert (int(row.amount), row.symbol, row.flags, row.status) == (7 * USDT, "USDT", [], 2)
        assert row.from_address == PAYER.address.lower()
        reference = transfer_reference(bed.chain_id, tx, row.log_index)
        assert await bed.events() == [(CONFIRMED, reference)]  # confirmed when first seen
        await watcher.close()


async def test_wrong_token_dust_unknown_contract_and_late_payments_are_flagged_never_confirmed(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        wrong_token = await bed.options(5 * USDT)
        bed.send(bed.agt().functions.set_minter(bed.deployer.address, True))
        bed.send(bed.agt().functions.mint(wrong_token.deposit_address, 10**18))
        dust = await bed.options(5 * USDT)
        bed.transfer_usdt(dust.deposit_address, 9_999)
        unknown = await bed.options(5 * USDT)
        # A token the shop does not know: a second TestUSDT deployed by someone else.
        built = artifact("TestUSDT")
        factory = bed.w3.eth.contract(abi=built.abi, bytecode=built.bytecode)
        bed.send(factory.constructor(bed.deployer.address))
        other = bed.w3.eth.get_transaction_receipt(
            bed.w3.eth.get_block("latest")["transactions"][0]
        )["contractAddress"]
        stranger = bed.w3.eth.contract(address=other, abi=built.abi)
        bed.send(stranger.functions.mint(unknown.deposit_address, 5 * USDT))
        past = Timestamp()
        past.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))  # still watched: late
        late = await bed.options(5 * USDT, expires_at=past)
        bed.transfer_usdt(late.deposit_address, 5 * USDT)

        watcher = bed.watcher()
        await watcher.catch_up()
        bed.anvil.mine(10)
        await watcher.catch_up()
        flags = {r.invoice_id: (r.flags, r.status) for r in await bed.transfer_rows()}
        assert flags == {
            wrong_token.invoice_id: (["WRONG_TOKEN"], 1),
            dust.invoice_id: (["BELOW_DUST"], 1),
            unknown.invoice_id: (["UNKNOWN_CONTRACT"], 1),
            late.invoice_id: (["INVOICE_EXPIRED"], 1),
        }
        subjects = [subject for subject, _ in await bed.events()]
        assert subjects == [DETECTED] * 4
        flagged = await bed.service.ListTransfers(
            pb.ListTransfersRequest(flagged_only=True, page_size=100), None
        )
        assert {t.invoice_id for t in flagged.transfers} >= set(flags)
        await watcher.close()


async def test_an_invoices_transfers_are_listed_oldest_first_page_by_page(
    tmp_path: Path, chain_engine: AsyncEngine, chain_js: JetStreamContext
) -> None:
    async with chain_bed(tmp_path, chain_engine, chain_js) as bed:
        options = await bed.options(9 * USDT)
        sent = [bed.transfer_usdt(options.deposit_address, 3 * USDT) for _ in range(3)]
        watcher = bed.watcher()
        await watcher.catch_up()
        request = pb.ListTransfersRequest(invoice_id=options.invoice_id, page_size=2)
        first = await bed.service.ListTransfers(request, None)
        assert [t.tx_hash for t in first.transfers] == sent[:2]
        assert first.next_page_token
        request.page_token = first.next_page_token
        second = await bed.service.ListTransfers(request, None)
        assert [t.tx_hash for t in second.transfers] == sent[2:]
        assert second.next_page_token == ""
        other_query = pb.ListTransfersRequest(page_token=first.next_page_token)
        with pytest.raises(InvalidArgument):
            await bed.service.ListTransfers(other_query, None)
        await watcher.close()
