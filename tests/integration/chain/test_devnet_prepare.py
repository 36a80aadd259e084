"""`prepare_devnet` on a real anvil: the contracts at their fixed addresses, the router paying
the treasury, the operator a minter with gas, the development wallets funded; a second run
sends nothing; any chain but a dev chain is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from anvil_support import Anvil, running_anvil

from agora.chain.contracts import DEV_DEPLOYER_KEY, contract, dev_addresses
from agora.chain.devnet import (
    AGT_TARGET,
    OPERATOR_ETH_TARGET,
    USDT_TARGET,
    NotADevChain,
    balances,
    dev_treasury,
    dev_wallets,
    prepare_devnet,
)
from agora.platform.embedded.anvil import dev_account

OPERATOR = "0x000000000000000000000000000000000000a11c"


def test_a_fresh_chain_gets_the_contracts_a_funded_operator_and_funded_wallets(
    anvil: Anvil,
) -> None:
    w3 = anvil.web3()

    deployment = prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)

    assert deployment == dev_addresses()
    for address in (deployment.token, deployment.usdt, deployment.router):
        assert len(w3.eth.get_code(address)) > 0
    router = contract(w3, "PaymentRouter", deployment.router)
    assert router.functions.treasury().call() == dev_treasury()
    token = contract(w3, "AgoraToken", deployment.token)
    assert token.functions.is_minter(w3.to_checksum_address(OPERATOR)).call()
    assert w3.eth.get_balance(w3.to_checksum_address(OPERATOR)) == OPERATOR_ETH_TARGET
    wallets = dev_wallets()
    assert list(wallets) == ["dev-1", "dev-2", "dev-3", "dev-4", "dev-5"]
    for wallet in wallets.values():
        held = balances(w3, deployment, wallet.address)
        assert (held.usdt, held.agt) == (USDT_TARGET, AGT_TARGET)
        assert held.eth > 1000 * 10**18  # anvil's pre-funded ether, kept


def test_a_second_run_sends_no_transaction(anvil: Anvil) -> None:
    w3 = anvil.web3()
    prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)
    deployer = dev_account(0).address
    nonce = w3.eth.get_transaction_count(deployer)
    head = w3.eth.block_number

    prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)

    assert w3.eth.get_transaction_count(deployer) == nonce
    assert w3.eth.block_number == head


def test_a_spent_wallet_is_topped_up_to_the_target_only(anvil: Anvil) -> None:
    w3 = anvil.web3()
    deployment = prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)
    dev1 = dev_wallets()["dev-1"]
    usdt = contract(w3, "TestUSDT", deployment.usdt)
    tx = usdt.functions.transfer(dev_treasury(), 2_500 * 10**6).transact({"from": dev1.address})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert balances(w3, deployment, dev1.address).usdt == USDT_TARGET - 2_500 * 10**6

    prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)

    assert balances(w3, deployment, dev1.address).usdt == USDT_TARGET
    assert balances(w3, deployment, dev_wallets()["dev-2"].address).usdt == USDT_TARGET


def test_a_new_treasury_is_set_on_the_router(anvil: Anvil) -> None:
    w3 = anvil.web3()
    deployment = prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)
    other = dev_account(8).address

    prepare_devnet(w3, treasury=other, operator=OPERATOR)

    assert contract(w3, "PaymentRouter", deployment.router).functions.treasury().call() == other


def test_a_restarted_node_keeps_the_prepared_chain(tmp_path: Path) -> None:
    with running_anvil(tmp_path, state_dir=tmp_path / "chain") as node:
        w3 = node.web3()
        deployment = prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)
        nonce = w3.eth.get_transaction_count(dev_account(0).address)
        node.stop()  # dumps its state on the way out
        node.start()

        assert prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR) == deployment
        assert w3.eth.get_transaction_count(dev_account(0).address) == nonce
        assert balances(w3, deployment, dev_wallets()["dev-5"].address).agt == AGT_TARGET


def test_a_chain_that_is_not_a_dev_chain_is_refused(tmp_path: Path) -> None:
    with running_anvil(tmp_path, chain_id=137) as node:
        w3 = node.web3()
        with pytest.raises(NotADevChain, match="chain id 137"):
            prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)
        assert w3.eth.get_code(dev_addresses().token) == b""
        assert w3.eth.get_transaction_count(dev_account(0).address) == 0


def test_a_chain_id_explicitly_allowed_is_prepared(tmp_path: Path) -> None:
    with running_anvil(tmp_path, chain_id=1337) as node:
        deployment = prepare_devnet(
            node.web3(), treasury=dev_treasury(), operator=OPERATOR, allowed_chain_ids={1337}
        )
        assert len(node.web3().eth.get_code(deployment.router)) > 0


def test_the_wallets_carry_their_keys_on_a_dev_chain_only() -> None:
    assert "0x" + bytes(dev_account(0).key).hex() == DEV_DEPLOYER_KEY
    assert dev_wallets()["dev-1"].private_key is not None
    assert all(w.private_key is None for w in dev_wallets(chain_id=1).values())
    assert dev_wallets(chain_id=1)["dev-1"].address == dev_wallets()["dev-1"].address
