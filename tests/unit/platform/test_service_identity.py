"""The deployment's service key and the service tokens minted with it (docs/adr/0007)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from security_support import SERVICE_KEY

from agora.platform.security.permissions import SERVICE_PERMISSIONS
from agora.platform.security.service_identity import (
    ServiceIdentity,
    ServiceKeyError,
    ensure_service_key,
    load_service_key,
    write_new_service_key,
)
from agora.platform.security.tokens import TokenVerifier
from agora.platform.settings import PlatformSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def settings(tmp_path: Path, env: str) -> PlatformSettings:
    return PlatformSettings(
        env=env,
        data_dir=tmp_path,
        database_url="postgresql://db/agora",
        nats_url="nats://nats:4222",
        service_key_file=None,
    )


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_create_the_key_readable_by_its_owner_only(tmp_path: Path, env: str) -> None:
    path = ensure_service_key(settings(tmp_path, env))

    assert path == tmp_path / "secrets" / "service-ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_service_key(path)


def test_prod_refuses_to_create_a_key(tmp_path: Path) -> None:
    with pytest.raises(ServiceKeyError, match="AGORA_SERVICE_KEY_FILE"):
        ensure_service_key(settings(tmp_path, "prod"))

    assert not (tmp_path / "secrets").exists()


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    write_new_service_key(path)
    first = path.read_bytes()

    write_new_service_key(path)

    assert path.read_bytes() == first
    assert list(tmp_path.iterdir()) == [path]


def test_the_key_id_is_svc_and_the_start_of_the_public_keys_sha256() -> None:
    raw = SERVICE_KEY.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )

    assert (
        ServiceIdentity("orders", SERVICE_KEY).kid == f"svc-{hashlib.sha256(raw).hexdigest()[:16]}"
    )


async def test_a_token_is_reused_until_half_its_lifetime_then_minted_anew() -> None:
    clock = Clock()
    identity = ServiceIdentity("orders", SERVICE_KEY, clock=clock)
    first = identity.token()

    clock.now += 149
    assert identity.token() == first
    clock.now += 1
    renewed = identity.token()

    assert renewed != first
    verifier = TokenVerifier(None, identity.verification_keys(), clock=clock)
    principal = await verifier.verify(renewed)
    assert principal.subject == "service:orders"
    assert principal.permissions == SERVICE_PERMISSIONS["orders"]
    assert identity.authorization() == f"Bearer {renewed}"
