"""Mail to account holders (verification, password reset, notices): what each says. Sending
(`Mail`, `Mailer`, `AGORA_SMTP_URL`) is `agora.platform.mail`'s.
"""

from __future__ import annotations

from agora.platform.mail import Mail


def verification_mail(to: str, link: str, hours: int) -> Mail:
    return Mail(
        to,
        "Confirm your email address",
        f"Welcome to Agora.\n\nConfirm your email address within {hours} hours:\n\n{link}\n\n"
        "If you did not create an account, ignore this mail.\n",
    )


def already_registered_mail(to: str, reset_link: str) -> Mail:
    return Mail(
        to,
        "Someone tried to register with your email address",
        "Somebody (perhaps you) tried to create an Agora account with this address, which "
        f"already has one. If you forgot your password, reset it here:\n\n{reset_link}\n\n"
        "Otherwise, ignore this mail.\n",
    )


def password_reset_mail(to: str, link: str, minutes: int) -> Mail:
    return Mail(
        to,
        "Reset your password",
        f"Set a new password within {minutes} minutes:\n\n{link}\n\n"
        "Every session of your account ends when you do. If you did not ask for this, ignore "
        "this mail: your password stays as it is.\n",
    )
