"""A service's own identity: the deployment's Ed25519 service key, and the `svc+jwt` tokens a
service mints with it and sends on every call to another service (docs/adr/0007).

The key is `AGORA_SERVICE_KEY_FILE`, else `<data_dir>/secrets/service-ed25519.pem`, which is
created (mode 0600) in dev and test; in prod it must be configured and exist.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc.jwk import OKPKey

from agora.platform.security.permissions import service_permissions
from agora.platform.security.secret_files import write_private
from agora.platform.security.tokens import (
    AUDIENCE,
    ISSUER,
    SERVICE_SUBJECT_PREFIX,
    SERVICE_TOKEN_TYPE,
    sign_token,
)
from agora.platform.settings import PlatformSettings

SERVICE_KEY_FILENAME = "service-ed25519.pem"
SERVICE_TOKEN_LIFETIME_S = 300
BEARER = "Bearer "


class ServiceKeyError(RuntimeError):
    """The service key is missing (in prod) or unreadable: the process cannot start."""


def default_service_key_path(platform: PlatformSettings) -> Path:
    return platform.data_dir / "secrets" / SERVICE_KEY_FILENAME


def service_key_path(platform: PlatformSettings) -> Path:
    """`AGORA_SERVICE_KEY_FILE`, else the data dir's default."""
    return platform.service_key_file or default_service_key_path(platform)


def ensure_service_key(platform: PlatformSettings) -> Path:
    """The service key's path, creating the key first in dev and test when it is missing."""
    path = service_key_path(platform)
    if path.exists():
        return path
    if platform.env == "prod":
        raise ServiceKeyError(
            f"no service key at {path}: AGORA_ENV=prod needs AGORA_SERVICE_KEY_FILE to name the "
            "deployment's Ed25519 PEM key (created once, shared by every service)"
        )
    write_new_service_key(path)
    return path


def write_new_service_key(path: Path) -> None:
    """A fresh Ed25519 key at `path`, readable by its owner only; an existing key is kept
    (processes starting together agree on the first one's key)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem, replace=False)


def load_service_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PEM file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ServiceKeyError(f"cannot read the service key at {path}: {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ServiceKeyError(f"the service key at {path} is not an Ed25519 key")
    return key


def service_key_id(public_key: Ed25519PublicKey) -> str:
    """`svc-` and the first 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"svc-{hashlib.sha256(raw).hexdigest()[:16]}"


class ServiceIdentity:
    """`service:<name>`: mints its token, caches it, and mints again at half its lifetime."""

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        *,
        permissions: frozenset[str] | None = None,
        lifetime_s: int = SERVICE_TOKEN_LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.subject = f"{SERVICE_SUBJECT_PREFIX}{name}"
        self.permissions = service_permissions(name) if permissions is None else permissions
        self.kid = service_key_id(private_key.public_key())
        self._signing_key = OKPKey.import_key(private_key)
        self._public_key = OKPKey.import_key(private_key.public_key())
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0

    @classmethod
    def of(cls, name: str, platform: PlatformSettings) -> ServiceIdentity:
        """`service:<name>` with the deployment's key (created first in dev and test)."""
        return cls(name, load_service_key(ensure_service_key(platform)))

    def verification_keys(self) -> dict[str, OKPKey]:
        """The public service key by kid, for the verifier of service tokens."""
        return {self.kid: self._public_key}

    def token(self) -> str:
        """A valid service token (the cached one until half its lifetime has passed)."""
        now = self._clock()
        if now >= self._renew_at:
            self._token = self._mint(int(now))
            self._renew_at = now + self._lifetime_s / 2
        return self._token

    def authorization(self) -> str:
        """The `authorization` metadata value: `Bearer <service token>`."""
        return BEARER + self.token()

    def _mint(self, now: int) -> str:
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": self.subject,
            "perms": sorted(self.permissions),
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return sign_token(claims, key=self._signing_key, kid=self.kid, typ=SERVICE_TOKEN_TYPE)
