"""The load generator of `make bench`, in its own process so it is never the hidden bottleneck: HTTP/1.1 clients
(a small raw asyncio keep-alive client and aiohttp), the raw PostgreSQL loops and the raw S3 put loop. Every
command reports the CPU time it cost this process during its timed part.

The bench process talks to it through `LoadProcess.run(command, spec)`; times are `time.monotonic()`
(CLOCK_MONOTONIC, the same clock in every process of the machine), so they can be compared across processes.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import threading
import time
import traceback
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# --- what the bench process asks for -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One HTTP request; `body` is bytes, or the name of a shared body in `HttpSpec.bodies` (4 MiB uploads)."""

    method: str
    path: str
    body: bytes | str = b""
    content_type: str = "application/json"
    tag: str = ""


@dataclass
class HttpSpec:
    host: str
    port: int
    cookie: str  # the xh_session value
    concurrency: int
    seconds: float
    jobs: list[Job] | None = None  # each used once, in order, until the time is up or they run out
    repeat: Job | None = None  # or this one again and again
    warmup_seconds: float = 0.0  # `repeat` only: run, then discard, before the timed part
    keep_bodies: bool = False
    client: str = "raw"  # "raw" | "aiohttp"
    bodies: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Sample:
    job: int  # index into HttpSpec.jobs, -1 for `repeat`
    status: int  # 0: the connection failed
    start: float
    end: float
    body: bytes | None = None


@dataclass
class Outcome:
    """What a timed loop did: its samples, its wall time and the CPU time it cost the load process."""

    samples: list[Sample]
    wall_s: float
    cpu_s: float
    exhausted: bool = False  # the jobs ran out before the time was up
    errors: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if 200 <= s.status < 300]

    def rate(self) -> float:
        return len(self.ok) / self.wall_s if self.wall_s else 0.0

    def latencies_ms(self) -> list[float]:
        """Of every answered request, refusals and errors included: a 503 after a timeout is a wait a user had."""
        return [(s.end - s.start) * 1000 for s in self.samples if s.status]

    def statuses(self) -> dict[int, int]:
        return dict(Counter(s.status for s in self.samples))

    def cpu_share(self) -> float:
        """Cores of CPU the load process used while it ran (1.0 = one core busy)."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


@dataclass
class PgTxSpec:
    dsn: str
    ids: list[uuid.UUID]
    connections: int
    seconds: float


@dataclass
class PgQuerySpec:
    dsn: str
    sql: str
    args: tuple
    concurrency: int
    seconds: float
    warmup: int = 20


@dataclass
class S3Spec:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    size: int
    concurrency: int
    seconds: float


# --- the raw HTTP/1.1 client ------------------------------------------------------------------------------


def _parse_response(buf: bytearray) -> tuple[int, bytes, int, bool] | None:
    """(status, body, bytes used, server closes) of the first complete response in buf, or None for more."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    status = int(head[9:12])
    start = end + 4
    close = b"\r\nconnection: close" in head
    i = head.find(b"\r\ncontent-length:")
    if i >= 0:
        j = head.find(b"\r\n", i + 2)
        length = int(head[i + 17 : j if j >= 0 else len(head)])
        if len(buf) < start + length:
            return None
        return status, bytes(buf[start : start + length]), start + length, close
    if b"\r\ntransfer-encoding: chunked" in head:
        pos, body = start, bytearray()
        while True:
            k = buf.find(b"\r\n", pos)
            if k < 0:
                return None
            size = int(bytes(buf[pos:k]).split(b";")[0], 16)
            if size == 0:
                if len(buf) < k + 4:
                    return None
                return status, bytes(body), k + 4, close
            if len(buf) < k + 2 + size + 2:
                return None
            body += buf[k + 2 : k + 2 + size]
            pos = k + 2 + size + 2
    return status, b"", start, close


class _RawConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            parsed = _parse_response(self.buffer)
            if parsed is not None:
                status, body, used, close = parsed
                del self.buffer[:used]
                self.waiter.set_result((status, body, close))

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))


class RawClient:
    """One keep-alive connection; requests one at a time, as a browser tab or an ERP worker does."""

    def __init__(self, spec: HttpSpec) -> None:
        self.spec = spec
        self.host = f"{spec.host}:{spec.port}".encode()
        self.cookie = spec.cookie.encode()
        self.conn: _RawConnection | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, self.conn = await loop.create_connection(_RawConnection, self.spec.host, self.spec.port)

    async def send(self, job: Job, body: bytes) -> tuple[int, bytes]:
        if self.conn is None or self.conn.closed:
            await self.connect()
        conn = self.conn
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\nCookie: xh_session=%s\r\n" % (
            job.method.encode(),
            job.path.encode(),
            self.host,
            self.cookie,
        )
        if body or job.method in ("POST", "PUT"):
            head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (job.content_type.encode(), len(body))
        conn.waiter = asyncio.get_running_loop().create_future()
        conn.transport.write(head + b"\r\n")
        if body:
            conn.transport.write(body)
        status, content, close = await conn.waiter
        if close:
            conn.transport.close()
            self.conn = None
        return status, content

    async def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()


class AiohttpClient:
    """aiohttp, one session per worker (one keep-alive connection each), for the per-request cost comparison."""

    def __init__(self, spec: HttpSpec) -> None:
        import aiohttp

        self.spec = spec
        self.base = f"http://{spec.host}:{spec.port}"
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Cookie": f"xh_session={spec.cookie}"},
        )

    async def connect(self) -> None:
        return None

    async def send(self, job: Job, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": job.content_type} if body or job.method in ("POST", "PUT") else None
        async with self.session.request(job.method, self.base + job.path, data=body or None, headers=headers) as r:
            return r.status, await r.read()

    async def close(self) -> None:
        await self.session.close()


async def run_http(spec: HttpSpec) -> Outcome:
    make = RawClient if spec.client == "raw" else AiohttpClient
    clients = [make(spec) for _ in range(spec.concurrency)]
    await asyncio.gather(*(c.connect() for c in clients))
    errors: Counter[str] = Counter()
    try:
        if spec.warmup_seconds and spec.repeat is not None:
            await _loop(spec, clients, spec.warmup_seconds, errors, keep=False)
            errors.clear()
        cpu0 = time.process_time()
        samples, exhausted = await _loop(spec, clients, spec.seconds, errors, keep=spec.keep_bodies)
        cpu = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    wall = (max(s.end for s in samples) - min(s.start for s in samples)) if samples else 0.0
    return Outcome(samples, wall, cpu, exhausted, dict(errors))


async def _loop(spec: HttpSpec, clients: list, seconds: float, errors: Counter, *, keep: bool):
    samples: list[Sample] = []
    jobs = spec.jobs
    deadline = time.monotonic() + seconds
    position = 0
    exhausted = False

    async def worker(client) -> None:
        nonlocal position, exhausted
        while time.monotonic() < deadline:
            if jobs is not None:
                if position >= len(jobs):
                    exhausted = True
                    return
                index, job = position, jobs[position]
                position += 1
            else:
                index, job = -1, spec.repeat
            body = spec.bodies[job.body] if isinstance(job.body, str) else job.body
            start = time.monotonic()
            try:
                status, content = await client.send(job, body)
            except Exception as exc:  # counted and shown, never hidden
                errors[type(exc).__name__] += 1
                status, content = 0, b""
                if isinstance(client, RawClient):
                    client.conn = None
            samples.append(Sample(index, status, start, time.monotonic(), content if keep else None))

    await asyncio.gather(*(worker(c) for c in clients))
    return samples, exhausted


# --- raw PostgreSQL ---------------------------------------------------------------------------------------

# An outbox payload of the size a RequestSubmitted event has (the form snapshot, in JSON).
_EVENT_PAYLOAD = (
    b'{"eventId":"00000000-0000-0000-0000-000000000000","occurredAt":"2026-01-01T00:00:00Z",'
    b'"requestId":"00000000-0000-0000-0000-000000000000","version":2,"submittedAt":"2026-01-01T00:00:00Z",'
    b'"form":{"requestNo":"XT20260101000001","proofType":"CUSTOMS_CO","creditCode":"91310115MA1K4B2X0T",'
    + '"enterpriseName":"上海华贸进出口有限公司","importCountry":"JP","importPort":"JPTYO",'.encode()
    + b'"certificateNo":"K2631000000001","agreementCode":"22","exportDeclarationNo":"310120260000123456",'
    + b'"importDeclarationNo":"JP-IMP-2026-0001","reason":"'
    + "日本海关以原产地证书签发日期晚于出运日期为由拒绝给予RCEP协定税率。".encode()
    + b'"}}'
)


async def run_pg_tx(spec: PgTxSpec) -> Outcome:
    """The state change of a 提交 written straight to PostgreSQL: one transaction each of UPDATE the application's
    status and version, INSERT its status_history row, INSERT its outbox row."""
    import asyncpg

    conns = [await asyncpg.connect(spec.dsn) for _ in range(spec.connections)]
    samples: list[Sample] = []
    position = 0
    exhausted = False
    deadline = time.monotonic() + spec.seconds

    async def worker(conn) -> None:
        nonlocal position, exhausted
        while time.monotonic() < deadline:
            if position >= len(spec.ids):
                exhausted = True
                return
            rid = spec.ids[position]
            position += 1
            start = time.monotonic()
            async with conn.transaction():
                await conn.execute(
                    "UPDATE coordination_requests SET status = 'DECLARED', version = version + 1,"
                    " updated_at = now(), submitted_at = now() WHERE id = $1",
                    rid,
                )
                await conn.execute(
                    "INSERT INTO status_history (request_id, actor, action, from_status, to_status)"
                    " VALUES ($1, $2, 'SUBMIT', 'DRAFT', 'DECLARED')",
                    rid,
                    "张敏",
                )
                await conn.execute(
                    "INSERT INTO outbox (id, subject, event_type, payload, headers) VALUES ($1, $2, $3, $4, $5::jsonb)",
                    uuid.uuid4(),
                    "events.coordination.request.submitted.v1",
                    "coordination.request.submitted.v1",
                    _EVENT_PAYLOAD,
                    '{"Event-Type": "coordination.request.submitted.v1"}',
                )
            samples.append(Sample(-1, 200, start, time.monotonic()))

    cpu0 = time.process_time()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        cpu = time.process_time() - cpu0
        await asyncio.gather(*(c.close() for c in conns))
    wall = (max(s.end for s in samples) - min(s.start for s in samples)) if samples else 0.0
    return Outcome(samples, wall, cpu, exhausted)


async def run_pg_query(spec: PgQuerySpec) -> Outcome:
    """One statement again and again, as the service sends it (prepared, through asyncpg)."""
    import asyncpg

    conns = [await asyncpg.connect(spec.dsn) for _ in range(spec.concurrency)]
    samples: list[Sample] = []
    rows = 0
    try:
        for conn in conns:
            for _ in range(spec.warmup):
                rows = len(await conn.fetch(spec.sql, *spec.args))
        deadline = time.monotonic() + spec.seconds

        async def worker(conn) -> None:
            while time.monotonic() < deadline:
                start = time.monotonic()
                await conn.fetch(spec.sql, *spec.args)
                samples.append(Sample(-1, 200, start, time.monotonic()))

        cpu0 = time.process_time()
        await asyncio.gather(*(worker(c) for c in conns))
        cpu = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    wall = (max(s.end for s in samples) - min(s.start for s in samples)) if samples else 0.0
    return Outcome(samples, wall, cpu, extra={"rows": rows})


# --- raw S3 -----------------------------------------------------------------------------------------------


def run_s3(spec: S3Spec) -> Outcome:
    """Objects of the upload size put straight into S3 with the MinIO client the attachment service uses."""
    from minio import Minio

    from services.attachment.storage import http

    client = Minio(
        spec.endpoint,
        access_key=spec.access_key,
        secret_key=spec.secret_key,
        secure=False,
        http_client=http(read=30.0),
    )
    if not client.bucket_exists(spec.bucket):
        client.make_bucket(spec.bucket)
    data = b"%PDF-" + bytes(spec.size - 5)
    samples: list[Sample] = []
    keys: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + spec.seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            key = f"bench/{uuid.uuid4()}"
            start = time.monotonic()
            client.put_object(spec.bucket, key, io.BytesIO(data), len(data), content_type="application/pdf")
            with lock:
                samples.append(Sample(-1, 200, start, time.monotonic()))
                keys.append(key)

    cpu0 = time.process_time()
    with ThreadPoolExecutor(spec.concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(spec.concurrency)]:
            future.result()
    cpu = time.process_time() - cpu0
    with ThreadPoolExecutor(spec.concurrency) as pool:  # leave the bucket as it was
        list(pool.map(lambda k: client.remove_object(spec.bucket, k), keys))
    client.remove_bucket(spec.bucket)
    wall = (max(s.end for s in samples) - min(s.start for s in samples)) if samples else 0.0
    return Outcome(samples, wall, cpu)


# --- the process ------------------------------------------------------------------------------------------

COMMANDS = {"http": run_http, "pg_tx": run_pg_tx, "pg_query": run_pg_query}


def _serve(conn) -> None:
    import uvloop

    uvloop.install()
    while True:
        message = conn.recv()
        if message is None:
            return
        command, spec = message
        try:
            if command == "s3":
                result: Any = run_s3(spec)
            else:
                result = asyncio.run(COMMANDS[command](spec))
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class LoadProcess:
    """The load generator as a child process (spawned: nothing of the bench process's state comes along)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), name="bench-load", daemon=True)
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def run(self, command: str, spec: Any) -> Outcome:
        self._conn.send((command, spec))
        status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"load process failed in {command}:\n{result}")
        return result

    def close(self) -> None:
        if self.process.is_alive():
            self._conn.send(None)
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
