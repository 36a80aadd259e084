"""Loyalty rewards in the shop token and customers' wallets: the RPCs (`RewardsRpc`, a mixin of
the chain servicer), granting an order's reward (`grant_order_reward`, run by the consumer of
`orders.order.paid`), and minting (`TokenMinter` over JSON-RPC, `RewardMinting` the job).

Minting never happens twice: a mint is recorded (pending) in the transaction that grants or
claims it; the job signs it with the operator's next nonce and stores the signed transaction
(sent) before broadcasting it; afterwards only what the chain says about that transaction
moves it on (`loyalty.settle_mint`). A crash or an unreachable node leaves a pending or sent
mint that the next run picks up; the same signed transaction can be mined once at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.types import Nonce, TxParams

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.chain import recon_store
from agora.chain import reward_store as store
from agora.chain.contracts import artifact
from agora.chain.events import PRODUCER, REWARD_GRANTED, WALLET_REGISTERED
from agora.chain.loyalty import (
    AGT,
    AGT_DECIMALS,
    SIGNATURE_MALFORMED,
    ChainView,
    ChallengePolicy,
    Mint,
    MintStatus,
    MintStep,
    Reward,
    RewardRule,
    RewardStatus,
    check_challenge,
    check_signer,
    ensure_claimable,
    ensure_may_open_challenge,
    granted_status,
    open_challenge,
    order_reward,
    require_address,
    require_nonce,
    retry_delay,
    reward_totals,
    settle_mint,
    siwe_message,
)
from agora.platform.audit import record_audit
from agora.platform.bus.outbox import record_event
from agora.platform.db import session_factory, transaction
from agora.platform.errors import InvalidArgument, PermissionDenied
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import Money
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.principal import current_principal

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
REWARDS_LISTED = 100


@dataclass(frozen=True)
class RewardsConfig:
    """The reward rule and the wallet challenges' policy (ChainSettings builds both)."""

    rule: RewardRule
    challenges: ChallengePolicy


def checksum(address: str) -> ChecksumAddress:
    return AsyncWeb3.to_checksum_address(address)


def nonce_digest(nonce: str) -> bytes:
    return hashlib.sha256(nonce.encode()).digest()


def agt(amount: int) -> CryptoAmount:
    return CryptoAmount(base_units=str(amount), asset=AGT, decimals=AGT_DECIMALS)


def reward_pb(reward: Reward) -> pb.Reward:
    message = pb.Reward(
        order_id=reward.order_id,
        amount=agt(reward.amount),
        minted=reward.status is RewardStatus.MINTED,
        tx_hash=reward.tx_hash,
    )
    message.created_at.CopyFrom(timestamp(reward.created_at))
    return message


def wallet_pb(address: str, registered_at: datetime) -> pb.Wallet:
    return pb.Wallet(address=checksum(address), registered_at=timestamp(registered_at))


async def record_reward_granted(session: AsyncSession, customer_id: str, reward: Reward) -> None:
    """chain.reward.granted: when a reward accrues, and when it is minted."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=REWARD_GRANTED,
        event=events.RewardGranted(customer_id=customer_id, reward=reward_pb(reward)),
        aggregate_id=reward.order_id,
    )


# --- granting (the consumer of orders.order.paid) --------------------------------------------


async def grant_order_reward(
    session: AsyncSession, order_id: str, rule: RewardRule, now: datetime
) -> Reward | None:
    """Grant a paid order's reward once: a mint to the customer's wallet, or an accrual.
    None when the order earns nothing (a guest's, an unpriced currency, already rewarded)."""
    placed = await store.placed_order(session, order_id)
    if placed is None:
        log.warning("reward_order_unknown", order_id=order_id)
        return None
    customer_id, total_minor, currency = placed
    if not customer_id:
        return None  # a guest order earns nothing
    amount = order_reward(Money(total_minor, currency), rule)
    if amount is None or amount.amount_minor == 0:
        log.info("reward_none", order_id=order_id, currency=currency)
        return None
    wallet = await store.wallet_of(session, customer_id)
    status = granted_status(wallet is not None)
    reward = Reward(order_id, customer_id, amount.amount_minor, status, now)
    mint_id = str(uuid.uuid4()) if wallet is not None else None
    if not await store.insert_reward(
        session,
        reward,
        mint_id=mint_id,
        order_total_minor=total_minor,
        order_currency=currency,
    ):
        return None
    if wallet is not None and mint_id is not None:
        mint = Mint(mint_id, customer_id, wallet[0], reward.amount, MintStatus.PENDING)
        await store.insert_mint(session, mint, now)
    else:
        await record_reward_granted(session, customer_id, reward)
    return reward


# --- the RPCs --------------------------------------------------------------------------------


class RewardsRpc:
    """ChainService's wallet and reward RPCs, for the signed-in customer. A mixin: the servicer
    calls `init_rewards` from its `__init__`."""

    _rewards_sessions: Any
    _rewards_reads: AsyncEngine
    _rewards_config: RewardsConfig
    _rewards_clock: Clock
    _rewards_wake: Callable[[], None]

    def init_rewards(
        self,
        engine: AsyncEngine,
        config: RewardsConfig,
        *,
        wake_minting: Callable[[], None] = lambda: None,
        clock: Clock = utcnow,
    ) -> None:
        """`wake_minting`: tells the minting job a mint was recorded (its `wake`)."""
        self._rewards_sessions = session_factory(engine)
        self._rewards_reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._rewards_config = config
        self._rewards_clock = clock
        self._rewards_wake = wake_minting

    async def CreateWalletChallenge(
        self, request: pb.CreateWalletChallengeRequest, context: object
    ) -> pb.WalletChallenge:
        customer_id = _customer()
        address = require_address(request.address)
        policy = self._rewards_config.challenges
        now = self._rewards_clock()
        nonce = secrets.token_hex(16)
        async with transaction(self._rewards_sessions) as session:
            await store.forget_stale_challenges(session, customer_id, now)
            ensure_may_open_challenge(
                await store.open_challenge_expiries(session, customer_id, now), policy, now
            )
            challenge = open_challenge(
                challenge_id=str(uuid.uuid4()),
                customer_id=customer_id,
                address=address,
                policy=policy,
                now=now,
            )
            await store.insert_challenge(session, challenge, nonce_digest(nonce))
        message = siwe_message(challenge, checksum_address=checksum(address), nonce=nonce)
        return pb.WalletChallenge(
            address=checksum(address),
            message=message,
            nonce=nonce,
            expires_at=timestamp(challenge.expires_at),
        )

    async def RegisterWallet(self, request: pb.RegisterWalletRequest, context: object) -> pb.Wallet:
        customer_id = _customer()
        address = require_address(request.address)
        nonce = require_nonce(request.nonce)

        async def change(session: AsyncSession) -> pb.Wallet:
            now = self._rewards_clock()
            challenge = check_challenge(
                await store.challenge_by_nonce(session, nonce_digest(nonce)),
                customer_id=customer_id,
                address=address,
                now=now,
            )
            message = siwe_message(challenge, checksum_address=checksum(address), nonce=nonce)
            check_signer(_signer(message, request.signature), address)
            await store.mark_challenge_used(session, challenge.id, now)
            before = await store.wallet_of(session, customer_id)
            await store.save_wallet(session, customer_id, address, now)
            wallet = wallet_pb(address, now)
            await record_event(
                session,
                producer=PRODUCER,
                subject=WALLET_REGISTERED,
                event=events.WalletRegistered(customer_id=customer_id, wallet=wallet),
                aggregate_id=customer_id,
            )
            await record_audit(
                session,
                service=PRODUCER,
                action="wallet_registered",
                target_type="customer_wallet",
                target_id=customer_id,
                before=None if before is None else {"address": checksum(before[0])},
                after={"address": wallet.address},
            )
            return wallet

        return await idempotent_mutation(
            self._rewards_sessions,
            operation="chain.RegisterWallet",
            request=request,
            response_type=pb.Wallet,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def GetRewards(self, request: pb.GetRewardsRequest, context: object) -> pb.Rewards:
        customer_id = _customer()
        async with self._rewards_reads.connect() as conn:
            return await _rewards_of(conn, customer_id)

    async def ClaimRewards(self, request: pb.ClaimRewardsRequest, context: object) -> pb.Rewards:
        customer_id = _customer()

        async def change(session: AsyncSession) -> pb.Rewards:
            wallet = await store.wallet_of(session, customer_id)
            address = ensure_claimable(None if wallet is None else wallet[0])
            accrued = await store.accrued_rewards(session, customer_id)
            if accrued:
                now = self._rewards_clock()
                mint = Mint(
                    str(uuid.uuid4()),
                    customer_id,
                    address,
                    sum(r.amount for r in accrued),
                    MintStatus.PENDING,
                )
                await store.insert_mint(session, mint, now)
                await store.assign_rewards(
                    session,
                    [r.order_id for r in accrued],
                    mint_id=mint.id,
                    status=RewardStatus.MINTING,
                )
            return await _rewards_of(session, customer_id)

        claimed = await idempotent_mutation(
            self._rewards_sessions,
            operation="chain.ClaimRewards",
            request=request,
            response_type=pb.Rewards,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )
        self._rewards_wake()
        return claimed


async def _rewards_of(db: Any, customer_id: str) -> pb.Rewards:
    wallet = await store.wallet_of(db, customer_id)
    totals = reward_totals(await store.reward_sums(db, customer_id))
    listed = await store.customer_rewards(db, customer_id, limit=REWARDS_LISTED)
    answer = pb.Rewards(
        minted=agt(totals.minted),
        accrued=agt(totals.accrued),
        rewards=[reward_pb(r) for r in listed],
    )
    if wallet is not None:
        answer.wallet.CopyFrom(wallet_pb(*wallet))
    return answer


def _customer() -> str:
    """The signed-in customer calling (a user: services and guests have no wallet)."""
    principal = current_principal()
    if principal.kind != "user" or not principal.subject:
        raise PermissionDenied("only a signed-in customer has a wallet and rewards")
    return principal.subject


def _signer(message: str, signature: str) -> str:
    """The address that signed `message` with personal_sign (EIP-191)."""
    try:
        recovered: str = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception as error:  # a malformed signature (bad v, s out of range)
        refused = InvalidArgument.for_field(
            "signature", f"not a signature ({type(error).__name__})"
        )
        refused.reason = SIGNATURE_MALFORMED
        raise refused from None
    return recovered


# --- minting on chain ------------------------------------------------------------------------


class TokenMinter:
    """AgoraToken.mint from the operator account (a minter) over JSON-RPC."""

    def __init__(
        self,
        rpc_url: str,
        token_address: str,
        operator: Callable[[], LocalAccount],
        *,
        chain_id: int,
        timeout_s: float = 10.0,
    ) -> None:
        self._w3 = AsyncWeb3(
            AsyncWeb3.AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        )
        self._token = self._w3.eth.contract(
            address=checksum(token_address), abi=artifact("AgoraToken").abi
        )
        self._operator = operator
        self._chain_id = chain_id

    @property
    def operator_address(self) -> str:
        return str(self._operator().address).lower()

    async def next_nonce(self) -> int:
        return int(
            await self._w3.eth.get_transaction_count(checksum(self.operator_address), "pending")
        )

    async def sign_mint(self, to: str, amount: int, nonce: int) -> tuple[str, bytes]:
        """The signed mint transaction: its hash and raw bytes (raises ContractLogicError when
        the node says it would revert: not a minter, the cap)."""
        account = self._operator()
        params: TxParams = {
            "from": account.address,
            "nonce": Nonce(nonce),
            "chainId": self._chain_id,
        }
        tx = await self._token.functions.mint(checksum(to), amount).build_transaction(params)
        signed = account.sign_transaction(dict(tx))  # type: ignore[arg-type]
        return "0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction)

    async def broadcast(self, raw_tx: bytes) -> None:
        await self._w3.eth.send_raw_transaction(raw_tx)

    async def observe(self, tx_hash: str, operator: str) -> ChainView:
        """What the node says of a sent transaction (the operator's nonce read first: a
        transaction mined after that read shows up in its receipt)."""
        account_nonce = int(await self._w3.eth.get_transaction_count(checksum(operator), "latest"))
        head = int(await self._w3.eth.block_number)
        try:
            receipt = await self._w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            return ChainView(
                receipt_status=int(receipt["status"]),
                receipt_block=int(receipt["blockNumber"]),
                head_block=head,
                known_to_node=True,
                account_nonce=account_nonce,
            )
        try:
            await self._w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            known = True
        except TransactionNotFound:
            known = False
        return ChainView(None, None, head, known, account_nonce)


class RewardMinting:
    """The job that mints recorded mints: settles sent ones from the chain's view, then signs,
    stores and broadcasts pending ones. Safe with several replicas (rows locked, nonces
    allocated under an advisory lock on the operator)."""

    name = "chain_reward_minting"

    def __init__(
        self,
        engine: AsyncEngine,
        minter: TokenMinter,
        *,
        interval_s: float = 2.0,
        batch_size: int = 20,
        max_attempts: int = 5,
        confirmations: int = 1,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = session_factory(engine)
        self._minter = minter
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._confirmations = confirmations
        self._clock = clock
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Run soon (a mint was just recorded)."""
        self._woken.set()

    async def run(self) -> None:
        """Mint until cancelled; an unreachable node or database is retried next interval."""
        while True:
            self._woken.clear()  # a wake during the run below runs it again at once
            try:
                await self.run_once()
            except Exception as error:
                log.warning("reward_minting_failed", error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._interval_s)

    async def run_once(self) -> int:
        """Settle sent mints, then send pending ones; returns how many changed or were sent."""
        return await self.settle_sent() + await self.send_pending()

    async def send_pending(self) -> int:
        now = self._clock()
        signed: list[bytes] = []
        async with transaction(self._sessions) as session:
            due = await store.due_pending_mints(session, now, limit=self._batch_size)
            if not due:
                return 0
            operator = self._minter.operator_address
            await store.lock_operator_nonces(session, operator)
            nonce = await self._minter.next_nonce()
            # Past the nonces held by unsent mints and by pending sweeps' gas funding alike.
            for highest in (
                await store.highest_sent_nonce(session, operator),
                await recon_store.highest_gas_nonce(session, operator),
            ):
                if highest is not None:
                    nonce = max(nonce, highest + 1)
            for mint in due:
                try:
                    tx_hash, raw = await self._minter.sign_mint(mint.address, mint.amount, nonce)
                except ContractLogicError as error:
                    await self._reverted(session, mint, f"mint would revert: {error}", now)
                    continue
                await store.update_mint(
                    session,
                    mint.id,
                    now,
                    status=MintStatus.SENT,
                    operator=operator,
                    nonce=nonce,
                    tx_hash=tx_hash,
                    raw_tx=raw,
                    attempts=mint.attempts + 1,
                )
                signed.append(raw)
                nonce += 1
        # Recorded with their nonces: from here a crash only leaves them to be re-sent.
        for raw in signed:
            await self._broadcast(raw)
        return len(signed)

    async def settle_sent(self) -> int:
        moved = 0
        async with transaction(self._sessions) as session:
            sent = await store.sent_mints(session, limit=self._batch_size)
        for mint in sent:
            assert mint.tx_hash is not None
            assert mint.operator is not None
            assert mint.nonce is not None
            assert mint.raw_tx is not None
            view = await self._minter.observe(mint.tx_hash, mint.operator)
            step = settle_mint(
                view,
                nonce=mint.nonce,
                attempts=mint.attempts,
                max_attempts=self._max_attempts,
                confirmations=self._confirmations,
            )
            if step is MintStep.WAIT:
                continue
            if step is MintStep.REBROADCAST:
                log.info("reward_mint_rebroadcast", mint_id=mint.id, tx_hash=mint.tx_hash)
                await self._broadcast(mint.raw_tx)
                continue
            async with transaction(self._sessions) as session:
                current = await store.mint_by_id(session, mint.id, status=MintStatus.SENT)
                if current is None or current.tx_hash != mint.tx_hash:
                    continue  # another replica moved it
                await self._apply(session, current, step, view)
                moved += 1
        return moved

    async def _apply(
        self, session: AsyncSession, mint: Mint, step: MintStep, view: ChainView
    ) -> None:
        now = self._clock()
        match step:
            case MintStep.MINTED:
                await store.update_mint(
                    session, mint.id, now, status=MintStatus.MINTED, block_number=view.receipt_block
                )
                await store.assign_rewards(
                    session,
                    [r.order_id for r in await store.rewards_of_mint(session, mint.id)],
                    mint_id=mint.id,
                    status=RewardStatus.MINTED,
                )
                for reward in await store.rewards_of_mint(session, mint.id):
                    minted = Reward(
                        reward.order_id,
                        reward.customer_id,
                        reward.amount,
                        RewardStatus.MINTED,
                        reward.created_at,
                        tx_hash=mint.tx_hash or "",
                    )
                    await record_reward_granted(session, mint.customer_id, minted)
                log.info("reward_minted", mint_id=mint.id, tx_hash=mint.tx_hash)
            case MintStep.RESIGN:
                log.warning("reward_mint_nonce_taken", mint_id=mint.id, nonce=mint.nonce)
                await _back_to_pending(session, mint.id, now, failure="nonce taken", due=now)
            case MintStep.RETRY | MintStep.GIVE_UP:
                await self._reverted(session, mint, f"reverted in {mint.tx_hash}", now)

    async def _reverted(self, session: AsyncSession, mint: Mint, why: str, now: datetime) -> None:
        attempts = mint.attempts if mint.status is MintStatus.SENT else mint.attempts + 1
        log.warning("reward_mint_reverted", mint_id=mint.id, attempts=attempts, why=why)
        if attempts < self._max_attempts:
            await _back_to_pending(
                session, mint.id, now, failure=why, due=now + retry_delay(attempts), tries=attempts
            )
            return
        await store.update_mint(
            session, mint.id, now, status=MintStatus.FAILED, failure=why, attempts=attempts
        )
        rewards = await store.rewards_of_mint(session, mint.id)
        # The tokens never moved: the rewards accrue again, claimable later.
        await store.assign_rewards(
            session, [r.order_id for r in rewards], mint_id=None, status=RewardStatus.ACCRUED
        )

    async def _broadcast(self, raw_tx: bytes) -> None:
        try:
            await self._minter.broadcast(raw_tx)
        except Exception as error:  # down, or already known: the next settle decides
            log.warning("reward_mint_broadcast_failed", error=repr(error))


async def _back_to_pending(
    session: AsyncSession,
    mint_id: str,
    now: datetime,
    *,
    failure: str,
    due: datetime,
    tries: int | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": MintStatus.PENDING,
        "operator": None,
        "nonce": None,
        "tx_hash": None,
        "raw_tx": None,
        "failure": failure,
        "next_attempt_at": due,
    }
    if tries is not None:
        values["attempts"] = tries
    await store.update_mint(session, mint_id, now, **values)
