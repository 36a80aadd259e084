"""What the watcher accepts from a node: logs decoded, malformed content kept and flagged,
malformed answers refused (retried, never recorded); the settings production refuses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agora.chain.domain import Kind, router_invoice_id
from agora.chain.node import NodeUnavailable, hex_data, quantity
from agora.chain.settings import ChainSettings
from agora.chain.watcher import (
    INVOICE_PAID_TOPIC,
    TRANSFER_TOPIC,
    Header,
    RawLog,
    _header,
    _raw_log,
    decode,
)
from agora.platform.settings import PlatformSettings, refuse_development_defaults

ROUTER = "0x" + "9" * 40
TOKEN = "0x" + "a" * 40
HEADER = Header(7, "0x" + "b" * 64, "0x" + "c" * 64, datetime(2026, 12, 1, tzinfo=UTC))


def topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def raw(address: str, topics: list[str], data: str) -> RawLog:
    return RawLog(address, tuple(topics), data, 7, HEADER.hash, "0x" + "1" * 64, 3)


def test_an_erc20_transfer_is_decoded() -> None:
    log = decode(
        raw(
            TOKEN,
            [TRANSFER_TOPIC, topic("0x" + "e" * 40), topic("0x" + "d" * 40)],
            "0x" + f"{5:064x}",
        ),
        HEADER,
        ROUTER,
    )
    assert (log.kind, log.token, log.amount, log.malformed) == (Kind.DEPOSIT, TOKEN, 5, False)
    assert (log.from_address, log.to_address) == ("0x" + "e" * 40, "0x" + "d" * 40)
    assert (log.block_time, log.block_number, log.log_index) == (HEADER.time, 7, 3)


def test_an_invoice_paid_names_the_invoice_payer_token_and_amount() -> None:
    invoice = str(uuid.uuid4())
    data = "0x" + topic(TOKEN)[2:] + f"{10**18:064x}"
    log = decode(
        raw(
            ROUTER,
            [INVOICE_PAID_TOPIC, "0x" + router_invoice_id(invoice).hex(), topic("0x" + "e" * 40)],
            data,
        ),
        HEADER,
        ROUTER,
    )
    assert (log.kind, log.token, log.amount, log.from_address) == (
        Kind.ROUTER,
        TOKEN,
        10**18,
        "0x" + "e" * 40,
    )
    assert log.router_invoice == router_invoice_id(invoice)


@pytest.mark.parametrize(
    "bad",
    [
        # an ERC-721 Transfer: the token id indexed, no data
        raw(TOKEN, [TRANSFER_TOPIC, topic(TOKEN), topic(TOKEN), "0x" + "0" * 63 + "1"], "0x"),
        # data of the wrong length
        raw(TOKEN, [TRANSFER_TOPIC, topic(TOKEN), topic(TOKEN)], "0x" + "00" * 31),
        # an indexed "address" that is not one
        raw(TOKEN, [TRANSFER_TOPIC, "0x" + "f" * 64, topic(TOKEN)], "0x" + "00" * 32),
        # an InvoicePaid with its data cut short
        raw(ROUTER, [INVOICE_PAID_TOPIC, "0x" + "0" * 64, topic(TOKEN)], "0x" + "00" * 32),
    ],
)
def test_malformed_log_content_is_kept_flagged_with_no_amount(bad: RawLog) -> None:
    log = decode(bad, HEADER, ROUTER)
    assert log.malformed
    assert log.amount == 0


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"topics": "x"},
        {
            "address": "0x12",
            "topics": [],
            "data": "0x",
            "blockNumber": "0x1",
            "blockHash": "0x" + "0" * 64,
            "transactionHash": "0x" + "0" * 64,
            "logIndex": "0x0",
        },
        {
            "address": TOKEN,
            "topics": ["0xzz"],
            "data": "0x",
            "blockNumber": "0x1",
            "blockHash": "0x" + "0" * 64,
            "transactionHash": "0x" + "0" * 64,
            "logIndex": "0x0",
        },
        {
            "address": TOKEN,
            "topics": [],
            "data": "0x",
            "blockNumber": 1,
            "blockHash": "0x" + "0" * 64,
            "transactionHash": "0x" + "0" * 64,
            "logIndex": "0x0",
        },
    ],
)
def test_a_malformed_answer_is_refused_as_the_node_being_unavailable(answer: object) -> None:
    with pytest.raises(NodeUnavailable):
        _raw_log(answer)


def test_quantities_hex_and_headers_are_checked() -> None:
    assert quantity("0x1a", "n") == 26
    assert hex_data("0xAB", "d", size=1) == "0xab"
    for bad in (26, "1a", "0xzz", "0x" + "1" * 65):
        with pytest.raises(NodeUnavailable):
            quantity(bad, "n")
    with pytest.raises(NodeUnavailable):
        hex_data("0xabc", "d")
    good = {
        "number": "0x7",
        "hash": HEADER.hash,
        "parentHash": HEADER.parent_hash,
        "timestamp": "0x10",
    }
    assert _header(good, 7).hash == HEADER.hash
    with pytest.raises(NodeUnavailable):
        _header(good, 8)  # answered as another block
    with pytest.raises(NodeUnavailable):
        _header(None, 7)


def test_production_refuses_to_start_without_a_wallet(tmp_path: Path) -> None:
    production = PlatformSettings(
        env="prod", database_url="postgresql://db/x", nats_url="nats://n:4222"
    )
    with pytest.raises(ValueError, match="AGORA_CHAIN_KEYSTORE_FILE"):
        refuse_development_defaults(production, ChainSettings())
    with pytest.raises(ValueError, match="AGORA_CHAIN_PASSPHRASE_FILE"):
        refuse_development_defaults(production, ChainSettings(keystore_file=tmp_path / "k"))
    refuse_development_defaults(production, ChainSettings(xpub="xpub-given"))


def test_the_websocket_url_is_derived_for_a_local_node_only() -> None:
    assert ChainSettings(rpc_url="http://127.0.0.1:8545").websocket_url() == "ws://127.0.0.1:8545"
    assert ChainSettings(rpc_url="https://rpc.example.org").websocket_url() is None
    given = ChainSettings(rpc_url="https://rpc.example.org", ws_url="wss://ws.example.org")
    assert given.websocket_url() == "wss://ws.example.org"
