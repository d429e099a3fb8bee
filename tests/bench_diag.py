"""Where the time goes during a `make bench` phase, read from outside the services: the mean time each NATS endpoint
and gateway route took (from the processes' own Prometheus /metrics), what PostgreSQL's busy backends were waiting
on (pg_stat_activity sampled every 100 ms), and the JetStream consumers' backlog."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from shared import natsauth, streams

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
# Histograms whose mean says how long one call took: the services' request/reply handlers, the gateway's routes.
_TIMINGS = ("nats_request_seconds", "litestar_request_duration_seconds")


def _scrape(port: int) -> dict[tuple[str, str], list[float]]:
    """{(metric, what): [sum, count]} of the timing histograms one process exposes."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    result: dict[tuple[str, str], list[float]] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        name = match["name"]
        for metric in _TIMINGS:
            if name in (metric + "_sum", metric + "_count"):
                labels = dict(_LABEL.findall(match["labels"] or ""))
                what = labels.get("subject") or f"HTTP {labels.get('method', '')} {labels.get('path', '')}"
                entry = result.setdefault((metric, what), [0.0, 0.0])
                entry[0 if name.endswith("_sum") else 1] += float(match["value"])
    return result


class ServiceTimes:
    """Mean time per call of every endpoint and route that was called between start() and stop()."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports

    def _snapshot(self) -> dict[tuple[str, str, str], list[float]]:
        snapshot = {}
        for process, port in self.ports.items():
            try:
                for (metric, what), value in _scrape(port).items():
                    snapshot[(process, metric, what)] = value
            except OSError:
                continue
        return snapshot

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self) -> list[dict[str, Any]]:
        after = self._snapshot()
        rows = []
        for key, (total, count) in after.items():
            total0, count0 = self.before.get(key, [0.0, 0.0])
            if count - count0 >= 1:
                process, _, what = key
                rows.append(
                    {
                        "process": process,
                        "what": what,
                        "calls": int(count - count0),
                        "mean_ms": (total - total0) * 1000 / (count - count0),
                    }
                )
        return sorted(rows, key=lambda r: -r["calls"] * r["mean_ms"])


class PgWaits:
    """Samples what PostgreSQL's client backends of the stack's databases are doing, every `interval` seconds."""

    QUERY = (
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        " AND state IN ('active', 'idle in transaction') AND datname = ANY($1::text[])"
    )

    def __init__(self, dsn: str, databases: list[str], interval: float = 0.1) -> None:
        self.dsn = dsn
        self.databases = databases
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.counts.clear()
        self.samples = 0
        self._stop.clear()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="pg-waits", daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self._stop.is_set():
                for row in await conn.fetch(self.QUERY, self.databases):
                    if row["state"] == "idle in transaction":
                        key = "idle in transaction (waiting for its service)"
                    elif row["wait_event_type"] is None:
                        key = "on CPU"
                    else:
                        key = f"{row['wait_event_type']}:{row['wait_event']}"
                    self.counts[key] += 1
                self.samples += 1
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def stop(self) -> dict[str, float]:
        """Mean number of backends in each state over the samples, busiest first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        n = max(self.samples, 1)
        return {k: v / n for k, v in self.counts.most_common()}


class Diagnosis:
    """Both of the above around one phase; `lines()` prints them."""

    def __init__(self, ports: dict[str, int], dsn: str, databases: list[str]) -> None:
        self.times = ServiceTimes(ports)
        self.waits = PgWaits(dsn, databases)
        self.result: dict[str, Any] = {}

    def __enter__(self) -> Diagnosis:
        self.times.start()
        self.waits.start()
        return self

    def __exit__(self, *exc) -> None:
        self.result = {"pg_backends": self.waits.stop(), "mean_time_per_call": self.times.stop()}

    def lines(self, top: int = 8) -> list[str]:
        calls = [r for r in self.result["mean_time_per_call"] if r["calls"] >= 5][:top]
        waits = self.result["pg_backends"]
        out = []
        if calls:
            out.append(
                "  mean time per call (processes' own metrics): "
                + "; ".join(f"{r['what']} {r['mean_ms']:.1f} ms ×{r['calls']:,}" for r in calls)
            )
        if waits:
            out.append(
                f"  PostgreSQL backends busy (mean, sampled every 100 ms): {sum(waits.values()):.1f} — "
                + ", ".join(f"{k} {v:.2f}" for k, v in list(waits.items())[:6])
            )
        return out


# The services' own durables: an outside subscriber's (shared/natsauth.py) is read by nobody during a bench.
SERVICE_DURABLES = frozenset(streams.CONSUMERS) - frozenset(natsauth.SUBSCRIBERS)


async def consumer_backlog(nats_url: str, stop: asyncio.Event, interval: float = 0.5) -> dict[str, int]:
    """Peak of (pending + unacknowledged) events per durable consumer of the EVENTS stream until `stop` is set."""
    import nats

    from shared.contracts.events import STREAM

    nc = await nats.connect(nats_url, name="bench-backlog")
    js = nc.jetstream()
    peaks: dict[str, int] = {}
    try:
        while not stop.is_set():
            started = time.monotonic()
            for info in await js.consumers_info(STREAM):
                if info.name not in SERVICE_DURABLES:
                    continue
                backlog = (info.num_pending or 0) + (info.num_ack_pending or 0)
                name = info.name or "?"
                peaks[name] = max(peaks.get(name, 0), backlog)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    finally:
        await nc.close()
    return peaks


async def settle(nats_url: str, database_urls: list[str], timeout: float = 90.0, quiet_for: float = 2.0) -> float:
    """Waits until nothing is left over from the previous phase: every outbox published, every JetStream consumer
    caught up, no statement running (a request the gateway gave up on runs on in its service, queued for a pooled
    connection between its statements), all of it for `quiet_for` seconds in a row. Returns the seconds it took
    (the timeout's if it never settled)."""
    import nats

    from shared.contracts.events import STREAM

    started = time.monotonic()
    nc = await nats.connect(nats_url, name="bench-settle")
    conns = [await asyncpg.connect(url) for url in database_urls]
    quiet_since: float | None = None
    try:
        while time.monotonic() - started < timeout:
            unpublished = 0
            for conn in conns:
                unpublished += await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            backlog = sum(
                (i.num_pending or 0) + (i.num_ack_pending or 0)
                for i in await nc.jetstream().consumers_info(STREAM)
                if i.name in SERVICE_DURABLES
            )
            running = await conns[0].fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid() AND datname = ANY($1::text[]) AND query NOT ILIKE '%pg_stat_activity%'",
                [urlsplit(url).path.lstrip("/") for url in database_urls],
            )
            if unpublished or backlog or running:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_for:
                return quiet_since - started
            await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(*(c.close() for c in conns))
        await nc.close()
    return timeout
