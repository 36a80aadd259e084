"""The embedded EVM node `make` installs: it runs, mines, and takes the project's contracts."""

from __future__ import annotations

from anvil_support import Anvil

from agora.chain.contracts import DEV_DEPLOYER_KEY, deploy_dev_contracts
from agora.platform.embedded.anvil import DEV_CHAIN_ID


def test_the_node_serves_the_dev_chain_and_mines_on_request(anvil: Anvil) -> None:
    w3 = anvil.web3()
    assert w3.eth.chain_id == DEV_CHAIN_ID
    before = w3.eth.block_number
    anvil.mine(5)
    assert w3.eth.block_number == before + 5


def test_the_contracts_deploy_at_their_fixed_addresses(anvil: Anvil) -> None:
    w3 = anvil.web3()
    deployment = deploy_dev_contracts(w3)
    for address in (deployment.token, deployment.usdt, deployment.router):
        assert len(w3.eth.get_code(address)) > 0
    assert DEV_DEPLOYER_KEY
