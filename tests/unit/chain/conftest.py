"""One in-process EVM (py-evm via eth-tester) with the project's contracts, reset per test."""

from collections.abc import Iterator

import pytest
from chain_support import Chain, new_chain
from eth_tester import EthereumTester
from web3 import Web3

from agora.chain.contracts import Deployment, contract, deploy_dev_contracts


@pytest.fixture(scope="module")
def _deployed() -> tuple[Web3, EthereumTester, Deployment]:
    w3, tester = new_chain()
    treasury = w3.eth.accounts[9]
    return w3, tester, deploy_dev_contracts(w3, treasury=treasury)


@pytest.fixture
def chain(_deployed: tuple[Web3, EthereumTester, Deployment]) -> Iterator[Chain]:
    w3, tester, deployment = _deployed
    snapshot = tester.take_snapshot()
    try:
        yield Chain(
            w3=w3,
            tester=tester,
            deployment=deployment,
            token=contract(w3, "AgoraToken", deployment.token),
            usdt=contract(w3, "TestUSDT", deployment.usdt),
            router=contract(w3, "PaymentRouter", deployment.router),
            owner=deployment.deployer,
            treasury=w3.eth.accounts[9],
            alice=w3.eth.accounts[1],
            bob=w3.eth.accounts[2],
        )
    finally:
        tester.revert_to_snapshot(snapshot)
