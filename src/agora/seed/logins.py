"""Development logins of the seeded staff and admin accounts: random per data directory.

Generated on first use and kept in `<data_dir>/secrets/dev-logins.json` (mode 0600), never
derived from a seed or any public formula, never in the repository: anyone who knows how Agora
seeds still cannot log in as its admin. Seeding refuses to run with `AGORA_ENV=prod` at all
(`refuse_outside_development`), so these accounts exist only on development machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyotp

from agora.platform.settings import PlatformSettings

LOGINS_FILENAME = "dev-logins.json"
# 144 bits, URL-safe: typed or pasted, never guessed.
_PASSWORD_BYTES = 18


class SeedingRefused(Exception):
    """Seeding is not allowed in this environment: nothing was written."""


def refuse_outside_development(platform: PlatformSettings) -> None:
    """SeedingRefused with `AGORA_ENV=prod`: seeded accounts would be known to the world."""
    if platform.env == "prod":
        raise SeedingRefused(
            "AGORA_ENV=prod: seeding is refused. Demo data creates staff and admin accounts "
            "meant for development; create real accounts with `agora auth create-user`"
        )


@dataclass(frozen=True)
class StaffLogin:
    email: str
    password: str
    totp_secret: str


@dataclass(frozen=True)
class StaffLogins:
    """The logins by email, where they are kept, and whether this call just made them."""

    by_email: Mapping[str, StaffLogin]
    path: Path
    created: bool


def logins_path(platform: PlatformSettings) -> Path:
    return platform.data_dir / "secrets" / LOGINS_FILENAME


def new_login(email: str) -> StaffLogin:
    return StaffLogin(email, secrets.token_urlsafe(_PASSWORD_BYTES), pyotp.random_base32(32))


def staff_logins(path: Path, emails: Iterable[str]) -> StaffLogins:
    """The logins of `emails` kept at `path`; those missing are generated and saved first."""
    known: dict[str, StaffLogin] = {}
    if path.exists():
        stored = json.loads(path.read_text())
        known = {email: StaffLogin(email, **fields) for email, fields in stored.items()}
    missing = [email for email in emails if email not in known]
    if missing:
        known.update({email: new_login(email) for email in missing})
        _save(path, known)
    return StaffLogins(known, path, created=bool(missing))


def _save(path: Path, logins: Mapping[str, StaffLogin]) -> None:
    """Written under a temporary name (mode 0600) then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        email: {"password": login.password, "totp_secret": login.totp_secret}
        for email, login in logins.items()
    }
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(document, file, indent=2)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
