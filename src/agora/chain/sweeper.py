"""Sweeps: deposits moved to the treasury (a job), and the ListSweeps RPC (`SweepsRpc`, a mixin
of the chain servicer).

A deposit address is swept once its newest confirmed transfer of the invoice's token has
`sweep_confirmations` confirmations and is `sweep_min_age_s` old, no transfer to it is still
waiting for confirmations, and its token balance (`balanceOf`) is above the token's dust limit.

Each sweep is recorded (pending, covering the deposit's transfers up to a block: one sweep per
deposit and block) before anything is signed. Then, in the transaction that holds the row, the
job signs the token transfer from the deposit's key (`Wallet.deposit_account`) and, when the
address lacks the ETH its gas costs, a funding transfer from the operations account (its nonce
allocated under the operator's advisory lock, as minting does), and stores both signed
transactions before broadcasting: funding first, the sweep once the funding is mined. After a
crash or an outage the stored transactions are re-sent as they are; only receipts move a sweep
on: status 1 -> confirmed, status 0 (a reverting token; USDT returns nothing, so the receipt is
what tells) -> failed. Both end with `chain.sweep.completed`. A funding whose nonce another
transaction took is signed again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from eth_account.signers.local import LocalAccount
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from web3 import AsyncWeb3
from web3.exceptions import TransactionNotFound

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora.chain import recon_store, reward_store
from agora.chain.configuration import ChainConfig
from agora.chain.contracts import artifact
from agora.chain.domain import sweep_cost
from agora.chain.events import SWEEP_COMPLETED, record
from agora.chain.translation import amount_pb
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import timestamp

log = structlog.get_logger("agora.chain.sweeper")

Clock = Callable[[], datetime]
FALLBACK_GAS = 100_000
_STATUSES = {
    "pending": pb.SWEEP_STATUS_PENDING,
    "confirmed": pb.SWEEP_STATUS_CONFIRMED,
    "failed": pb.SWEEP_STATUS_FAILED,
}


def sweep_pb(row: Any, decimals: int) -> pb.Sweep:
    return pb.Sweep(
        id=row.id,
        chain_id=row.chain_id,
        deposit_address=row.deposit_address,
        treasury_address=row.treasury_address,
        token_address=row.token_address,
        amount=amount_pb(int(row.amount), row.symbol, decimals),
        gas_tx_hash=row.gas_tx_hash or "",
        tx_hash=row.tx_hash or "",
        status=_STATUSES[row.status],
        failure=row.failure,
        created_at=timestamp(row.created_at),
    )


def _checksum(address: str) -> Any:
    return AsyncWeb3.to_checksum_address(address)


class SweepChain:
    """The node, as sweeps use it (JSON-RPC over HTTP)."""

    def __init__(self, rpc_url: str, chain_id: int, *, timeout_s: float = 10.0) -> None:
        self._w3 = AsyncWeb3(
            AsyncWeb3.AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        )
        self._abi = artifact("TestUSDT").abi
        self.chain_id = chain_id

    def _token(self, address: str) -> Any:
        return self._w3.eth.contract(address=_checksum(address), abi=self._abi)

    async def head(self) -> int:
        return int(await self._w3.eth.block_number)

    async def token_balance(self, token: str, holder: str) -> int:
        return int(await self._token(token).functions.balanceOf(_checksum(holder)).call())

    async def eth_balance(self, holder: str) -> int:
        return int(await self._w3.eth.get_balance(_checksum(holder)))

    async def nonce(self, address: str, block: str = "pending") -> int:
        return int(await self._w3.eth.get_transaction_count(_checksum(address), block))  # type: ignore[arg-type]

    async def fees(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas: twice the base fee plus the priority fee."""
        latest = await self._w3.eth.get_block("latest")
        priority = int(await self._w3.eth.max_priority_fee)
        return 2 * int(latest.get("baseFeePerGas", 0)) + priority, priority

    async def sign_sweep(
        self,
        account: LocalAccount,
        token: str,
        treasury: str,
        amount: int,
        nonce: int,
        *,
        margin_bp: int,
    ) -> tuple[str, bytes, int, int]:
        """The signed token.transfer(treasury, amount) from `account`: hash, raw bytes, gas
        limit and max fee per gas."""
        call = self._token(token).functions.transfer(_checksum(treasury), amount)
        try:
            estimate = int(await call.estimate_gas({"from": account.address}))
        except Exception:  # a node that estimates only with a funded sender
            estimate = FALLBACK_GAS
        gas = estimate * margin_bp // 10_000
        max_fee, priority = await self.fees()
        tx = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": _checksum(token),
            "value": 0,
            "data": call._encode_transaction_data(),
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
            "type": 2,
        }
        signed = account.sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction), gas, max_fee

    async def sign_funding(
        self, account: LocalAccount, to: str, value: int, nonce: int
    ) -> tuple[str, bytes]:
        max_fee, priority = await self.fees()
        tx = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": _checksum(to),
            "value": value,
            "gas": 21_000,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
            "type": 2,
        }
        signed = account.sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction)

    async def broadcast(self, raw_tx: bytes) -> None:
        try:
            await self._w3.eth.send_raw_transaction(raw_tx)
        except Exception as error:  # known already, or not yet payable: the next pass decides
            log.info("chain_sweep_broadcast_refused", error=repr(error))

    async def receipt(self, tx_hash: str) -> Any | None:
        try:
            return await self._w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    async def known(self, tx_hash: str) -> bool:
        try:
            await self._w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True


class Sweeper:
    """The job: records sweeps of the deposits due, then moves each pending one a step (sign,
    fund, send, settle). Safe with several replicas (rows locked, SKIP LOCKED)."""

    name = "chain_sweeper"

    def __init__(
        self,
        engine: AsyncEngine,
        config: ChainConfig,
        *,
        chain: SweepChain | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._config = config
        s = config.settings
        self._chain = chain or SweepChain(s.rpc_url, config.chain_id)
        self._clock = clock
        self._interval_s = s.sweep_interval_s
        self._min_age = timedelta(seconds=s.sweep_min_age_s)
        self._confirmations = s.sweep_confirmations
        self._batch_size = s.sweep_batch_size
        self._margin_bp = s.sweep_gas_margin_bp

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as error:
                log.warning("chain_sweeper_failed", error=repr(error))
            await asyncio.sleep(self._interval_s)

    async def run_once(self) -> int:
        """Record the sweeps due, then move each pending one a step; how many changed."""
        await self._config.install(self._engine)
        return await self.discover() + await self.advance()

    async def discover(self) -> int:
        config = self._config
        head = await self._chain.head()
        dust = {t.address: t.dust_limit for t in config.tokens}
        async with self._sessions() as session:
            due = await recon_store.sweep_candidates(
                session,
                config.chain_id,
                through_block=head - self._confirmations + 1,
                received_before=self._clock() - self._min_age,
                limit=self._batch_size,
            )
        recorded = 0
        for candidate in due:
            balance = await self._chain.token_balance(candidate.token_address, candidate.address)
            if balance <= dust.get(candidate.token_address, 0):
                continue
            now = self._clock()
            async with transaction(self._sessions) as session:
                inserted = await recon_store.insert_sweep(
                    session,
                    {
                        "id": str(uuid.uuid4()),
                        "chain_id": config.chain_id,
                        "invoice_id": candidate.invoice_id,
                        "deposit_address": candidate.address,
                        "derivation_index": candidate.derivation_index,
                        "token_address": candidate.token_address,
                        "symbol": candidate.symbol,
                        "treasury_address": config.network.treasury_address,
                        "amount": balance,
                        "through_block": candidate.newest,
                        "status": "pending",
                        "failure": "",
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            if inserted:
                recorded += 1
                log.info("chain_sweep_recorded", address=candidate.address, amount=balance)
        return recorded

    async def advance(self) -> int:
        async with self._sessions() as session:
            pending = await recon_store.pending_sweeps(
                session, self._config.chain_id, limit=self._batch_size
            )
        moved = 0
        for row in pending:
            to_send: bytes | None = None
            async with transaction(self._sessions) as session:
                current = await recon_store.sweep_for_update(session, row.id)
                if current is None:
                    continue
                changed, to_send = await self._step(session, current)
            moved += changed
            if to_send is not None:
                await self._chain.broadcast(to_send)
        return moved

    async def _step(self, session: AsyncSession, sweep: Any) -> tuple[int, bytes | None]:
        """One step of a locked pending sweep: (1 when it changed, a transaction to send after
        the commit)."""
        now = self._clock()
        if sweep.raw_tx is None:
            return 1, await self._sign(session, sweep, now)
        if sweep.gas_tx_hash is not None:
            funded = await self._chain.receipt(sweep.gas_tx_hash)
            if funded is None:
                if await self._chain.known(sweep.gas_tx_hash):
                    return 0, None
                operator_nonce = await self._chain.nonce(sweep.gas_operator, "latest")
                if operator_nonce > sweep.gas_nonce:  # another transaction took its nonce
                    log.warning("chain_sweep_funding_displaced", sweep_id=sweep.id)
                    await recon_store.update_sweep(session, sweep.id, now, **_UNSIGNED)
                    return 1, None
                return 0, bytes(sweep.gas_raw_tx)
        receipt = await self._chain.receipt(sweep.tx_hash)
        if receipt is None:
            return 0, None if await self._chain.known(sweep.tx_hash) else bytes(sweep.raw_tx)
        if int(receipt["status"]) == 1:
            values = {"status": "confirmed", "block_number": int(receipt["blockNumber"])}
            log.info("chain_sweep_confirmed", sweep_id=sweep.id, tx_hash=sweep.tx_hash)
        else:
            values = {
                "status": "failed",
                "block_number": int(receipt["blockNumber"]),
                "failure": f"reverted in {sweep.tx_hash}",
            }
            log.warning("chain_sweep_reverted", sweep_id=sweep.id, tx_hash=sweep.tx_hash)
        await recon_store.update_sweep(session, sweep.id, now, **values)
        ended = await recon_store.sweep_row(session, sweep.id)
        assert ended is not None
        decimals = {t.symbol: t.decimals for t in self._config.tokens}
        await record(
            session,
            SWEEP_COMPLETED,
            events.SweepCompleted(sweep=sweep_pb(ended, decimals.get(ended.symbol, 0))),
            aggregate_id=sweep.id,
        )
        return 1, None

    async def _sign(self, session: AsyncSession, sweep: Any, now: datetime) -> bytes:
        """Sign the sweep (and its gas funding when needed) and store them; the first
        transaction to send."""
        wallet = self._config.wallet
        account = wallet.deposit_account(sweep.derivation_index)
        if account.address.lower() != sweep.deposit_address:
            raise RuntimeError(f"the keystore does not hold deposit {sweep.deposit_address}")
        nonce = await self._chain.nonce(account.address)
        tx_hash, raw, gas, max_fee = await self._chain.sign_sweep(
            account,
            sweep.token_address,
            sweep.treasury_address,
            int(sweep.amount),
            nonce,
            margin_bp=self._margin_bp,
        )
        values: dict[str, Any] = {"nonce": nonce, "tx_hash": tx_hash, "raw_tx": raw}
        fund = sweep_cost(gas, max_fee, await self._chain.eth_balance(account.address))
        first = raw
        if fund > 0:
            operator = wallet.hot_account()
            address = operator.address.lower()
            await reward_store.lock_operator_nonces(session, address)
            operator_nonce = await self._chain.nonce(address)
            for taken in (
                await reward_store.highest_sent_nonce(session, address),
                await recon_store.highest_gas_nonce(session, address),
            ):
                if taken is not None:
                    operator_nonce = max(operator_nonce, taken + 1)
            gas_hash, gas_raw = await self._chain.sign_funding(
                operator, account.address, fund, operator_nonce
            )
            values.update(
                gas_operator=address,
                gas_nonce=operator_nonce,
                gas_amount=fund,
                gas_tx_hash=gas_hash,
                gas_raw_tx=gas_raw,
            )
            first = gas_raw
        else:
            values.update(_NO_FUNDING)
        await recon_store.update_sweep(session, sweep.id, now, **values)
        log.info("chain_sweep_signed", sweep_id=sweep.id, tx_hash=tx_hash, funded=fund)
        return first


_NO_FUNDING = {
    "gas_operator": None,
    "gas_nonce": None,
    "gas_amount": None,
    "gas_tx_hash": None,
    "gas_raw_tx": None,
}
_UNSIGNED = {**_NO_FUNDING, "nonce": None, "tx_hash": None, "raw_tx": None}


class SweepsRpc:
    """ChainService's ListSweeps (staff). A mixin: the servicer calls `init_sweeps`."""

    _sweeps_reads: AsyncEngine
    _sweeps_decimals: dict[str, int]

    def init_sweeps(self, engine: AsyncEngine, config: ChainConfig) -> None:
        self._sweeps_reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sweeps_decimals = {t.symbol: t.decimals for t in config.tokens}

    async def ListSweeps(
        self, request: pb.ListSweepsRequest, context: object
    ) -> pb.ListSweepsResponse:
        size = page_size(request.page_size)
        position = decode_page_token(request.page_token, "sweeps", arity=2)
        before = None
        if position is not None:
            before = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._sweeps_reads.connect() as conn:
            rows = await recon_store.sweeps_page(conn, before=before, limit=size + 1)
        answer = pb.ListSweepsResponse(
            sweeps=[sweep_pb(r, self._sweeps_decimals.get(r.symbol, 0)) for r in rows[:size]]
        )
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = encode_page_token(
                [last.created_at.isoformat(), last.id], "sweeps"
            )
        return answer
