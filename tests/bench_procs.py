"""The stack's processes as `make bench` watches them: memory (RSS, and PSS, which splits shared pages between the
processes that map them so a sum is not inflated by PostgreSQL's shared buffers) and CPU time, per group."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil

from shared.devstack.stack import Stack

INFRA = ("postgres", "nats-server", "weed")
MiB = 1024 * 1024


class StackProcesses:
    """Groups: postgres (postmaster and every backend), nats-server, weed, each service, the gateway; and, outside
    the stack, the load generator."""

    def __init__(self, running: Stack, pg_data: Path | None, load_pid: int | None = None) -> None:
        self.roots: dict[str, psutil.Process] = {}
        pidfile = pg_data / "postmaster.pid" if pg_data else None
        if pidfile and pidfile.exists():
            self.roots["postgres"] = psutil.Process(int(pidfile.read_text().split()[0]))
        for child in psutil.Process().children():
            name = child.name()
            if name.startswith("nats-server"):
                self.roots["nats-server"] = child
            elif name == "weed":
                self.roots["weed"] = child
        for name, proc in running.processes.items():
            self.roots[name] = psutil.Process(proc.pid)
        self.load = psutil.Process(load_pid) if load_pid else None
        self.me = psutil.Process()

    @property
    def names(self) -> list[str]:
        return list(self.roots)

    def members(self, name: str) -> list[psutil.Process]:
        """The group's processes now: PostgreSQL's backends come and go; the others are one process each (listing
        children means reading every process of the machine, too costly to do for all of them every 50 ms)."""
        root = self.roots[name]
        if name != "postgres":
            return [root]
        try:
            return [root, *root.children()]
        except psutil.NoSuchProcess:
            return []

    def memory(self, names: list[str] | None = None, *, pss: bool = True) -> dict[str, dict[str, float]]:
        """{group: {rss, pss (MiB), processes}} right now."""
        result = {}
        for name in names or self.names:
            rss = proportional = 0
            count = 0
            for proc in self.members(name):
                try:
                    if pss:
                        info = proc.memory_full_info()
                        proportional += info.pss
                    else:
                        info = proc.memory_info()
                    rss += info.rss
                    count += 1
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            result[name] = {"rss": rss / MiB, "pss": proportional / MiB if pss else 0.0, "processes": count}
        return result

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each group has used so far, the load generator's as `load generator` and this
        process's (samplers, event subscriber) as `bench`. A group's exited children (PostgreSQL backends of closed
        connections, parallel workers) count through their parent's reaped-children times."""
        result = {}
        for name in self.names:
            total = 0.0
            for proc in self.members(name):
                try:
                    t = proc.cpu_times()
                    total += t.user + t.system
                    if proc is self.roots[name]:
                        total += t.children_user + t.children_system
                except psutil.NoSuchProcess:
                    continue
            result[name] = total
        for name, proc in (("load generator", self.load), ("bench", self.me)):
            if proc is not None:
                t = proc.cpu_times()
                result[name] = t.user + t.system
        return result

    def cpu_waits(self) -> dict[str, float]:
        """Seconds each group's live processes have waited for a CPU so far (a saturated machine shows here)."""
        result = {name: sum(_run_delay(p) for p in self.members(name)) for name in self.names}
        for name, proc in (("load generator", self.load), ("bench", self.me)):
            if proc is not None:
                result[name] = _run_delay(proc)
        return result


def _busy(times) -> float:
    """Seconds the CPUs did work (guest time is already inside user time)."""
    return sum(getattr(times, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


def _run_delay(proc: psutil.Process) -> float:
    """Seconds the process's threads have spent runnable but waiting for a CPU (Linux schedstat; 0 elsewhere)."""
    total = 0
    try:
        for task in Path(f"/proc/{proc.pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        return 0.0
    return total / 1e9


class CpuWindow:
    """CPU used during a phase: cores busy per group, and the machine as a whole (others' work included)."""

    def __init__(self, procs: StackProcesses) -> None:
        self.procs = procs

    def __enter__(self) -> CpuWindow:
        self.start = time.monotonic()
        self.machine0 = psutil.cpu_times()
        self.groups0 = self.procs.cpu_seconds()
        self.waits0 = self.procs.cpu_waits()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self.start
        groups1 = self.procs.cpu_seconds()
        waits1 = self.procs.cpu_waits()
        machine1 = psutil.cpu_times()
        self.waiting = {name: max(0.0, waits1[name] - self.waits0.get(name, 0.0)) / wall for name in waits1}
        self.cores = {name: (groups1[name] - self.groups0.get(name, 0.0)) / wall for name in groups1}
        self.machine_cores = (_busy(machine1) - _busy(self.machine0)) / wall
        self.stack_cores = sum(v for k, v in self.cores.items() if k not in ("load generator", "bench"))
        ours = self.stack_cores + self.cores.get("load generator", 0.0) + self.cores.get("bench", 0.0)
        self.other_cores = max(0.0, self.machine_cores - ours)

    def summary(self) -> dict[str, float]:
        return {
            "machine_cores_busy": self.machine_cores,
            "cores_available": psutil.cpu_count() or 0,
            "stack_cores": self.stack_cores,
            "load_generator_cores": self.cores.get("load generator", 0.0),
            "bench_process_cores": self.cores.get("bench", 0.0),
            "other_processes_cores": self.other_cores,
            "per_group_cores": dict(self.cores),
            "per_group_waiting_for_cpu": dict(self.waiting),
        }

    def line(self) -> str:
        top = sorted(((v, k) for k, v in self.cores.items() if v >= 0.05), reverse=True)
        parts = ", ".join(f"{k} {v:.2f}" for v, k in top)
        waiting = sorted(((v, k) for k, v in self.waiting.items() if v >= 0.05), reverse=True)
        waits = ", ".join(f"{k} {v:.2f}" for v, k in waiting) or "none"
        return (
            f"CPU cores busy {self.machine_cores:.2f}/{psutil.cpu_count()} (others on the machine "
            f"{self.other_cores:.2f}): {parts}\n"
            f"  runnable but waiting for a CPU (seconds per second): {waits}"
        )


class MemorySampler:
    """Samples memory of some groups every `interval` seconds in a thread, between start() and stop()."""

    def __init__(self, procs: StackProcesses, interval: float, names: list[str] | None = None, *, pss: bool) -> None:
        self.procs = procs
        self.interval = interval
        self.names = names
        self.pss = pss
        self.samples: list[tuple[float, dict[str, dict[str, float]]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.procs.memory(self.names, pss=self.pss)))
            self._stop.wait(self.interval)

    def stop(self) -> list[tuple[float, dict[str, dict[str, float]]]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples

    def peak(self, name: str, key: str = "rss") -> float:
        return max((s[name][key] for _, s in self.samples if name in s), default=0.0)

    def peak_total(self, key: str) -> float:
        """The largest whole-stack sum seen at one instant (not the sum of each group's own peak)."""
        return max((sum(g[key] for g in s.values()) for _, s in self.samples), default=0.0)
