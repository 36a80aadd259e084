"""`agora auth create-user`, `agora auth rotate-keys` on a configured database, and `agora mail`
reading what the local SMTP sink kept."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from auth_support import PASSWORD, unique_email
from typer.testing import CliRunner

from agora import cli
from agora.auth.mail import verification_mail
from agora.platform.embedded.mail_sink import mail_directory, running_mail_sink
from agora.platform.mail import Mailer
from agora.platform.net import free_port

runner = CliRunner()


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def configured_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AGORA_DATABASE_URL", database_url)
    return database_url


def test_create_user_makes_a_verified_account_with_its_roles(configured_database: str) -> None:
    email = unique_email("admin")
    args = ["auth", "create-user", "--email", email, "--password", PASSWORD]

    created = runner.invoke(cli.app, [*args, "--role", "admin", "--role", "staff"])
    again = runner.invoke(cli.app, [*args, "--role", "admin"])

    assert created.exit_code == 0, created.output
    assert re.search(rf"created {email} \(.+\) with roles admin, staff", one_line(created.output))
    assert again.exit_code == 1
    assert "already uses" in one_line(again.output)


def test_create_user_refuses_an_unknown_role(configured_database: str) -> None:
    result = runner.invoke(
        cli.app,
        ["auth", "create-user", "--email", unique_email(), "--password", PASSWORD, "--role", "x"],
    )
    assert result.exit_code == 1
    assert "unknown role 'x'" in one_line(result.output)


def test_rotate_keys_names_the_new_key_and_the_one_kept_published(
    configured_database: str,
) -> None:
    first = runner.invoke(cli.app, ["auth", "rotate-keys"])
    second = runner.invoke(cli.app, ["auth", "rotate-keys"])

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    new_kid = re.search(r"key (\w+) is published and signs from", one_line(first.output))
    assert new_kid is not None
    assert f"key {new_kid.group(1)} signs until then and stays published until" in one_line(
        second.output
    )


def test_mail_list_and_show_read_the_sink(tmp_path: Path) -> None:
    port = free_port()

    async def deliver() -> None:
        async with running_mail_sink(mail_directory(tmp_path), port):
            mailer = Mailer(f"smtp://127.0.0.1:{port}", "Agora <no-reply@agora.localhost>")
            await mailer.send(verification_mail("ada@example.com", "http://shop/v?token=t0k", 24))

    asyncio.run(deliver())
    listed = runner.invoke(cli.app, ["mail", "list", "--data-dir", str(tmp_path)])
    shown = runner.invoke(cli.app, ["mail", "show", "1", "--data-dir", str(tmp_path)])
    missing = runner.invoke(cli.app, ["mail", "show", "2", "--data-dir", str(tmp_path)])

    assert listed.exit_code == 0, listed.output
    assert "ada@example.com" in listed.output
    assert "Confirm your email address" in one_line(listed.output)
    assert shown.exit_code == 0, shown.output
    assert "http://shop/v?token=t0k" in shown.output
    assert missing.exit_code == 1
