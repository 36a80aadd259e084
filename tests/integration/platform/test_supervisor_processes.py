"""The process supervisor behind `agora up`, exercised with small real child programs."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from agora.platform.supervisor import (
    ProcessSpec,
    RestartPolicy,
    StartupFailed,
    Supervisor,
)

FAST = RestartPolicy(
    backoff_initial_s=0.2,
    backoff_max_s=0.8,
    stable_after_s=60.0,
    probe_interval_s=0.05,
    probe_timeout_s=1.0,
    stop_grace_s=1.0,
)


def file_exists(path: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await asyncio.to_thread(path.exists)

    return check


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[Supervisor]:
    running = Supervisor(tmp_path / "logs", tmp_path / "run" / "status.json", FAST)
    yield running
    await running.stop()


async def test_a_process_starts_only_once_its_dependency_is_healthy(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    ready = tmp_path / "db.ready"
    seen = tmp_path / "service.saw"
    database = ProcessSpec(
        "db",
        python(
            f"import time, pathlib; time.sleep(0.5); pathlib.Path({str(ready)!r}).touch(); "
            "time.sleep(300)"
        ),
        health=file_exists(ready),
    )
    service = ProcessSpec(
        "service",
        python(
            f"import pathlib; pathlib.Path({str(seen)!r}).write_text("
            f"str(pathlib.Path({str(ready)!r}).exists())); import time; time.sleep(300)"
        ),
        health=file_exists(seen),
        depends_on=("db",),
    )

    await supervisor.start([database, service])

    assert seen.read_text() == "True"
    assert [row["state"] for row in supervisor.snapshot()] == ["healthy", "healthy"]


def record_backoff_delays(supervisor: Supervisor) -> list[float]:
    """The restart delays `supervisor` chooses, in order. Asserting on these rather than on
    launch times keeps the tests exact: a loaded machine makes Python's start-up jitter by
    seconds."""
    delays: list[float] = []
    choose_delay = supervisor._next_backoff

    def recorded(managed: Any) -> float:
        delays.append(choose_delay(managed))
        return delays[-1]

    supervisor._next_backoff = recorded  # type: ignore[method-assign]
    return delays


async def test_a_crashed_process_restarts_with_doubling_capped_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    policy = RestartPolicy(backoff_initial_s=0.3, backoff_max_s=1.2, probe_interval_s=0.05)
    supervisor = Supervisor(tmp_path / "logs", policy=policy)
    crasher = ProcessSpec(
        "crasher",
        python(f"""
            import time
            with open({str(starts)!r}, "a") as f:
                f.write(f"{{time.monotonic()}}\\n")
            time.sleep(0.1)
            raise SystemExit(1)
        """),
        health=file_exists(starts),
    )

    delays = record_backoff_delays(supervisor)
    try:
        await supervisor.start([crasher])
        await wait_until(lambda: len(starts.read_text().split()) >= 5, timeout_s=20)
        restarts = supervisor.snapshot()[0]["restarts"]
    finally:
        await supervisor.stop()

    launches = [float(t) for t in starts.read_text().split()]
    assert launches[1] - launches[0] >= 0.3 + 0.1  # ~0.1 s of life, then the first backoff
    assert delays[:4] == [0.3, 0.6, 1.2, 1.2]
    assert restarts >= 4


async def test_backoff_starts_over_after_the_process_stayed_healthy(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    policy = RestartPolicy(
        backoff_initial_s=0.8, backoff_max_s=10, stable_after_s=0.3, probe_interval_s=0.05
    )
    supervisor = Supervisor(tmp_path / "logs", policy=policy)
    stable_then_crash = ProcessSpec(
        "stable",
        python(f"""
            import time
            with open({str(starts)!r}, "a") as f:
                f.write(f"{{time.monotonic()}}\\n")
            time.sleep(0.6)
            raise SystemExit(1)
        """),
        health=file_exists(starts),
    )
    delays = record_backoff_delays(supervisor)
    try:
        await supervisor.start([stable_then_crash])
        await wait_until(lambda: len(starts.read_text().split()) >= 4, timeout_s=30)
    finally:
        await supervisor.stop()

    # Each run stays healthy 0.6 s (> stable_after_s) before it crashes, so every restart waits
    # the initial delay; without the reset they would wait 0.8, 1.6, 3.2 s.
    assert len(delays) >= 3
    assert delays == [0.8] * len(delays)


async def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    grandchild_pid = tmp_path / "grandchild.pid"
    supervisor = Supervisor(tmp_path / "logs", policy=FAST)
    parent = ProcessSpec(
        "parent",
        python(f"""
            import pathlib, subprocess, time
            child = subprocess.Popen(["sleep", "300"])
            pathlib.Path({str(grandchild_pid)!r}).write_text(str(child.pid))
            time.sleep(300)
        """),
        health=file_exists(grandchild_pid),
    )
    await supervisor.start([parent])
    pids = [int(grandchild_pid.read_text()), supervisor.snapshot()[0]["pid"]]
    assert all(alive(pid) for pid in pids)

    await supervisor.stop()

    assert not any(alive(pid) for pid in pids)
    assert supervisor.snapshot()[0]["state"] == "stopped"


async def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    supervisor = Supervisor(tmp_path / "logs", policy=FAST)
    stubborn = ProcessSpec(
        "stubborn",
        python(f"""
            import pathlib, signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(300)
        """),
        health=file_exists(ready),
    )
    await supervisor.start([stubborn])
    pid = supervisor.snapshot()[0]["pid"]

    began = time.monotonic()
    await supervisor.stop()

    assert not alive(pid)
    assert FAST.stop_grace_s <= time.monotonic() - began < FAST.stop_grace_s + 3


async def test_processes_stop_in_reverse_dependency_order(tmp_path: Path) -> None:
    stopped = tmp_path / "stopped"
    supervisor = Supervisor(tmp_path / "logs", policy=FAST)

    def recorder(name: str, depends_on: tuple[str, ...] = ()) -> ProcessSpec:
        ready = tmp_path / f"{name}.ready"
        return ProcessSpec(
            name,
            python(f"""
                import pathlib, signal, sys, time
                def leave(*_):
                    with open({str(stopped)!r}, "a") as f:
                        f.write({name!r} + "\\n")
                    sys.exit(0)
                signal.signal(signal.SIGTERM, leave)
                pathlib.Path({str(ready)!r}).touch()
                time.sleep(300)
            """),
            health=file_exists(ready),
            depends_on=depends_on,
        )

    await supervisor.start([recorder("postgres")])
    await supervisor.start([recorder("catalog", ("postgres",))])
    await supervisor.start([recorder("gateway", ("catalog",))])
    await supervisor.stop()

    assert stopped.read_text().split() == ["gateway", "catalog", "postgres"]


async def test_a_process_that_never_gets_healthy_is_reported_and_stopped(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(tmp_path / "logs", policy=FAST)

    async def never() -> bool:
        return False

    sleeper = ProcessSpec("sleeper", ["sleep", "300"], health=never, ready_timeout_s=0.5)
    with pytest.raises(StartupFailed, match=r"sleeper: not healthy after 0\.5s") as failure:
        await supervisor.start([sleeper])
    await supervisor.stop()

    assert failure.value.log_path == tmp_path / "logs" / "sleeper.log"
    assert supervisor.snapshot()[0]["state"] == "stopped"
    assert not alive(supervisor.snapshot()[0]["pgid"])


async def test_a_process_exiting_during_startup_is_reported_with_its_code(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(tmp_path / "logs", policy=FAST)

    async def never() -> bool:
        return False

    broken = ProcessSpec("broken", python("print('port taken'); raise SystemExit(3)"), never)
    with pytest.raises(StartupFailed, match="exited with code 3"):
        await supervisor.start([broken])
    await supervisor.stop()

    assert "port taken" in (tmp_path / "logs" / "broken.log").read_text()


async def test_the_status_file_lists_every_process(tmp_path: Path, supervisor: Supervisor) -> None:
    ready = tmp_path / "ready"
    spec = ProcessSpec(
        "worker",
        python(f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); time.sleep(300)"),
        health=file_exists(ready),
        url="http://127.0.0.1:1",
    )
    supervisor.info["ready"] = True
    await supervisor.start([spec])

    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["supervisor_pid"] == os.getpid()
    assert status["ready"] is True
    (row,) = status["processes"]
    assert row["name"] == "worker"
    assert row["state"] == "healthy"
    assert row["url"] == "http://127.0.0.1:1"
    assert alive(row["pid"])


async def test_verbose_mode_echoes_output_prefixed_by_process(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    supervisor = Supervisor(tmp_path / "logs", policy=FAST, echo=lambda n, s: lines.append((n, s)))
    spec = ProcessSpec(
        "talker",
        python("print('hello from talker', flush=True); import time; time.sleep(300)"),
        health=lambda: asyncio.sleep(0, result=True),
    )
    try:
        await supervisor.start([spec])
        await wait_until(lambda: ("talker", "hello from talker") in lines)
    finally:
        await supervisor.stop()


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import asyncio, pathlib, sys
        from agora.platform.supervisor import ProcessSpec, Supervisor

        async def main():
            ready = pathlib.Path({str(pid_file)!r})
            async def health():
                return ready.exists()
            spec = ProcessSpec("child", [sys.executable, "-c",
                "import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text("
                "str(os.getpid())); time.sleep(300)"], health)
            await Supervisor(pathlib.Path({str(tmp_path / "logs")!r})).start([spec])
            print("up", flush=True)
            await asyncio.sleep(300)

        asyncio.run(main())
    """)
    outer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert outer.stdout is not None
        assert outer.stdout.readline() == b"up\n"
        child = int(pid_file.read_text())
        assert alive(child)
        outer.send_signal(signal.SIGKILL)
        outer.wait()
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        outer.kill()
        outer.wait()


async def test_a_process_failing_its_probe_is_marked_unhealthy_not_restarted(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    healthy = tmp_path / "healthy"
    healthy.touch()
    spec = ProcessSpec("flaky", ["sleep", "300"], health=file_exists(healthy))
    await supervisor.start([spec])
    pid = supervisor.snapshot()[0]["pid"]

    healthy.unlink()
    await wait_until(lambda: supervisor.snapshot()[0]["state"] == "unhealthy")
    healthy.touch()
    await wait_until(lambda: supervisor.snapshot()[0]["state"] == "healthy")

    assert supervisor.snapshot()[0]["pid"] == pid
    assert supervisor.snapshot()[0]["restarts"] == 0


async def test_a_child_killed_by_a_signal_shows_it_and_the_restart_reason(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    spec = ProcessSpec("victim", ["sleep", "300"], health=lambda: asyncio.sleep(0, result=True))
    await supervisor.start([spec])
    first = supervisor.snapshot()[0]["pid"]

    os.kill(first, signal.SIGKILL)
    await wait_until(
        lambda: (
            supervisor.snapshot()[0]["restarts"] == 1
            and supervisor.snapshot()[0]["state"] == "healthy"
        )
    )

    (row,) = json.loads((tmp_path / "run" / "status.json").read_text())["processes"]
    assert row["pid"] != first
    assert row["exit_code"] == -signal.SIGKILL
    assert row["exit_signal"] == "SIGKILL"
    assert row["restart_reason"] == "killed by SIGKILL"
    assert [entry["reason"] for entry in row["restart_log"]] == ["killed by SIGKILL"]


async def test_a_failed_restart_attempt_is_recorded_with_its_exit_code(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    broken, ready = tmp_path / "broken", tmp_path / "ready"
    spec = ProcessSpec(
        "fragile",
        python(f"""
            import pathlib, sys, time
            if pathlib.Path({str(broken)!r}).exists():
                sys.exit(3)
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(300)
        """),
        health=file_exists(ready),
    )
    await supervisor.start([spec])
    broken.touch()
    ready.unlink()
    os.kill(supervisor.snapshot()[0]["pid"], signal.SIGTERM)
    await wait_until(lambda: len(supervisor.snapshot()[0]["restart_log"]) >= 2)
    broken.unlink()
    await wait_until(lambda: supervisor.snapshot()[0]["state"] == "healthy")

    reasons = [entry["reason"] for entry in supervisor.snapshot()[0]["restart_log"]]
    assert reasons[0] == "killed by SIGTERM"
    assert reasons[1] == "restart failed: exited with code 3 before it was healthy"


_FORK_HANDLER = ctypes.CFUNCTYPE(None)
_forks: list[int] = []
_note_fork = _FORK_HANDLER(lambda: _forks.append(os.getpid()))  # kept alive: glibc holds it


@pytest.fixture(scope="module")
def fork_count() -> Callable[[], int]:
    """How many times this process has called fork(), counted by a glibc fork handler: the
    kind grpc registers, which vfork (and posix_spawn) never run."""
    assert ctypes.CDLL(None).__register_atfork(_note_fork, None, None, None) == 0
    return lambda: len(_forks)


async def test_children_are_started_without_forking_the_supervisor(
    supervisor: Supervisor, fork_count: Callable[[], int]
) -> None:
    """Forking while grpc's threads run (the supervisor probes gRPC health in-process) skips
    grpc's fork handlers and crashed `agora up` once, restarting PostgreSQL (started as another
    user): children, whatever user they run as, must start without a fork()."""
    forks_before = fork_count()
    own = {"user": os.getuid(), "group": os.getgid(), "extra_groups": []}
    specs = [
        ProcessSpec("plain", ["sleep", "300"], health=lambda: asyncio.sleep(0, result=True)),
        ProcessSpec(
            "as_user",
            ["sleep", "300"],
            health=lambda: asyncio.sleep(0, result=True),
            popen_kwargs=own,
        ),
    ]
    await supervisor.start(specs)
    for row in supervisor.snapshot():
        os.kill(row["pid"], signal.SIGKILL)
    await wait_until(lambda: all(row["restarts"] == 1 for row in supervisor.snapshot()))
    await wait_until(lambda: all(row["state"] == "healthy" for row in supervisor.snapshot()))

    assert fork_count() == forks_before
    for row in supervisor.snapshot():
        assert psutil.Process(row["pid"]).uids().real == os.getuid()
