"""HTTP load generation: `wrk` when installed (C, cheap on the CPU we share with the server),
else a built-in asyncio HTTP/1.1 keep-alive client. Both report the same `LoadResult`."""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    tool: str
    connections: int
    duration_s: float
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def run_load(
    base_url: str, paths: Sequence[str], *, connections: int, duration_s: float
) -> LoadResult:
    """Drive GETs of `paths` (picked at random per request) against `base_url`."""
    if shutil.which("wrk"):
        return _run_wrk(base_url, paths, connections=connections, duration_s=duration_s)
    return asyncio.run(_run_python(base_url, paths, connections=connections, duration_s=duration_s))


_WRK_SCRIPT = """
local paths = {%s}
local errors = 0
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
response = function(status, headers, body)
  if status >= 400 then errors = errors + 1 end
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_wrk(
    base_url: str, paths: Sequence[str], *, connections: int, duration_s: float
) -> LoadResult:
    threads = max(1, min(2, connections))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(_WRK_SCRIPT % ", ".join(_lua_string(p) for p in paths))
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(duration_s)}s",
                "--latency",
                "-s",
                str(script),
                base_url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return _parse_wrk(out, connections=connections, duration_s=duration_s)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _parse_wrk(out: str, *, connections: int, duration_s: float) -> LoadResult:
    """Read requests/s, percentiles and non-2xx counts from `wrk --latency` output."""
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        tool="wrk",
        connections=connections,
        duration_s=duration_s,
        requests=requests,
        errors=errors,
        requests_per_s=rate,
        p50_ms=_to_ms(percentiles["50"]),
        p99_ms=_to_ms(percentiles["99"]),
    )


async def _run_python(
    base_url: str, paths: Sequence[str], *, connections: int, duration_s: float
) -> LoadResult:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration_s

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                path = random.choice(paths)
                started = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        tool="python",
        connections=connections,
        duration_s=duration_s,
        requests=len(latencies),
        errors=errors,
        requests_per_s=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
    )


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status
