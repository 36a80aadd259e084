"""Protobuf <-> domain mapping of the chain service, and nothing else."""

from __future__ import annotations

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.types.v1 import money_pb2
from agora.chain.domain import Kind, KnownToken, Network, Status, TransferRecord
from agora.platform.rpc.timestamps import timestamp

_KINDS = {Kind.DEPOSIT: pb.TRANSFER_KIND_DEPOSIT, Kind.ROUTER: pb.TRANSFER_KIND_ROUTER}
_STATUSES = {
    Status.DETECTED: pb.TRANSFER_STATUS_DETECTED,
    Status.CONFIRMED: pb.TRANSFER_STATUS_CONFIRMED,
    Status.REORGED: pb.TRANSFER_STATUS_REORGED,
}


def amount_pb(value: int, symbol: str, decimals: int) -> money_pb2.CryptoAmount:
    return money_pb2.CryptoAmount(base_units=str(value), asset=symbol, decimals=decimals)


def network_pb(network: Network) -> pb.Network:
    return pb.Network(
        chain_id=network.chain_id,
        name=network.name,
        rpc_url=_without_credentials(network.rpc_url),
        confirmations_low=network.policy.low,
        confirmations_medium=network.policy.medium,
        confirmations_high=network.policy.high,
        block_time_ms=network.policy.block_time_ms,
        treasury_address=network.treasury_address,
        router_address=network.router_address,
        checkpoint_block=max(network.checkpoint_block, 0),
        head_block=max(network.head_block, 0),
        version=network.version,
    )


def token_pb(chain_id: int, token: KnownToken) -> pb.Token:
    return pb.Token(
        chain_id=chain_id,
        symbol=token.symbol,
        address=token.address,
        decimals=token.decimals,
        dust_limit=amount_pb(token.dust_limit, token.symbol, token.decimals),
    )


def transfer_pb(record: TransferRecord, decimals: int = 0) -> pb.Transfer:
    log, matched = record.log, record.matched
    return pb.Transfer(
        chain_id=record.chain_id,
        tx_hash=log.tx_hash,
        log_index=log.log_index,
        block_number=log.block_number,
        block_hash=log.block_hash,
        block_time=timestamp(log.block_time),
        kind=_KINDS[log.kind],
        token_address=log.token,
        symbol=matched.symbol,
        from_address=log.from_address,
        to_address=log.to_address,
        amount=amount_pb(log.amount, matched.symbol, decimals),
        invoice_id=matched.invoice_id or "",
        confirmations=record.confirmations,
        confirmations_required=matched.confirmations_required,
        status=_STATUSES[record.status],
        flags=list(matched.flags),
        reference=record.reference,
    )


def _without_credentials(url: str) -> str:
    """`url`'s scheme and host only: user info and paths (API keys) are never shown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    host = rest.partition("/")[0].partition("?")[0]
    return f"{scheme}://{host.rpartition('@')[2]}"
