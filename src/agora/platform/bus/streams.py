"""JetStream streams: one per producing service (`catalog` -> `CATALOG`, subjects `catalog.>`),
plus `DEAD_LETTERS` (`dlq.>`) for messages no consumer could handle and `AUDIT` (`audit.>`) for
the audit entries every service records."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError

REPLICAS_ENV = "AGORA_STREAM_REPLICAS"
DEAD_LETTER_STREAM = "DEAD_LETTERS"
DEAD_LETTER_SUBJECT_PREFIX = "dlq"
AUDIT_STREAM = "AUDIT"
AUDIT_SUBJECT_PREFIX = "audit"
# JetStream's error code for "stream name already in use with a different configuration".
_STREAM_NAME_IN_USE = 10058


def configured_replicas() -> int:
    """Stream replicas from `AGORA_STREAM_REPLICAS` (1 on one node; use 3 on a cluster)."""
    raw = os.environ.get(REPLICAS_ENV, "1")
    try:
        replicas = int(raw)
    except ValueError:
        raise ValueError(f"{REPLICAS_ENV} must be an integer, got {raw!r}") from None
    if not 1 <= replicas <= 5:
        raise ValueError(f"{REPLICAS_ENV} must be between 1 and 5, got {replicas}")
    return replicas


@dataclass(frozen=True)
class StreamSpec:
    """What a stream must look like; `ensure_stream` makes the server agree."""

    name: str
    subjects: list[str]
    replicas: int = 1
    # None keeps events forever, so any projection can be rebuilt from sequence 1.
    max_age: timedelta | None = None
    # Window in which a re-published Nats-Msg-Id is recognised and dropped.
    duplicate_window: timedelta = timedelta(minutes=2)
    storage: Literal["file", "memory"] = "file"
    description: str = field(default="", compare=False)

    def to_config(self) -> StreamConfig:
        """The nats-py stream configuration for this spec."""
        return StreamConfig(
            name=self.name,
            description=self.description or None,
            subjects=list(self.subjects),
            num_replicas=self.replicas,
            max_age=self.max_age.total_seconds() if self.max_age else None,
            duplicate_window=self.duplicate_window.total_seconds(),
            storage=StorageType.FILE if self.storage == "file" else StorageType.MEMORY,
        )


def stream_name(producer: str) -> str:
    """The stream that holds `producer`'s events: `catalog` -> `CATALOG`."""
    if not producer or any(c in producer for c in ". *>\t\n"):
        raise ValueError(f"{producer!r} is not a valid producer name for a stream")
    return producer.upper()


def producer_stream(producer: str, *, replicas: int | None = None) -> StreamSpec:
    """The stream spec of a producing service: `catalog` -> `CATALOG` over `catalog.>`."""
    return StreamSpec(
        name=stream_name(producer),
        subjects=[f"{producer}.>"],
        replicas=replicas if replicas is not None else configured_replicas(),
        description=f"events of the {producer} service",
    )


def dead_letter_stream(*, replicas: int | None = None) -> StreamSpec:
    """The stream that keeps messages consumers gave up on, under `dlq.<consumer>.<subject>`."""
    return StreamSpec(
        name=DEAD_LETTER_STREAM,
        subjects=[f"{DEAD_LETTER_SUBJECT_PREFIX}.>"],
        replicas=replicas if replicas is not None else configured_replicas(),
        description="messages that consumers could not handle",
    )


def audit_stream(*, replicas: int | None = None) -> StreamSpec:
    """The stream of audit entries, `audit.<service>.<action>`, kept forever (docs/adr/0007)."""
    return StreamSpec(
        name=AUDIT_STREAM,
        subjects=[f"{AUDIT_SUBJECT_PREFIX}.>"],
        replicas=replicas if replicas is not None else configured_replicas(),
        description="audit entries of every service",
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamInfo:
    """Create the stream, or update it to `spec` (idempotent; safe from many processes)."""
    config = spec.to_config()
    try:
        return await js.add_stream(config)
    except BadRequestError as error:
        if error.err_code != _STREAM_NAME_IN_USE:
            raise
    return await js.update_stream(config)
