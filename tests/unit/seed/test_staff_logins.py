"""Staff and admin development logins are random per data directory, kept there (mode 0600)
and the same on every later run; seeding is refused in production."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from agora.platform.settings import PlatformSettings
from agora.seed.generate import ADMIN_EMAIL, STAFF_ACCOUNTS, STAFF_EMAIL, build_plan
from agora.seed.logins import (
    SeedingRefused,
    logins_path,
    refuse_outside_development,
    staff_logins,
)

EMAILS = [email for email, _ in STAFF_ACCOUNTS]


def test_two_data_dirs_get_different_logins_and_one_data_dir_keeps_its_own(
    tmp_path: Path,
) -> None:
    one = logins_path(PlatformSettings(data_dir=tmp_path / "one"))
    two = logins_path(PlatformSettings(data_dir=tmp_path / "two"))

    first, other = staff_logins(one, EMAILS), staff_logins(two, EMAILS)
    again = staff_logins(one, EMAILS)

    assert first.created
    assert other.created
    assert not again.created
    assert again.by_email == first.by_email
    for email in EMAILS:
        assert first.by_email[email].password != other.by_email[email].password
        assert first.by_email[email].totp_secret != other.by_email[email].totp_secret
    assert first.by_email[ADMIN_EMAIL].password != first.by_email[STAFF_EMAIL].password
    assert stat.S_IMODE(one.stat().st_mode) == 0o600
    assert one == tmp_path / "one" / "secrets" / "dev-logins.json"
    assert set(json.loads(one.read_text())) == set(EMAILS)


def test_the_published_passwords_are_gone_from_the_plan(tmp_path: Path) -> None:
    logins = staff_logins(tmp_path / "logins.json", EMAILS)
    plan = build_plan("test", seed=1, scale=1.0, staff_logins=logins.by_email)
    without = build_plan("test", seed=1, scale=1.0)

    admin = next(u for u in plan.users if u.email == ADMIN_EMAIL)
    assert admin.totp_secret == logins.by_email[ADMIN_EMAIL].totp_secret
    assert admin.password_hash is not None
    hasher = PasswordHasher()
    assert hasher.verify(admin.password_hash, logins.by_email[ADMIN_EMAIL].password)
    with pytest.raises(VerifyMismatchError):
        hasher.verify(admin.password_hash, "agora-admin-dev")
    nobody = next(u for u in without.users if u.email == ADMIN_EMAIL)
    assert (nobody.password_hash, nobody.totp_secret) == (None, "")


def test_seeding_is_refused_in_production_only() -> None:
    prod = PlatformSettings(
        env="prod", database_url="postgresql://db/agora", nats_url="nats://nats:4222"
    )

    with pytest.raises(SeedingRefused, match="AGORA_ENV=prod"):
        refuse_outside_development(prod)
    refuse_outside_development(PlatformSettings(env="dev"))
    refuse_outside_development(PlatformSettings(env="test"))
