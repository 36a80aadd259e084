"""Deterministic dev deployment: fixed addresses on every fresh chain, built artefacts."""

import json
from pathlib import Path

import pytest
from chain_support import new_chain

from agora.chain import contracts
from agora.chain.contracts import (
    ARTIFACTS_DIR,
    CONTRACT_NAMES,
    ArtifactMissing,
    artifact,
    contract,
    deploy_dev_contracts,
    dev_addresses,
    dev_deployer,
)


def test_two_fresh_chains_give_the_same_addresses() -> None:
    first, _ = new_chain()
    second, _ = new_chain()
    a = deploy_dev_contracts(first)
    b = deploy_dev_contracts(second)
    assert a == b == dev_addresses()
    assert len({a.token, a.usdt, a.router}) == 3
    for w3 in (first, second):
        assert contract(w3, "AgoraToken", a.token).functions.symbol().call() == "AGT"
        assert contract(w3, "TestUSDT", a.usdt).functions.decimals().call() == 6
        router = contract(w3, "PaymentRouter", a.router)
        assert router.functions.treasury().call() == dev_deployer().address
        assert router.functions.owner().call() == dev_deployer().address


def test_deploying_again_is_idempotent_and_a_used_deployer_is_refused() -> None:
    w3, _ = new_chain()
    deployment = deploy_dev_contracts(w3)
    assert deploy_dev_contracts(w3) == deployment
    assert w3.eth.get_transaction_count(dev_deployer().address) == 3

    other, _ = new_chain()
    account = dev_deployer()
    signed = account.sign_transaction(
        {
            "to": account.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": other.eth.gas_price * 2,
            "nonce": 0,
            "chainId": other.eth.chain_id,
        }
    )
    other.eth.wait_for_transaction_receipt(other.eth.send_raw_transaction(signed.raw_transaction))
    with pytest.raises(RuntimeError, match="not a fresh dev chain"):
        deploy_dev_contracts(other)


def test_artifacts_are_built_from_the_sources() -> None:
    for name in CONTRACT_NAMES:
        built = artifact(name)
        assert built.bytecode.startswith("0x")
        assert len(built.bytecode) > 100
        assert json.loads((ARTIFACTS_DIR / f"{name}.abi.json").read_text()) == built.abi
    with pytest.raises(KeyError):
        artifact("Nope")


def test_missing_artifacts_name_the_make_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(contracts, "ARTIFACTS_DIR", tmp_path)
    artifact.cache_clear()
    try:
        with pytest.raises(ArtifactMissing, match="make contracts"):
            artifact("PaymentRouter")
    finally:
        artifact.cache_clear()
