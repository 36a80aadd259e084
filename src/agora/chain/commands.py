"""`agora chain …`: the development chain from a terminal. Mine blocks, show the development
wallets' balances, and pay an invoice as a customer's wallet would (by a plain transfer to its
deposit address, or through the PaymentRouter), reading what to pay from the gateway's public
payment options. The node is `--rpc-url` (`AGORA_CHAIN_RPC_URL`; the embedded one by default).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agora.platform.command_line import console, fail, platform_settings
from agora.platform.embedded.anvil import anvil_port
from agora.platform.services import GATEWAY

chain_app = typer.Typer(no_args_is_help=True)

RpcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        help="the EVM node's JSON-RPC URL [env AGORA_CHAIN_RPC_URL; the embedded node]",
    ),
]

TOKEN_DECIMALS = {"ETH": 18, "USDT": 6, "AGT": 18}


@dataclass(frozen=True, slots=True)
class PaymentTarget:
    """What paying an invoice needs, from its payment options."""

    chain_id: int
    token: str
    symbol: str
    amount: int
    deposit_address: str
    router_address: str
    router_invoice_id: bytes


def connect(rpc_url: str | None) -> Any:
    """A web3 on the node, exit 1 when nothing answers there."""
    from web3 import Web3

    url = rpc_url or os.environ.get("AGORA_CHAIN_RPC_URL")
    url = url or f"http://127.0.0.1:{anvil_port(os.environ)}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    if not w3.is_connected():
        raise fail(f"no EVM node answers at {url}: is `agora up` running?")
    return w3


@chain_app.command()
def mine(
    blocks: Annotated[int, typer.Argument(min=1, max=100_000, help="how many blocks")] = 1,
    rpc_url: RpcUrlOption = None,
) -> None:
    """Mine BLOCKS blocks now (anvil's `anvil_mine`): confirmations without waiting."""
    from agora.chain.devnet import mine as mine_blocks

    w3 = connect(rpc_url)
    try:
        head = mine_blocks(w3, blocks)
    except RuntimeError as error:
        raise fail(str(error)) from None
    console.print(f"mined {blocks} block(s): the head is block {head}")


@chain_app.command()
def wallets(rpc_url: RpcUrlOption = None) -> None:
    """The development wallets (dev-1..dev-5) and the treasury, with their balances."""
    from agora.chain.contracts import dev_addresses
    from agora.chain.devnet import balances, dev_treasury, dev_wallets

    w3 = connect(rpc_url)
    deployment = dev_addresses()
    if not w3.eth.get_code(deployment.usdt):
        raise fail(f"no contracts at {deployment.usdt}: the chain service prepares them at start")
    table = Table("wallet", "address", "ETH", "USDT", "AGT", title=f"chain {w3.eth.chain_id}")
    rows = [(w.name, w.address) for w in dev_wallets(w3.eth.chain_id).values()]
    for name, address in [*rows, ("treasury", dev_treasury())]:
        held = balances(w3, deployment, address)
        table.add_row(
            name,
            address,
            units(held.eth, TOKEN_DECIMALS["ETH"]),
            units(held.usdt, TOKEN_DECIMALS["USDT"]),
            units(held.agt, TOKEN_DECIMALS["AGT"]),
        )
    console.print(table)


@chain_app.command()
def pay(
    invoice: Annotated[str, typer.Option("--invoice", help="the invoice id")],
    wallet: Annotated[str, typer.Option("--wallet", help="dev-1 … dev-5")] = "dev-1",
    router: Annotated[
        bool,
        typer.Option("--router/--transfer", help="through PaymentRouter, or a plain transfer"),
    ] = False,
    amount: Annotated[
        int | None,
        typer.Option("--amount", min=1, help="in the token's base units; default: what is due"),
    ] = None,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="the gateway's URL [its local address]")
    ] = None,
    rpc_url: RpcUrlOption = None,
) -> None:
    """Pay an invoice from a development wallet, as a customer would."""
    from eth_account import Account

    from agora.chain.devnet import PaymentFailed, dev_wallets, pay_by_router, pay_by_transfer

    try:
        invoice_id = str(uuid.UUID(invoice))
    except ValueError:
        raise fail(f"--invoice {invoice!r} is not an invoice id (a UUID)") from None
    w3 = connect(rpc_url)
    known = dev_wallets(w3.eth.chain_id)
    if wallet not in known:
        raise fail(f"unknown wallet {wallet!r}; known: {', '.join(known)}")
    key = known[wallet].private_key
    if key is None:
        raise fail(f"chain {w3.eth.chain_id} is not a development chain: no wallet keys there")
    target = payment_target(gateway or GATEWAY.url(), invoice_id)
    if target.chain_id != w3.eth.chain_id:
        raise fail(f"the invoice is payable on chain {target.chain_id}, the node is on another")
    due = target.amount if amount is None else amount
    account = Account.from_key(key)
    try:
        if router:
            payment = pay_by_router(
                w3,
                account,
                router=target.router_address,
                token=target.token,
                router_invoice_id=target.router_invoice_id,
                amount=due,
            )
        else:
            payment = pay_by_transfer(w3, account, target.token, target.deposit_address, due)
    except (PaymentFailed, ValueError) as error:
        raise fail(str(error)) from None
    how = "through the router" if router else f"to {target.deposit_address}"
    console.print(
        f"paid {due} base units of {target.symbol} from {wallet} {how}: "
        f"tx {payment.tx_hash} in block {payment.block_number}"
    )


def payment_target(gateway: str, invoice_id: str) -> PaymentTarget:
    """The invoice's payment options from the gateway's public route, exit 1 when absent."""
    import httpx

    url = f"{gateway.rstrip('/')}/v1/chain/invoices/{invoice_id}/payment-options"
    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as error:
        raise fail(f"cannot reach the gateway at {gateway}: {error}") from None
    if response.status_code != 200:
        status, detail = response.status_code, response.text[:300]
        raise fail(f"no payment options for invoice {invoice_id} ({status}): {detail}")
    try:
        return parse_payment_options(response.json())
    except (KeyError, ValueError, TypeError) as error:
        raise fail(f"unreadable payment options for invoice {invoice_id}: {error}") from None


def parse_payment_options(body: dict[str, Any]) -> PaymentTarget:
    """PaymentOptions as the gateway renders it (camelCase JSON; snake_case accepted too)."""

    def field(document: dict[str, Any], name: str) -> Any:
        head, *rest = name.split("_")
        camel = head + "".join(part.title() for part in rest)
        return document[camel] if camel in document else document[name]

    token = field(body, "token")
    router_id = field(body, "router_invoice_id")
    return PaymentTarget(
        chain_id=int(field(body, "chain_id")),
        token=str(field(token, "address")),
        symbol=str(token.get("symbol", "")),
        amount=int(field(field(body, "amount"), "base_units")),
        deposit_address=str(field(body, "deposit_address")),
        router_address=str(field(body, "router_address")),
        router_invoice_id=bytes.fromhex(str(router_id).removeprefix("0x")),
    )


def units(base_units: int, decimals: int) -> str:
    """Base units as a decimal string, exactly (no float): 12345678, 6 -> '12.345678'."""
    whole, fraction = divmod(base_units, 10**decimals)
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{whole:,}.{digits}" if digits else f"{whole:,}"


# --- reconciliation (staff) ------------------------------------------------------------------


def _moment(text: str, option: str) -> Any:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@chain_app.command()
def reconcile(
    since: Annotated[str, typer.Option("--since", help="ISO 8601 start (UTC unless zoned)")],
    until: Annotated[
        str | None, typer.Option("--until", help="ISO 8601 end, excluded [now]")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the report lines to this CSV file")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="the chain service's gRPC address [its local one]"),
    ] = None,
) -> None:
    """Re-scan the chain for a period and compare it with payments' ledger (exit 1 on a
    mismatch). Calls the running chain service as `service:chain-reconcile`."""
    import asyncio

    import grpc

    from agora.platform.security.service_identity import (
        ServiceIdentity,
        load_service_key,
        service_key_path,
    )
    from agora.platform.services import grpc_service

    start = _moment(since, "--since")
    end = _moment(until, "--until") if until else None
    operator = ServiceIdentity(
        RECONCILE_IDENTITY, load_service_key(service_key_path(platform_settings()))
    )
    target = address or grpc_service("chain").address()
    try:
        run, items = asyncio.run(run_reconciliation(target, operator.authorization(), start, end))
    except grpc.aio.AioRpcError as error:
        raise fail(
            f"the chain service at {target}: {error.code().name} {error.details()}"
        ) from None
    console.print(summary_table(run))
    if out is not None:
        write_report(out, items)
        console.print(f"{len(items)} line(s) written to {out}")
    if run.has_mismatches or run.failure:
        raise typer.Exit(1)


RECONCILE_IDENTITY = "chain-reconcile"


async def run_reconciliation(
    address: str, authorization: str, since: Any, until: Any
) -> tuple[Any, list[Any]]:
    """StartReconciliation (synchronous: the finished run), then every line of its report."""
    import grpc

    from agora._proto.agora.chain.v1 import chain_pb2 as pb
    from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
    from agora.platform.rpc.timestamps import timestamp

    metadata = (("authorization", authorization),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = ChainServiceStub(channel)  # type: ignore[no-untyped-call]
        request = pb.StartReconciliationRequest(
            idempotency_key=str(uuid.uuid4()), since=timestamp(since)
        )
        if until is not None:
            request.until.CopyFrom(timestamp(until))
        run = await stub.StartReconciliation(request, metadata=metadata, timeout=600)
        items: list[Any] = []
        token = ""
        while True:
            page = await stub.ListReconciliationItems(
                pb.ListReconciliationItemsRequest(id=run.id, page_size=100, page_token=token),
                metadata=metadata,
                timeout=30,
            )
            items.extend(page.items)
            token = page.next_page_token
            if not token:
                return run, items


def summary_table(run: Any) -> Table:
    from agora._proto.agora.chain.v1 import chain_pb2 as pb

    status = pb.ReconciliationStatus.Name(run.status).removeprefix("RECONCILIATION_STATUS_")
    title = (
        f"reconciliation {run.id} of chain {run.chain_id}: blocks {run.from_block}..{run.to_block}"
        f", {status.lower()}"
    )
    table = Table("outcome", "lines", title=title)
    c = run.counts
    for name, count in [
        ("matched", c.matched),
        ("not credited", c.not_credited),
        ("not on chain", c.not_on_chain),
        ("amount mismatch", c.amount_mismatch),
        ("token mismatch", c.token_mismatch),
        ("sweeps", c.sweeps),
    ]:
        table.add_row(name, str(count))
    if run.failure:
        table.caption = f"failed: {run.failure}"
    elif run.has_mismatches:
        table.caption = "MISMATCHES: staff must look (nothing was corrected)"
    return table


def write_report(path: Path, items: list[Any]) -> None:
    """The report as CSV: a header, one row per line, amounts as base-unit integers."""
    import csv

    from agora.chain.reconciliation import CSV_HEADER, csv_row

    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_HEADER)
        for item in items:
            writer.writerow(csv_row(item))


# --- the HD wallet's keystore ----------------------------------------------------------------

keystore_app = typer.Typer(no_args_is_help=True, help="The shop's HD wallet keystore.")
chain_app.add_typer(keystore_app, name="keystore")

KeystoreOption = Annotated[
    Path | None,
    typer.Option("--file", help="the keystore [env AGORA_CHAIN_KEYSTORE_FILE; var/secrets]"),
]
PassphraseOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="its passphrase (created when missing) [env AGORA_CHAIN_PASSPHRASE_FILE]",
    ),
]


def _wallet_files(keystore: Path | None, passphrase: Path | None) -> tuple[Path, Path]:
    data_dir = platform_settings().data_dir
    configured = (
        os.environ.get("AGORA_CHAIN_KEYSTORE_FILE"),
        os.environ.get("AGORA_CHAIN_PASSPHRASE_FILE"),
    )
    secrets = data_dir / "secrets"
    return (
        keystore or Path(configured[0] or secrets / "chain-keystore.json"),
        passphrase or Path(configured[1] or secrets / "chain-keystore.passphrase"),
    )


@keystore_app.command("create")
def keystore_create(file: KeystoreOption = None, passphrase_file: PassphraseOption = None) -> None:
    """A new seed, encrypted into a new keystore (an existing one is never replaced)."""
    from agora.chain.wallets import create_keystore, load_seed

    keystore, passphrase = _wallet_files(file, passphrase_file)
    if keystore.exists():
        raise fail(f"{keystore} exists: a keystore is never replaced")
    try:
        create_keystore(keystore, passphrase)
    except (OSError, ValueError) as error:
        raise fail(str(error)) from None
    xpub = load_seed(keystore, passphrase).xpub()
    console.print(f"keystore {keystore} created (passphrase in {passphrase})")
    console.print("its xpub (AGORA_CHAIN_XPUB of a watch-only deployment):")
    typer.echo(xpub)


@keystore_app.command("xpub")
def keystore_xpub(file: KeystoreOption = None, passphrase_file: PassphraseOption = None) -> None:
    """The deposit account's xpub (m/44'/60'/0'): deposit addresses without the keys."""
    from agora.chain.wallets import KeystoreMissing, load_seed

    keystore, passphrase = _wallet_files(file, passphrase_file)
    try:
        seed = load_seed(keystore, passphrase)
    except (KeystoreMissing, OSError, ValueError) as error:
        raise fail(str(error)) from None
    typer.echo(seed.xpub())
