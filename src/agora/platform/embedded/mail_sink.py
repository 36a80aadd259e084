"""A local SMTP server that delivers nowhere: each message is kept as a file under
`<data_dir>/mail/` (`0001.eml`, `0002.eml`, …) for `agora mail list` / `agora mail show`.

`agora up` runs it (`python -m agora.platform.embedded.mail_sink DIR PORT`) unless
`AGORA_SMTP_URL` points at a real server; tests run it in their own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

DEFAULT_SMTP_PORT = 8725
SMTP_URL_VARIABLE = "AGORA_SMTP_URL"
SMTP_PORT_VARIABLE = "AGORA_SMTP_PORT"
MAIL_DIRECTORY = "mail"
_NUMBERED = re.compile(r"(\d+)\.eml")


def smtp_port(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The sink's port: `AGORA_SMTP_PORT`, else 8725."""
    raw = environ.get(SMTP_PORT_VARIABLE)
    return int(raw) if raw else DEFAULT_SMTP_PORT


def mail_directory(data_dir: Path) -> Path:
    return data_dir / MAIL_DIRECTORY


class MailSink:
    """The aiosmtpd handler: accepts every message and writes it to the next numbered file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = asyncio.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        async with self._lock:
            path = self._next_path()
            # Written aside and renamed: a reader never sees half a message.
            partial = path.with_suffix(".part")
            await asyncio.to_thread(partial.write_bytes, content)
            await asyncio.to_thread(partial.replace, path)
        return "250 Message accepted for delivery"

    def _next_path(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for m in map(_NUMBERED.fullmatch, _names(self.directory)) if m]
        return self.directory / f"{max(numbers, default=0) + 1:04d}.eml"


def _names(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir()] if directory.is_dir() else []


@asynccontextmanager
async def running_mail_sink(
    directory: Path, port: int, host: str = "127.0.0.1"
) -> AsyncIterator[asyncio.AbstractServer]:
    """Serve the sink on host:port for the duration of the block."""
    from aiosmtpd.smtp import SMTP

    handler = MailSink(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="agora-mail-sink", loop=loop), host=host, port=port
    )
    try:
        yield server
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


@dataclass(frozen=True)
class StoredMail:
    """One message the sink kept."""

    number: int
    path: Path
    received_at: datetime
    sender: str
    to: str
    subject: str

    def message(self) -> EmailMessage:
        parsed: Any = message_from_bytes(self.path.read_bytes(), policy=policy.default)
        return parsed  # type: ignore[no-any-return]

    def body(self) -> str:
        """The plain-text body."""
        message = self.message()
        part = message.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""


def stored_mail(directory: Path) -> list[StoredMail]:
    """The messages in `directory`, oldest first."""
    found = []
    for name in sorted(_names(directory)):
        match = _NUMBERED.fullmatch(name)
        if match is None:
            continue
        path = directory / name
        headers = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append(
            StoredMail(
                number=int(match.group(1)),
                path=path,
                received_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                sender=str(headers.get("From", "")),
                to=str(headers.get("To", "")),
                subject=str(headers.get("Subject", "")),
            )
        )
    return found


def main() -> None:
    """`python -m agora.platform.embedded.mail_sink DIRECTORY PORT [--host H]`."""
    parser = argparse.ArgumentParser(description="Agora's local SMTP sink")
    parser.add_argument("directory", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running_mail_sink(args.directory, args.port, args.host):
            print(f"mail sink on {args.host}:{args.port}, keeping mail in {args.directory}")
            await stop.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
