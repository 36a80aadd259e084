"""What every `agora` command group shares: the consoles it prints on, `--data-dir`, the
platform settings read with a clear message, and exiting 1 with the reason.

Kept light (no gRPC, SQLAlchemy or NATS): every command imports it, `agora --help` included.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from agora.platform.settings import PlatformSettings

if TYPE_CHECKING:
    from agora.platform.security.envelope import SecretBox
    from agora.platform.supervisor import StartupFailed

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="where data and logs live [env AGORA_DATA_DIR; ./var]"),
]


def fail(message: str) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned exit."""
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


def platform_settings(data_dir: Path | None = None) -> PlatformSettings:
    """Settings from the environment, `--data-dir` winning; a clear message when invalid."""
    try:
        settings = PlatformSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"AGORA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise fail(f"invalid settings: {problems}") from None
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})


def open_secret_box(settings: PlatformSettings) -> SecretBox:
    """The deployment's SecretBox; exit 1 with the reason when its KEK cannot be read."""
    from agora.platform.security.envelope import KekError, secret_box

    try:
        return secret_box(settings)
    except KekError as error:
        raise fail(str(error)) from None


def report_startup_failure(failure: StartupFailed) -> None:
    """Which process did not start and why, with the last lines of its log."""
    errors.print(f"[bold red]error:[/] {failure.name} did not start: {failure.reason}")
    try:
        tail = failure.log_path.read_text(errors="replace").splitlines()[-20:]
    except OSError:
        return
    errors.print(f"last lines of {failure.log_path}:")
    for line in tail:
        errors.print(f"  {line}", markup=False)
