"""A shop for crypto refund tests: reconcile_shop's (anvil with the project's contracts, the chain
servicer served with its rules, payments served for real with the `chain` and dev providers)
on a NATS server of the module's own, with payments' outbox relayed to its PAYMENTS stream and
the chain's consumer of `payments.invoice.refunded` (a durable of its own).

Payers pay from anvil's development keys; staff pay refunds from the shop's treasury (the dev
deployer), as they would from the shop's wallet."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from chain_reconcile_support import TIMEOUT_S, Shop, reconcile_shop
from chain_watch_support import USDT
from eth_account import Account
from eth_account.signers.local import LocalAccount
from nats.js import JetStreamContext
from security_support import SecurityFiles, authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.chain.refunds import refund_consumers
from agora.chain.sweeper import SweepChain
from agora.chain.tables import refund_instructions
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.relay import OutboxRelay
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import create_engine, session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port
from agora.platform.rpc.status import error_info_from_rpc_error

# anvil's third funded account: a second payer.
SECOND_PAYER: LocalAccount = Account.from_key(
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
)


@contextmanager
def private_nats(directory: Path) -> Iterator[str]:
    """A NATS server of one's own (its URL): these tests' payments events reach no other test's
    consumers, and no other test's events reach theirs."""
    server = EmbeddedNats(directory, free_port())
    with (server.data_dir / "nats.log").open("ab") as log:
        process = subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class RefundShop:
    shop: Shop
    chain: ChainServiceStub  # an admin's, over gRPC with the service's rules
    chain_address: str
    refunds: EventConsumer
    payments_engine: AsyncEngine

    @property
    def bed(self) -> Any:
        return self.shop.bed

    # --- paying and refunding ---------------------------------------------------------------

    async def paid_invoice(self, *payments: tuple[LocalAccount, int]) -> ppb.Invoice:
        """A USDT invoice of the sum of `payments`, each (payer, base units) sent in that order
        to its deposit address, confirmed and credited by payments."""
        total = sum(amount for _, amount in payments)
        assert total % USDT == 0
        invoice = await self.shop.invoice(total // USDT)
        for payer, amount in payments:
            self.send_usdt(invoice.instructions.pay_to, amount, payer)
        self.bed.anvil.mine(3)
        await self.shop.credit()
        settled = await self.shop.payments.GetInvoice(
            ppb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S
        )
        assert settled.status == ppb.INVOICE_STATUS_SETTLED
        return settled

    async def refund(self, invoice_id: str, amount: int, reason: str = "") -> ppb.Refund:
        """Staff refund through payments; its event published and consumed by the chain."""
        made = await self.shop.payments.RefundInvoice(
            ppb.RefundInvoiceRequest(
                idempotency_key=str(uuid.uuid4()), id=invoice_id, amount=str(amount), reason=reason
            ),
            timeout=TIMEOUT_S,
        )
        await self.deliver()
        return made.refund

    async def deliver(self) -> None:
        """payments' outbox to the PAYMENTS stream; the chain's refund consumer drains it."""
        await OutboxRelay(
            self.payments_engine, self.shop.js, schema="payments"
        ).publish_all_pending()
        while await self.refunds.consume_once(timeout_s=0.5):
            pass

    def send_usdt(self, to: str, amount: int, sender: LocalAccount | None = None) -> str:
        """A USDT transfer (the shop's treasury by default), mined."""
        bed = self.bed
        return str(
            bed.send(bed.usdt().functions.transfer(Web3.to_checksum_address(to), amount), sender)
        )

    def send_reverting(self, call: Any) -> str:
        """A call sent with a fixed gas limit (no estimate, which would refuse it), mined even
        though it reverts."""
        bed = self.bed
        account = bed.deployer
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": bed.w3.eth.get_transaction_count(account.address),
                "chainId": bed.chain_id,
                "gas": 100_000,
            }
        )
        tx_hash = bed.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        assert bed.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
        return "0x" + bytes(tx_hash).hex()

    def usdt_balance(self, holder: str) -> int:
        return int(self.bed.usdt().functions.balanceOf(Web3.to_checksum_address(holder)).call())

    # --- what the chain service says ---------------------------------------------------------

    async def instruction(self, refund_id: str) -> pb.RefundInstruction:
        return await self.chain.GetRefundInstruction(
            pb.GetRefundInstructionRequest(refund_id=refund_id), timeout=TIMEOUT_S
        )

    async def record(
        self, refund_id: str, tx_hash: str, key: str | None = None
    ) -> pb.RefundInstruction:
        return await self.chain.RecordRefundPayment(
            pb.RecordRefundPaymentRequest(
                idempotency_key=key or str(uuid.uuid4()), refund_id=refund_id, tx_hash=tx_hash
            ),
            timeout=TIMEOUT_S,
        )

    async def instructions_of(self, invoice_id: str) -> list[Any]:
        """The stored rows of an invoice's instructions."""
        async with self.bed.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(refund_instructions).where(refund_instructions.c.invoice_id == invoice_id)
            )
            return list(rows)

    async def chain_events(self, aggregate_id: str) -> list[tuple[str, EventEnvelope]]:
        """(subject, envelope) of the CHAIN stream's events about `aggregate_id`, in order."""
        js = self.shop.js
        await OutboxRelay(self.bed.engine, js, schema="chain").publish_all_pending()
        info = await js.stream_info("CHAIN")
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg("CHAIN", seq)
            envelope = EventEnvelope.FromString(message.data or b"")
            if envelope.aggregate_id == aggregate_id:
                found.append((envelope.subject, envelope))
        return found


@asynccontextmanager
async def refund_shop(
    tmp_path: Path,
    chain_engine: AsyncEngine,
    js: JetStreamContext,
    *,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
) -> AsyncIterator[RefundShop]:
    await ensure_stream(js, producer_stream("payments"))
    async with reconcile_shop(
        tmp_path,
        chain_engine,
        js,
        database_url=database_url,
        nats_url=nats_url,
        security_files=security_files,
    ) as shop:
        bed = shop.bed
        bed.service.init_refunds(chain_engine, bed.config, SweepChain(bed.anvil.url, bed.chain_id))
        bed.send(bed.usdt().functions.mint(SECOND_PAYER.address, 1_000 * USDT))
        [refunds] = refund_consumers(
            js,
            session_factory(chain_engine),
            bed.config,
            durable=f"chain-refunds-{uuid.uuid4().hex[:8]}",
        )
        payments_engine = create_engine(database_url, "payments", pool_size=2)
        channel = authorized_channel(shop.chain_address)
        try:
            yield RefundShop(
                shop, ChainServiceStub(channel), shop.chain_address, refunds, payments_engine
            )
        finally:
            await channel.close()
            await payments_engine.dispose()


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The machine-readable reason of a refused call."""
    return error_info_from_rpc_error(error).reason
