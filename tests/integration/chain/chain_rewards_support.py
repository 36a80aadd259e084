"""Factories for the rewards tests: the rewards RPCs served on a loopback port with a clock the
test moves, a customer's channel, an anvil node with the contracts and a minting operator, and
orders' events published as the orders outbox relay publishes them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import grpc
from anvil_support import Anvil
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from nats.js import JetStreamContext
from security_support import SecurityFiles, authorization_interceptor, authorized_channel
from security_support import customer_token as mint_customer_token
from sqlalchemy.ext.asyncio import AsyncEngine
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.orders.v1 import events_pb2 as orders_events
from agora._proto.agora.orders.v1 import orders_pb2
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.chain.contracts import contract, deploy_dev_contracts, dev_deployer
from agora.chain.loyalty import ChallengePolicy, RewardRule
from agora.chain.rewards import RewardsConfig, RewardsRpc
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.kernel.clock import utcnow
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer

# Anvil's second pre-funded account of the standard test mnemonic: the test's operator.
OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
# 1 % of the total, 1 AGT = 1.00 EUR: a 100.00 EUR order earns 1 AGT.
RULE = RewardRule(bp=100, agt_price_minor={"EUR": 100}, max_per_order=10**24)
ONE_AGT = 10**18


@dataclass
class MovableClock:
    """Now, unless a test moved it forward."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


class RewardsServicer(RewardsRpc, chain_pb2_grpc.ChainServiceServicer):
    """The rewards RPCs alone, as ChainService serves them."""

    def __init__(self, engine: AsyncEngine, config: RewardsConfig, clock: MovableClock) -> None:
        self.init_rewards(engine, config, clock=clock)


def rewards_config(chain_id: int = 31337) -> RewardsConfig:
    policy = ChallengePolicy(domain="shop.test", uri="https://shop.test", chain_id=chain_id)
    return RewardsConfig(rule=RULE, challenges=policy)


@asynccontextmanager
async def rewards_server(
    engine: AsyncEngine, security_files: SecurityFiles, clock: MovableClock
) -> AsyncIterator[chain_pb2_grpc.ChainServiceStub]:
    server = GrpcServer(
        "chain",
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    servicer = RewardsServicer(engine, rewards_config(), clock)
    server.add(chain_pb2_grpc.add_ChainServiceServicer_to_server, servicer)
    await server.start()
    channel = authorized_channel(server.address)
    try:
        yield chain_pb2_grpc.ChainServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)


def as_customer(customer_id: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", "Bearer " + mint_customer_token(customer_id)),)


def new_customer() -> str:
    return str(uuid.uuid4())


async def register_wallet(
    chain: chain_pb2_grpc.ChainServiceStub, customer_id: str, account: LocalAccount
) -> pb.Wallet:
    """The customer proves they hold `account` and registers it."""
    metadata = as_customer(customer_id)
    challenge = await chain.CreateWalletChallenge(
        pb.CreateWalletChallengeRequest(address=account.address), metadata=metadata
    )
    signed = account.sign_message(encode_defunct(text=challenge.message))
    return await chain.RegisterWallet(
        pb.RegisterWalletRequest(
            idempotency_key=str(uuid.uuid4()),
            address=account.address,
            nonce=challenge.nonce,
            signature="0x" + bytes(signed.signature).hex(),
        ),
        metadata=metadata,
    )


def new_wallet() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


def operator() -> LocalAccount:
    account: LocalAccount = Account.from_key(OPERATOR_KEY)
    return account


def chain_with_minter(anvil: Anvil) -> str:
    """Deploy the contracts on `anvil` and make the operator a minter; the token's address."""
    w3 = anvil.web3()
    deployment = deploy_dev_contracts(w3)
    token = contract(w3, "AgoraToken", deployment.token)
    deployer = dev_deployer()
    tx = token.functions.set_minter(operator().address, True).build_transaction(
        {
            "from": deployer.address,
            "nonce": w3.eth.get_transaction_count(deployer.address),
            "chainId": w3.eth.chain_id,
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1
    return str(deployment.token)


def agt_balance(anvil: Anvil, token: str, address: str) -> int:
    w3 = anvil.web3()
    return int(
        contract(w3, "AgoraToken", token)
        .functions.balanceOf(Web3.to_checksum_address(address))
        .call()
    )


async def publish_order_event(
    js: JetStreamContext, subject: str, event: object, order_id: str
) -> str:
    """An orders event on the ORDERS stream, as orders' outbox relay publishes it."""
    await ensure_stream(js, producer_stream("orders"))
    envelope = new_envelope(
        producer="orders",
        subject=subject,
        event=event,
        aggregate_id=order_id,  # type: ignore[arg-type]
    )
    await js.publish(
        subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id}
    )
    return envelope.event_id


async def place_and_pay(
    js: JetStreamContext, *, customer_id: str, total_minor: int, currency: str = "EUR"
) -> str:
    """orders.order.placed then orders.order.paid of a new order; its id."""
    order_id = str(uuid.uuid4())
    total = Money(amount_minor=total_minor, currency=currency)
    placed = orders_events.OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency=currency,
        totals=orders_pb2.Totals(subtotal=total, total=total),
    )
    await publish_order_event(js, "orders.order.placed", placed, order_id)
    paid = orders_events.OrderPaid(order_id=order_id, invoice_id=str(uuid.uuid4()))
    await publish_order_event(js, "orders.order.paid", paid, order_id)
    return order_id


async def expect_error(call: object) -> grpc.aio.AioRpcError:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")
