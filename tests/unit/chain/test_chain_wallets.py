"""The HD wallet: xpub-derived deposit addresses equal the private-key-derived ones (eth-account's
BIP-44 derivation of the standard test mnemonic), the keystore round trip, the hot account."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.hdaccount import seed_from_mnemonic

from agora.chain.wallets import (
    DepositWallet,
    KeystoreMissing,
    Seed,
    Wallet,
    create_keystore,
    load_seed,
)
from agora.platform.embedded.anvil import DEV_MNEMONIC

Account.enable_unaudited_hdwallet_features()
SEED = Seed(seed_from_mnemonic(DEV_MNEMONIC, ""))


def test_deposit_addresses_from_the_xpub_are_those_of_the_private_keys() -> None:
    deposits = DepositWallet(SEED.xpub())
    for index in (0, 1, 2, 7, 2**31 - 1):
        path = f"m/44'/60'/0'/0/{index}"
        expected = Account.from_mnemonic(DEV_MNEMONIC, account_path=path).address
        assert deposits.address(index) == expected
        assert SEED.deposit_account(index).address == expected
    # anvil's first funded account is index 0 of the same mnemonic
    assert deposits.address(0) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_the_hot_account_is_the_second_bip44_account() -> None:
    expected = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/1'/0/0")
    assert SEED.hot_account().address == expected.address
    assert SEED.hot_account().key == expected.key


def test_an_index_out_of_the_non_hardened_range_and_a_bad_xpub_are_refused() -> None:
    deposits = DepositWallet(SEED.xpub())
    with pytest.raises(ValueError, match="out of range"):
        deposits.address(2**31)
    with pytest.raises(ValueError, match="out of range"):
        deposits.address(-1)
    with pytest.raises(ValueError, match="Invalid character"):
        DepositWallet("xpub-not-really")


def test_the_keystore_round_trips_the_seed_and_is_private(tmp_path: Path) -> None:
    keystore, passphrase = tmp_path / "s" / "keystore.json", tmp_path / "s" / "passphrase"
    create_keystore(keystore, passphrase, seed=b"\x11" * 32)
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert "11" * 32 not in keystore.read_text()  # encrypted, not in clear
    assert load_seed(keystore, passphrase).value == b"\x11" * 32
    assert "11" not in repr(load_seed(keystore, passphrase))
    create_keystore(keystore, passphrase, seed=b"\x22" * 32)  # an existing keystore is kept
    assert load_seed(keystore, passphrase).value == b"\x11" * 32
    passphrase.write_text("wrong")
    with pytest.raises(ValueError, match="MAC mismatch"):
        load_seed(keystore, passphrase)


def test_a_wallet_is_created_in_development_and_refused_when_missing_otherwise(
    tmp_path: Path,
) -> None:
    keystore, passphrase = tmp_path / "keystore.json", tmp_path / "passphrase"
    with pytest.raises(KeystoreMissing):
        Wallet.open(keystore, passphrase, xpub=None, create=False)
    created = Wallet.open(keystore, passphrase, xpub=None, create=True)
    reopened = Wallet.open(keystore, passphrase, xpub=None, create=False)
    assert reopened.deposits.address(3) == created.deposits.address(3)
    assert reopened.hot_account().address == created.hot_account().address
    only_xpub = Wallet.open(tmp_path / "absent", passphrase, xpub=SEED.xpub(), create=False)
    assert only_xpub.deposits.address(1) == SEED.deposit_account(1).address
    with pytest.raises(KeystoreMissing):
        only_xpub.hot_account()
