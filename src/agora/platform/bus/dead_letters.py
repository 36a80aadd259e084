"""Dead letters: where a message goes after a consumer failed it `max_deliver` times."""

from __future__ import annotations

from collections.abc import Mapping

from agora.platform.bus.streams import DEAD_LETTER_SUBJECT_PREFIX

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
