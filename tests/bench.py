"""`make bench`: speed figures against targets, on the real stack (never as timed assertions in tests).

1. Reference search in process (target: well under 1 ms per query).
2. The public API end to end over HTTP: 查询 (list) and 暂存 (save) at 16 concurrent clients.
3. The portal's budgets: build time, initial JS+CSS gzipped, first screen ready (tests/bench_portal.py).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from services.certificate_registry.reference import ReferenceData
from shared.devstack import infra as infrastructure
from shared.devstack import stack as services
from tests import bench_portal
from tests.support import form, login

SEARCHES = [
    ("countries", "mg", None),
    ("countries", "美", None),
    ("countries", "south korea", None),
    ("ports", "hcm", "VN"),
    ("ports", "cq", "CN"),
    ("ports", "busan", None),
    ("ports", "sh", None),
    ("ports", "a", None),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_search() -> None:
    ref = ReferenceData()
    print("reference search (in process, 2,000 runs each)")
    print(f"  {'query':<28} {'median µs':>10} {'p99 µs':>8}")
    for kind, query, country in SEARCHES:
        timings = []
        for _ in range(2000):
            start = time.perf_counter()
            if kind == "countries":
                ref.search_countries(query, 20)
            else:
                ref.search_ports(query, country, 20)
            timings.append((time.perf_counter() - start) * 1e6)
        label = f"{kind} q={query!r}" + (f" country={country}" if country else "")
        print(f"  {label:<28} {statistics.median(timings):>10.1f} {percentile(timings, 0.99):>8.1f}")


async def hammer(
    base_url: str, cookies: httpx.Cookies, method: str, path: str, body, seconds: float, concurrency: int
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.request(method, path, json=body() if body else None)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code >= 400:
                    failures += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies, failures


def bench_stack() -> None:
    bench_portal.bench_build()  # before the gateway starts: it reads the build once
    with ExitStack() as exits:
        work = Path(tempfile.mkdtemp(prefix="xianghui-bench-"))
        infra = infrastructure.from_environment() or infrastructure.start_embedded(exits, work / "data", work / "logs")
        infrastructure.create_databases(infra)
        running = services.start(exits, infra, work / "logs", profile="test")
        exits.callback(services.stop_signal_children, running)
        client = login(running.gateway_url)
        print("\npublic API over HTTP (16 concurrent clients, 8 s each; one gateway process, 2 cores shared)")
        print(f"  {'operation':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for label, method, path, body in (
            ("暂存 POST /coordination-requests", "POST", "/api/v1/coordination-requests", form),
            ("查询 GET /coordination-requests", "GET", "/api/v1/coordination-requests?limit=20", None),
            ("GET /reference/ports?q=", "GET", "/api/v1/reference/ports?country=JP&q=yo", None),
        ):
            count, latencies, failures = asyncio.run(
                hammer(running.gateway_url, client.cookies, method, path, body, 8.0, 16)
            )
            print(
                f"  {label:<28} {count / 8.0:>8.0f} {percentile(latencies, 0.5):>8.1f} "
                f"{percentile(latencies, 0.99):>8.1f} {failures:>7}"
            )
        bench_portal.bench_first_screen(running.gateway_url)


if __name__ == "__main__":
    bench_search()
    bench_stack()
