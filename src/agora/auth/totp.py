"""TOTP (RFC 6238) with pyotp: secrets, otpauth URIs, QR codes, and matching a code to a step
(the rules, window and replay protection, are in the domain). Secrets are stored sealed
(`TotpSecrets`): a database dump alone gives no second factor."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import pyotp
import segno

from agora.auth.domain import (
    TOTP_DIGITS,
    TOTP_PERIOD_S,
    candidate_steps,
    clean_totp_code,
    codes_equal,
)
from agora.platform.security.envelope import SecretBox

ISSUER = "Agora"


def new_secret() -> str:
    """A random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def otpauth_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


def qr_png_base64(uri: str) -> str:
    """`uri` as a QR code image: PNG bytes in base64."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=4)
    return base64.b64encode(buffer.getvalue()).decode()


def code_at_step(secret: str, step: int) -> str:
    return str(
        pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_S).at(step * TOTP_PERIOD_S)
    )


def matching_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The step within the accepted window whose code is `code`, or None."""
    cleaned = clean_totp_code(code)
    for step in candidate_steps(at or datetime.now(UTC)):
        if codes_equal(cleaned, code_at_step(secret, step)):
            return step
    return None


def totp_context(user_id: str) -> str:
    """What a TOTP secret is sealed for: its account (pending and enabled secrets alike)."""
    return f"auth.users.totp:{user_id}"


class TotpSecrets:
    """Seals an account's TOTP secret for storage and opens it to check a code."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal(self, user_id: str, secret: str) -> str:
        return self._box.seal(secret, totp_context(user_id))

    def open(self, user_id: str, sealed: str) -> str:
        return self._box.open_text(sealed, totp_context(user_id))
