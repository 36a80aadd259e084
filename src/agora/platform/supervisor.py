"""A small asyncio process supervisor: the engine behind `agora up`.

Each process runs in its own session (process group), so stopping it reaches every process it
forked (PostgreSQL backends, granian workers). Processes start as soon as their dependencies are
healthy, a crashed one restarts with exponential backoff, and everything stops in reverse order.

Children are created without forking this process (vfork+exec, no Python code runs in the child):
the supervisor probes gRPC health in-process, and forking while grpc's threads run skips its fork
handlers and can crash. Each exit (code or signal) and the reason for each restart is recorded in
the status file that `agora status` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import graphlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

HealthCheck = Callable[[], Awaitable[bool]]
LogEcho = Callable[[str, str], None]

RESTARTS_KEPT = 10  # the last restarts' reasons shown by `agora status`


class ProcessState(StrEnum):
    PENDING = "pending"
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ProcessSpec:
    """What to run, how to tell it is healthy, and what it needs first."""

    name: str
    argv: Sequence[str]
    health: HealthCheck
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    popen_kwargs: Mapping[str, Any] = field(default_factory=dict)
    depends_on: Sequence[str] = ()
    url: str = ""
    stop_signal: signal.Signals = signal.SIGTERM
    ready_timeout_s: float = 30.0


@dataclass(frozen=True)
class RestartPolicy:
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    stable_after_s: float = 30.0  # healthy this long before a crash: the backoff starts over
    probe_interval_s: float = 2.0
    probe_timeout_s: float = 2.0
    stop_grace_s: float = 10.0


class StartupFailed(Exception):
    """A process exited or stayed unhealthy while `agora up` was starting it."""

    def __init__(self, name: str, reason: str, log_path: Path) -> None:
        super().__init__(f"{name}: {reason} (log: {log_path})")
        self.name = name
        self.reason = reason
        self.log_path = log_path


@dataclass
class _Managed:
    spec: ProcessSpec
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    state: ProcessState = ProcessState.PENDING
    restarts: int = 0
    exit_code: int | None = None
    healthy_since: float | None = None
    next_delay_s: float = 0.0
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    echoing: bool = False
    restart_log: list[dict[str, Any]] = field(default_factory=list)  # {"at", "reason"}, newest last

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


class Supervisor:
    """Starts, watches, restarts and stops a set of processes described by `ProcessSpec`s."""

    def __init__(
        self,
        log_dir: Path,
        status_file: Path | None = None,
        policy: RestartPolicy | None = None,
        echo: LogEcho | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.status_file = status_file
        self.policy = policy or RestartPolicy()
        self.info: dict[str, Any] = {}  # extra fields for the status file (URLs, readiness)
        self._echo = echo
        self._procs: dict[str, _Managed] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._started_at = time.time()

    async def start(self, specs: Sequence[ProcessSpec]) -> None:
        """Start `specs`, each once its dependencies are healthy; raise `StartupFailed`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        new = [self._register(spec) for spec in specs]
        self._dependency_graph().prepare()  # raises CycleError early
        bring_ups = [asyncio.create_task(self._bring_up(managed)) for managed in new]
        try:
            await asyncio.gather(*bring_ups)
        finally:
            for task in bring_ups:
                task.cancel()
            await asyncio.gather(*bring_ups, return_exceptions=True)

    async def stop(self) -> None:
        """Stop everything in reverse dependency order: stop signal, then SIGKILL after grace."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for level in reversed(self._levels()):
            await asyncio.gather(*(self._terminate(self._procs[name]) for name in level))
        self.write_status()

    def snapshot(self) -> list[dict[str, Any]]:
        """One row per process: name, pid, state, restarts, url, log, how it last exited
        (`exit_code`, or `exit_signal` when a signal ended it) and why it was last restarted."""
        return [
            {
                "name": m.spec.name,
                "pid": m.pid if m.running else None,
                "pgid": m.pid,
                "state": str(m.state),
                "restarts": m.restarts,
                "url": m.spec.url,
                "log": str(m.log_path),
                "exit_code": m.exit_code,
                "exit_signal": _signal_name(m.exit_code),
                "restart_reason": m.restart_log[-1]["reason"] if m.restart_log else None,
                "restart_log": list(m.restart_log),
            }
            for m in self._procs.values()
        ]

    def write_status(self) -> None:
        """Atomically rewrite the status file that `agora status` reads."""
        if self.status_file is None:
            return
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "supervisor_pid": os.getpid(),
            "started_at": self._started_at,
            "updated_at": time.time(),
            **self.info,
            "processes": self.snapshot(),
        }
        partial = self.status_file.with_suffix(".tmp")
        partial.write_text(json.dumps(document, indent=2))
        partial.replace(self.status_file)

    def _register(self, spec: ProcessSpec) -> _Managed:
        if spec.name in self._procs:
            raise ValueError(f"process {spec.name!r} is already supervised")
        unknown = [dep for dep in spec.depends_on if dep not in self._procs]
        if unknown:
            raise ValueError(f"{spec.name} depends on unknown processes {unknown}")
        managed = _Managed(spec, self.log_dir / f"{spec.name}.log")
        managed.next_delay_s = self.policy.backoff_initial_s
        self._procs[spec.name] = managed
        return managed

    def _dependency_graph(self) -> graphlib.TopologicalSorter[str]:
        return graphlib.TopologicalSorter({n: m.spec.depends_on for n, m in self._procs.items()})

    def _levels(self) -> list[list[str]]:
        graph = self._dependency_graph()
        graph.prepare()
        levels = []
        while graph.is_active():
            ready = list(graph.get_ready())
            levels.append(ready)
            graph.done(*ready)
        return levels

    def _set_state(self, managed: _Managed, state: ProcessState) -> None:
        managed.state = state
        self.write_status()

    async def _bring_up(self, managed: _Managed) -> None:
        for dependency in managed.spec.depends_on:
            await self._procs[dependency].healthy.wait()
        failure = await self._launch(managed)
        if failure is not None:
            raise StartupFailed(managed.spec.name, failure, managed.log_path)
        self._tasks.append(asyncio.create_task(self._keep_running(managed)))

    async def _launch(self, managed: _Managed) -> str | None:
        """Spawn the process and wait until it is healthy; the reason it is not, or None."""
        spec = managed.spec
        self._set_state(managed, ProcessState.STARTING)
        with managed.log_path.open("ab") as log:
            offset = log.tell()
            log.write(f"--- agora: starting {spec.name} ({time.ctime()}) ---\n".encode())
            log.flush()
            argv, popen_kwargs = spawn_command(spec.argv, spec.popen_kwargs, spec.stop_signal)
            try:
                managed.process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=dict(spec.env) if spec.env is not None else None,
                    cwd=spec.cwd,
                    start_new_session=True,
                    **popen_kwargs,
                )
            except OSError as error:
                return f"cannot start {spec.argv[0]}: {error}"
        if self._echo is not None and not managed.echoing:
            managed.echoing = True
            follower = self._follow_log(managed, self._echo, offset)
            self._tasks.append(asyncio.create_task(follower))
        failure = await self._wait_healthy(managed)
        if failure is not None:
            await self._terminate(managed)
            return failure
        managed.healthy_since = time.monotonic()
        managed.healthy.set()
        self._set_state(managed, ProcessState.HEALTHY)
        return None

    async def _wait_healthy(self, managed: _Managed) -> str | None:
        process = managed.process
        assert process is not None
        deadline = time.monotonic() + managed.spec.ready_timeout_s
        pause = 0.05
        while time.monotonic() < deadline:
            if process.returncode is not None:
                managed.exit_code = process.returncode
                return f"{describe_exit(process.returncode)} before it was healthy"
            if await self._probe(managed):
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.5)
        return f"not healthy after {managed.spec.ready_timeout_s:g}s"

    async def _probe(self, managed: _Managed) -> bool:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as the probe completes, and stop() would wait for this task forever.
        try:
            async with asyncio.timeout(self.policy.probe_timeout_s):
                return await managed.spec.health()
        except asyncio.CancelledError:
            if cancellation_requested():
                raise
            return False  # grpc.aio reports a call cancelled under it as CancelledError
        except Exception:  # any failure of a probe means "not healthy (yet)"
            return False

    async def _keep_running(self, managed: _Managed) -> None:
        """Watch a healthy process; when it dies, restart it with exponential backoff."""
        while not self._stopping:
            await self._watch_until_exit(managed)
            if self._stopping:
                return
            self._kill_group(managed, signal.SIGKILL)  # leftovers of the dead process
            reason = describe_exit(managed.exit_code)
            while not self._stopping:
                delay = self._next_backoff(managed)
                self._note_restart(managed, reason)
                self._set_state(managed, ProcessState.BACKOFF)
                await asyncio.sleep(delay)
                managed.restarts += 1
                failure = await self._launch(managed)
                if failure is None:
                    break
                reason = f"restart failed: {failure}"

    async def _watch_until_exit(self, managed: _Managed) -> None:
        process = managed.process
        assert process is not None
        exited = asyncio.create_task(process.wait())
        try:
            while not exited.done():
                await asyncio.wait({exited}, timeout=self.policy.probe_interval_s)
                if exited.done() or self._stopping:
                    break
                self._record_probe(managed, await self._probe(managed))
        finally:
            exited.cancel()
        managed.exit_code = process.returncode

    @staticmethod
    def _note_restart(managed: _Managed, reason: str) -> None:
        managed.restart_log.append({"at": time.time(), "reason": reason})
        del managed.restart_log[:-RESTARTS_KEPT]

    def _record_probe(self, managed: _Managed, healthy: bool) -> None:
        if healthy and managed.state is not ProcessState.HEALTHY:
            managed.healthy_since = time.monotonic()
            self._set_state(managed, ProcessState.HEALTHY)
        elif not healthy and managed.state is ProcessState.HEALTHY:
            managed.healthy_since = None
            self._set_state(managed, ProcessState.UNHEALTHY)

    def _next_backoff(self, managed: _Managed) -> float:
        stable = managed.healthy_since is not None and (
            time.monotonic() - managed.healthy_since >= self.policy.stable_after_s
        )
        if stable:
            managed.next_delay_s = self.policy.backoff_initial_s
        managed.healthy_since = None
        delay = managed.next_delay_s
        managed.next_delay_s = min(delay * 2, self.policy.backoff_max_s)
        return delay

    async def _terminate(self, managed: _Managed) -> None:
        process = managed.process
        if process is None:
            return
        if process.returncode is None:
            self._set_state(managed, ProcessState.STOPPING)
            self._kill_group(managed, managed.spec.stop_signal)
            try:
                async with asyncio.timeout(self.policy.stop_grace_s):
                    await process.wait()
            except TimeoutError:
                self._kill_group(managed, signal.SIGKILL)
                await process.wait()
        await self._reap_group(managed)
        managed.exit_code = process.returncode
        managed.healthy.clear()
        self._set_state(managed, ProcessState.STOPPED)

    async def _reap_group(self, managed: _Managed) -> None:
        """Give the group's remaining members the grace period, then SIGKILL them."""
        deadline = time.monotonic() + self.policy.stop_grace_s
        while time.monotonic() < deadline:
            if not _group_alive(managed.pid):
                return
            await asyncio.sleep(0.05)
        self._kill_group(managed, signal.SIGKILL)

    @staticmethod
    def _kill_group(managed: _Managed, sig: signal.Signals) -> None:
        if managed.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(managed.pid, sig)

    @staticmethod
    async def _follow_log(managed: _Managed, echo: LogEcho, offset: int) -> None:
        """Echo the lines appended to a process's log, across restarts (`agora up --verbose`)."""
        with managed.log_path.open("rb") as log:
            log.seek(offset)
            while True:
                line = log.readline()
                if line.endswith(b"\n"):
                    echo(managed.spec.name, line.decode(errors="replace").rstrip())
                    continue
                log.seek(-len(line), os.SEEK_CUR)
                await asyncio.sleep(0.2)


def cancellation_requested() -> bool:
    """Whether someone called `cancel()` on the current task, as opposed to a library raising
    CancelledError for its own reasons (grpc.aio does for calls cancelled under it)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_exit(returncode: int | None) -> str:
    """`exited with code 3`, `killed by SIGKILL`: how a child ended, for people."""
    if returncode is None:
        return "exited"
    name = _signal_name(returncode)
    return f"killed by {name}" if name is not None else f"exited with code {returncode}"


def _signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def spawn_command(
    argv: Sequence[str],
    popen_kwargs: Mapping[str, Any],
    stop_signal: signal.Signals = signal.SIGTERM,
) -> tuple[list[str], dict[str, Any]]:
    """The argv and Popen arguments that start `argv` without forking this process.

    Python vforks (no fork handlers, no Python in the child) unless given a pre-exec hook or a
    user/group to switch to, and a forked child of a process with gRPC threads can hang before
    its exec; both are done by `setpriv` (util-linux) in the child instead: it switches user,
    then asks Linux to send `stop_signal` to the child when its parent dies (even by SIGKILL, so
    no process outlives the one that started it), then execs the command.
    """
    kwargs = dict(popen_kwargs)
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    if setpriv is None:
        return list(argv), kwargs
    options = []
    group = kwargs.pop("group", None)
    if group is not None:
        options.append(f"--regid={group}")
    extra_groups = kwargs.pop("extra_groups", None)
    user = kwargs.pop("user", None)
    if extra_groups is not None:
        groups = ",".join(str(g) for g in extra_groups)
        options.append(f"--groups={groups}" if groups else "--clear-groups")
    elif user is not None or group is not None:
        options.append("--keep-groups")
    if user is not None:
        options.append(f"--reuid={user}")
    options.append(f"--pdeathsig={stop_signal.name}")  # after the switch, which clears it
    return [setpriv, *options, "--", *argv], kwargs
