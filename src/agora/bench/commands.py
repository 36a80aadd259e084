"""`agora bench …`: the catalog, checkout, chain and web page benchmarks against a running
stack; the admin analytics benchmark on private servers of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from agora.platform.command_line import DataDirOption, console, fail, platform_settings
from agora.platform.services import GATEWAY, grpc_service
from agora.platform.stack import status_path

bench_app = typer.Typer(no_args_is_help=True)

GatewayUrl = Annotated[
    str | None, typer.Option("--url", help="gateway base URL [default: the local gateway]")
]
Connections = Annotated[
    list[int] | None, typer.Option("--connections", "-c", help="repeatable [16, 64]")
]
Clients = Annotated[list[int] | None, typer.Option("--clients", "-c", help="repeatable [8, 16]")]


@bench_app.command("catalog")
def bench_catalog(
    url: GatewayUrl = None,
    duration: Annotated[float, typer.Option(help="seconds per scenario and connection count")] = 10,
    connections: Connections = None,
    data_dir: DataDirOption = None,
) -> None:
    """Storefront reads through the gateway: list 20 products with prices, product by slug."""
    import httpx

    from agora.bench.catalog import markdown, run_catalog_bench

    base_url = url or GATEWAY.url()
    directory = platform_settings(data_dir).data_dir
    try:
        report = run_catalog_bench(
            base_url,
            status_file=status_path(directory),
            connections=connections or [16, 64],
            duration_s=duration,
        )
    except httpx.HTTPError as error:
        raise fail(f"no gateway at {base_url} ({error}); start the shop with `make run`") from None
    console.print(markdown(report))


@bench_app.command("checkout")
def bench_checkout(
    url: GatewayUrl = None,
    duration: Annotated[float, typer.Option(help="seconds per client count")] = 30,
    clients: Clients = None,
) -> None:
    """Completed checkouts/s: cart → place order → dev pay → `orders.order.paid` seen."""
    import grpc
    import httpx
    from nats.errors import Error as NatsError

    from agora.bench.checkout import markdown, run_checkout_bench
    from agora.platform.security.service_identity import (
        ServiceIdentity,
        load_service_key,
        service_key_path,
    )

    base_url = url or GATEWAY.url()
    settings = platform_settings()
    # Topping up and reading stock is staff work: the bench calls the catalog as `service:bench`.
    operator = ServiceIdentity("bench", load_service_key(service_key_path(settings)))
    try:
        runs, check = asyncio.run(
            run_checkout_bench(
                base_url,
                settings.resolved_nats_url,
                catalog_address=grpc_service("catalog").address(),
                clients=clients or [8, 16],
                duration_s=duration,
                staff_authorization=operator.authorization,
            )
        )
    except (httpx.HTTPError, OSError, NatsError, grpc.RpcError) as error:
        raise fail(f"no running shop at {base_url} ({error}); start it with `make run`") from None
    console.print(markdown(runs, check))
    if check.oversold or check.negative:
        raise typer.Exit(1)


@bench_app.command("chain")
def bench_chain(
    payments: Annotated[int, typer.Option(min=1, max=20_000, help="payments per round")] = 2000,
    blocks: Annotated[int, typer.Option(min=1, max=1000, help="blocks they are spread over")] = 20,
    rounds: Annotated[int, typer.Option(min=1, max=20, help="rounds, one after the other")] = 1,
    rpc_url: Annotated[
        str | None, typer.Option(help="the dev chain's JSON-RPC [default: the embedded node]")
    ] = None,
    amount: Annotated[
        int, typer.Option(min=10_000, max=10**12, help="USDT base units per payment")
    ] = 1_000_000,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every settlement")] = 120,
    block_interval: Annotated[
        float,
        typer.Option(
            min=0,
            max=60,
            help="seconds from one block mined to the next; 0: as fast as the node can (a "
            "burst), 1.0: the embedded chain's block time",
        ),
    ] = 0.0,
) -> None:
    """USDT payments detected and settled: N transfers over M blocks mined by hand on the dev
    chain; latency from a block mined to its invoices settled (1 confirmation)."""
    import os

    import grpc
    from nats.errors import Error as NatsError
    from rich.table import Table

    from agora.bench.chain import (
        HEADERS,
        BenchSetupError,
        dev_senders,
        markdown,
        pacing,
        rows,
        run_chain_round,
        summarize,
    )
    from agora.chain.contracts import dev_deployer
    from agora.chain.node import NodeUnavailable
    from agora.platform.embedded.anvil import DEV_WALLETS, anvil_port
    from agora.platform.security.service_identity import (
        ServiceIdentity,
        load_service_key,
        service_key_path,
    )

    settings = platform_settings()
    node = rpc_url or f"http://127.0.0.1:{anvil_port(os.environ)}"
    # Creating invoices is a service's work: the bench calls payments as `service:bench`.
    operator = ServiceIdentity("bench", load_service_key(service_key_path(settings)))
    senders = dev_senders(sorted(DEV_WALLETS.values()))
    summaries = []
    for index in range(1, rounds + 1):
        try:
            run = asyncio.run(
                run_chain_round(
                    rpc_url=node,
                    nats_url=settings.resolved_nats_url,
                    payments_address=grpc_service("payments").address(),
                    chain_address=grpc_service("chain").address(),
                    authorization=operator.authorization,
                    senders=senders,
                    funder=dev_deployer(),
                    payments=payments,
                    blocks=blocks,
                    amount=amount,
                    timeout_s=timeout,
                    label=f"{int(time.time())}-{index}",
                    block_interval_s=block_interval,
                    status_file=status_path(settings.data_dir),
                    progress=_progress(index),
                )
            )
        except BenchSetupError as error:
            raise fail(str(error)) from None
        except (OSError, NatsError, grpc.RpcError, NodeUnavailable) as error:
            raise fail(
                f"no running shop with a dev chain ({error!r}); start it with `make run-bench`"
            ) from None
        summaries.append(summarize(run))
    table = Table(*HEADERS, title=f"agora bench chain: blocks {pacing(block_interval)}")
    for row in rows(summaries):
        table.add_row(*row)
    console.print(table)
    typer.echo(markdown(summaries))
    if any(s.settled < s.payments for s in summaries):
        raise typer.Exit(1)


def _progress(round_number: int) -> Callable[[str], None]:
    def say(text: str) -> None:
        console.print(f"[dim]round {round_number}: {text}[/dim]")

    return say


@bench_app.command("admin")
def bench_admin(
    scale: Annotated[
        float,
        typer.Option(min=0.0001, max=2.0, help="of the full profile (1.0: about 1.6M events)"),
    ] = 1.0,
    rounds: Annotated[int, typer.Option(min=1, max=10_000, help="calls of each query")] = 200,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="where the private PostgreSQL and NATS keep their data [a temp dir]"),
    ] = None,
) -> None:
    """Analytics rebuilt from a full-profile-sized event history, on a private PostgreSQL and
    NATS; dashboard query latency for a one-year range by day, through gRPC."""
    import tempfile

    from agora.bench.admin import markdown, run_admin_bench

    def say(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")

    with tempfile.TemporaryDirectory(prefix="agora-bench-admin-") as scratch:
        report = asyncio.run(
            run_admin_bench(
                data_dir or Path(scratch),
                scale=scale,
                rounds=rounds,
                progress=say,
            )
        )
    typer.echo(markdown(report))


@bench_app.command("web")
def bench_web(
    url: GatewayUrl = None,
    runs: Annotated[int, typer.Option(min=1, max=500, help="loads per page and cache state")] = 20,
    chromium: Annotated[
        str | None, typer.Option(help="the Chromium binary [AGORA_CHROMIUM or /usr/bin/chromium]")
    ] = None,
) -> None:
    """Storefront pages in Debian Chromium (Playwright): Largest Contentful Paint p50/p95 of
    home, a listing and a product page, cold and warm cache, and the JavaScript they transfer."""
    from agora.bench.web import CHROMIUM, WebBenchError, markdown, run_web_bench

    def say(text: str) -> None:
        console.print(f"[dim]{text}[/dim]")

    base_url = url or GATEWAY.url()
    try:
        stats = run_web_bench(base_url, runs=runs, chromium=chromium or CHROMIUM, progress=say)
    except ImportError as error:
        raise fail(
            f"{error}: `agora bench web` needs the dev dependencies (`make install`)"
        ) from None
    except WebBenchError as error:
        raise fail(f"{error}; start the shop with `make run`") from None
    typer.echo(markdown(stats, runs))
