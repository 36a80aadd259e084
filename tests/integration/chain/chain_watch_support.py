"""A chain of its own for a watcher test: an anvil node with a chain id no other test uses, the
project's contracts deployed, a ChainConfig for it (an xpub-only wallet of a fixed test seed),
the servicer to create payment options, a watcher, and the CHAIN stream to read events from."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from anvil_support import Anvil, running_anvil
from eth_account import Account
from eth_account.signers.local import LocalAccount
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.chain.configuration import ChainConfig
from agora.chain.contracts import Deployment, contract, deploy_dev_contracts, dev_deployer
from agora.chain.service import ChainService
from agora.chain.settings import ChainSettings
from agora.chain.tables import transfers
from agora.chain.wallets import Seed, Wallet
from agora.chain.watcher import Watcher
from agora.platform.bus.relay import OutboxRelay
from agora.platform.bus.streams import audit_stream, ensure_stream, producer_stream

# Not the anvil mnemonic: deposit addresses must not be anvil's funded accounts.
TEST_SEED = Seed(b"\x07" * 32)
TEST_XPUB = TEST_SEED.xpub()
USDT = 10**6
# anvil's second funded account: pays through the router (the deployer is the treasury).
PAYER: LocalAccount = Account.from_key(
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
)


@dataclass
class Bed:
    anvil: Anvil
    w3: Web3
    deployment: Deployment
    config: ChainConfig
    service: ChainService
    engine: AsyncEngine
    js: JetStreamContext
    deployer: LocalAccount

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    def watcher(self) -> Watcher:
        return Watcher(self.engine, self.config)

    async def options(
        self, amount: int = 5 * USDT, symbol: str = "USDT", **fields: Any
    ) -> pb.PaymentOptions:
        request = pb.CreatePaymentOptionsRequest(
            invoice_id=str(uuid.uuid4()),
            symbol=symbol,
            amount=CryptoAmount(base_units=str(amount)),
            chain_id=self.chain_id,
            **fields,
        )
        return await self.service.CreatePaymentOptions(request, None)

    # --- on chain ---------------------------------------------------------------------------

    def send(self, call: Any, sender: LocalAccount | None = None) -> str:
        """Sign and send a contract call; returns the tx hash once mined."""
        account = sender or self.deployer
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": self.w3.eth.get_transaction_count(account.address),
                "chainId": self.chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        return "0x" + bytes(tx_hash).hex()

    def signed(self, call: Any, sender: LocalAccount | None = None) -> bytes:
        """A signed raw transaction, not sent."""
        account = sender or self.deployer
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": self.w3.eth.get_transaction_count(account.address),
                "chainId": self.chain_id,
            }
        )
        return bytes(account.sign_transaction(tx).raw_transaction)

    def usdt(self) -> Any:
        return contract(self.w3, "TestUSDT", self.deployment.usdt)

    def agt(self) -> Any:
        return contract(self.w3, "AgoraToken", self.deployment.token)

    def router(self) -> Any:
        return contract(self.w3, "PaymentRouter", self.deployment.router)

    def pay_usdt(self, to: str, amount: int) -> str:
        """Mint `amount` USDT straight to `to` (a Transfer from 0x0 to the deposit)."""
        return self.send(self.usdt().functions.mint(Web3.to_checksum_address(to), amount))

    def transfer_usdt(self, to: str, amount: int) -> str:
        return self.send(self.usdt().functions.transfer(Web3.to_checksum_address(to), amount))

    def pay_by_router(self, options: pb.PaymentOptions) -> str:
        amount = int(options.amount.base_units)
        self.send(self.usdt().functions.approve(self.deployment.router, amount), PAYER)
        return self.send(
            self.router().functions.pay(
                bytes.fromhex(options.router_invoice_id[2:]), self.deployment.usdt, amount
            ),
            PAYER,
        )

    # --- what the service recorded ----------------------------------------------------------

    async def transfer_rows(self) -> list[Any]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(transfers)
                .where(transfers.c.chain_id == self.chain_id)
                .order_by(transfers.c.block_number, transfers.c.log_index)
            )
            return list(rows)

    async def events(self) -> list[tuple[str, str]]:
        """(subject, reference) of this chain's transfer events on the CHAIN stream, in order."""
        relay = OutboxRelay(self.engine, self.js, schema="chain")
        await relay.publish_all_pending()
        info = await self.js.stream_info("CHAIN")
        found = []
        prefix = f"{self.chain_id}:"
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                message = await self.js.get_msg("CHAIN", seq)
            except Exception:
                continue
            envelope = EventEnvelope.FromString(message.data or b"")
            if envelope.aggregate_id.startswith(prefix):
                found.append((envelope.subject, envelope.aggregate_id))
        return found


def unique_chain_id() -> int:
    return random.randint(100_000, 2**31 - 1)


def chain_settings(anvil: Anvil, chain_id: int, **overrides: Any) -> ChainSettings:
    values: dict[str, Any] = {
        "rpc_url": anvil.url,
        "chain_id": chain_id,
        "network_name": f"test-{chain_id}",
        "confirmations_low": 1,
        "confirmations_medium": 2,
        "confirmations_high": 3,
        "poll_interval_s": 0.1,
        "xpub": TEST_XPUB,
    }
    values.update(overrides)
    return ChainSettings(**values)


@asynccontextmanager
async def chain_bed(
    tmp_path: Path,
    engine: AsyncEngine,
    js: JetStreamContext,
    *,
    state_dir: Path | None = None,
    **overrides: Any,
) -> AsyncIterator[Bed]:
    chain_id = unique_chain_id()
    # The relay publishes every pending row of the schema: audit entries of other tests too.
    await ensure_stream(js, producer_stream("chain"))
    await ensure_stream(js, audit_stream())
    with running_anvil(tmp_path, chain_id=chain_id, state_dir=state_dir) as anvil:
        w3 = anvil.web3()
        deployment = deploy_dev_contracts(w3)
        config = ChainConfig(chain_settings(anvil, chain_id, **overrides), Wallet(TEST_XPUB, None))
        service = ChainService(engine, config)
        bed = Bed(anvil, w3, deployment, config, service, engine, js, dev_deployer())
        bed.send(bed.usdt().functions.mint(bed.deployer.address, 1_000_000 * USDT))
        bed.send(bed.usdt().functions.mint(PAYER.address, 1_000_000 * USDT))
        yield bed


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    """Wait until `check()` holds (no timing assertion: the timeout only ends a hung test)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} never held")
        await asyncio.sleep(0.05)
