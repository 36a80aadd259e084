"""The chain service's gRPC servicer: proto -> domain (via `translation.py`), one unit of
work per call, domain -> proto. Domain errors propagate to the platform's interceptor, which
maps them to gRPC status once."""

from __future__ import annotations

from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

import segno
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from web3 import Web3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import chain_pb2_grpc
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora.chain import store
from agora.chain.configuration import ChainConfig
from agora.chain.contracts import artifact
from agora.chain.domain import (
    KnownToken,
    Speed,
    eip681_uri,
    parse_base_units,
    require_above_dust,
    router_invoice_id,
    updated_policy,
)
from agora.chain.events import NETWORK_CHANGED, record
from agora.chain.reconciliation import ReconciliationRpc
from agora.chain.refunds import RefundsRpc
from agora.chain.rewards import RewardsRpc
from agora.chain.sweeper import SweepsRpc
from agora.chain.translation import amount_pb, network_pb, token_pb, transfer_pb
from agora.platform.db import session_factory, transaction
from agora.platform.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import datetime_of, optional_timestamp

MAX_SYMBOL = 10


PAY_ARGUMENTS = ["bytes32", "address", "uint256"]


@cache
def _pay_selector() -> bytes:
    """PaymentRouter.pay's selector, from the built ABI, whose arguments must be the three static
    words `router_calldata` lays out."""
    [pay] = [
        entry
        for entry in artifact("PaymentRouter").abi
        if entry.get("type") == "function" and entry.get("name") == "pay"
    ]
    arguments = [argument["type"] for argument in pay["inputs"]]
    if arguments != PAY_ARGUMENTS:
        raise RuntimeError(f"PaymentRouter.pay takes {arguments}, not {PAY_ARGUMENTS}")
    return bytes(Web3.keccak(text=f"pay({','.join(arguments)})")[:4])


def router_calldata(invoice_id: str, token: str, amount: int) -> str:
    """0x-hex calldata of PaymentRouter.pay(invoice_id, token, amount): the ABI's selector and
    three static 32-byte words, laid out here (web3's encode_abi, which looks the function up
    in the ABI on every call, took a quarter of CreatePaymentOptions' time)."""
    address = bytes.fromhex(token.removeprefix("0x"))
    if len(address) != 20:
        raise ValueError(f"not an address: {token!r}")
    if not 0 <= amount < 2**256:
        raise ValueError(f"amount {amount} is not a uint256")
    words = router_invoice_id(invoice_id) + address.rjust(32, b"\x00") + amount.to_bytes(32, "big")
    return "0x" + (_pay_selector() + words).hex()


@lru_cache(maxsize=4096)
def qr_svg(uri: str) -> str:
    """`uri` as an inline SVG QR code (~20 ms to draw: drawn once per invoice and kept)."""
    svg: str = segno.make(uri, error="m").svg_inline()
    return svg


class ChainService(
    RewardsRpc, ReconciliationRpc, SweepsRpc, RefundsRpc, chain_pb2_grpc.ChainServiceServicer
):
    """ChainService over the chain schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine, config: ChainConfig) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._config = config

    @property
    def config(self) -> ChainConfig:
        return self._config

    # --- networks and tokens -----------------------------------------------------------------

    async def ListNetworks(
        self, request: pb.ListNetworksRequest, context: object
    ) -> pb.ListNetworksResponse:
        await self._config.install(self._engine)
        async with self._reads.connect() as conn:
            found = await store.all_networks(conn)
        return pb.ListNetworksResponse(networks=[network_pb(n) for n in found])

    async def UpdateNetwork(self, request: pb.UpdateNetworkRequest, context: object) -> pb.Network:
        await self._config.install(self._engine)

        async def change(session: AsyncSession) -> pb.Network:
            current = await store.network(session, request.chain_id, for_update=True)
            if request.version and request.version != current.version:
                raise Conflict(
                    f"network {current.chain_id} is at version {current.version}, "
                    f"not {request.version}"
                )
            policy = updated_policy(
                current.policy,
                low=request.confirmations_low,
                medium=request.confirmations_medium,
                high=request.confirmations_high,
                block_time_ms=request.block_time_ms,
            )
            if policy == current.policy:
                return network_pb(current)
            version = current.version + 1
            await store.save_policy(session, current.chain_id, policy, version, utcnow())
            message = network_pb(await store.network(session, current.chain_id))
            await record(
                session,
                NETWORK_CHANGED,
                events.NetworkChanged(network=message),
                aggregate_id=str(current.chain_id),
                version=version,
            )
            return message

        return await idempotent_mutation(
            self._sessions,
            operation="chain.UpdateNetwork",
            request=request,
            response_type=pb.Network,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def ListTokens(
        self, request: pb.ListTokensRequest, context: object
    ) -> pb.ListTokensResponse:
        await self._config.install(self._engine)
        async with self._reads.connect() as conn:
            found = await store.tokens_with_chain(conn, request.chain_id or None)
        return pb.ListTokensResponse(tokens=[token_pb(c, t) for c, t in found])

    # --- payment options ---------------------------------------------------------------------

    def _token(self, symbol: str, chain_id: int) -> KnownToken:
        if chain_id != self._config.chain_id:
            raise InvalidArgument.for_field("chainId", f"chain {chain_id} is not watched")
        for token in self._config.tokens:
            if token.symbol == symbol.upper():
                return token
        known = ", ".join(t.symbol for t in self._config.tokens)
        raise InvalidArgument.for_field("symbol", f"unknown token {symbol!r}; known: {known}")

    async def CreatePaymentOptions(
        self, request: pb.CreatePaymentOptionsRequest, context: object
    ) -> pb.PaymentOptions:
        invoice_id = require_id(request.invoice_id, "invoiceId")
        if not request.symbol or len(request.symbol) > MAX_SYMBOL:
            raise InvalidArgument.for_field("symbol", "a token symbol (USDT, AGT)")
        chain_id = request.chain_id or self._config.chain_id
        token = self._token(request.symbol, chain_id)
        amount = parse_base_units(request.amount.base_units, "amount.baseUnits")
        require_above_dust(amount, token.dust_limit, token.symbol, "amount.baseUnits")
        try:
            speed = Speed(request.speed)
        except ValueError:
            raise InvalidArgument.for_field("speed", "an unknown speed") from None
        expires_at = datetime_of(request.expires_at) if request.HasField("expires_at") else None
        await self._config.install(self._engine)

        async with transaction(self._sessions) as session:
            existing = await store.deposit_row(session, invoice_id)
            if existing is None:
                network = await store.network(session, chain_id)
                index = await store.next_deposit_index(session)
                deposit = {
                    "invoice_id": invoice_id,
                    "chain_id": chain_id,
                    "address": self._config.wallet.deposits.address(index).lower(),
                    "derivation_index": index,
                    "symbol": token.symbol,
                    "token_address": token.address,
                    "amount": amount,
                    "confirmations_required": network.policy.confirmations(speed),
                    "expires_at": expires_at,
                    "created_at": utcnow(),
                }
                if await store.insert_deposit(session, deposit):
                    existing = SimpleNamespace(**deposit)  # the row as written: not read back
                else:  # a concurrent call for the same invoice got there first
                    existing = await store.deposit_row(session, invoice_id)
        if existing is None:  # pragma: no cover - inserted or found above
            raise NotFound("payment options", invoice_id)
        if existing.symbol != token.symbol or int(existing.amount) != amount:
            raise AlreadyExists(
                f"invoice {invoice_id} already has payment options of "
                f"{int(existing.amount)} {existing.symbol} base units"
            )
        return self._options(existing, qr=False)

    async def GetPaymentOptions(
        self, request: pb.GetPaymentOptionsRequest, context: object
    ) -> pb.PaymentOptions:
        invoice_id = require_id(request.invoice_id, "invoiceId")
        async with self._reads.connect() as conn:
            row = await store.deposit_row(conn, invoice_id)
        if row is None:
            raise NotFound("payment options", invoice_id)
        return self._options(row)

    def _options(self, row: Any, *, qr: bool = True) -> pb.PaymentOptions:
        token = self._token(row.symbol, row.chain_id)
        amount = int(row.amount)
        deposit = Web3.to_checksum_address(row.address)
        token_address = Web3.to_checksum_address(row.token_address)
        uri = eip681_uri(token_address, row.chain_id, deposit, amount)
        router = Web3.to_checksum_address(self._config.network.router_address)
        return pb.PaymentOptions(
            invoice_id=row.invoice_id,
            chain_id=row.chain_id,
            token=token_pb(row.chain_id, token),
            amount=amount_pb(amount, token.symbol, token.decimals),
            deposit_address=deposit,
            eip681_uri=uri,
            qr_svg=qr_svg(uri) if qr else "",
            router_address=router,
            router_calldata=router_calldata(row.invoice_id, token_address, amount),
            router_invoice_id="0x" + router_invoice_id(row.invoice_id).hex(),
            confirmations_required=row.confirmations_required,
            expires_at=optional_timestamp(row.expires_at),
        )

    # --- transfers ---------------------------------------------------------------------------

    async def ListTransfers(
        self, request: pb.ListTransfersRequest, context: object
    ) -> pb.ListTransfersResponse:
        invoice_id = require_id(request.invoice_id, "invoiceId") if request.invoice_id else None
        size = page_size(request.page_size)
        query = f"transfers:{invoice_id or ''}:{int(request.flagged_only)}"
        position = decode_page_token(request.page_token, query, arity=3)
        after = None
        if position is not None:
            block, tx_hash, log_index = position
            if not isinstance(block, int) or not isinstance(log_index, int):
                raise InvalidArgument.for_field("pageToken", "not a page token of this query")
            after = (block, str(tx_hash), log_index)
        async with self._reads.connect() as conn:
            found = await store.transfers_page(
                conn,
                invoice_id=invoice_id,
                flagged_only=request.flagged_only,
                after=after,
                limit=size + 1,
            )
        decimals = {t.symbol: t.decimals for t in self._config.tokens}
        page = found[:size]
        token = ""
        if len(found) > size:
            last = page[-1].log
            token = encode_page_token([last.block_number, last.tx_hash, last.log_index], query)
        return pb.ListTransfersResponse(
            transfers=[transfer_pb(r, decimals.get(r.matched.symbol, 0)) for r in page],
            next_page_token=token,
        )
