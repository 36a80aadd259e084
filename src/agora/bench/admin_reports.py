"""CSV export throughput of the admin service's reports: `ExportReport` streamed over gRPC from a
running admin service, rows and bytes per second, and the time to its first chunk.

A closed period's first export freezes its rows (written once) and later ones read the frozen
rows; an open period is computed live every time: run both to see each cost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from agora._proto.agora.admin.v1 import reports_pb2 as pb
from agora._proto.agora.admin.v1.reports_pb2_grpc import ReportsServiceStub
from agora.platform.rpc.interceptors import REQUEST_ID_HEADER

# The CSV's records end in CRLF; the header and the totals row are not data rows.
RECORD_END = b"\r\n"
FRAME_ROWS = 2


@dataclass(frozen=True)
class ExportRun:
    rows: int
    bytes: int
    seconds: float
    first_chunk_s: float
    status: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mib_per_s(self) -> float:
        return self.bytes / (1024 * 1024) / self.seconds if self.seconds else 0.0


async def bench_report_export(
    target: str,
    authorization: Callable[[], str],
    *,
    kind: str = "sales-by-product",
    start_date: str,
    end_date: str,
    currency: str = "",
    rounds: int = 3,
    timeout_s: float = 600.0,
) -> list[ExportRun]:
    """Export the report `rounds` times, one after the other, from the admin service at
    `target` (`host:port`) with `authorization()` as each call's credentials (a holder of
    `admin:reports:read`); one measurement per round."""
    runs = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ReportsServiceStub(channel)  # type: ignore[no-untyped-call]
        request = pb.ExportReportRequest(
            kind=kind, start_date=start_date, end_date=end_date, currency=currency, format="csv"
        )
        for _ in range(rounds):
            runs.append(await _export(stub, request, authorization(), timeout_s))
    return runs


async def _export(
    stub: ReportsServiceStub, request: pb.ExportReportRequest, authorization: str, timeout_s: float
) -> ExportRun:
    started = time.perf_counter()
    # A request id, as the gateway sends: the service's headers (the report's status) then go
    # out with the first chunk.
    metadata = (("authorization", authorization), (REQUEST_ID_HEADER, uuid.uuid4().hex))
    call = stub.ExportReport(request, metadata=metadata, timeout=timeout_s)
    records = size = 0
    first: float | None = None
    async for part in call:
        if first is None:
            first = time.perf_counter() - started
        records += part.data.count(RECORD_END)
        size += len(part.data)
    seconds = time.perf_counter() - started
    status = dict(await call.initial_metadata()).get("x-agora-report-status", "")
    return ExportRun(
        rows=max(records - FRAME_ROWS, 0),
        bytes=size,
        seconds=seconds,
        first_chunk_s=first or seconds,
        status=str(status),
    )


def markdown(runs: list[ExportRun], label: str) -> str:
    """A docs/benchmarks.md table row per run."""
    lines = [
        "| report | status | rows | MiB | seconds | rows/s | first chunk (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {label} | {r.status} | {r.rows} | {r.bytes / 1048576:.1f} | {r.seconds:.2f} | "
        f"{r.rows_per_s:,.0f} | {r.first_chunk_s:.3f} |"
        for r in runs
    )
    return "\n".join(lines)
