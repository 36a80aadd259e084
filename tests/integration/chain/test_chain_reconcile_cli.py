"""`agora chain reconcile` and `agora chain keystore …` through the CLI runner: the reconcile
command calls the served chain service as `service:chain-reconcile` (payments served for real,
anvil), prints the summary, writes the CSV and exits 1 on a mismatch; the keystore commands
create an encrypted keystore once and print its xpub."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from pathlib import Path

import pytest
from chain_reconcile_support import Shop, reconcile_shop
from chain_watch_support import USDT
from nats.js import JetStreamContext
from security_support import SecurityFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agora import cli
from agora.chain.wallets import load_seed
from agora.platform.kernel.clock import utcnow

runner = CliRunner()


@pytest.fixture
async def shop(
    tmp_path: Path,
    chain_engine: AsyncEngine,
    chain_js: JetStreamContext,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> Shop:
    monkeypatch.setenv("AGORA_SERVICE_KEY_FILE", str(security_files.service_key_path))
    monkeypatch.setenv("AGORA_DATA_DIR", str(tmp_path / "data"))
    async with reconcile_shop(
        tmp_path,
        chain_engine,
        chain_js,
        database_url=database_url,
        nats_url=nats_url,
        security_files=security_files,
    ) as opened:
        yield opened  # type: ignore[misc]


async def test_reconcile_prints_the_summary_writes_the_csv_and_exits_1_on_a_mismatch(
    shop: Shop, tmp_path: Path
) -> None:
    credited, uncredited = await shop.invoice(3), await shop.invoice(4)
    shop.bed.transfer_usdt(credited.instructions.pay_to, 3 * USDT)
    shop.bed.anvil.mine(3)
    await shop.credit()
    tx_hash = shop.bed.transfer_usdt(uncredited.instructions.pay_to, 4 * USDT)  # never credited
    report = tmp_path / "report.csv"
    since = (utcnow() - timedelta(minutes=10)).isoformat()

    result = await asyncio.to_thread(
        runner.invoke,
        cli.app,
        [
            "chain",
            "reconcile",
            "--since",
            since,
            "--out",
            str(report),
            "--address",
            shop.chain_address,
        ],
    )

    assert result.exit_code == 1, result.output
    assert "not credited" in result.output
    assert "MISMATCHES" in result.output
    with report.open() as file:
        rows = list(csv.reader(file))
    assert rows[0][:4] == ["outcome", "invoice_id", "reference", "tx_hash"]
    by_invoice = {row[1]: row for row in rows[1:]}
    assert len(rows) == 3
    assert by_invoice[credited.id][0] == "MATCHED"
    assert by_invoice[credited.id][7:9] == [str(3 * USDT), str(3 * USDT)]
    assert by_invoice[uncredited.id][0] == "NOT_CREDITED"
    assert by_invoice[uncredited.id][3] == tx_hash
    assert by_invoice[uncredited.id][7:9] == [str(4 * USDT), ""]


def test_reconcile_refuses_a_date_that_is_not_iso() -> None:
    result = runner.invoke(cli.app, ["chain", "reconcile", "--since", "yesterday"])
    assert result.exit_code == 1
    assert "not an ISO 8601" in result.output


def test_keystore_create_once_and_xpub(tmp_path: Path) -> None:
    keystore, passphrase = tmp_path / "k" / "keystore.json", tmp_path / "k" / "passphrase"
    files = ["--file", str(keystore), "--passphrase-file", str(passphrase)]

    created = runner.invoke(cli.app, ["chain", "keystore", "create", *files])
    assert created.exit_code == 0, created.output
    xpub = load_seed(keystore, passphrase).xpub()
    assert xpub in created.output
    assert keystore.stat().st_mode & 0o777 == 0o600
    assert passphrase.stat().st_mode & 0o777 == 0o600
    assert '"crypto"' in keystore.read_text()  # encrypted (keystore v3), not the seed in clear

    again = runner.invoke(cli.app, ["chain", "keystore", "create", *files])
    assert again.exit_code == 1
    assert load_seed(keystore, passphrase).xpub() == xpub  # never replaced

    shown = runner.invoke(cli.app, ["chain", "keystore", "xpub", *files])
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == xpub
    missing = runner.invoke(cli.app, ["chain", "keystore", "xpub", "--file", str(tmp_path / "no")])
    assert missing.exit_code == 1
