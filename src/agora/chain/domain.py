"""The chain service's rules. Pure: the standard library, `agora.platform.kernel` and
`agora.platform.errors` only (the import contract forbids grpc, sqlalchemy, asyncpg, nats and the
generated protos, even indirectly).
"""

from __future__ import annotations

import uuid

from agora.platform.kernel.checks import require_id


def router_invoice_id(invoice_id: str) -> bytes:
    """The invoice id as PaymentRouter's `bytes32 invoice_id`: the UUID's 16 bytes, left-padded
    with zeros (as a number, the UUID's integer)."""
    return uuid.UUID(require_id(invoice_id, "invoice_id")).bytes.rjust(32, b"\x00")


def invoice_id_of(router_id: bytes) -> str | None:
    """The invoice id a router payment names, or None when the bytes32 is not one of ours."""
    if len(router_id) != 32 or any(router_id[:16]):
        return None
    return str(uuid.UUID(bytes=router_id[16:]))


def transfer_reference(chain_id: int, tx_hash: str, log_index: int) -> str:
    """A transfer's identity, and payments' reference of the payment it makes."""
    return f"{chain_id}:{tx_hash.lower()}:{log_index}"
