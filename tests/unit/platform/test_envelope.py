"""Envelope encryption of secrets at rest: a value opens only for the record it was sealed for,
under a KEK the process holds; rotation re-wraps without touching the value; the KEK comes from
a file (created in dev and test only) or, in development, the environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agora.platform.security.envelope import (
    KekError,
    KekFile,
    Keyring,
    LocalKek,
    SecretBox,
    SecretUnreadable,
    ensure_kek_file,
    is_sealed,
    new_key_line,
    secret_box,
)
from agora.platform.settings import PlatformSettings

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def box_of(*keys: LocalKek) -> SecretBox:
    return SecretBox(Keyring.of(list(keys)))


def test_a_sealed_value_holds_no_clear_text_and_opens_for_its_record() -> None:
    box = box_of(LocalKek.generate())

    sealed = box.seal(SECRET, "auth.users.totp:alice")

    assert is_sealed(sealed)
    assert SECRET not in sealed
    assert box.open_text(sealed, "auth.users.totp:alice") == SECRET
    assert box.seal(SECRET, "auth.users.totp:alice") != sealed  # a fresh data key each time


def test_a_value_moved_to_another_record_does_not_open() -> None:
    box = box_of(LocalKek.generate())
    sealed = box.seal(SECRET, "auth.users.totp:alice")

    with pytest.raises(SecretUnreadable):
        box.open(sealed, "auth.users.totp:mallory")


def test_an_altered_value_does_not_open() -> None:
    box = box_of(LocalKek.generate())
    sealed = box.seal(SECRET, "ctx")
    head, wrapped, payload, kek_id = sealed.rsplit(":", 3)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]

    with pytest.raises(SecretUnreadable):
        box.open(f"{head}:{wrapped}:{flipped}:{kek_id}", "ctx")


def test_another_kek_cannot_open_and_the_error_names_the_missing_kek() -> None:
    mine, other = LocalKek.generate(), LocalKek.generate()
    sealed = box_of(mine).seal(SECRET, "ctx")

    with pytest.raises(SecretUnreadable, match=mine.key_id):
        box_of(other).open(sealed, "ctx")


def test_rewrap_moves_a_value_to_the_current_kek_and_the_old_kek_is_no_longer_needed() -> None:
    old, new = LocalKek.generate(), LocalKek.generate()
    sealed = box_of(old).seal(SECRET, "ctx")

    rewrapped = box_of(new, old).rewrap(sealed, "ctx")

    assert box_of(new).kek_id_of(rewrapped) == new.key_id
    assert box_of(new).open_text(rewrapped, "ctx") == SECRET
    # The value's own ciphertext is the same: only its data key was wrapped again.
    assert rewrapped.split(":")[3] == sealed.split(":")[3]


def test_a_kek_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    first = new_key_line()
    path.write_text(first + "\n")
    source = KekFile(path)
    before = SecretBox(source).seal(SECRET, "ctx")

    source.write([new_key_line(), first])

    box = SecretBox(source)
    assert box.kek_id_of(box.seal(SECRET, "ctx")) != box.kek_id_of(before)
    assert box.open_text(before, "ctx") == SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_malformed_kek_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_text("not base64 at all!\n")

    with pytest.raises(KekError, match=str(path)):
        KekFile(path).keyring()


def test_dev_creates_the_kek_under_the_data_dirs_secrets_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    path = ensure_kek_file(PlatformSettings(data_dir=tmp_path, kek_file=None))

    assert path == tmp_path / "secrets" / "kek"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_kek_file(PlatformSettings(data_dir=tmp_path, kek_file=None)) == path


def test_prod_requires_a_configured_kek_file(tmp_path: Path) -> None:
    prod = PlatformSettings(
        env="prod",
        data_dir=tmp_path,
        database_url="postgresql://db/agora",
        nats_url="nats://nats:4222",
        kek_file=tmp_path / "missing",
    )

    with pytest.raises(KekError, match="AGORA_ENV=prod needs AGORA_KEK_FILE"):
        secret_box(prod)
    assert not (tmp_path / "missing").exists()


def test_a_kek_from_the_environment_is_for_development_only(tmp_path: Path) -> None:
    line = new_key_line()
    dev = PlatformSettings(data_dir=tmp_path, kek=line)
    prod = PlatformSettings(
        env="prod",
        data_dir=tmp_path,
        database_url="postgresql://db/agora",
        nats_url="nats://nats:4222",
        kek=line,
    )

    assert secret_box(dev).open_text(secret_box(dev).seal("x", "ctx"), "ctx") == "x"
    with pytest.raises(KekError, match="AGORA_KEK is for development"):
        secret_box(prod)
