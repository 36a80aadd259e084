"""Payment options through the real gRPC API: one deposit address per invoice, idempotent,
with the EIP-681 URI, its QR code and the router call; networks and tokens; bad input."""

from __future__ import annotations

import asyncio
import uuid

import grpc
from eth_abi import decode
from google.protobuf.timestamp_pb2 import Timestamp
from security_support import mint_token, service_identity, with_token
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.chain.contracts import dev_addresses
from agora.platform.rpc.status import error_info_from_rpc_error

TIMEOUT_S = 10.0
DEV = dev_addresses()


def options_request(
    invoice_id: str, amount: str = "2500000", **fields: object
) -> pb.CreatePaymentOptionsRequest:
    return pb.CreatePaymentOptionsRequest(
        invoice_id=invoice_id,
        symbol=str(fields.pop("symbol", "USDT")),
        amount=CryptoAmount(base_units=amount, asset="USDT", decimals=6),
        **fields,  # type: ignore[arg-type]
    )


async def failure(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code(), error_info_from_rpc_error(error).reason
    raise AssertionError("the call succeeded")


async def test_an_invoice_gets_one_deposit_address_and_both_ways_to_pay(
    chain: ChainServiceStub,
) -> None:
    invoice_id = str(uuid.uuid4())
    expires = Timestamp(seconds=2_000_000_000)
    created = await chain.CreatePaymentOptions(
        options_request(invoice_id, expires_at=expires, speed=pb.SPEED_HIGH), timeout=TIMEOUT_S
    )
    again = await chain.CreatePaymentOptions(options_request(invoice_id), timeout=TIMEOUT_S)
    public = await chain.GetPaymentOptions(
        pb.GetPaymentOptionsRequest(invoice_id=invoice_id), metadata=(), timeout=TIMEOUT_S
    )
    assert again == created
    assert created.qr_svg == ""  # drawn for the public view only
    assert public.qr_svg.startswith("<svg")
    public.ClearField("qr_svg")
    assert public == created
    assert Web3.is_checksum_address(created.deposit_address)
    assert created.token.symbol == "USDT"
    assert created.token.address == DEV.usdt.lower()
    assert created.amount.base_units == "2500000"
    assert created.amount.decimals == 6
    assert created.confirmations_required == 6  # the dev policy's high
    assert created.expires_at == expires
    assert created.eip681_uri == (
        f"ethereum:{DEV.usdt}@31337/transfer?address={created.deposit_address}&uint256=2500000"
    )
    assert created.router_address == DEV.router
    assert created.router_invoice_id == "0x" + uuid.UUID(invoice_id).bytes.rjust(32, b"\0").hex()
    selector = Web3.keccak(text="pay(bytes32,address,uint256)")[:4].hex()
    assert created.router_calldata.startswith("0x" + selector)
    decoded = decode(["bytes32", "address", "uint256"], bytes.fromhex(created.router_calldata[10:]))
    assert decoded == (uuid.UUID(invoice_id).bytes.rjust(32, b"\0"), DEV.usdt.lower(), 2500000)

    other = await chain.CreatePaymentOptions(
        options_request(str(uuid.uuid4()), symbol="AGT", amount=str(10**18)), timeout=TIMEOUT_S
    )
    assert other.deposit_address != created.deposit_address
    assert other.token.symbol == "AGT"
    assert other.confirmations_required == 2


async def test_the_payments_service_may_create_options_and_a_customer_may_not(
    chain: ChainServiceStub,
) -> None:
    as_payments = with_token(service_identity("payments").token())
    made = await chain.CreatePaymentOptions(
        options_request(str(uuid.uuid4())), metadata=as_payments, timeout=TIMEOUT_S
    )
    assert made.deposit_address
    as_customer = with_token(mint_token(roles=["customer"]))
    code, _ = await failure(
        chain.CreatePaymentOptions(
            options_request(str(uuid.uuid4())), metadata=as_customer, timeout=TIMEOUT_S
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_payment_options_are_refused_with_a_reason(chain: ChainServiceStub) -> None:
    invoice_id = str(uuid.uuid4())
    cases = [
        options_request(invoice_id, amount="0"),
        options_request(invoice_id, amount="12x"),
        options_request(invoice_id, amount=str(2**256)),
        options_request(invoice_id, amount="9999"),  # below USDT's dust of 10000
        options_request(invoice_id, symbol="DOGE"),
        options_request(invoice_id, chain_id=1),
        options_request("not-a-uuid"),
    ]
    for request in cases:
        code, _ = await failure(chain.CreatePaymentOptions(request, timeout=TIMEOUT_S))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, request
    await chain.CreatePaymentOptions(options_request(invoice_id), timeout=TIMEOUT_S)
    code, _ = await failure(
        chain.CreatePaymentOptions(
            options_request(invoice_id, amount="30000000"), timeout=TIMEOUT_S
        )
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, _ = await failure(
        chain.GetPaymentOptions(
            pb.GetPaymentOptionsRequest(invoice_id=str(uuid.uuid4())), timeout=TIMEOUT_S
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_networks_and_tokens_come_from_settings_and_the_policy_changes_by_version(
    chain: ChainServiceStub,
) -> None:
    listed = await chain.ListNetworks(pb.ListNetworksRequest(), timeout=TIMEOUT_S)
    (network,) = [n for n in listed.networks if n.chain_id == 31337]
    assert (network.confirmations_low, network.confirmations_medium) == (1, 2)
    assert network.router_address == DEV.router.lower()
    tokens = await chain.ListTokens(pb.ListTokensRequest(chain_id=31337), timeout=TIMEOUT_S)
    assert {(t.symbol, t.decimals) for t in tokens.tokens} == {("USDT", 6), ("AGT", 18)}

    key = str(uuid.uuid4())
    update = pb.UpdateNetworkRequest(
        idempotency_key=key, chain_id=31337, confirmations_high=12, version=network.version
    )
    changed = await chain.UpdateNetwork(update, timeout=TIMEOUT_S)
    assert (changed.confirmations_high, changed.version) == (12, network.version + 1)
    assert await chain.UpdateNetwork(update, timeout=TIMEOUT_S) == changed  # a retry
    stale = pb.UpdateNetworkRequest(
        idempotency_key=str(uuid.uuid4()),
        chain_id=31337,
        confirmations_high=7,
        version=network.version,
    )
    code, _ = await failure(chain.UpdateNetwork(stale, timeout=TIMEOUT_S))
    assert code == grpc.StatusCode.ABORTED
    inverted = pb.UpdateNetworkRequest(
        idempotency_key=str(uuid.uuid4()), chain_id=31337, confirmations_low=50
    )
    code, _ = await failure(chain.UpdateNetwork(inverted, timeout=TIMEOUT_S))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    restore = pb.UpdateNetworkRequest(
        idempotency_key=str(uuid.uuid4()), chain_id=31337, confirmations_high=6
    )
    await chain.UpdateNetwork(restore, timeout=TIMEOUT_S)


async def test_concurrent_creates_of_one_invoice_give_one_address(chain: ChainServiceStub) -> None:
    invoice_id = str(uuid.uuid4())
    answers = await asyncio.gather(
        *[
            chain.CreatePaymentOptions(options_request(invoice_id), timeout=TIMEOUT_S)
            for _ in range(6)
        ]
    )
    assert len({a.deposit_address for a in answers}) == 1
