"""The router call offered with every invoice's payment options is laid out by hand: it must be
byte for byte what web3 encodes from the built PaymentRouter ABI."""

from __future__ import annotations

import uuid

import pytest
from web3 import Web3

from agora.chain.contracts import artifact
from agora.chain.domain import router_invoice_id
from agora.chain.service import router_calldata

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize("amount", [1, 2_500_000, 10**18, 2**256 - 1])
@pytest.mark.parametrize("token", [TOKEN, TOKEN.lower()])
def test_router_calldata_is_what_web3_encodes_from_the_abi(amount: int, token: str) -> None:
    invoice_id = str(uuid.uuid4())
    router = Web3().eth.contract(abi=artifact("PaymentRouter").abi)
    expected = router.encode_abi(
        "pay", args=[router_invoice_id(invoice_id), Web3.to_checksum_address(token), amount]
    )
    assert router_calldata(invoice_id, token, amount) == expected


def test_router_calldata_refuses_what_is_no_address_or_no_uint256() -> None:
    invoice_id = str(uuid.uuid4())
    with pytest.raises(ValueError, match="not an address"):
        router_calldata(invoice_id, TOKEN[:-2], 1)
    with pytest.raises(ValueError, match="not a uint256"):
        router_calldata(invoice_id, TOKEN, 2**256)
    with pytest.raises(ValueError, match="not a uint256"):
        router_calldata(invoice_id, TOKEN, -1)
