"""Envelope encryption of secrets at rest (TOTP secrets, token signing keys).

Every value gets its own random 256-bit data key and is encrypted with it (AES-256-GCM); the
data key is wrapped by a key-encryption key (KEK) that never enters the database. Both steps bind
the record's context (`auth.users.totp:<user id>`, …) as associated data, so a ciphertext copied
into another row does not decrypt. The sealed form names the KEK that wrapped its data key: a
rotation re-wraps data keys under a new KEK (values stay as they are) while the old KEK stays
readable until it is done.

The local KEK is `AGORA_KEK_FILE`, else `<data_dir>/secrets/kek` (created, mode 0600, in dev and
test; in prod it must be configured and exist): one base64 key per line, the first wrapping new
data keys, the next ones kept only to read what they wrapped. In dev and test `AGORA_KEK` may
carry the same keys, comma-separated. A KMS replaces the local KEK by implementing
`KeyEncryptionKey` (wrap and unwrap a data key) behind a `KeyringSource`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agora.platform.security.secret_files import write_private
from agora.platform.settings import PlatformSettings

KEK_FILENAME = "kek"
SEALED_PREFIX = "sealed:v1:"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAP_LABEL = b"agora-kek-wrap\x00"
_DATA_LABEL = b"agora-sealed\x00"


class KekError(RuntimeError):
    """The key-encryption key is missing, malformed or not allowed here: nothing can start."""


class SecretUnreadable(RuntimeError):
    """A sealed value does not open: its KEK is not configured, the KEK is wrong, the value was
    altered, or it belongs to another record."""


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys; a KMS key implements the same two calls."""

    @property
    def key_id(self) -> str:
        """Names the key in every value it wraps (no ':' before the last one)."""

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; SecretUnreadable when `wrapped` was not wrapped by this key for
        `context`."""


class LocalKek:
    """A KEK held by this process: AES-256-GCM over the data key, the context authenticated."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise KekError(f"a key-encryption key is {_KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        # The id is a fingerprint, so it names the key without revealing it.
        self.key_id = "local-" + hashlib.sha256(b"agora-kek-id\x00" + key).hexdigest()[:16]

    @classmethod
    def generate(cls) -> LocalKek:
        return cls(AESGCM.generate_key(bit_length=256))

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, _WRAP_LABEL + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _WRAP_LABEL + context
            )
        except InvalidTag:
            raise SecretUnreadable(
                f"the data key does not unwrap under KEK {self.key_id} for this record"
            ) from None


@dataclass(frozen=True)
class Keyring:
    """The KEK wrapping new data keys, and every KEK still readable (the current one too)."""

    current: KeyEncryptionKey
    readable: Mapping[str, KeyEncryptionKey]

    @classmethod
    def of(cls, keys: Sequence[KeyEncryptionKey]) -> Keyring:
        if not keys:
            raise KekError("no key-encryption key given")
        return cls(keys[0], {key.key_id: key for key in keys})

    def keyring(self) -> Keyring:
        return self


class KeyringSource(Protocol):
    """Where the keyring comes from; asked on every seal and open, so it may reload."""

    def keyring(self) -> Keyring: ...


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def new_key_line() -> str:
    """A fresh KEK as a key file's line."""
    return encode_key(AESGCM.generate_key(bit_length=256))


def parse_keys(lines: Sequence[str], where: str) -> list[LocalKek]:
    """KEKs from base64 lines (blank lines and `#` comments skipped), first the current one."""
    keys = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise KekError(f"{where}: a key-encryption key is one base64 line") from None
        try:
            keys.append(LocalKek(raw))
        except KekError as error:
            raise KekError(f"{where}: {error}") from None
    if not keys:
        raise KekError(f"{where} holds no key-encryption key")
    return keys


class KekFile:
    """A keyring file, read again whenever it changes (so `agora secrets rotate-kek` reaches
    running processes without a restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._keyring: Keyring | None = None

    def keyring(self) -> Keyring:
        try:
            stat = self.path.stat()
        except OSError as error:
            raise KekError(f"cannot read the key-encryption key at {self.path}: {error}") from None
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._keyring is None or seen != self._seen:
            try:
                lines = self.path.read_text().splitlines()
            except OSError as error:
                raise KekError(
                    f"cannot read the key-encryption key at {self.path}: {error}"
                ) from None
            self._keyring = Keyring.of(parse_keys(lines, str(self.path)))
            self._seen = seen
        return self._keyring

    def key_lines(self) -> list[str]:
        """The file's keys, as base64 lines, the current one first."""
        return [
            line.strip()
            for line in self.path.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]

    def write(self, key_lines: Sequence[str]) -> None:
        """Replace the file by `key_lines` (the current key first), atomically, mode 0600."""
        parse_keys(key_lines, str(self.path))
        write_private(self.path, ("\n".join(key_lines) + "\n").encode(), replace=True)
        self._keyring = None


def default_kek_path(platform: PlatformSettings) -> Path:
    return platform.data_dir / "secrets" / KEK_FILENAME


def kek_path(platform: PlatformSettings) -> Path:
    """`AGORA_KEK_FILE`, else the data dir's default."""
    return platform.kek_file or default_kek_path(platform)


def ensure_kek_file(platform: PlatformSettings) -> Path:
    """The KEK file's path, creating a fresh key first in dev and test when it is missing."""
    path = kek_path(platform)
    if path.exists():
        return path
    if platform.env == "prod":
        raise KekError(
            f"no key-encryption key at {path}: AGORA_ENV=prod needs AGORA_KEK_FILE to name the "
            "deployment's KEK file (one base64 line of 32 random bytes, e.g. "
            "`openssl rand -base64 32`), kept outside the database and its backups"
        )
    write_private(path, (new_key_line() + "\n").encode(), replace=False)
    return path


def keyring_source(platform: PlatformSettings) -> KeyringSource:
    """The deployment's keyring: `AGORA_KEK` (dev and test only), else the KEK file."""
    if platform.kek:
        if platform.env == "prod":
            raise KekError(
                "AGORA_KEK is for development: with AGORA_ENV=prod name a KEK file with "
                "AGORA_KEK_FILE (or plug in a KMS)"
            )
        return Keyring.of(parse_keys(platform.kek.split(","), "AGORA_KEK"))
    return KekFile(ensure_kek_file(platform))


def secret_box(platform: PlatformSettings) -> SecretBox:
    """A SecretBox over the deployment's keyring; KekError when it cannot be read."""
    source = keyring_source(platform)
    source.keyring()  # fail now, at start-up, rather than at the first login
    return SecretBox(source)


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class _Sealed:
    wrapped: bytes
    payload: bytes
    kek_id: str

    @classmethod
    def parse(cls, sealed: str) -> _Sealed:
        if not is_sealed(sealed):
            raise SecretUnreadable("the value is not sealed")
        try:
            wrapped, payload, kek_id = sealed[len(SEALED_PREFIX) :].split(":", 2)
            return cls(_unb64(wrapped), _unb64(payload), kek_id)
        except (ValueError, binascii.Error):
            raise SecretUnreadable("the sealed value is malformed") from None

    def __str__(self) -> str:
        return f"{SEALED_PREFIX}{_b64(self.wrapped)}:{_b64(self.payload)}:{self.kek_id}"


class SecretBox:
    """Seals values for one record each (its `context`) and opens them again."""

    def __init__(self, source: KeyringSource) -> None:
        self._source = source

    @property
    def current_kek_id(self) -> str:
        return self._source.keyring().current.key_id

    def seal(self, plaintext: bytes | str, context: str) -> str:
        """`plaintext` encrypted under a fresh data key wrapped by the current KEK."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        bound = context.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_BYTES)
        payload = nonce + AESGCM(data_key).encrypt(nonce, data, _DATA_LABEL + bound)
        kek = self._source.keyring().current
        return str(_Sealed(kek.wrap(data_key, bound), payload, kek.key_id))

    def open(self, sealed: str, context: str) -> bytes:
        """The plaintext of a value sealed for `context`; SecretUnreadable otherwise."""
        parsed = _Sealed.parse(sealed)
        data_key = self._data_key(parsed, context)
        try:
            return AESGCM(data_key).decrypt(
                parsed.payload[:_NONCE_BYTES],
                parsed.payload[_NONCE_BYTES:],
                _DATA_LABEL + context.encode(),
            )
        except InvalidTag:
            raise SecretUnreadable("the sealed value does not open for this record") from None

    def open_text(self, sealed: str, context: str) -> str:
        return self.open(sealed, context).decode()

    def kek_id_of(self, sealed: str) -> str:
        return _Sealed.parse(sealed).kek_id

    def rewrap(self, sealed: str, context: str) -> str:
        """The same value with its data key wrapped by the current KEK (opened on the way, so
        nothing unreadable is carried over)."""
        self.open(sealed, context)
        parsed = _Sealed.parse(sealed)
        data_key = self._data_key(parsed, context)
        kek = self._source.keyring().current
        return str(_Sealed(kek.wrap(data_key, context.encode()), parsed.payload, kek.key_id))

    def _data_key(self, parsed: _Sealed, context: str) -> bytes:
        return self._kek(parsed.kek_id).unwrap(parsed.wrapped, context.encode())

    def _kek(self, kek_id: str) -> KeyEncryptionKey:
        keyring = self._source.keyring()
        kek = keyring.readable.get(kek_id)
        if kek is None:
            raise SecretUnreadable(
                f"the value was sealed under KEK {kek_id}, which is not configured (this "
                f"process has {', '.join(sorted(keyring.readable))}): wrong AGORA_KEK_FILE?"
            )
        return kek
