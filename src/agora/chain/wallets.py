"""The shop's HD wallet (BIP-32/44 over secp256k1, Ethereum's coin type 60).

- Deposit addresses: m/44'/60'/0'/0/i, one index i per invoice, derived from the account's
  xpub (m/44'/60'/0') alone: the request path never holds a private key.
- The operations ("hot") account: m/44'/60'/1'/0/0, which mints rewards and funds sweep gas.

The seed lives in an encrypted keystore file (Web3 Secret Storage v3, scrypt), its passphrase in
a file of its own; neither is ever stored in the database or logged.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bip32 import BIP32
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PublicKey
from eth_typing import ChecksumAddress
from web3 import Web3

from agora.platform.security.secret_files import write_private

DEPOSIT_ACCOUNT_PATH = "m/44'/60'/0'"
HOT_ACCOUNT_PATH = "m/44'/60'/1'/0/0"
EXTERNAL_CHAIN = 0  # BIP-44's receiving chain: deposit i is m/44'/60'/0'/0/i
MAX_DEPOSIT_INDEX = 2**31 - 1  # non-hardened children only


class KeystoreMissing(RuntimeError):
    """The keystore or passphrase file is absent (production never creates one)."""


def deposit_path(index: int) -> str:
    return f"{DEPOSIT_ACCOUNT_PATH}/{EXTERNAL_CHAIN}/{index}"


def address_of_pubkey(pubkey: bytes) -> ChecksumAddress:
    """The Ethereum address of a (compressed or not) secp256k1 public key."""
    key = PublicKey.from_compressed_bytes(pubkey) if len(pubkey) == 33 else PublicKey(pubkey[-64:])
    return Web3.to_checksum_address(key.to_canonical_address())


@dataclass(frozen=True)
class DepositWallet:
    """Derives deposit addresses from the deposit account's xpub only."""

    xpub: str
    # The external chain's node (m/44'/60'/0'/0), derived once: each address is then one
    # non-hardened child step (deriving the path from the xpub every time cost twice as much).
    _external: BIP32 = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        account = BIP32.from_xpub(self.xpub)  # refuses a malformed xpub at start
        external = BIP32.from_xpub(account.get_xpub_from_path(f"m/{EXTERNAL_CHAIN}"))
        object.__setattr__(self, "_external", external)

    def address(self, index: int) -> ChecksumAddress:
        if not 0 <= index <= MAX_DEPOSIT_INDEX:
            raise ValueError(f"deposit index {index} out of range")
        return address_of_pubkey(self._external.get_pubkey_from_path(f"m/{index}"))


@dataclass(frozen=True)
class Seed:
    """The wallet's seed, decrypted: for key derivation off the request path (sweeps, the hot
    account). Its repr never shows the secret."""

    value: bytes

    def __repr__(self) -> str:
        return "Seed(<secret>)"

    def _root(self) -> BIP32:
        return BIP32.from_seed(self.value)

    def xpub(self) -> str:
        """The deposit account's xpub (m/44'/60'/0')."""
        xpub: str = self._root().get_xpub_from_path(DEPOSIT_ACCOUNT_PATH)
        return xpub

    def deposit_account(self, index: int) -> LocalAccount:
        """The key of deposit address `index` (for sweeping it)."""
        return self._account(deposit_path(index))

    def hot_account(self) -> LocalAccount:
        """The operations account (m/44'/60'/1'/0/0)."""
        return self._account(HOT_ACCOUNT_PATH)

    def _account(self, path: str) -> LocalAccount:
        account: LocalAccount = Account.from_key(self._root().get_privkey_from_path(path))
        return account


def create_keystore(path: Path, passphrase_path: Path, *, seed: bytes | None = None) -> None:
    """A new seed encrypted into the keystore at `path`, with a new passphrase at
    `passphrase_path` (an existing passphrase file is used as it is). An existing keystore is
    kept: its creator came first."""
    if not passphrase_path.exists():
        write_private(passphrase_path, secrets.token_urlsafe(32).encode(), replace=False)
    passphrase = _read_passphrase(passphrase_path)
    value = seed if seed is not None else secrets.token_bytes(32)
    if len(value) != 32:
        raise ValueError("the keystore holds a 32-byte seed")
    encrypted = Account.encrypt(value, passphrase)
    write_private(path, json.dumps(encrypted).encode(), replace=False)


def load_seed(path: Path, passphrase_path: Path) -> Seed:
    """The seed of the keystore at `path`, decrypted with the passphrase in `passphrase_path`."""
    if not path.is_file() or not passphrase_path.is_file():
        raise KeystoreMissing(f"keystore {path} or passphrase file {passphrase_path} missing")
    encrypted = json.loads(path.read_text())
    return Seed(bytes(Account.decrypt(encrypted, _read_passphrase(passphrase_path))))


def _read_passphrase(path: Path) -> str:
    passphrase = path.read_text().strip()
    if not passphrase:
        raise ValueError(f"passphrase file {path} is empty")
    return passphrase


class Wallet:
    """The service's wallet: deposit addresses from the xpub; the seed (for the hot account and
    sweeps) decrypted from the keystore on first use only."""

    def __init__(self, xpub: str, keystore: tuple[Path, Path] | None) -> None:
        self.deposits = DepositWallet(xpub)
        self._keystore = keystore
        self._seed: Seed | None = None

    @classmethod
    def open(cls, keystore: Path, passphrase: Path, *, xpub: str | None, create: bool) -> Wallet:
        """The wallet of `keystore` (created first when missing and `create`, development
        only), or of `xpub` alone when no keystore exists (deposit addresses only)."""
        if not keystore.exists() and create:
            create_keystore(keystore, passphrase)
        if not keystore.exists():
            if xpub is None:
                raise KeystoreMissing(f"no keystore at {keystore} and no xpub configured")
            return cls(xpub, None)
        wallet = cls(xpub or "", (keystore, passphrase)) if xpub else None
        if wallet is not None:
            return wallet
        seed = load_seed(keystore, passphrase)
        opened = cls(seed.xpub(), (keystore, passphrase))
        opened._seed = seed
        return opened

    def seed(self) -> Seed:
        if self._seed is None:
            if self._keystore is None:
                raise KeystoreMissing("only an xpub is configured: no keys to sign with")
            self._seed = load_seed(*self._keystore)
        return self._seed

    def hot_account(self) -> LocalAccount:
        """The operations account (m/44'/60'/1'/0/0): mints rewards, funds sweep gas."""
        return self.seed().hot_account()

    def deposit_account(self, index: int) -> LocalAccount:
        """The key of deposit address `index` (sweeps)."""
        return self.seed().deposit_account(index)
