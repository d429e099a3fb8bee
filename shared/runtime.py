"""Lifecycle of a service process: config, database and migrations, NATS, endpoints, outbox relay,
consumers, probes, and a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import uvloop
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared import actor_token, audit, bus, db, health, idempotency, logs, metrics, streams, tracing
from shared.clock import Clock, FileClock, SystemClock
from shared.contracts.audit import QUERY_SUBJECTS, AuditQuery
from shared.contracts.idempotency import REPLAY_SUBJECTS, ReplayQuery
from shared.inbox import Consumer, Handler
from shared.outbox import OutboxRelay
from shared.settings import PROFILES, Env, nats_ca_file

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Context:
    """What a service's handlers work with: the pool, NATS, the service's own typed `settings` (what its
    definition's `settings` made from the environment) and its service-wide objects (`one`).

    `clock` decides business dates and times (numbers, submission times, validity); expiry of sessions and
    the like stays on the database's clock.
    """

    name: str
    profile: str
    pool: asyncpg.Pool
    nc: Client
    js: JetStreamContext
    settings: Any = None
    clock: Clock = field(default_factory=SystemClock)
    _instances: dict[str, Any] = field(default_factory=dict)

    def one(self, key: str, make: Callable[[], T]) -> T:
        """The one instance of a service-wide object (handlers, reference data, clients), made on first use."""
        if key not in self._instances:
            self._instances[key] = make()
        return self._instances[key]


@dataclass
class ServiceDefinition:
    name: str
    migrations: Path
    endpoints: Callable[[Context], list[bus.Endpoint]]
    consumers: Callable[[Context], dict[type, Handler]] = lambda ctx: {}
    seed: Callable[[Context], Awaitable[None]] | None = None
    # The service's own settings from the environment, checked at start-up (a frozen dataclass; Context.settings).
    settings: Callable[[Env, str], Any] = lambda env, profile: None
    start: Callable[[Context], Awaitable[None]] | None = None
    background: Callable[[Context], list[Awaitable[None]]] = lambda ctx: []
    # The service's own dependencies for /ready beyond the database and NATS (e.g. attachment's S3).
    ready: Callable[[Context], Awaitable[bool]] | None = None


def run(definition: ServiceDefinition) -> None:
    uvloop.run(_main(definition))


async def _main(d: ServiceDefinition) -> None:
    env = Env()
    profile = env.choice("PROFILE", "dev", PROFILES)
    nats_url = env.str("NATS_URL")
    ca_file = nats_ca_file(env)
    database_url = env.str("DATABASE_URL")
    health_host = env.str("HEALTH_HOST", "0.0.0.0")
    health_port = env.int("HEALTH_PORT", 8081)
    seed = env.bool("SEED_DEMO_DATA", False)
    audit_retention_days = env.int("AUDIT_RETENTION_DAYS", 180)
    env.require(
        audit_retention_days >= audit.MIN_RETENTION_DAYS,
        f"AUDIT_RETENTION_DAYS must be at least {audit.MIN_RETENTION_DAYS} (audit records are kept six months)",
    )
    level = env.str("LOG_LEVEL", "INFO")
    verify_key = env.str("ACTOR_VERIFY_KEY")
    clock_file = env.optional("CLOCK_FILE")
    traces = tracing.settings_from_env(env, d.name.replace("_", "-"))
    env.require(
        not verify_key or actor_token.valid_public_key(verify_key),
        "ACTOR_VERIFY_KEY must be a base64 Ed25519 public key",
    )
    settings = d.settings(env, profile)
    env.require(not (seed and profile == "production"), "SEED_DEMO_DATA must not be true in the production profile")
    env.require(not clock_file or profile == "test", "CLOCK_FILE may only be set in the test profile")
    env.done(d.name)
    logs.setup(d.name, level)
    tracing.setup(traces)

    ready = False
    durable = d.name if streams.CONSUMERS.get(d.name) else None  # its JetStream consumer, as declared

    async def sample_metrics() -> None:
        if ready:
            await metrics.sample(ctx.pool, ctx.js, durable)

    async def is_ready() -> bool:
        if not ready or not ctx.nc.is_connected:
            return False
        if d.ready is not None and not await d.ready(ctx):
            return False
        async with ctx.pool.acquire(timeout=2) as conn:
            return await conn.fetchval("SELECT true")

    # Signals are handled from the first instant: during start-up (a database or NATS not up yet, migrations)
    # a SIGTERM ends the waiting at once and the process exits cleanly; afterwards it drains as usual.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    starting = True

    def on_signal() -> None:
        stop.set()
        if starting and main is not None:
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    probe = await health.serve(health_host, health_port, is_ready, sample_metrics)
    pool: asyncpg.Pool | None = None
    nc: Client | None = None
    try:
        pool = await db.create_pool(database_url)
        await db.migrate(pool, d.migrations)
        nc = await bus.connect(nats_url, d.name, ca_file=ca_file)
        js = nc.jetstream()
        clock = FileClock(clock_file) if clock_file else SystemClock()
        ctx = Context(name=d.name, profile=profile, pool=pool, nc=nc, js=js, settings=settings, clock=clock)
        if d.start:
            await d.start(ctx)
        if seed and d.seed:
            await d.seed(ctx)

        handlers = d.consumers(ctx)
        subjects = sorted(event.subject() for event in handlers)
        if subjects != sorted(streams.CONSUMERS.get(d.name, ())):
            raise RuntimeError(f"{d.name} handles {subjects}; shared/streams.py CONSUMERS must declare the same")
        await streams.await_provisioned(js, durable, subjects)

        endpoints = [
            *d.endpoints(ctx),
            bus.Endpoint(QUERY_SUBJECTS[d.name], AuditQuery, audit.query_handler(d.name, pool)),
            bus.Endpoint(REPLAY_SUBJECTS[d.name], ReplayQuery, idempotency.replay_handler(pool)),
        ]
        responder = bus.Responder(nc, d.name.replace("_", "-"), endpoints, actor_token.ActorVerifier(verify_key))
        await responder.start()
        tasks = [asyncio.create_task(OutboxRelay(pool, js).run(), name="outbox-relay")]
        if handlers:
            tasks.append(asyncio.create_task(Consumer(js, pool, d.name, handlers).run(), name="consumer"))
        tasks += [asyncio.create_task(coro) for coro in d.background(ctx)]
        tasks.append(asyncio.create_task(audit.purge_forever(pool, audit_retention_days), name="audit-purge"))
        tasks.append(asyncio.create_task(idempotency.purge_forever(pool), name="idempotency-purge"))
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        starting = False
        if main is not None:
            main.uncancel()  # the cancellation was ours: the clean-up below may await
        log.info("stopped during start-up")
        probe.close()
        if nc is not None:
            await _step("close nats", nc.close())
        if pool is not None:
            await _step("close database pool", pool.close())
        tracing.shutdown()
        return
    starting = False
    ready = True
    log.info("service ready", extra={"fields": {"profile": profile}})

    crashed = asyncio.create_task(_first_failure(tasks))
    await asyncio.wait([asyncio.create_task(stop.wait()), crashed], return_when=asyncio.FIRST_COMPLETED)
    ready = False
    log.info("service stopping")
    await _step("stop endpoints", responder.stop())
    for t in tasks:
        t.cancel()
    await _step("stop background tasks", asyncio.gather(*tasks, return_exceptions=True))
    probe.close()
    await _step("close nats", nc.close())  # endpoints and consumers are already stopped
    await _step("close database pool", pool.close())
    tracing.shutdown()
    log.info("service stopped")
    if crashed.done() and not crashed.cancelled() and crashed.result():
        raise SystemExit(1)


async def _step(what: str, awaitable: Awaitable[Any], timeout: float = 10.0) -> None:
    """One shutdown step, bounded: a stuck step is logged and skipped so the process still exits."""
    try:
        await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        log.warning("shutdown step timed out", extra={"fields": {"step": what}})
    except Exception:
        log.exception("shutdown step failed", extra={"fields": {"step": what}})


async def _first_failure(tasks: list[asyncio.Task[Any]]) -> bool:
    """Returns True when a background task died: the process should exit and be restarted."""
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for t in done:
        if not t.cancelled() and t.exception():
            log.error("background task crashed", exc_info=t.exception())
            return True
    return False
