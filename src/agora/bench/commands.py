"""`agora bench …`: the catalog and checkout benchmarks against a running stack."""

from __future__ import annotations

import asyncio
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
