"""The project's contracts as built by `make contracts`, and their deterministic dev deployment.

ABIs and bytecode are read from `artifacts/` (compiled from the repository's `contracts/*.vy`,
git-ignored), never written by hand. The dev deployment uses one fixed, well-known deployer key
and a fixed order, so on every fresh dev chain the three contracts get the same addresses
(CREATE addresses depend only on the deployer and its nonce).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
CONTRACT_NAMES = ("AgoraToken", "TestUSDT", "PaymentRouter")

# Development only: the first account of the standard test mnemonic ("test test ... junk"),
# pre-funded by anvil. Public knowledge, so never holds anything of value.
DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_TOKEN_NAME = "Agora Token"
DEV_TOKEN_SYMBOL = "AGT"
DEV_TOKEN_CAP = 1_000_000_000 * 10**18


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where the dev chain's contracts live (checksummed addresses)."""

    deployer: ChecksumAddress
    token: ChecksumAddress
    usdt: ChecksumAddress
    router: ChecksumAddress


class ArtifactMissing(RuntimeError):
    """The contracts were not built: `make contracts` (or `make install`) builds them."""


@cache
def artifact(name: str) -> Artifact:
    """The ABI and creation bytecode of one of the project's contracts."""
    if name not in CONTRACT_NAMES:
        raise KeyError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    abi_path = ARTIFACTS_DIR / f"{name}.abi.json"
    bin_path = ARTIFACTS_DIR / f"{name}.bin"
    if not abi_path.is_file() or not bin_path.is_file():
        raise ArtifactMissing(f"{abi_path.name} or {bin_path.name} missing: run `make contracts`")
    return Artifact(
        name=name,
        abi=json.loads(abi_path.read_text()),
        bytecode=bin_path.read_text().strip(),
    )


def contract(w3: Web3, name: str, address: str) -> Contract:
    """A web3 handle on a deployed instance of one of the project's contracts."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact(name).abi)


def dev_deployer() -> LocalAccount:
    account: LocalAccount = Account.from_key(DEV_DEPLOYER_KEY)
    return account


def dev_addresses(deployer: str | None = None) -> Deployment:
    """The addresses `deploy_dev_contracts` gives on a fresh chain (deployer nonces 0, 1, 2)."""
    sender = Web3.to_checksum_address(deployer or dev_deployer().address)
    token, usdt, router = (_create_address(sender, nonce) for nonce in range(3))
    return Deployment(deployer=sender, token=token, usdt=usdt, router=router)


def deploy_dev_contracts(w3: Web3, *, treasury: str | None = None) -> Deployment:
    """Deploy AgoraToken, TestUSDT and PaymentRouter, in that order, from the dev deployer.

    The deployer owns all three; the router pays to `treasury` (the deployer by default).
    Idempotent: on a chain where they are already deployed, returns their addresses. A
    deployer that has sent other transactions first would give other addresses: refused.
    The deployer must hold ether for gas (anvil pre-funds it; a test chain funds it).
    """
    account = dev_deployer()
    expected = dev_addresses(account.address)
    addresses = (expected.token, expected.usdt, expected.router)
    nonce = w3.eth.get_transaction_count(account.address)
    if nonce == len(addresses) and all(w3.eth.get_code(a) for a in addresses):
        return expected
    if nonce != 0:
        raise RuntimeError(
            f"dev deployer {account.address} has nonce {nonce}: not a fresh dev chain, "
            "so the contracts would not land at their fixed addresses"
        )
    owner = account.address
    deployed = (
        _deploy(w3, account, "AgoraToken", DEV_TOKEN_NAME, DEV_TOKEN_SYMBOL, DEV_TOKEN_CAP, owner),
        _deploy(w3, account, "TestUSDT", owner),
        _deploy(w3, account, "PaymentRouter", Web3.to_checksum_address(treasury or owner), owner),
    )
    if deployed != addresses:  # a node with other CREATE rules would break every config
        raise RuntimeError(f"contracts deployed at {deployed}, expected {addresses}")
    return expected


def _deploy(w3: Web3, account: LocalAccount, name: str, *args: Any) -> ChecksumAddress:
    built = artifact(name)
    factory = w3.eth.contract(abi=built.abi, bytecode=built.bytecode)
    tx = factory.constructor(*args).build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address),
            "chainId": w3.eth.chain_id,
        }
    )
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    if receipt["status"] != 1 or receipt["contractAddress"] is None:
        raise RuntimeError(f"deploying {name} failed: {receipt['transactionHash'].hex()}")
    return Web3.to_checksum_address(receipt["contractAddress"])


def _create_address(sender: str, nonce: int) -> ChecksumAddress:
    """The CREATE address: keccak(rlp([sender, nonce]))[12:]."""
    encoded = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return Web3.to_checksum_address(Web3.keccak(encoded)[12:])
