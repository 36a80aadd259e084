"""Mail over SMTP: account mail from auth, scheduled reports (with attachments) from admin.

`AGORA_SMTP_URL` is `smtp://[user:password@]host:port` (STARTTLS when the server offers it) or
`smtps://…` (implicit TLS). In development and tests it points at the local sink
(`agora.platform.embedded.mail_sink`), whose messages `agora mail list` shows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

log = structlog.get_logger("agora.mail")

SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"AGORA_SMTP_URL must be smtp://host:port or smtps://…, not {url!r}")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit_tls,
        )


class Mailer:
    """Sends mail in the background: callers never wait for (nor time) the SMTP exchange, so an
    answer takes as long whether or not a mail went out."""

    def __init__(self, smtp_url: str, sender: str) -> None:
        self._server = SmtpServer.from_url(smtp_url)
        self._sender = sender
        self._pending: set[asyncio.Task[None]] = set()

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        for attachment in mail.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype.split(";")[0].strip(),
                filename=attachment.filename,
            )
        return message

    async def send(self, mail: Mail) -> None:
        """Send now; raises on failure."""
        server = self._server
        await aiosmtplib.send(
            self.message(mail),
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            # Opportunistic STARTTLS: used when offered (the local sink offers none).
            start_tls=None,
            timeout=SEND_TIMEOUT_S,
        )

    def send_later(self, mail: Mail) -> None:
        """Queue `mail`; a failure is logged (the person can ask again)."""
        task = asyncio.create_task(self._send_logged(mail))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_logged(self, mail: Mail) -> None:
        try:
            await self.send(mail)
        except Exception as error:  # the answer is already sent: log, never raise
            log.warning("mail_failed", to=mail.to, subject=mail.subject, error=repr(error))
        else:
            log.info("mail_sent", subject=mail.subject)

    async def drain(self) -> None:
        """Wait for the queued mail (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
