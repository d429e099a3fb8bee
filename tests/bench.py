"""`make bench`: speed and memory figures of the real stack, each beside its raw limit measured in the same run.

1. Reference search in process (target: well under 1 ms per query).
2. The portal's budgets: build time, initial JS+CSS as served (compressed), first screen ready, and Lighthouse's
   performance score, LCP and total blocking time of 登录, the application form and 查询 (tests/bench_portal.py).
3. The composed API on the running stack (embedded PostgreSQL, NATS, SeaweedFS, every service, the gateway), driven
   by a load generator in its own process that reports its own CPU:
   提交 (c=32) against the same transaction written straight to PostgreSQL (c=16); 暂存 (c=32) against a bare
   Litestar app answering a constant; 查询 of the last page over a million rows (c=1 and c=32) against the page SQL
   alone; 提交 → 待办 visible against three bare JetStream hops; 4 MiB uploads against direct S3 puts, with the RSS
   of the gateway and the attachment service; idle and loaded memory of every process.
Results go to bench-results.json (git-ignored); the output ends with one line per figure and the 提交 ratio.
Misses are reported, never raised: these are measurements, not tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from services.certificate_registry.reference import ReferenceData
from shared.devstack import infra as infrastructure
from shared.devstack import stack as services
from tests import bench_portal, bench_seed
from tests.bench_diag import Diagnosis, consumer_backlog, settle
from tests.bench_load import HttpSpec, Job, LoadProcess, Outcome, PgQuerySpec, PgTxSpec, S3Spec
from tests.bench_procs import INFRA, CpuWindow, MemorySampler, StackProcesses
from tests.support import PDF, login

ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = ROOT / "bench-results.json"
PROFILES = ROOT / ".profiles"  # BENCH_PROFILE=1: flame graphs (git-ignored)
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))  # each timed phase
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))  # applications behind 查询
CLIENTS = 32
RAW_DB_CONNECTIONS = 16
UPLOAD_CLIENTS = 8
UPLOAD_SIZE = 4 * 1024 * 1024 - 1024
UPLOADS_PER_APPLICATION = 20  # 20 × (4 MiB − 1 KiB) stays under the 100 MiB and 30 files per application
UPLOAD_APPLICATIONS = 60
PAIRS = 20_000  # certificate/export-declaration pairs: at most this many drafts
SUBMIT_DRAFTS_MIN, SUBMIT_DRAFTS_MAX = 1_500, 4_000  # drafts prepared for 提交
RSS_FLAT_MIB = 16.0  # "flat": the upload phase's last third peaks at most this much above its middle third
BASE = "/api/v1/coordination-requests"
GiB_MiB = 1024.0

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
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_search() -> list[dict[str, Any]]:
    ref = ReferenceData()
    rows = []
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
        median, p99 = statistics.median(timings), percentile(timings, 0.99)
        print(f"  {label:<28} {median:>10.1f} {p99:>8.1f}")
        rows.append({"query": label, "median_us": median, "p99_us": p99})
    return rows


# --- how a phase is shown ----------------------------------------------------------------------------------


def summarize(outcome: Outcome) -> dict[str, Any]:
    latencies = outcome.latencies_ms()
    ok = len(outcome.ok)
    return {
        "ok": ok,
        "failed": len(outcome.samples) - ok,
        "statuses": {str(k): v for k, v in outcome.statuses().items()},
        "errors": outcome.errors,
        "seconds": outcome.wall_s,
        "rate_per_s": outcome.rate(),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "ran_out_of_jobs": outcome.exhausted,
        "load_generator_cpu_s": outcome.cpu_s,
        "load_generator_cores": outcome.cpu_share(),
        "load_generator_cpu_ms_per_request": outcome.cpu_s * 1000 / len(outcome.samples) if outcome.samples else 0.0,
    }


def show(
    title: str,
    outcome: Outcome,
    window: CpuWindow | None = None,
    unit: str = "req/s",
    diagnosis: Diagnosis | None = None,
) -> dict[str, Any]:
    s = summarize(outcome)
    print(f"\n{title}")
    failures = {k: v for k, v in s["statuses"].items() if not k.startswith("2")}
    errors = ", ".join(f"{v}× HTTP {k}" if k != "0" else f"{v}× no answer" for k, v in failures.items()) or "none"
    ran_out = " (ran out of prepared jobs before the time was up)" if s["ran_out_of_jobs"] else ""
    print(
        f"  {s['ok']:,} ok in {s['seconds']:.1f} s = {s['rate_per_s']:,.0f} {unit}; latency of every answer p50"
        f" {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms; failures: {errors}{ran_out}"
    )
    if outcome.errors:
        print(f"  client-side errors: {outcome.errors}")
    print(
        f"  load generator: {s['load_generator_cpu_s']:.2f} s CPU = {100 * s['load_generator_cores']:.0f}% of one core"
        f" ({s['load_generator_cpu_ms_per_request']:.3f} ms CPU per request)"
    )
    if window is not None:
        print(f"  {window.line()}")
        s["cpu"] = window.summary()
    if diagnosis is not None:
        for line in diagnosis.lines():
            print(line)
        s["diagnosis"] = diagnosis.result
    return s


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- the run -----------------------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        running: services.Stack,
        infra: infrastructure.Infra,
        procs: StackProcesses,
        load: LoadProcess,
        results: dict[str, Any],
    ) -> None:
        self.running = running
        self.infra = infra
        self.procs = procs
        self.load = load
        url = urlsplit(running.gateway_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.tag = bench_seed.run_tag()
        self.results = results
        self.client = "raw"
        self.web = login(running.gateway_url)  # httpx, for the checks; the load generator gets the session cookie
        self.cookie = self.web.cookies["xh_session"]

    def http(self, port: int | None = None, **kwargs: Any) -> HttpSpec:
        return HttpSpec(host=self.host, port=port or self.port, cookie=self.cookie, client=self.client, **kwargs)

    def timed(self, command: str, spec: Any) -> tuple[Outcome, CpuWindow]:
        with CpuWindow(self.procs) as window:
            outcome = self.load.run(command, spec)
        return outcome, window

    def diagnosis(self) -> Diagnosis:
        return Diagnosis(self.running.health_ports, self.infra.postgres_url, list(infrastructure.SERVICE_DATABASES))

    def settle(self) -> None:
        """A phase starts once the events of the one before are all handled, so it is not charged for them."""
        urls = [self.infra.database_url(name) for name in infrastructure.SERVICE_DATABASES]
        took = asyncio.run(settle(self.infra.nats_url, urls))
        if took >= 1.0:
            print(f"\n(waited {took:.1f} s for what the previous phase left behind: events, statements still running)")

    def composed(self, spec: HttpSpec) -> tuple[Outcome, CpuWindow, Diagnosis]:
        """A phase on the stack, with where its time went."""
        self.settle()
        with self.diagnosis() as diagnosis:
            outcome, window = self.timed("http", spec)
        return outcome, window, diagnosis

    # --- data ---

    def seed(self) -> None:
        started = time.monotonic()
        self.pairs = asyncio.run(
            bench_seed.seed_registry(self.infra.database_url("certificate_registry"), PAIRS, self.tag)
        )
        took_pairs = time.monotonic() - started
        started = time.monotonic()
        self.query = asyncio.run(
            bench_seed.seed_applications(self.infra.database_url("coordination_request"), ROWS, self.tag)
        )
        took_rows = time.monotonic() - started
        started = time.monotonic()
        self.scratch = f"bench_scratch_{self.tag.lower()}"
        self.scratch_ids = asyncio.run(
            bench_seed.scratch_database(
                self.infra.postgres_url, self.infra.database_url(self.scratch), self.scratch, 120_000
            )
        )
        took_scratch = time.monotonic() - started
        print("\ndata (COPY straight into the databases)")
        print(f"  {PAIRS:,} certificate/export-declaration pairs of {bench_seed.ENTERPRISE.name}: {took_pairs:.1f} s")
        print(f"  {ROWS:,} applications of the same enterprise for 查询, then VACUUM ANALYZE: {took_rows:.1f} s")
        print(f"  scratch database {self.scratch} (coordination-request schema, 120,000 drafts): {took_scratch:.1f} s")
        self.results["data"] = {
            "pairs": PAIRS,
            "applications": ROWS,
            "seconds": {"pairs": took_pairs, "applications": took_rows, "scratch": took_scratch},
        }

    # --- the client ---

    def choose_client(self, bare_port: int) -> None:
        body = bench_seed.draft_body(self.pairs[0])
        job = Job("POST", BASE, body)
        costs = {}
        print(f"\nload generator's HTTP client: CPU per request against the bare app (c={CLIENTS}, 3 s each)")
        for client in ("raw", "aiohttp"):
            self.client = client
            outcome = self.load.run(
                "http", self.http(bare_port, concurrency=CLIENTS, seconds=3.0, repeat=job, warmup_seconds=1.0)
            )
            n = len(outcome.samples)
            costs[client] = {
                "cpu_ms_per_request": outcome.cpu_s * 1000 / n if n else float("inf"),
                "rate_per_s": outcome.rate(),
                "load_generator_cores": outcome.cpu_share(),
            }
            name = "raw asyncio HTTP/1.1 keep-alive" if client == "raw" else "aiohttp 3.14"
            print(
                f"  {name:<33} {costs[client]['cpu_ms_per_request']:.3f} ms CPU/request,"
                f" {outcome.rate():,.0f} req/s, {100 * outcome.cpu_share():.0f}% of a core"
            )
        self.client = min(costs, key=lambda c: costs[c]["cpu_ms_per_request"])
        print(f"  → using {self.client} for every phase")
        self.results["client"] = {"chosen": self.client, "candidates": costs}

    # --- raw limits that need no stack ---

    def raw_limits(self, bare_port: int) -> None:
        body = bench_seed.draft_body(self.pairs[0])
        outcome, window = self.timed(
            "http",
            self.http(
                bare_port, concurrency=CLIENTS, seconds=SECONDS, repeat=Job("POST", BASE, body), warmup_seconds=1.0
            ),
        )
        self.results["raw_bare_gateway"] = show(
            f"RAW bare gateway: POST answering a constant (Litestar + uvicorn + uvloop, own process; c={CLIENTS},"
            f" {SECONDS:.0f} s)",
            outcome,
            window,
        )
        outcome, window = self.timed(
            "pg_tx",
            PgTxSpec(self.infra.database_url(self.scratch), self.scratch_ids, RAW_DB_CONNECTIONS, SECONDS),
        )
        self.results["raw_db_tx"] = show(
            f"RAW PostgreSQL: UPDATE status/version + INSERT status_history + INSERT outbox, one transaction each"
            f" (asyncpg, {RAW_DB_CONNECTIONS} connections, scratch database, {SECONDS:.0f} s)",
            outcome,
            window,
            unit="tx/s",
        )
        asyncio.run(bench_seed.drop_database(self.infra.postgres_url, self.scratch))

    # --- 暂存, then the drafts for 提交 and for the uploads ---

    def create_drafts(self) -> None:
        jobs = [Job("POST", BASE, bench_seed.draft_body(p), tag=str(i)) for i, p in enumerate(self.pairs)]
        outcome, window, diagnosis = self.composed(
            self.http(concurrency=CLIENTS, seconds=SECONDS, jobs=jobs, keep_bodies=True)
        )
        self.results["create"] = show(
            f"暂存 POST {BASE} through the gateway (c={CLIENTS}, {SECONDS:.0f} s; each its own certificate)",
            outcome,
            window,
            diagnosis=diagnosis,
        )
        drafts = []
        for sample in sorted(outcome.ok, key=lambda s: s.job):
            created = json.loads(sample.body)["request"]
            drafts.append((created["id"], created["version"]))
        # Untimed top-up: 提交 gets at least SUBMIT_DRAFTS_MIN drafts, whatever 暂存's rate was.
        missing = SUBMIT_DRAFTS_MIN + UPLOAD_APPLICATIONS - len(drafts)
        if missing > 0:
            used = {s.job for s in outcome.samples}
            spare = [j for i, j in enumerate(jobs) if i not in used][:missing]
            more = self.load.run("http", self.http(concurrency=CLIENTS, seconds=600.0, jobs=spare, keep_bodies=True))
            for sample in more.ok:
                created = json.loads(sample.body)["request"]
                drafts.append((created["id"], created["version"]))
            print(f"\nprepared for 提交 (untimed): {len(more.ok):,} more drafts, {more.rate():,.0f} req/s")
        self.upload_drafts = drafts[:UPLOAD_APPLICATIONS]
        self.submit_drafts = drafts[UPLOAD_APPLICATIONS : UPLOAD_APPLICATIONS + SUBMIT_DRAFTS_MAX]
        if len(self.upload_drafts) < UPLOAD_APPLICATIONS or not self.submit_drafts:
            raise SystemExit(f"暂存 created only {len(drafts)} drafts; the bench needs more than {UPLOAD_APPLICATIONS}")

        # Untimed preparation: one small PDF on each draft that 提交 will submit.
        body, content_type = bench_seed.multipart(PDF)
        jobs = [
            Job("POST", f"{BASE}/{rid}/attachments", body, content_type, tag=str(i))
            for i, (rid, _) in enumerate(self.submit_drafts)
        ]
        outcome = self.load.run("http", self.http(concurrency=CLIENTS, seconds=600.0, jobs=jobs))
        attached = {s.job for s in outcome.ok}
        self.submit_drafts = [d for i, d in enumerate(self.submit_drafts) if i in attached]
        print(
            f"\nprepared for 提交 (untimed): {len(attached):,} drafts got one PDF each,"
            f" {outcome.rate():,.0f} uploads/s; {len(self.upload_drafts)} more drafts kept for the 4 MiB uploads"
        )
        self.results["prepare_attachments"] = summarize(outcome)

    @contextmanager
    def profiled(self, phase: str) -> Iterator[None]:
        """With BENCH_PROFILE=1: py-spy flame graphs of every service and the gateway during the phase, written to
        .profiles/ (git-ignored)."""
        if os.environ.get("BENCH_PROFILE") != "1":
            yield
            return
        PROFILES.mkdir(exist_ok=True)
        spy = Path(sys.executable).parent / "py-spy"
        recorders = [
            subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--nonblocking",
                    "-r",
                    "200",
                    "-d",
                    str(int(SECONDS)),
                    "-p",
                    str(proc.pid),
                    "-o",
                    str(PROFILES / f"{phase}-{name}.svg"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, proc in self.running.processes.items()
        ]
        try:
            yield
        finally:
            for recorder in recorders:
                recorder.wait(timeout=SECONDS + 30)
            print(f"  flame graphs: {', '.join(sorted(p.name for p in PROFILES.glob(phase + '-*.svg')))} in {PROFILES}")

    # --- 提交, and 待办 seen on the event bus ---

    def submit(self) -> None:
        self.settle()
        self.results["raw_event_hops"] = asyncio.run(self._raw_event_hops())
        jobs = [
            Job("POST", f"{BASE}/{rid}/submit", json.dumps({"version": version}).encode(), tag=rid)
            for rid, version in self.submit_drafts
        ]
        spec = self.http(concurrency=CLIENTS, seconds=SECONDS, jobs=jobs)
        outcome, window, diagnosis, visible = asyncio.run(self._submit_watching(spec, jobs))
        self.results["submit"] = show(
            f"提交 POST {BASE}/{{id}}/submit through the gateway (c={CLIENTS}, {SECONDS:.0f} s, each on its own"
            f" prepared draft with one attachment; {len(jobs):,} drafts ready)",
            outcome,
            window,
            diagnosis=diagnosis,
        )
        self.results["pending_visible"] = visible
        print(
            "\n提交 response → 待办 (PENDING) visible: status_changed event on core NATS (ops user), clocked from the"
            " moment the load generator had the 提交 response"
        )
        print(
            f"  {visible['seen']:,} of {visible['submitted']:,} reached 待办 by {visible['waited_s']:.1f} s after the phase"
            f" (海关接收失败: {visible['receipt_failed']}, none seen: {visible['missing']});"
            f" p50 {visible['p50_ms']:.1f} ms, p99 {visible['p99_ms']:.1f} ms, max {visible['max_ms']:.1f} ms"
        )
        backlog = ", ".join(f"{k} {v:,}" for k, v in visible["consumer_backlog_peak"].items()) or "none"
        print(f"  peak backlog of the JetStream consumers (pending + unacknowledged events): {backlog}")

    async def _submit_watching(self, spec: HttpSpec, jobs: list[Job]):
        import msgspec
        import nats

        from shared.contracts.events import RequestStatusChanged

        seen: dict[str, tuple[str, float]] = {}

        async def on_event(msg) -> None:
            arrived = time.monotonic()
            event = msgspec.json.decode(msg.data)
            if event.get("toStatus") in ("PENDING", "RECEIPT_FAILED"):
                seen.setdefault(event["requestId"], (event["toStatus"], arrived))

        nc = await nats.connect(self.infra.nats_url, name="bench")
        stop_watching = asyncio.Event()
        backlog = asyncio.create_task(consumer_backlog(self.infra.nats_url, stop_watching))
        try:
            await nc.subscribe(RequestStatusChanged.subject(), cb=on_event)
            await nc.flush()
            loop = asyncio.get_running_loop()
            with self.diagnosis() as diagnosis, CpuWindow(self.procs) as window, self.profiled("submit"):
                outcome = await loop.run_in_executor(None, self.load.run, "http", spec)
            answered = {jobs[s.job].tag: s.end for s in outcome.ok}
            started = time.monotonic()
            while time.monotonic() - started < 60 and not answered.keys() <= seen.keys():
                await asyncio.sleep(0.1)
            waited = time.monotonic() - started
        finally:
            stop_watching.set()
            peaks = await backlog
            await nc.drain()
        pending = [max(0.0, (seen[r][1] - t) * 1000) for r, t in answered.items() if seen.get(r, ("",))[0] == "PENDING"]
        return (
            outcome,
            window,
            diagnosis,
            {
                "consumer_backlog_peak": peaks,
                "method": "core NATS subscription to " + RequestStatusChanged.subject() + ", toStatus PENDING",
                "submitted": len(answered),
                "seen": len(pending),
                "receipt_failed": sum(1 for r in answered if seen.get(r, ("",))[0] == "RECEIPT_FAILED"),
                "missing": sum(1 for r in answered if r not in seen),
                "waited_s": waited,
                "p50_ms": percentile(pending, 0.50),
                "p99_ms": percentile(pending, 0.99),
                "max_ms": max(pending, default=float("nan")),
            },
        )

    async def _raw_event_hops(self, hops: int = 3, seconds: float = 3.0) -> dict[str, Any]:
        """The event path's floor: a message through `hops` JetStream publishes (each acked, file storage like the
        EVENTS stream), each picked up by a core subscriber that publishes the next, at idle, one at a time."""
        import nats
        from nats.js.api import StorageType, StreamConfig

        nc = await nats.connect(self.infra.nats_url, name="bench-raw-hops")
        js = nc.jetstream()
        stream, prefix = f"BENCH_HOPS_{self.tag}", f"bench.hops.{self.tag}"
        await js.add_stream(StreamConfig(name=stream, subjects=[prefix + ".>"], storage=StorageType.FILE))
        done: asyncio.Future | None = None

        async def relay(msg) -> None:
            hop = int(msg.subject.rsplit(".", 1)[1])
            if hop < hops:
                await js.publish(f"{prefix}.{hop + 1}", msg.data)
            elif done is not None and not done.done():
                done.set_result(time.monotonic())

        latencies = []
        try:
            await nc.subscribe(prefix + ".*", cb=relay)
            loop = asyncio.get_running_loop()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                done = loop.create_future()
                start = time.monotonic()
                await js.publish(f"{prefix}.1", b'{"toStatus":"PENDING"}')
                latencies.append((await asyncio.wait_for(done, 5) - start) * 1000)
        finally:
            await js.delete_stream(stream)
            await nc.drain()
        result = {
            "hops": hops,
            "n": len(latencies),
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
        }
        print(
            f"\nRAW event path: {hops} acked JetStream publishes, each relayed by a core subscriber (idle, one at a time,"
            f" {seconds:.0f} s): p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms ({len(latencies):,} runs)"
        )
        return result

    # --- 查询 ---

    def query_list(self) -> None:
        q = self.query
        params = (
            f"status={bench_seed.QUERY_STATUS}&proofType={bench_seed.QUERY_PROOF_TYPE}&limit={q.limit}"
            f"&cursor={quote(q.cursor)}"
        )
        path = f"{BASE}?{params}"
        page = self.web.get(path).json()
        first = self.web.get(path.split("&cursor=")[0]).json()  # the total is counted on the first page only
        sane = (
            first.get("total") == q.total
            and bool(first.get("totalCapped")) == (q.matching > q.total)
            and page.get("total") is None
            and len(page.get("items", [])) == q.last_page
            and not page.get("nextCursor")
        )
        shown = f"{first.get('total')}{'+' if first.get('totalCapped') else ''} (on the first page)"
        print(
            f"\n查询 over {q.rows:,} applications: status={bench_seed.QUERY_STATUS} & proofType="
            f"{bench_seed.QUERY_PROOF_TYPE} match {q.matching:,}; the last page (cursor built directly) answered"
            f" {len(page.get('items', []))} items of total {shown}"
            f" ({'as expected' if sane else 'NOT AS EXPECTED: ' + json.dumps(page, ensure_ascii=False)[:300]})"
        )
        self.results["query_check"] = {
            "matching": q.matching,
            "expected_total": q.total,
            "total": first.get("total"),
            "total_capped": first.get("totalCapped"),
            "as_expected": sane,
        }
        # The SQL alone first, on an idle server: requests the gateway gives up on at c=32 run on in PostgreSQL.
        self.settle()
        dsn = self.infra.database_url("coordination_request")
        for key, label, sql, args in (
            ("raw_query_page", "the keyset page alone", q.page_sql, q.page_args),
            ("raw_query_count", "the capped count(*) the endpoint also runs", q.count_sql, q.count_args),
        ):
            outcome, window = self.timed("pg_query", PgQuerySpec(dsn, sql, args, 1, SECONDS / 2))
            self.results[key] = show(
                f"RAW PostgreSQL, {label} (asyncpg, prepared, c=1, {SECONDS / 2:.0f} s)", outcome, window, unit="q/s"
            )
        for concurrency in (1, CLIENTS):
            outcome, window, diagnosis = self.composed(
                self.http(concurrency=concurrency, seconds=SECONDS, repeat=Job("GET", path), warmup_seconds=1.0),
            )
            self.results[f"query_c{concurrency}"] = show(
                f"查询 GET {BASE}?… last page, through the gateway (c={concurrency}, {SECONDS:.0f} s)",
                outcome,
                window,
                diagnosis=diagnosis,
            )

    # --- 4 MiB uploads ---

    def uploads(self) -> None:
        body, content_type = bench_seed.multipart(bench_seed.pdf(UPLOAD_SIZE))
        jobs = [
            Job("POST", f"{BASE}/{rid}/attachments", "file", content_type)
            for _ in range(UPLOADS_PER_APPLICATION)
            for rid, _ in self.upload_drafts
        ]
        watched = ["gateway", "attachment"]
        baseline_samples = []
        for _ in range(10):
            baseline_samples.append(self.procs.memory(watched, pss=False))
            time.sleep(0.05)
        baseline = {n: statistics.median(s[n]["rss"] for s in baseline_samples) for n in watched}
        sampler = MemorySampler(self.procs, 0.05, watched, pss=False).start()
        try:
            outcome, window, diagnosis = self.composed(
                self.http(concurrency=UPLOAD_CLIENTS, seconds=SECONDS, jobs=jobs, bodies={"file": body}),
            )
        finally:
            samples = sampler.stop()
        time.sleep(1.0)
        after = self.procs.memory(watched, pss=False)
        result = show(
            f"4 MiB uploads POST {BASE}/{{id}}/attachments through the gateway to S3 ({UPLOAD_SIZE:,}-byte PDFs,"
            f" c={UPLOAD_CLIENTS}, {SECONDS:.0f} s, spread over {len(self.upload_drafts)} applications)",
            outcome,
            window,
            unit="uploads/s",
            diagnosis=diagnosis,
        )
        # Flat: the last third peaks no higher than the middle third (the first third is the ramp-up).
        t0, t1 = (samples[0][0], samples[-1][0]) if samples else (0.0, 0.0)
        one_third, two_thirds = t0 + (t1 - t0) / 3, t0 + 2 * (t1 - t0) / 3
        memory = {}
        for name in watched:
            middle = max((s[name]["rss"] for t, s in samples if one_third <= t < two_thirds), default=0.0)
            last = max((s[name]["rss"] for t, s in samples if t >= two_thirds), default=0.0)
            peak = max((s[name]["rss"] for _, s in samples), default=0.0)
            memory[name] = {
                "baseline_mib": baseline[name],
                "peak_mib": peak,
                "peak_growth_mib": peak - baseline[name],
                "last_third_over_middle_mib": last - middle,
                "after_mib": after[name]["rss"],
                "flat": last - middle <= RSS_FLAT_MIB,
            }
            m = memory[name]
            print(
                f"  RSS {name}: {m['baseline_mib']:.0f} MiB before, peak {m['peak_mib']:.0f} MiB"
                f" (+{m['peak_growth_mib']:.0f}), last third vs middle third {m['last_third_over_middle_mib']:+.0f} MiB"
                f" ({'flat' if m['flat'] else 'GROWING'}), {m['after_mib']:.0f} MiB 1 s after"
                f" ({len(samples)} samples every 50 ms)"
            )
        result["rss"] = memory
        self.results["uploads"] = result
        outcome, window = self.timed(
            "s3",
            S3Spec(
                self.infra.s3_endpoint,
                self.infra.s3_access_key,
                self.infra.s3_secret_key,
                f"bench-raw-{self.tag.lower()}",
                UPLOAD_SIZE,
                UPLOAD_CLIENTS,
                SECONDS,
            ),
        )
        self.results["raw_s3"] = show(
            f"RAW S3: put_object of {UPLOAD_SIZE:,} bytes with the MinIO client (threads, c={UPLOAD_CLIENTS},"
            f" {SECONDS:.0f} s)",
            outcome,
            window,
            unit="puts/s",
        )


# --- memory at rest ---


def idle_memory(procs: StackProcesses) -> dict[str, dict[str, float]]:
    time.sleep(5)  # start-up work (migrations, seeds, first probes) settles
    samples = []
    for _ in range(5):
        samples.append(procs.memory())
        time.sleep(0.5)
    idle = {
        name: {key: statistics.median(s[name][key] for s in samples) for key in ("rss", "pss", "processes")}
        for name in procs.names
    }
    print("\nmemory of the idle stack (median of 5 samples; MiB)")
    for name, m in idle.items():
        print(f"  {name:<22} RSS {m['rss']:>7.1f}  PSS {m['pss']:>7.1f}  ({m['processes']:.0f} processes)")
    total_rss = sum(m["rss"] for m in idle.values())
    total_pss = sum(m["pss"] for m in idle.values())
    print(
        f"  {'whole stack':<22} RSS {total_rss:>7.1f}  PSS {total_pss:>7.1f}  (the RSS sum counts a shared page once per process)"
    )
    return idle


# --- the closing lines -------------------------------------------------------------------------------------


def figures(r: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    submit, raw_tx = r["submit"], r["raw_db_tx"]
    create, bare = r["create"], r["raw_bare_gateway"]
    q1, q32, page = r["query_c1"], r[f"query_c{CLIENTS}"], r["raw_query_page"]
    visible, hops = r["pending_visible"], r["raw_event_hops"]
    uploads, s3 = r["uploads"], r["raw_s3"]
    idle, loaded = r["memory"]["idle"], r["memory"]["loaded"]
    submit_ratio = submit["rate_per_s"] / raw_tx["rate_per_s"] if raw_tx["rate_per_s"] else 0.0
    flat = all(m["flat"] for m in uploads["rss"].values())
    growth = ", ".join(f"{n} +{m['peak_growth_mib']:.0f} MiB peak" for n, m in uploads["rss"].items())
    infra_idle = sum(v["pss"] for k, v in idle["groups"].items() if k in INFRA)
    infra_loaded = sum(v["pss"] for k, v in loaded["groups"].items() if k in INFRA)
    rows = [
        {
            "name": f"提交 composed c={CLIENTS}",
            "value": f"{submit['rate_per_s']:,.0f} req/s, p50 {submit['p50_ms']:.1f} ms, p99 {submit['p99_ms']:.1f} ms",
            "raw": f"raw DB tx {raw_tx['rate_per_s']:,.0f} tx/s (c={RAW_DB_CONNECTIONS}), p99 {raw_tx['p99_ms']:.1f} ms",
            "ratio": submit_ratio,
            "numbers": {
                "rate_per_s": submit["rate_per_s"],
                "p50_ms": submit["p50_ms"],
                "p99_ms": submit["p99_ms"],
                "raw_tx_per_s": raw_tx["rate_per_s"],
            },
            "target": "≥ 0.25× raw tx, p99 ≤ 50 ms",
            "pass": submit_ratio >= 0.25 and submit["p99_ms"] <= 50,
        },
        {
            "name": f"暂存 c={CLIENTS}",
            "value": f"{create['rate_per_s']:,.0f} req/s, p50 {create['p50_ms']:.1f} ms, p99 {create['p99_ms']:.1f} ms",
            "raw": f"bare gateway {bare['rate_per_s']:,.0f} req/s, p99 {bare['p99_ms']:.1f} ms",
            "ratio": create["rate_per_s"] / bare["rate_per_s"] if bare["rate_per_s"] else 0.0,
            "numbers": {
                "rate_per_s": create["rate_per_s"],
                "p50_ms": create["p50_ms"],
                "p99_ms": create["p99_ms"],
                "raw_rate_per_s": bare["rate_per_s"],
            },
            "target": "≥ 800 req/s, p99 ≤ 50 ms",
            "pass": create["rate_per_s"] >= 800 and create["p99_ms"] <= 50,
        },
        {
            "name": f"查询 {r['data']['applications']:,} rows last page c=1",
            "value": f"p50 {q1['p50_ms']:.1f} ms, p99 {q1['p99_ms']:.1f} ms",
            "raw": f"page SQL p99 {page['p99_ms']:.2f} ms (capped count(*) p99 {r['raw_query_count']['p99_ms']:.1f} ms)",
            "ratio": page["p99_ms"] / q1["p99_ms"] if q1["p99_ms"] else 0.0,
            "numbers": {
                "p50_ms": q1["p50_ms"],
                "p99_ms": q1["p99_ms"],
                "raw_page_p99_ms": page["p99_ms"],
                "raw_count_p99_ms": r["raw_query_count"]["p99_ms"],
            },
            "target": "p99 ≤ 10 ms",
            "pass": q1["p99_ms"] <= 10,
        },
        {
            "name": f"查询 {r['data']['applications']:,} rows last page c={CLIENTS}",
            "value": f"{q32['rate_per_s']:,.0f} req/s, p50 {q32['p50_ms']:.1f} ms, p99 {q32['p99_ms']:.1f} ms",
            "raw": f"page SQL p99 {page['p99_ms']:.2f} ms (c=1)",
            "numbers": {"rate_per_s": q32["rate_per_s"], "p50_ms": q32["p50_ms"], "p99_ms": q32["p99_ms"]},
            "ratio": page["p99_ms"] / q32["p99_ms"] if q32["p99_ms"] else 0.0,
            "target": "(none)",
            "pass": None,
        },
        {
            "name": "提交 → 待办 visible under 提交 load",
            "value": f"p50 {visible['p50_ms']:.1f} ms, p99 {visible['p99_ms']:.1f} ms"
            f" (NATS event; {visible['seen']:,} of {visible['submitted']:,} seen)",
            "raw": f"{hops['hops']} JetStream hops p99 {hops['p99_ms']:.2f} ms (idle)",
            "ratio": hops["p99_ms"] / visible["p99_ms"] if visible["p99_ms"] else 0.0,
            "numbers": {"p50_ms": visible["p50_ms"], "p99_ms": visible["p99_ms"], "raw_p99_ms": hops["p99_ms"]},
            "target": "p99 ≤ 100 ms",
            "pass": visible["p99_ms"] <= 100 and visible["missing"] == 0,
        },
        {
            "name": f"4 MiB uploads c={UPLOAD_CLIENTS}",
            "value": f"{uploads['rate_per_s']:,.1f} uploads/s, RSS {'flat' if flat else 'GROWING'} ({growth})",
            "raw": f"direct S3 puts {s3['rate_per_s']:,.1f}/s",
            "ratio": uploads["rate_per_s"] / s3["rate_per_s"] if s3["rate_per_s"] else 0.0,
            "numbers": {"rate_per_s": uploads["rate_per_s"], "raw_rate_per_s": s3["rate_per_s"], "rss_flat": flat},
            "target": "≥ 50/s, RSS flat",
            "pass": uploads["rate_per_s"] >= 50 and flat,
        },
        {
            "name": "whole stack idle memory",
            "value": f"PSS {idle['total_pss']:,.0f} MiB (RSS sum {idle['total_rss']:,.0f} MiB)",
            "raw": f"infrastructure alone PSS {infra_idle:,.0f} MiB",
            "ratio": infra_idle / idle["total_pss"] if idle["total_pss"] else 0.0,
            "numbers": {"pss_mib": idle["total_pss"], "rss_sum_mib": idle["total_rss"], "raw_pss_mib": infra_idle},
            "target": "< 1 GiB",
            "pass": idle["total_pss"] < GiB_MiB,
        },
        {
            "name": "whole stack loaded memory (peak)",
            "value": f"PSS {loaded['total_pss']:,.0f} MiB (RSS sum {loaded['total_rss']:,.0f} MiB)",
            "raw": f"infrastructure alone PSS {infra_loaded:,.0f} MiB",
            "numbers": {
                "pss_mib": loaded["total_pss"],
                "rss_sum_mib": loaded["total_rss"],
                "raw_pss_mib": infra_loaded,
            },
            "ratio": infra_loaded / loaded["total_pss"] if loaded["total_pss"] else 0.0,
            "target": "(none)",
            "pass": None,
        },
    ]
    return rows, submit_ratio


def print_figures(rows: list[dict[str, Any]], submit_ratio: float) -> None:
    print(
        "\nfigures (value | raw limit measured in this run | ratio = share of the raw limit reached | target | verdict)"
    )
    for row in rows:
        mark = "-" if row["pass"] is None else verdict(row["pass"])
        ratio = f"{row['ratio']:.2f}" if row["ratio"] >= 0.1 else f"{row['ratio']:.2g}"
        print(f"{row['name']} | {row['value']} | {row['raw']} | {ratio}× | {row['target']} | {mark}")
    print(f"ratio composed-submit/raw-db-tx: {submit_ratio:.2f}")


# --- putting it together -----------------------------------------------------------------------------------


def start_bare(exits: ExitStack, log_dir: Path) -> int:
    port = infrastructure.free_port()
    log = open(log_dir / "bench-bare.log", "ab")
    exits.callback(log.close)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench_bare", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    exits.callback(infrastructure._terminate, proc)

    def ready() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"the bare app exited with code {proc.returncode}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return response.status == 200

    infrastructure.wait_for(ready, "bare app", timeout=30)
    return port


def bench_stack(results: dict[str, Any]) -> None:
    with ExitStack() as exits:
        work = Path(tempfile.mkdtemp(prefix="xianghui-bench-"))
        if os.environ.get("KEEP_BENCH_DATA") != "1":  # removed last, after every server stopped
            exits.callback(shutil.rmtree, work, ignore_errors=True)
        infra = infrastructure.from_environment()
        pg_data = None
        if infra is None:
            infra = infrastructure.start_embedded(exits, work / "data", work / "logs")
            pg_data = work / "data" / "postgres"
        infrastructure.create_databases(infra)
        running = services.start(exits, infra, work / "logs", profile="test")
        exits.callback(services.stop_signal_children, running)
        load = LoadProcess()
        exits.callback(load.close)
        procs = StackProcesses(running, pg_data, load.pid)
        idle = idle_memory(procs)
        bare_port = start_bare(exits, work / "logs")
        bench = Bench(running, infra, procs, load, results)
        exits.callback(bench.web.close)
        bench.seed()
        bench.choose_client(bare_port)
        bench.raw_limits(bare_port)

        loaded = MemorySampler(procs, 1.0, pss=True).start()
        try:
            bench.create_drafts()
            bench.submit()
            bench.query_list()
            bench.uploads()
        finally:
            loaded.stop()
        results["memory"] = memory_report(procs, idle, loaded)
        results["portal"].update(bench_portal.bench_first_screen(running.gateway_url))
        results["portal"].update(bench_portal.bench_lighthouse(running.gateway_url))


def memory_report(procs: StackProcesses, idle: dict, loaded: MemorySampler) -> dict[str, Any]:
    peak = {name: {"rss": loaded.peak(name, "rss"), "pss": loaded.peak(name, "pss")} for name in procs.names}
    report = {
        "idle": {
            "groups": idle,
            "total_rss": sum(m["rss"] for m in idle.values()),
            "total_pss": sum(m["pss"] for m in idle.values()),
        },
        "loaded": {
            "groups": peak,
            "total_rss": loaded.peak_total("rss"),
            "total_pss": loaded.peak_total("pss"),
            "samples": len(loaded.samples),
        },
    }
    print(f"\nmemory, idle vs peak under load (MiB; {len(loaded.samples)} samples every 1 s during the stack phases)")
    print(f"  {'':<22} {'idle RSS':>9} {'idle PSS':>9} {'peak RSS':>9} {'peak PSS':>9}")
    for name in procs.names:
        i, p = idle[name], peak[name]
        print(f"  {name:<22} {i['rss']:>9.1f} {i['pss']:>9.1f} {p['rss']:>9.1f} {p['pss']:>9.1f}")
    print(
        f"  {'whole stack':<22} {report['idle']['total_rss']:>9.1f} {report['idle']['total_pss']:>9.1f}"
        f" {report['loaded']['total_rss']:>9.1f} {report['loaded']['total_pss']:>9.1f}"
        "  (PSS splits a shared page between the processes that map it; the RSS sum counts it once per process)"
    )
    return report


def _finite(value: Any) -> Any:
    """NaN (a phase with no sample) becomes null: JSON has no NaN."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def main() -> None:
    started = time.monotonic()
    results: dict[str, Any] = {
        "run": {
            "started_at": datetime.now(UTC).isoformat(),
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "seconds_per_phase": SECONDS,
            "clients": CLIENTS,
        }
    }
    results["reference_search"] = bench_search()
    results["portal"] = bench_portal.bench_build()  # before the gateway starts: it reads the build once
    bench_stack(results)
    rows, submit_ratio = figures(results)
    results["figures"] = rows
    results["ratio_composed_submit_raw_db_tx"] = round(submit_ratio, 2)
    results["run"]["took_s"] = time.monotonic() - started
    RESULTS_FILE.write_text(json.dumps(_finite(results), ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"\nall results: {RESULTS_FILE.name} (took {results['run']['took_s']:.0f} s)")
    print_figures(rows, submit_ratio)


if __name__ == "__main__":
    main()
