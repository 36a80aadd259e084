"""`agora events …`: move a durable consumer back (replay) or rebuild a service's read models from
the streams (`agora events replay admin`), and list, show and retry the messages consumers gave
up on (dead letters).

A service offers its rebuild as an `agora.replays` entry point (the platform imports no service):
`async (settings, progress, *, consume, timeout_s) -> events replayed`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from agora.platform.command_line import console, fail, platform_settings

if TYPE_CHECKING:
    from nats.js import JetStreamContext

T = TypeVar("T")

events_app = typer.Typer(no_args_is_help=True)
dead_letters_app = typer.Typer(
    help="Messages consumers gave up on: list, show, retry once the cause is fixed.",
    no_args_is_help=True,
)
events_app.add_typer(dead_letters_app, name="dead-letters")

SequenceArgument = Annotated[
    int, typer.Argument(help="sequence in the DEAD_LETTERS stream (see list)")
]


def _on_nats(nats_url: str, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on JetStream at `nats_url`; NATS errors and domain errors end the command."""
    from nats.errors import Error as NatsError

    from agora.platform.errors import DomainError

    try:
        return asyncio.run(work)
    except DomainError as error:
        raise fail(error.message) from None
    except (OSError, TimeoutError, NatsError) as error:
        raise fail(f"NATS at {nats_url}: {error or type(error).__name__}") from None


REPLAYS_ENTRY_POINTS = "agora.replays"


def service_replays() -> dict[str, Any]:
    """The services' rebuilds by service name (their `agora.replays` entry points)."""
    from importlib.metadata import entry_points

    return {e.name: e for e in entry_points(group=REPLAYS_ENTRY_POINTS)}


@events_app.command("replay")
def events_replay(
    consumer: Annotated[
        str,
        typer.Argument(
            help="durable consumer name; or, without --stream, a service whose read models to "
            "rebuild from the streams (admin)"
        ),
    ],
    stream: Annotated[str | None, typer.Option(help="stream name, e.g. CATALOG")] = None,
    from_seq: Annotated[int | None, typer.Option("--from-seq", help="stream sequence")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="ISO time with timezone", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="the consumer's service: forget its inbox so handlers run again"),
    ] = None,
    consume: Annotated[
        bool,
        typer.Option(
            "--consume", help="service rebuild: run its consumers here (when it is stopped)"
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(help="service rebuild: give up after this many seconds without progress"),
    ] = 600,
) -> None:
    """Move a durable consumer back to a sequence or a time; it redelivers from there. Or
    rebuild a service's read models from the streams and wait until it has caught up."""
    from agora.platform.bus.replay import replay_consumer

    if stream is None:
        _rebuild_service(consumer, consume=consume, timeout_s=timeout)
        return
    if (from_seq is None) == (since is None):
        raise fail("give exactly one of --from-seq or --since")
    settings = platform_settings()
    info = _on_nats(
        settings.resolved_nats_url,
        replay_consumer(
            settings.resolved_nats_url,
            stream,
            consumer,
            from_seq=from_seq,
            since=since,
            database_url=settings.resolved_database_url if service else None,
            schema=service,
        ),
    )
    start = f"sequence {from_seq}" if from_seq is not None else f"{since:%Y-%m-%d %H:%M:%S %Z}"
    console.print(f"consumer {info.name} on {info.stream_name} now delivers from {start}")


def _rebuild_service(name: str, *, consume: bool, timeout_s: float) -> None:
    from nats.errors import Error as NatsError
    from sqlalchemy.exc import DBAPIError

    from agora.platform.errors import DomainError

    replays = service_replays()
    if name not in replays:
        known = ", ".join(sorted(replays)) or "none"
        raise fail(f"give --stream to replay consumer {name!r} (services to rebuild: {known})")
    rebuild = replays[name].load()
    settings = platform_settings()

    def say(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")

    try:
        replayed = asyncio.run(rebuild(settings, say, consume=consume, timeout_s=timeout_s))
    except DomainError as error:
        raise fail(error.message) from None
    except (OSError, TimeoutError, NatsError, DBAPIError) as error:
        reached = f"NATS at {settings.resolved_nats_url} or the database"
        raise fail(f"{reached}: {error or type(error).__name__}") from None
    console.print(f"{name}: read models rebuilt from {replayed:,} events")


def _on_dead_letters(action: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Run `action` on the configured JetStream, ending the command on NATS or domain errors."""
    from agora.platform.bus.dead_letters import dead_letters_at

    nats_url = platform_settings().resolved_nats_url

    async def run() -> T:
        async with dead_letters_at(nats_url) as js:
            return await action(js)

    return _on_nats(nats_url, run())


@dead_letters_app.command("list")
def dead_letters_list(
    consumer: Annotated[
        str | None, typer.Option(help="only this durable consumer's dead letters")
    ] = None,
) -> None:
    """The dead-lettered messages, oldest first."""
    from agora.platform.bus.dead_letters import list_dead_letters

    letters = _on_dead_letters(lambda js: list_dead_letters(js, consumer))
    if not letters:
        console.print("no dead letters")
        return
    table = Table("seq", "consumer", "subject", "attempts", "error")
    for letter in letters:
        attempts = str(letter.deliveries) if letter.deliveries is not None else "?"
        table.add_row(
            str(letter.seq), letter.consumer, letter.original_subject, attempts, letter.error
        )
    console.print(table)


@dead_letters_app.command("show")
def dead_letters_show(seq: SequenceArgument) -> None:
    """One dead letter in full: where it came from, why it failed, the event it carries."""
    from google.protobuf.json_format import MessageToDict

    from agora.platform.bus.dead_letters import dead_letter

    letter = _on_dead_letters(lambda js: dead_letter(js, seq))
    envelope = letter.envelope()
    shown = {
        "seq": letter.seq,
        "consumer": letter.consumer,
        "subject": letter.original_subject,
        "stream": letter.original_stream,
        "stream_seq": letter.original_stream_seq,
        "attempts": letter.deliveries,
        "error": letter.error,
        "headers": letter.headers,
        "envelope": MessageToDict(envelope) if envelope is not None else None,
        "bytes": len(letter.data),
    }
    console.print_json(data=shown)


@dead_letters_app.command("retry")
def dead_letters_retry(seq: SequenceArgument) -> None:
    """Deliver a dead letter again (after fixing its cause) and remove it from the dead letters.

    Its consumer handles it once; consumers that handled the event already skip it.
    """
    from agora.platform.bus.dead_letters import retry_dead_letter

    letter = _on_dead_letters(lambda js: retry_dead_letter(js, seq))
    console.print(
        f"dead letter {letter.seq} published again on {letter.original_subject} "
        f"for {letter.consumer}"
    )
