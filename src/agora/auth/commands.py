"""`agora auth …`, `agora secrets …` and `agora mail …`, straight on the auth schema (the service
need not run): rotate the signing keys, create an account with roles (development bootstrap of
staff and admins), re-wrap the secrets at rest under the current KEK, read the mail the local
sink kept."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table

from agora.auth import store
from agora.auth.domain import (
    CUSTOMER,
    UserRecord,
    builtin_roles,
    normalize_email,
    validate_password,
)
from agora.auth.events import CLI_ACTOR, Target, audit, user_registered
from agora.auth.keys import Rotation, rotate_keys
from agora.auth.passwords import Passwords
from agora.auth.secrets_at_rest import rewrap_all
from agora.auth.settings import AuthSettings
from agora.platform.command_line import (
    DataDirOption,
    console,
    fail,
    open_secret_box,
    platform_settings,
)
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.errors import AlreadyExists, InvalidArgument
from agora.platform.kernel.clock import utcnow
from agora.platform.migrations import migrate
from agora.platform.security.envelope import SecretBox
from agora.platform.security.origin import Origin
from agora.platform.security.permissions import all_declared_permissions
from agora.platform.stack import on_database

SERVICE = "auth"
LOCAL = Origin("", "agora-cli")

auth_app = typer.Typer(no_args_is_help=True)
secrets_app = typer.Typer(no_args_is_help=True)
mail_app = typer.Typer(no_args_is_help=True)


async def rotate_signing_keys(
    database_url: str, box: SecretBox, settings: AuthSettings | None = None
) -> Rotation:
    """Schedule a new signing key (published now, signing after the activation delay); the old
    one stays in the JWKS until its tokens have expired."""
    settings = settings or AuthSettings()
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            rotation = await rotate_keys(
                session,
                box,
                now=utcnow(),
                access_ttl_s=settings.access_token_ttl_s,
                activation_delay_s=settings.key_activation_delay_s,
            )
            await audit(
                session,
                "keys_rotated",
                CLI_ACTOR,
                LOCAL,
                Target("signing_key", rotation.new_kid),
                detail=f"replaces {rotation.previous_kid}"
                if rotation.previous_kid
                else "first key",
            )
    finally:
        await engine.dispose()
    return rotation


async def rewrap_secrets(database_url: str, box: SecretBox) -> dict[str, int]:
    """Re-wrap every secret at rest not wrapped by the current KEK; rows changed per column."""
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            counts = await rewrap_all(session, box)
            await audit(
                session,
                "secrets_rewrapped",
                CLI_ACTOR,
                LOCAL,
                Target("kek", box.current_kek_id),
                detail=", ".join(f"{column}: {rows}" for column, rows in counts.items()),
            )
    finally:
        await engine.dispose()
    return counts


async def create_user(
    database_url: str,
    *,
    email: str,
    password: str,
    roles: Sequence[str],
    name: str = "",
) -> UserRecord:
    """A verified account with `roles` (customer when none is given)."""
    address = normalize_email(email)
    validate_password(password, address)
    wanted = sorted(set(roles or [CUSTOMER]))
    await migrate(SERVICE, database_url)
    engine = create_engine(database_url, SERVICE, pool_size=1)
    try:
        password_hash = await Passwords().hash(password)
        async with transaction(session_factory(engine)) as session:
            known = {
                **builtin_roles(all_declared_permissions()),
                **await store.custom_roles(session),
            }
            unknown = [role for role in wanted if role not in known]
            if unknown:
                raise InvalidArgument.for_field(
                    "role", f"unknown role {unknown[0]!r} (known: {', '.join(sorted(known))})"
                )
            user = await store.create_user(
                session,
                email=address,
                name=name,
                password_hash=password_hash,
                verified_at=utcnow(),
                roles=wanted,
            )
            if user is None:
                raise AlreadyExists(f"an account already uses {address}")
            await user_registered(session, user, source="cli")
            await audit(
                session,
                "user_created",
                CLI_ACTOR,
                LOCAL,
                Target.user(user.id),
                after={"email": address, "roles": wanted},
            )
    finally:
        await engine.dispose()
    return user


# --- the commands -----------------------------------------------------------------------------


@auth_app.command("rotate-keys")
def auth_rotate_keys(data_dir: DataDirOption = None) -> None:
    """Sign access tokens with a new key (after AGORA_AUTH_KEY_ACTIVATION_DELAY_S); the old key
    verifies until its tokens expire."""
    settings = platform_settings(data_dir)
    box = open_secret_box(settings)
    rotation = on_database(settings, rotate_signing_keys(settings.resolved_database_url, box))
    local = f"{rotation.activates_at.astimezone():%H:%M:%S}"
    console.print(f"key [bold]{rotation.new_kid}[/] is published and signs from {local}")
    if rotation.previous_published_until is not None:
        until = f"{rotation.previous_published_until.astimezone():%H:%M:%S}"
        console.print(
            f"key {rotation.previous_kid} signs until then and stays published until {until}"
        )


@auth_app.command("create-user")
def auth_create_user(
    email: Annotated[str, typer.Option(help="the account's email (verified at once)")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="at least 12 characters")
    ],
    role: Annotated[
        list[str] | None, typer.Option(help="repeatable: customer, support, staff, admin, …")
    ] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create an account with roles (bootstrap of staff and admins in development)."""
    from agora.platform.errors import DomainError

    settings = platform_settings(data_dir)
    work = create_user(
        settings.resolved_database_url, email=email, password=password, roles=role or [], name=name
    )
    try:
        user = on_database(settings, work)
    except DomainError as error:
        raise fail(error.message) from None
    console.print(f"created {user.email} ({user.id}) with roles {', '.join(user.roles)}")


@secrets_app.command("rotate-kek")
def secrets_rotate_kek(
    data_dir: DataDirOption = None,
    grace_s: Annotated[
        float,
        typer.Option(
            "--grace-s", help="wait before the last pass, for writes sealed under the old KEK"
        ),
    ] = 2.0,
) -> None:
    """A new KEK in the KEK file; every secret at rest re-wrapped under it; then the old KEKs
    leave the file. Until then they stay readable, so running services keep working."""
    from agora.platform.security.envelope import (
        KekError,
        KekFile,
        SecretUnreadable,
        ensure_kek_file,
        new_key_line,
    )

    settings = platform_settings(data_dir)
    if settings.kek:
        raise fail("AGORA_KEK gives the keys: rotation rewrites a KEK file (AGORA_KEK_FILE)")
    open_secret_box(settings)  # the current keys must read before a new one joins them
    kek_file = KekFile(ensure_kek_file(settings))
    try:
        retired = kek_file.key_lines()
        new_key = new_key_line()
        kek_file.write([new_key, *retired])  # the new KEK wraps; the old ones still open
        box = SecretBox(kek_file)
        url = settings.resolved_database_url

        async def rewrap_twice() -> dict[str, int]:
            counts = await rewrap_secrets(url, box)
            await asyncio.sleep(grace_s)
            for column, rows in (await rewrap_secrets(url, box)).items():
                counts[column] = counts.get(column, 0) + rows
            return counts

        counts = on_database(settings, rewrap_twice())
        kek_file.write([new_key])
    except (KekError, SecretUnreadable) as error:
        raise fail(f"{error} (the KEK file keeps every key until a rotation completes)") from None
    table = Table("secrets", "re-wrapped")
    for column, rows in counts.items():
        table.add_row(column, f"{rows:,}")
    console.print(table)
    console.print(f"KEK [bold]{box.current_kek_id}[/] now wraps every secret in {kek_file.path}")


@secrets_app.command("rewrap")
def secrets_rewrap(data_dir: DataDirOption = None) -> None:
    """Re-wrap every secret at rest under the first KEK of AGORA_KEK_FILE (or AGORA_KEK): for a
    KEK file you manage (a mounted secret), put the new key first and the old ones after it,
    roll it out, run this, then remove the old keys."""
    from agora.platform.security.envelope import SecretUnreadable

    settings = platform_settings(data_dir)
    box = open_secret_box(settings)
    try:
        counts = on_database(settings, rewrap_secrets(settings.resolved_database_url, box))
    except SecretUnreadable as error:
        raise fail(str(error)) from None
    for column, rows in counts.items():
        console.print(f"{column}: {rows:,} re-wrapped")
    console.print(f"KEK [bold]{box.current_kek_id}[/] now wraps every secret")


@mail_app.command("list")
def mail_list(data_dir: DataDirOption = None) -> None:
    """The messages the local SMTP sink received, oldest first."""
    from agora.platform.embedded.mail_sink import mail_directory, stored_mail

    directory = mail_directory(platform_settings(data_dir).data_dir)
    messages = stored_mail(directory)
    if not messages:
        console.print(f"no mail in {directory}")
        return
    table = Table("#", "received", "to", "subject")
    for mail in messages:
        received = f"{mail.received_at.astimezone():%Y-%m-%d %H:%M:%S}"
        table.add_row(str(mail.number), received, mail.to, mail.subject)
    console.print(table)


@mail_app.command("show")
def mail_show(
    number: Annotated[int, typer.Argument(help="the # of `agora mail list`")],
    data_dir: DataDirOption = None,
) -> None:
    """One message of the local SMTP sink: its headers and text."""
    from agora.platform.embedded.mail_sink import mail_directory, stored_mail

    directory = mail_directory(platform_settings(data_dir).data_dir)
    found = [mail for mail in stored_mail(directory) if mail.number == number]
    if not found:
        raise fail(f"no message #{number} in {directory} (see `agora mail list`)")
    mail = found[0]
    console.print(f"From: {mail.sender}\nTo: {mail.to}\nSubject: {mail.subject}\n", markup=False)
    console.print(mail.body(), markup=False, soft_wrap=True)
