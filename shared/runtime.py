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
    """Settings, start, then serve until SIGTERM/SIGINT or a crashed background task, and stop."""
    config = _settings(d)
    logs.setup(d.name, config.log_level)
    tracing.setup(config.traces)
    process = _Process(d, config)
    # Signals are handled from the first instant: during start-up (a database or NATS not up yet, migrations)
    # a SIGTERM ends the waiting at once and the process exits cleanly; afterwards it drains as usual.
    stop = asyncio.Event()
    main = asyncio.current_task()
    starting = True

    def on_signal() -> None:
        stop.set()
        if starting and main is not None:
            main.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await process.start()
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        starting = False
        if main is not None:
            main.uncancel()  # the cancellation was ours: the clean-up below may await
        log.info("stopped during start-up")
        await process.close()
        return
    starting = False
    log.info("service ready", extra={"fields": {"profile": config.profile}})
    crashed = asyncio.create_task(_first_failure(process.tasks))
    await asyncio.wait([asyncio.create_task(stop.wait()), crashed], return_when=asyncio.FIRST_COMPLETED)
    await process.stop()
    if crashed.done() and not crashed.cancelled() and crashed.result():
        raise SystemExit(1)


@dataclass(frozen=True)
class _Settings:
    profile: str
    nats_url: str
    ca_file: str | None
    database_url: str
    health_host: str
    health_port: int
    seed: bool
    audit_retention_days: int
    log_level: str
    verify_key: str
    clock_file: str | None
    traces: tracing.Settings
    service: Any  # the service's own, from its definition


def _settings(d: ServiceDefinition) -> _Settings:
    """Every setting from the environment, checked together: a bad one stops the process with every problem."""
    env = Env()
    profile = env.choice("PROFILE", "dev", PROFILES)
    nats_url, ca_file = env.str("NATS_URL"), nats_ca_file(env)
    database_url = env.str("DATABASE_URL")
    health_host, health_port = env.str("HEALTH_HOST", "0.0.0.0"), env.int("HEALTH_PORT", 8081)
    seed, audit_retention_days = env.bool("SEED_DEMO_DATA", False), env.int("AUDIT_RETENTION_DAYS", 180)
    log_level, verify_key = env.str("LOG_LEVEL", "INFO"), env.str("ACTOR_VERIFY_KEY")
    clock_file = env.optional("CLOCK_FILE")
    traces = tracing.settings_from_env(env, d.name.replace("_", "-"))
    env.require(
        audit_retention_days >= audit.MIN_RETENTION_DAYS,
        f"AUDIT_RETENTION_DAYS must be at least {audit.MIN_RETENTION_DAYS} (audit records are kept six months)",
    )
    env.require(
        not verify_key or actor_token.valid_public_key(verify_key),
        "ACTOR_VERIFY_KEY must be a base64 Ed25519 public key",
    )
    service = d.settings(env, profile)
    env.require(not (seed and profile == "production"), "SEED_DEMO_DATA must not be true in the production profile")
    env.require(not clock_file or profile == "test", "CLOCK_FILE may only be set in the test profile")
    env.done(d.name)
    return _Settings(
        profile=profile,
        nats_url=nats_url,
        ca_file=ca_file,
        database_url=database_url,
        health_host=health_host,
        health_port=health_port,
        seed=seed,
        audit_retention_days=audit_retention_days,
        log_level=log_level,
        verify_key=verify_key,
        clock_file=clock_file,
        traces=traces,
        service=service,
    )


class _Process:
    """A running service: its probe, connections, endpoints and background tasks."""

    def __init__(self, d: ServiceDefinition, config: _Settings) -> None:
        self.d, self.config = d, config
        self.ready = False
        self.durable = d.name if streams.CONSUMERS.get(d.name) else None  # its JetStream consumer, as declared
        self.probe: asyncio.Server | None = None
        self.pool: asyncpg.Pool | None = None
        self.nc: Client | None = None
        self.ctx: Context | None = None
        self.responder: bus.Responder | None = None
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Probe, database and migrations, NATS, the service's own start and seed, endpoints, then the relay, the
        consumer and the background tasks."""
        d, config = self.d, self.config
        self.probe = await health.serve(config.health_host, config.health_port, self.is_ready, self.sample_metrics)
        self.pool = pool = await db.create_pool(config.database_url)
        await db.migrate(pool, d.migrations)
        self.nc = nc = await bus.connect(config.nats_url, d.name, ca_file=config.ca_file)
        js = nc.jetstream()
        clock = FileClock(config.clock_file) if config.clock_file else SystemClock()
        self.ctx = ctx = Context(
            name=d.name, profile=config.profile, pool=pool, nc=nc, js=js, settings=config.service, clock=clock
        )
        if d.start:
            await d.start(ctx)
        if config.seed and d.seed:
            await d.seed(ctx)
        handlers = d.consumers(ctx)
        subjects = sorted(event.subject() for event in handlers)
        if subjects != sorted(streams.CONSUMERS.get(d.name, ())):
            raise RuntimeError(f"{d.name} handles {subjects}; shared/streams.py CONSUMERS must declare the same")
        await streams.await_provisioned(js, self.durable, subjects)
        endpoints = [
            *d.endpoints(ctx),
            bus.Endpoint(QUERY_SUBJECTS[d.name], AuditQuery, audit.query_handler(d.name, pool)),
            bus.Endpoint(REPLAY_SUBJECTS[d.name], ReplayQuery, idempotency.replay_handler(pool)),
        ]
        verifier = actor_token.ActorVerifier(config.verify_key)
        self.responder = bus.Responder(nc, d.name.replace("_", "-"), endpoints, verifier)
        await self.responder.start()
        background: list[tuple[str | None, Awaitable[Any]]] = [("outbox-relay", OutboxRelay(pool, js).run())]
        if handlers:
            background.append(("consumer", Consumer(js, pool, d.name, handlers).run()))
        background += [(None, coro) for coro in d.background(ctx)]
        background.append(("audit-purge", audit.purge_forever(pool, config.audit_retention_days)))
        background.append(("idempotency-purge", idempotency.purge_forever(pool)))
        self.tasks = [asyncio.create_task(coro, name=name) for name, coro in background]
        self.ready = True

    async def stop(self) -> None:
        """Drain: no new requests, then the background tasks, then the connections."""
        self.ready = False
        log.info("service stopping")
        if self.responder is not None:
            await _step("stop endpoints", self.responder.stop())
        for t in self.tasks:
            t.cancel()
        await _step("stop background tasks", asyncio.gather(*self.tasks, return_exceptions=True))
        await self.close()  # endpoints and consumers are already stopped
        log.info("service stopped")

    async def close(self) -> None:
        """The probe and the connections, as far as they were opened."""
        if self.probe is not None:
            self.probe.close()
        if self.nc is not None:
            await _step("close nats", self.nc.close())
        if self.pool is not None:
            await _step("close database pool", self.pool.close())
        tracing.shutdown()

    async def sample_metrics(self) -> None:
        if self.ready and self.ctx is not None:
            await metrics.sample(self.ctx.pool, self.ctx.js, self.durable)

    async def is_ready(self) -> bool:
        if not self.ready or self.ctx is None or not self.ctx.nc.is_connected:
            return False
        if self.d.ready is not None and not await self.d.ready(self.ctx):
            return False
        async with self.ctx.pool.acquire(timeout=2) as conn:
            return await conn.fetchval("SELECT true")


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
