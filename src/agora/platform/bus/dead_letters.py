"""Dead letters: where a message goes after a consumer failed it `max_deliver` times, and how
it is re-driven once its cause is fixed (`agora events dead-letters list|show|retry`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.streams import DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX
from agora.platform.errors import FailedPrecondition, NotFound

ORIGINAL_SUBJECT = "Agora-Original-Subject"
ORIGINAL_STREAM = "Agora-Original-Stream"
ORIGINAL_STREAM_SEQ = "Agora-Original-Stream-Seq"
CONSUMER = "Agora-Consumer"
DELIVERIES = "Agora-Deliveries"
ERROR = "Agora-Error"
MSG_ID = "Nats-Msg-Id"
# NATS headers are single lines; keep the error readable rather than complete.
MAX_ERROR_CHARS = 1000


def dead_letter_subject(consumer: str, subject: str) -> str:
    """`dlq.<consumer>.<original subject>`."""
    return f"{DEAD_LETTER_SUBJECT_PREFIX}.{consumer}.{subject}"


def error_text(error: BaseException) -> str:
    """A one-line description of `error` that fits in a NATS header."""
    text = f"{type(error).__name__}: {error}"
    one_line = " ".join(text.split())
    return one_line[:MAX_ERROR_CHARS]


def dead_letter_headers(
    original: Mapping[str, str],
    *,
    consumer: str,
    subject: str,
    stream: str,
    stream_seq: int,
    deliveries: int,
    error: BaseException,
) -> dict[str, str]:
    """The original headers (minus JetStream's own) plus why and where the message failed.

    The Nats-Msg-Id names the failed stream message, so dead-lettering it twice (a crash before
    `term`) stores it once.
    """
    headers = {k: v for k, v in original.items() if not k.startswith("Nats-")}
    headers.update(
        {
            ORIGINAL_SUBJECT: subject,
            ORIGINAL_STREAM: stream,
            ORIGINAL_STREAM_SEQ: str(stream_seq),
            CONSUMER: consumer,
            DELIVERIES: str(deliveries),
            ERROR: error_text(error),
            MSG_ID: f"dlq:{consumer}:{stream}:{stream_seq}",
        }
    )
    return headers


# --- re-driving dead letters (`agora events dead-letters list|show|retry`) -------------------

RETRY_OF = "Agora-Retry-Of"
_DEAD_LETTER_ONLY = (
    ORIGINAL_SUBJECT,
    ORIGINAL_STREAM,
    ORIGINAL_STREAM_SEQ,
    CONSUMER,
    DELIVERIES,
    ERROR,
)


@dataclass(frozen=True)
class DeadLetter:
    """One message of the DEAD_LETTERS stream, with why and where it failed."""

    seq: int
    subject: str
    consumer: str
    original_subject: str
    original_stream: str
    original_stream_seq: int | None
    deliveries: int | None
    error: str
    data: bytes
    headers: dict[str, str]

    @classmethod
    def from_stream(cls, message: RawStreamMsg) -> DeadLetter:
        headers = dict(message.headers or {})
        return cls(
            seq=int(message.seq or 0),
            subject=message.subject or "",
            consumer=headers.get(CONSUMER, ""),
            original_subject=headers.get(ORIGINAL_SUBJECT, ""),
            original_stream=headers.get(ORIGINAL_STREAM, ""),
            original_stream_seq=_int_or_none(headers.get(ORIGINAL_STREAM_SEQ)),
            deliveries=_int_or_none(headers.get(DELIVERIES)),
            error=headers.get(ERROR, ""),
            data=message.data or b"",
            headers=headers,
        )

    def envelope(self) -> EventEnvelope | None:
        """The event it carries, or None when the message is not an envelope."""
        envelope = EventEnvelope()
        try:
            envelope.ParseFromString(self.data)
        except Exception:  # protobuf's DecodeError: the reason it was dead-lettered
            return None
        return envelope

    def redelivery_headers(self) -> dict[str, str]:
        """The original headers, with an id that makes a repeated retry of it be stored once."""
        headers = {k: v for k, v in self.headers.items() if k not in _DEAD_LETTER_ONLY}
        headers[RETRY_OF] = str(self.seq)
        headers[MSG_ID] = f"retry:{self.consumer}:{self.original_stream}:{self.original_stream_seq}"
        return headers


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def list_dead_letters(js: JetStreamContext, consumer: str | None = None) -> list[DeadLetter]:
    """The dead letters (of `consumer`, else of all), oldest first."""
    subject = dead_letter_subject(consumer, ">") if consumer else f"{DEAD_LETTER_SUBJECT_PREFIX}.>"
    letters: list[DeadLetter] = []
    seq = 1
    while True:
        try:
            message = await js.get_msg(DEAD_LETTER_STREAM, seq, subject=subject, next=True)
        except NotFoundError:  # no stream yet, or no message at or after `seq`
            return letters
        letter = DeadLetter.from_stream(message)
        letters.append(letter)
        seq = letter.seq + 1


async def dead_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    """The dead letter stored at `seq` of DEAD_LETTERS; NotFound when there is none."""
    try:
        return DeadLetter.from_stream(await js.get_msg(DEAD_LETTER_STREAM, seq))
    except NotFoundError:
        raise NotFound("dead letter", str(seq)) from None


async def retry_dead_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    """Publish the dead letter again on its original subject, then remove it from DEAD_LETTERS.

    The event keeps its id: its consumer handles it once (through the inbox) and every other
    consumer of the subject, which handled it already, skips it. A retry interrupted between
    publish and removal may be run again; the republish is deduplicated by its Nats-Msg-Id.
    """
    letter = await dead_letter(js, seq)
    if not letter.original_subject or not letter.consumer:
        raise FailedPrecondition(f"dead letter {seq} does not say where it came from")
    await js.publish(letter.original_subject, letter.data, headers=letter.redelivery_headers())
    with contextlib.suppress(NotFoundError):  # a concurrent retry removed it first
        await js.delete_msg(DEAD_LETTER_STREAM, seq)
    return letter


@asynccontextmanager
async def dead_letters_at(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream at `nats_url` for one command (`agora events dead-letters ...`)."""
    connection = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=1)
    try:
        yield connection.jetstream()
    finally:
        await connection.close()
