"""The test chain handle shared by the contract tests (imported by tests and conftest)."""

from dataclasses import dataclass

from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from agora.chain.contracts import Deployment, dev_deployer


@dataclass
class Chain:
    w3: Web3
    tester: EthereumTester
    deployment: Deployment
    token: Contract
    usdt: Contract
    router: Contract
    owner: str
    treasury: str
    alice: str
    bob: str

    def as_owner(self, call: ContractFunction) -> TxReceipt:
        """Sign and send a contract call from the dev deployer (the contracts' owner)."""
        account = dev_deployer()
        tx = call.build_transaction(
            {"from": account.address, "nonce": self.w3.eth.get_transaction_count(account.address)}
        )
        signed = account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        assert receipt["status"] == 1
        return receipt

    def send(self, call: ContractFunction, sender: str) -> TxReceipt:
        """Send a contract call from one of eth-tester's unlocked accounts."""
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        assert receipt["status"] == 1
        return receipt


# A revert surfaces as web3's ContractLogicError (gas estimation on a node) or as eth-tester's
# TransactionFailed (its in-process provider); either carries the contract's reason string.
REVERTED = (ContractLogicError, TransactionFailed)


def new_chain() -> tuple[Web3, EthereumTester]:
    tester = EthereumTester()
    w3 = Web3(EthereumTesterProvider(tester))
    w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": dev_deployer().address, "value": 10**20}
    )
    return w3, tester
