"""Crypto refunds on a real chain (anvil) with payments served for real: a refund of an invoice
paid in USDT becomes an instruction to pay its payer back; staff send it from the shop's wallet
and record the transaction, which the chain service checks on chain before marking it sent.
Anything else is refused with its reason; a dev invoice's refund makes no instruction; a
redelivered refund makes none twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import nats
import pytest
from chain_refund_support import SECOND_PAYER, RefundShop, private_nats, reason_of, refund_shop
from chain_watch_support import PAYER, USDT
from nats.js import JetStreamContext
from security_support import SecurityFiles, mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.auth.domain import STAFF, SUPPORT, builtin_roles
from agora.chain.refunds import refund_consumers
from agora.platform.bus.envelope import decode
from agora.platform.db import session_factory
from agora.platform.security.permissions import all_declared_permissions

TIMEOUT_S = 10.0
SOMEONE = "0x" + "42" * 20


@pytest.fixture(scope="module")
def nats_of_the_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats(tmp_path_factory.mktemp("refund-nats")) as url:
        yield url


@pytest.fixture
async def js(nats_of_the_module: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_of_the_module)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture
async def shop(
    tmp_path: Path,
    chain_engine: AsyncEngine,
    js: JetStreamContext,
    database_url: str,
    nats_of_the_module: str,
    security_files: SecurityFiles,
) -> AsyncIterator[RefundShop]:
    async with refund_shop(
        tmp_path,
        chain_engine,
        js,
        database_url=database_url,
        nats_url=nats_of_the_module,
        security_files=security_files,
    ) as opened:
        yield opened


def _token_of(role: str) -> str:
    permissions = builtin_roles(all_declared_permissions())[role].permissions
    return mint_token(roles=[role], permissions=permissions)


async def test_a_usdt_refund_is_paid_back_to_the_payer_and_recorded_once_the_chain_shows_it(
    shop: RefundShop,
) -> None:
    bed = shop.bed
    invoice = await shop.paid_invoice((PAYER, 5 * USDT))
    refund = await shop.refund(invoice.id, 5 * USDT, reason="arrived broken")

    instruction = await shop.instruction(refund.id)
    usdt = bed.deployment.usdt
    assert instruction.status == pb.REFUND_INSTRUCTION_STATUS_PENDING
    assert (instruction.invoice_id, instruction.order_id) == (invoice.id, invoice.reference)
    assert instruction.pay_to == PAYER.address
    assert (instruction.amount.base_units, instruction.amount.asset) == (str(5 * USDT), "USDT")
    assert instruction.amount.decimals == 6
    assert (instruction.chain_id, instruction.token.chain_id) == (bed.chain_id, bed.chain_id)
    assert (instruction.token.symbol, instruction.token.address) == ("USDT", usdt.lower())
    assert instruction.eip681_uri == (
        f"ethereum:{usdt}@{bed.chain_id}/transfer?address={PAYER.address}&uint256={5 * USDT}"
    )
    assert instruction.reason == "arrived broken"
    assert not instruction.tx_hash
    [(subject, envelope)] = await shop.chain_events(refund.id)
    assert subject == "chain.refund.instructed"
    assert decode(envelope, events.RefundInstructed).instruction == instruction

    pending = await shop.chain.ListRefundInstructions(
        pb.ListRefundInstructionsRequest(status=pb.REFUND_INSTRUCTION_STATUS_PENDING),
        metadata=with_token(_token_of(STAFF)),
        timeout=TIMEOUT_S,
    )
    assert refund.id in [i.refund_id for i in pending.instructions]

    before = shop.usdt_balance(PAYER.address)
    tx_hash = shop.send_usdt(PAYER.address, 5 * USDT)  # from the shop's treasury
    assert shop.usdt_balance(PAYER.address) == before + 5 * USDT
    sent = await shop.chain.RecordRefundPayment(
        pb.RecordRefundPaymentRequest(idempotency_key="k-1", refund_id=refund.id, tx_hash=tx_hash),
        metadata=with_token(_token_of(STAFF)),
        timeout=TIMEOUT_S,
    )
    assert sent.status == pb.REFUND_INSTRUCTION_STATUS_SENT
    assert (sent.tx_hash, sent.sent_from) == (tx_hash, bed.deployer.address)
    assert sent.block_number == bed.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
    assert sent.HasField("sent_at")
    assert await shop.instruction(refund.id) == sent
    # the same hash again, under the same key, a new key or upper-cased, answers the same
    assert await shop.record(refund.id, tx_hash, key="k-1") == sent
    assert await shop.record(refund.id, tx_hash) == sent
    assert await shop.record(refund.id, "0x" + tx_hash[2:].upper()) == sent
    subjects = [s for s, _ in await shop.chain_events(refund.id)]
    assert subjects == ["chain.refund.instructed", "chain.refund.sent"]

    listed = await shop.chain.ListRefundInstructions(
        pb.ListRefundInstructionsRequest(invoice_id=invoice.id), timeout=TIMEOUT_S
    )
    assert [i.refund_id for i in listed.instructions] == [refund.id]
    still_pending = await shop.chain.ListRefundInstructions(
        pb.ListRefundInstructionsRequest(
            invoice_id=invoice.id, status=pb.REFUND_INSTRUCTION_STATUS_PENDING
        ),
        timeout=TIMEOUT_S,
    )
    assert not still_pending.instructions


async def test_partial_refunds_make_separate_instructions_each_paid_by_its_own_transaction(
    shop: RefundShop,
) -> None:
    invoice = await shop.paid_invoice((PAYER, 5 * USDT))
    first = await shop.refund(invoice.id, 2 * USDT)
    second = await shop.refund(invoice.id, 3 * USDT)
    a, b = await shop.instruction(first.id), await shop.instruction(second.id)
    assert (a.amount.base_units, b.amount.base_units) == (str(2 * USDT), str(3 * USDT))
    assert a.pay_to == b.pay_to == PAYER.address

    pays_first = shop.send_usdt(PAYER.address, 2 * USDT)
    assert (await shop.record(first.id, pays_first)).status == pb.REFUND_INSTRUCTION_STATUS_SENT
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await shop.record(second.id, pays_first)
    assert reused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(reused.value) == "TX_ALREADY_USED"
    too_little = shop.send_usdt(PAYER.address, 3 * USDT - 1)
    with pytest.raises(grpc.aio.AioRpcError) as low:
        await shop.record(second.id, too_little)
    assert reason_of(low.value) == "AMOUNT_TOO_LOW"
    pays_second = shop.send_usdt(PAYER.address, 3 * USDT)
    assert (await shop.record(second.id, pays_second)).tx_hash == pays_second
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await shop.record(second.id, too_little)
    assert reason_of(again.value) == "ALREADY_SENT"

    page = await shop.chain.ListRefundInstructions(
        pb.ListRefundInstructionsRequest(invoice_id=invoice.id, page_size=1), timeout=TIMEOUT_S
    )
    rest = await shop.chain.ListRefundInstructions(
        pb.ListRefundInstructionsRequest(
            invoice_id=invoice.id, page_size=1, page_token=page.next_page_token
        ),
        timeout=TIMEOUT_S,
    )
    assert [i.refund_id for i in (*page.instructions, *rest.instructions)] == [second.id, first.id]
    assert not rest.next_page_token


async def test_one_transaction_recorded_for_two_refunds_at_once_pays_exactly_one(
    shop: RefundShop,
) -> None:
    invoice = await shop.paid_invoice((PAYER, 5 * USDT))
    refunds = [await shop.refund(invoice.id, 2 * USDT) for _ in range(2)]
    tx_hash = shop.send_usdt(PAYER.address, 2 * USDT)  # enough for either

    outcomes = await asyncio.gather(
        *(shop.record(r.id, tx_hash) for r in refunds), return_exceptions=True
    )

    sent = [o for o in outcomes if isinstance(o, pb.RefundInstruction)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(sent) == len(refused) == 1
    assert sent[0].tx_hash == tx_hash
    assert reason_of(refused[0]) == "TX_ALREADY_USED"
    statuses = {(await shop.instruction(r.id)).status for r in refunds}
    assert statuses == {pb.REFUND_INSTRUCTION_STATUS_SENT, pb.REFUND_INSTRUCTION_STATUS_PENDING}


async def test_an_invoice_paid_by_several_payers_is_refunded_to_the_largest_transfers_sender(
    shop: RefundShop,
) -> None:
    invoice = await shop.paid_invoice((SECOND_PAYER, 2 * USDT), (PAYER, 3 * USDT))
    refund = await shop.refund(invoice.id, 1 * USDT)
    assert (await shop.instruction(refund.id)).pay_to == PAYER.address


async def test_transactions_that_do_not_pay_the_refund_are_refused_with_their_reason(
    shop: RefundShop,
) -> None:
    bed = shop.bed
    invoice = await shop.paid_invoice((PAYER, 5 * USDT))
    refund = await shop.refund(invoice.id, 4 * USDT)

    async def reason(tx_hash: str) -> str:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await shop.record(refund.id, tx_hash)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        return reason_of(refused.value)

    assert await reason(shop.send_usdt(SOMEONE, 4 * USDT)) == "WRONG_RECIPIENT"
    bed.send(bed.agt().functions.set_minter(bed.deployer.address, True))
    agt = bed.send(bed.agt().functions.mint(PAYER.address, 4 * USDT))
    assert await reason(agt) == "WRONG_TOKEN"
    reverted = shop.send_reverting(bed.usdt().functions.transfer(PAYER.address, 10**30))
    assert await reason(reverted) == "TX_FAILED"
    assert await reason("0x" + "ab" * 32) == "TX_NOT_FOUND"
    bed.anvil.rpc("evm_setAutomine", False)
    try:
        account = bed.deployer
        tx = (
            bed.usdt()
            .functions.transfer(PAYER.address, 4 * USDT)
            .build_transaction(
                {
                    "from": account.address,
                    "nonce": bed.w3.eth.get_transaction_count(account.address),
                    "chainId": bed.chain_id,
                    "gas": 100_000,
                }
            )
        )
        waiting = bed.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        waiting_hash = "0x" + bytes(waiting).hex()
        assert await reason(waiting_hash) == "TX_PENDING"
    finally:
        bed.anvil.rpc("evm_setAutomine", True)
    assert (await shop.instruction(refund.id)).status == pb.REFUND_INSTRUCTION_STATUS_PENDING
    bed.anvil.mine(1)
    assert (await shop.record(refund.id, waiting_hash)).status == pb.REFUND_INSTRUCTION_STATUS_SENT

    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await shop.record(refund.id, "0x1234")
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await shop.instruction("00000000-0000-4000-8000-000000000000")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as support:
        await shop.chain.ListRefundInstructions(
            pb.ListRefundInstructionsRequest(),
            metadata=with_token(_token_of(SUPPORT)),
            timeout=TIMEOUT_S,
        )
    assert support.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_dev_invoices_refund_makes_no_instruction_and_a_redelivered_refund_none_twice(
    shop: RefundShop, chain_engine: AsyncEngine
) -> None:
    payments = shop.shop.payments
    dev = await payments.CreateInvoice(
        ppb.CreateInvoiceRequest(
            idempotency_key="dev-invoice",
            reference="order-dev",
            price=Money(amount_minor=500, currency="EUR"),
            pay_currency="EUR",
            provider="dev",
            expires_in_seconds=3600,
        ),
        timeout=TIMEOUT_S,
    )
    await payments.DevPay(
        ppb.DevPayRequest(idempotency_key="dev-pay", id=dev.id, action=ppb.DEV_PAY_ACTION_PAY_FULL),
        timeout=TIMEOUT_S,
    )
    await shop.refund(dev.id, 500)
    onchain = await shop.paid_invoice((PAYER, 5 * USDT))
    refund = await shop.refund(onchain.id, 5 * USDT)
    assert await shop.instructions_of(dev.id) == []
    assert len(await shop.instructions_of(onchain.id)) == 1

    # Another durable (an inbox of its own) reads the whole PAYMENTS stream again: the refund
    # id alone keeps the instruction and its event single.
    [replay] = refund_consumers(
        shop.shop.js, session_factory(chain_engine), shop.bed.config, durable="chain-refunds-again"
    )
    while await replay.consume_once(timeout_s=0.5):
        pass
    assert len(await shop.instructions_of(onchain.id)) == 1
    assert [s for s, _ in await shop.chain_events(refund.id)] == ["chain.refund.instructed"]
