"""`agora chain …` through the CLI runner against a real anvil: mine, the wallets' balances, and
`pay`'s refusals before anything is sent (paying through the gateway's payment options is
tested end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest
from anvil_support import Anvil
from cli_support import isolate_agora, one_line
from typer.testing import CliRunner

from agora import cli
from agora.chain.commands import parse_payment_options, units
from agora.chain.devnet import dev_treasury, dev_wallets, prepare_devnet
from agora.chain.domain import router_invoice_id
from agora.platform.net import free_port

runner = CliRunner()
INVOICE = "0b3f3c4e-8f0e-4a43-9a56-5a3c1b0f7e21"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolate_agora(monkeypatch, tmp_path)


def test_mine_advances_the_chain_by_that_many_blocks(anvil: Anvil) -> None:
    before = anvil.web3().eth.block_number

    result = runner.invoke(cli.app, ["chain", "mine", "7", "--rpc-url", anvil.url])

    assert result.exit_code == 0, result.output
    assert anvil.web3().eth.block_number == before + 7
    assert f"the head is block {before + 7}" in result.output


def test_mine_reads_the_node_from_agora_chain_rpc_url(
    anvil: Anvil, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_CHAIN_RPC_URL", anvil.url)
    before = anvil.web3().eth.block_number

    result = runner.invoke(cli.app, ["chain", "mine"])

    assert result.exit_code == 0, result.output
    assert anvil.web3().eth.block_number == before + 1


def test_mine_refuses_zero_blocks(anvil: Anvil) -> None:
    head = anvil.web3().eth.block_number

    result = runner.invoke(cli.app, ["chain", "mine", "0", "--rpc-url", anvil.url])

    assert result.exit_code == 2
    assert "greater than or equal to 1" in one_line(result.output)
    assert anvil.web3().eth.block_number == head


def test_a_node_that_does_not_answer_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = runner.invoke(cli.app, ["chain", "mine", "--rpc-url", url])

    assert result.exit_code == 1
    assert f"no EVM node answers at {url}" in one_line(result.output)


def test_wallets_lists_the_funded_dev_wallets_and_the_treasury(anvil: Anvil) -> None:
    prepare_devnet(anvil.web3(), treasury=dev_treasury(), operator=dev_treasury())

    result = runner.invoke(cli.app, ["chain", "wallets", "--rpc-url", anvil.url])

    assert result.exit_code == 0, result.output
    lines = one_line(result.output)
    dev1 = dev_wallets()["dev-1"].address
    assert f"dev-1 │ {dev1} │ 10,000 │ 10,000 │ 10,000" in lines
    assert f"treasury │ {dev_treasury()}" in lines


def test_wallets_before_the_contracts_exist_says_so(anvil: Anvil) -> None:
    result = runner.invoke(cli.app, ["chain", "wallets", "--rpc-url", anvil.url])

    assert result.exit_code == 1
    assert "the chain service prepares them at start" in one_line(result.output)


def test_pay_refuses_an_invoice_id_that_is_not_a_uuid(anvil: Anvil) -> None:
    result = runner.invoke(cli.app, ["chain", "pay", "--invoice", "nope", "--rpc-url", anvil.url])

    assert result.exit_code == 1
    assert "--invoice 'nope' is not an invoice id" in one_line(result.output)


def test_pay_refuses_an_unknown_wallet(anvil: Anvil) -> None:
    result = runner.invoke(
        cli.app,
        ["chain", "pay", "--invoice", INVOICE, "--wallet", "dev-9", "--rpc-url", anvil.url],
    )

    assert result.exit_code == 1
    assert "unknown wallet 'dev-9'; known: dev-1, dev-2, dev-3, dev-4, dev-5" in one_line(
        result.output
    )


def test_pay_names_a_gateway_that_does_not_answer(anvil: Anvil) -> None:
    gateway = f"http://127.0.0.1:{free_port()}"
    head = anvil.web3().eth.block_number

    result = runner.invoke(
        cli.app,
        ["chain", "pay", "--invoice", INVOICE, "--gateway", gateway, "--rpc-url", anvil.url],
    )

    assert result.exit_code == 1
    assert f"cannot reach the gateway at {gateway}" in one_line(result.output)
    assert anvil.web3().eth.block_number == head, "nothing sent"


def test_payment_options_are_read_from_the_gateways_json() -> None:
    options = {
        "invoiceId": INVOICE,
        "chainId": "31337",
        "token": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "USDT"},
        "amount": {"baseUnits": "12500000", "asset": "USDT", "decimals": 6},
        "depositAddress": "0x00000000000000000000000000000000DeAdBeef",
        "routerAddress": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        "routerInvoiceId": "0x" + router_invoice_id(INVOICE).hex(),
    }

    target = parse_payment_options(options)

    assert target.chain_id == 31337
    assert target.amount == 12_500_000
    assert target.symbol == "USDT"
    assert target.router_invoice_id == router_invoice_id(INVOICE)
    assert target.deposit_address == options["depositAddress"]


def test_amounts_are_shown_exactly_in_the_tokens_units() -> None:
    assert units(12_345_678, 6) == "12.345678"
    assert units(10_000 * 10**18, 18) == "10,000"
    assert units(1, 18) == "0.000000000000000001"
