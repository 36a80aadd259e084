"""The chain service's rules, without I/O."""

from __future__ import annotations

import uuid

import pytest

from agora.chain.domain import invoice_id_of, router_invoice_id, transfer_reference
from agora.platform.errors import InvalidArgument


def test_an_invoice_id_round_trips_through_the_routers_bytes32() -> None:
    invoice_id = str(uuid.uuid4())
    encoded = router_invoice_id(invoice_id)
    assert len(encoded) == 32
    assert int.from_bytes(encoded, "big") == uuid.UUID(invoice_id).int
    assert invoice_id_of(encoded) == invoice_id


def test_a_bytes32_that_is_not_a_padded_uuid_names_no_invoice() -> None:
    assert invoice_id_of(b"\x01" * 32) is None
    assert invoice_id_of(b"\x00" * 31) is None


def test_a_malformed_invoice_id_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        router_invoice_id("not-a-uuid")


def test_a_transfer_reference_is_lower_case_and_names_chain_tx_and_log() -> None:
    assert transfer_reference(31337, "0xABcd", 3) == "31337:0xabcd:3"
