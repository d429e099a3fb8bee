"""The fault suite's own stack: embedded PostgreSQL, NATS and S3, every service and the gateway, with each
process's connections to the three servers routed through a FaultProxy; and the faults themselves (kill -9 and
restart, SIGSTOP/SIGCONT, proxy faults) on any one process or server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psutil

from shared.devstack import infra as infrastructure
from shared.devstack import stack as services
from tests.faults.proxy import FaultProxy

T = TypeVar("T")
SERVERS = ("postgres", "nats", "s3")
PROCESSES = (*services.SERVICES, "gateway")


class ProxyLoop:
    """The proxies' own event loop in a thread: service traffic flows whatever the test's thread is doing."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fault-proxies", daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        async def invoke() -> T:
            return fn(*args)

        return self.run(invoke())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class Rig:
    """The running stack and what the suite does to it. A service or the gateway that exits without being
    told to is started again by a watcher (as Kubernetes or `make run` would) and counted in `crashes`."""

    def __init__(self, infra: infrastructure.Infra, running: services.Stack, proxies: dict[str, FaultProxy]):
        self.infra = infra
        self.running = running
        self.proxies = proxies
        self.proxy_loop: ProxyLoop | None = None
        self.crashes: Counter[str] = Counter()
        self._planned: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="fault-watcher", daemon=True)

    # --- processes ---------------------------------------------------------------------------------

    def start_watching(self) -> None:
        self._watcher.start()

    def stop_watching(self) -> None:
        self._stop.set()
        self._watcher.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for name, proc in list(self.running.processes.items()):
                    if name not in self._planned and proc.poll() is not None:
                        self.crashes[name] += 1
                        self.running.respawn(name)

    def pids(self, name: str) -> list[int]:
        if name == "postgres":
            postmaster = psutil.Process(self.infra.postgres_pid)
            return [postmaster.pid, *(child.pid for child in postmaster.children(recursive=True))]
        if name in SERVERS:
            return [self.infra.processes[name].pid]
        return [self.running.processes[name].pid]

    def kill_and_restart(self, name: str) -> None:
        """kill -9, make sure it is gone, then start it again on the same ports and data."""
        with self._lock:
            self._planned.add(name)
        try:
            if name == "postgres":
                self._kill_postgres()
                self.infra.restart_postgres()
            elif name in SERVERS:
                proc = self.infra.processes[name]
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                self.start_server(name)
            else:
                proc = self.running.processes[name]
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                self.running.respawn(name)
        finally:
            with self._lock:
                self._planned.discard(name)

    def _kill_postgres(self) -> None:
        postmaster = psutil.Process(self.infra.postgres_pid)
        backends = postmaster.children(recursive=True)
        postmaster.send_signal(signal.SIGKILL)
        postmaster.wait(10)
        assert not psutil.pid_exists(postmaster.pid) or postmaster.status() == psutil.STATUS_ZOMBIE, (
            "the postmaster survived kill -9"
        )
        # Its backends notice the postmaster's death and exit; any still attached to the shared memory would
        # keep a new postmaster from starting, so stragglers are killed too.
        _, alive = psutil.wait_procs(backends, timeout=5)
        for proc in alive:
            proc.kill()
        psutil.wait_procs(alive, timeout=5)

    def pause(self, name: str, seconds: float) -> None:
        """SIGSTOP every process of it for `seconds`, then SIGCONT."""
        pids = self.pids(name)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def stop_server(self, name: str) -> None:
        """Take a server away until `start_server` (a clean stop for the degraded-dependency checks)."""
        if name == "postgres":
            self._kill_postgres()
        else:
            infrastructure._terminate(self.infra.processes[name])

    def start_server(self, name: str) -> None:
        """Start a server again on its ports and data, and wait until it serves."""
        if name == "postgres":
            self.infra.restart_postgres()  # waits for the postmaster to be ready
            return
        proc = self.infra.respawn(name)
        if name == "nats":
            port = urlsplit(self.infra.nats_url).port or 4222
            serving = lambda: infrastructure._alive(proc) and infrastructure._tcp_open(port)  # noqa: E731
        else:
            serving = lambda: infrastructure._alive(proc) and infrastructure._s3_ready(self.infra)  # noqa: E731
        infrastructure.wait_for(serving, name, timeout=60, interval=0.2)

    # --- readiness ---------------------------------------------------------------------------------

    def ready_url(self, name: str) -> str:
        return self.running.gateway_url + "/ready" if name == "gateway" else self.running.ready_url(name)

    def is_ready(self, name: str) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url(name), timeout=3) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def readiness(self) -> dict[str, bool]:
        return {name: self.is_ready(name) for name in PROCESSES}

    def wait_all_ready(self, timeout: float = 60.0) -> dict[str, bool]:
        deadline = time.monotonic() + timeout
        while True:
            state = self.readiness()
            if all(state.values()) or time.monotonic() > deadline:
                return state
            time.sleep(0.3)

    # --- proxies -----------------------------------------------------------------------------------

    def proxy(self, name: str, **faults: Any) -> None:
        """Set faults on the proxy in front of a server (`delay`, `reset_after`); `proxy(name)` heals it."""
        proxy = self.proxies[name]

        def apply() -> None:
            proxy.heal()
            for key, value in faults.items():
                setattr(proxy, key, value)

        assert self.proxy_loop is not None
        self.proxy_loop.call(apply)

    def drop_connections(self, name: str) -> int:
        assert self.proxy_loop is not None
        return self.proxy_loop.call(self.proxies[name].drop_all)


def start(exits: ExitStack, work: Path) -> Rig:
    """Embedded servers in `work`, proxies in front of them, then the services and the gateway through them."""
    infra = infrastructure.start_embedded(exits, work / "data", work / "logs")
    infrastructure.create_databases(infra)
    info = infra.postgres_server.get_postmaster_info()
    pg_socket = str(Path(info.socket_dir) / f".s.PGSQL.{info.port or 5432}")
    nats = urlsplit(infra.nats_url)
    s3_host, s3_port = infra.s3_endpoint.rsplit(":", 1)
    proxies = {
        "postgres": FaultProxy("postgres", pg_socket),
        "nats": FaultProxy("nats", (nats.hostname or "127.0.0.1", nats.port or 4222)),
        "s3": FaultProxy("s3", (s3_host, int(s3_port))),
    }
    loop = ProxyLoop()
    exits.callback(loop.stop)
    for proxy in proxies.values():
        loop.run(proxy.start())
        exits.callback(lambda p=proxy: loop.run(p.close()))
    credentials = nats.netloc.rsplit("@", 1)[0]
    routed = dataclasses.replace(
        infra,
        postgres_url=f"postgresql://postgres@127.0.0.1:{proxies['postgres'].port}/postgres",
        nats_url=f"nats://{credentials}@127.0.0.1:{proxies['nats'].port}",
        s3_endpoint=f"127.0.0.1:{proxies['s3'].port}",
    )
    running = services.start(exits, routed, work / "logs", profile="test", extra_env={"LOG_LEVEL": "WARNING"})
    exits.callback(services.terminate_all, running)
    exits.callback(services.stop_signal_children, running)
    rig = Rig(infra, running, proxies)
    rig.proxy_loop = loop
    rig.start_watching()
    exits.callback(rig.stop_watching)
    return rig
