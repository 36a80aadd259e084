"""A customer registers a wallet by signing a challenge (EIP-4361 text, EIP-191 signature);
every bad proof is refused with its reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa
from chain_rewards_support import (
    MovableClock,
    as_customer,
    expect_error,
    new_customer,
    new_wallet,
    register_wallet,
    rewards_server,
)
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.rpc.status import error_info_from_rpc_error

Stub = chain_pb2_grpc.ChainServiceStub


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def chain(
    chain_engine: AsyncEngine, security_files: SecurityFiles, clock: MovableClock
) -> AsyncIterator[Stub]:
    async with rewards_server(chain_engine, security_files, clock) as stub:
        yield stub


async def challenge_for(chain: Stub, customer: str, wallet: LocalAccount) -> pb.WalletChallenge:
    return await chain.CreateWalletChallenge(
        pb.CreateWalletChallengeRequest(address=wallet.address), metadata=as_customer(customer)
    )


def signature(wallet: LocalAccount, message: str) -> str:
    return "0x" + bytes(wallet.sign_message(encode_defunct(text=message)).signature).hex()


def registration(
    wallet: LocalAccount, challenge: pb.WalletChallenge, signer: LocalAccount | None = None
) -> pb.RegisterWalletRequest:
    return pb.RegisterWalletRequest(
        idempotency_key=str(uuid.uuid4()),
        address=wallet.address,
        nonce=challenge.nonce,
        signature=signature(signer or wallet, challenge.message),
    )


async def outbox_events(engine: AsyncEngine, subject: str) -> list[EventEnvelope]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT payload FROM outbox WHERE subject = :s ORDER BY seq"), {"s": subject}
        )
        found = []
        for row in rows:
            envelope = EventEnvelope()
            envelope.ParseFromString(bytes(row.payload))
            found.append(envelope)
        return found


async def test_a_signed_challenge_registers_the_wallet_once_under_retries(
    chain: Stub, chain_engine: AsyncEngine
) -> None:
    customer, wallet = new_customer(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    assert wallet.address in challenge.message.splitlines()
    assert f"Nonce: {challenge.nonce}" in challenge.message
    assert "Chain ID: 31337" in challenge.message
    assert challenge.message.startswith("shop.test wants you to sign in with your Ethereum")

    request = registration(wallet, challenge)
    registered = await chain.RegisterWallet(request, metadata=as_customer(customer))
    again = await chain.RegisterWallet(request, metadata=as_customer(customer))

    assert registered.address == wallet.address
    assert again == registered
    rewards = await chain.GetRewards(pb.GetRewardsRequest(), metadata=as_customer(customer))
    assert rewards.wallet.address == wallet.address
    announced = [
        events.WalletRegistered.FromString(e.payload)
        for e in await outbox_events(chain_engine, "chain.wallet.registered")
        if e.aggregate_id == customer
    ]
    assert [(e.customer_id, e.wallet.address) for e in announced] == [(customer, wallet.address)]


async def test_registering_again_replaces_the_wallet_and_is_audited(
    chain: Stub, chain_engine: AsyncEngine
) -> None:
    customer, first, second = new_customer(), new_wallet(), new_wallet()
    await register_wallet(chain, customer, first)
    await register_wallet(chain, customer, second)

    rewards = await chain.GetRewards(pb.GetRewardsRequest(), metadata=as_customer(customer))
    assert rewards.wallet.address == second.address
    audits = [
        e
        for e in await outbox_events(chain_engine, "audit.chain.wallet_registered")
        if e.aggregate_id == f"customer_wallet:{customer}"
    ]
    assert len(audits) == 2


async def refusal(call: object) -> tuple[grpc.StatusCode, str]:
    error = await expect_error(call)
    return error.code(), error_info_from_rpc_error(error).reason


async def test_a_signature_by_another_key_is_refused(chain: Stub) -> None:
    customer, wallet = new_customer(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    forged = registration(wallet, challenge, signer=new_wallet())
    assert await refusal(chain.RegisterWallet(forged, metadata=as_customer(customer))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "SIGNATURE_MISMATCH",
    )


async def test_a_malformed_signature_is_invalid(chain: Stub) -> None:
    customer, wallet = new_customer(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    request = registration(wallet, challenge)
    request.signature = "0x" + "ff" * 65  # v = 255, s above the curve order
    assert await refusal(chain.RegisterWallet(request, metadata=as_customer(customer))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SIGNATURE_MALFORMED",
    )


async def test_a_used_nonce_is_refused_when_replayed(chain: Stub) -> None:
    customer, wallet = new_customer(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    await chain.RegisterWallet(registration(wallet, challenge), metadata=as_customer(customer))
    replay = registration(wallet, challenge)  # a new idempotency key: a new request
    assert await refusal(chain.RegisterWallet(replay, metadata=as_customer(customer))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NONCE_USED",
    )


async def test_an_expired_challenge_is_refused(chain: Stub, clock: MovableClock) -> None:
    customer, wallet = new_customer(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    clock.offset = timedelta(minutes=10, seconds=1)
    request = registration(wallet, challenge)
    assert await refusal(chain.RegisterWallet(request, metadata=as_customer(customer))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHALLENGE_EXPIRED",
    )


async def test_another_customers_challenge_is_refused(chain: Stub) -> None:
    owner, thief, wallet = new_customer(), new_customer(), new_wallet()
    challenge = await challenge_for(chain, owner, wallet)
    request = registration(wallet, challenge)
    assert await refusal(chain.RegisterWallet(request, metadata=as_customer(thief))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "CHALLENGE_NOT_YOURS",
    )


async def test_a_challenge_for_another_address_is_refused(chain: Stub) -> None:
    customer, wallet, other = new_customer(), new_wallet(), new_wallet()
    challenge = await challenge_for(chain, customer, wallet)
    request = registration(other, challenge)  # `other` signs the message naming `wallet`
    assert await refusal(chain.RegisterWallet(request, metadata=as_customer(customer))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ADDRESS_MISMATCH",
    )


async def test_an_unknown_nonce_is_refused(chain: Stub) -> None:
    customer, wallet = new_customer(), new_wallet()
    request = pb.RegisterWalletRequest(
        idempotency_key=str(uuid.uuid4()),
        address=wallet.address,
        nonce="0123456789abcdef",
        signature=signature(wallet, "anything"),
    )
    assert await refusal(chain.RegisterWallet(request, metadata=as_customer(customer))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "CHALLENGE_UNKNOWN",
    )


async def test_open_challenges_per_customer_are_bounded(chain: Stub) -> None:
    customer, wallet = new_customer(), new_wallet()
    for _ in range(5):
        await challenge_for(chain, customer, wallet)
    assert await refusal(challenge_for(chain, customer, wallet)) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_CHALLENGES",
    )


async def test_a_bad_address_is_invalid(chain: Stub) -> None:
    customer = new_customer()
    request = pb.CreateWalletChallengeRequest(address="0x1234")
    code, _ = await refusal(chain.CreateWalletChallenge(request, metadata=as_customer(customer)))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_claiming_without_a_wallet_is_a_failed_precondition(chain: Stub) -> None:
    customer = new_customer()
    request = pb.ClaimRewardsRequest(idempotency_key=str(uuid.uuid4()))
    assert await refusal(chain.ClaimRewards(request, metadata=as_customer(customer))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_WALLET",
    )
