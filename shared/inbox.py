"""Idempotent event consumers: the handler's effect and the processed-event row commit together, then ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind

from shared import logs, metrics, tracing
from shared.contracts.events import STREAM, SUBJECT_PREFIX, Event

log = logging.getLogger(__name__)

Apply = Callable[[asyncpg.Connection, Any], Awaitable[None]]
MAX_RETRY_DELAY_SECONDS = 60
# After this many failed deliveries an event is parked in `dead_letters` (kept, for a person to replay).
MAX_DELIVERIES = 10


class _Keyed(msgspec.Struct, rename="camel"):
    request_id: str = ""


_key = msgspec.json.Decoder(_Keyed)


def _by_application(msgs: list[Any]) -> dict[str, list[Any]]:
    """The batch grouped by the application an event concerns, stream order kept within each group; events that
    concern none (certificates, links) and undecodable ones form one group of their own."""
    groups: dict[str, list[Any]] = {}
    for msg in msgs:
        try:
            key = _key.decode(msg.data).request_id
        except msgspec.MsgspecError:
            key = ""
        groups.setdefault(key, []).append(msg)
    return groups


SKIP = object()  # what a Staged handler's `prepare` returns for an event that changes nothing here


@dataclass(frozen=True)
class Staged:
    """A handler whose slow part (e.g. asking another service) runs before the transaction opens:
    `prepare(event)` first, then `apply(conn, event, prepared)` inside it. When `prepare` returns SKIP the event
    is acknowledged at once, with no transaction (an event that cannot concern this service)."""

    prepare: Callable[[Any], Awaitable[Any]]
    apply: Callable[[asyncpg.Connection, Any, Any], Awaitable[None]]


Handler = Apply | Staged


class Consumer:
    """A durable pull consumer on the EVENTS stream for the given event types."""

    def __init__(
        self,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        durable: str,
        handlers: dict[type[Event], Handler],
        *,
        batch: int = 50,
    ) -> None:
        self._js = js
        self._pool = pool
        self._durable = durable
        self._handlers = {cls.subject(): (msgspec.json.Decoder(cls), fn) for cls, fn in handlers.items()}
        self._batch = batch

    async def run(self) -> None:
        sub = await self._js.pull_subscribe_bind(durable=self._durable, stream=STREAM)
        while True:
            try:
                msgs = await sub.fetch(self._batch, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                # nats-py turns a cancelled fetch into a timeout: honour the cancellation.
                if asyncio.current_task().cancelling():
                    raise asyncio.CancelledError() from None
                continue  # nothing pending
            except Exception as exc:
                log.warning("fetch failed", extra={"fields": {"error": type(exc).__name__}})
                await asyncio.sleep(1)
                continue
            # Events of one application are handled in stream order; different applications' concurrently
            # (at most the pool's connections at once), so one slow receipt does not hold up the others.
            await asyncio.gather(*(self._in_order(group) for group in _by_application(msgs).values()))

    async def _in_order(self, msgs: list[Any]) -> None:
        for msg in msgs:
            await self._process(msg)

    async def _failed(self, msg: Any, name: str, event: Event, exc: Exception) -> None:
        attempts = msg.metadata.num_delivered if msg.metadata else 1
        log.error(
            "event handler failed",
            exc_info=exc,
            extra={"fields": {"subject": msg.subject, "eventId": event.event_id, "attempt": attempts}},
        )
        if attempts < MAX_DELIVERIES:
            metrics.EVENTS_CONSUMED.labels(name, "failed").inc()
            await msg.nak(delay=min(2 ** min(attempts, 6), MAX_RETRY_DELAY_SECONDS))  # 2 s, 4 s, … 60 s
            return
        await self._park(msg, name, event.event_id, type(exc).__name__)

    async def _park(self, msg: Any, name: str, event_id: str, error: str) -> None:
        try:
            await self._pool.execute(
                "INSERT INTO dead_letters (consumer, event_id, subject, payload, error) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT DO NOTHING",
                self._durable,
                event_id,
                msg.subject,
                bytes(msg.data),
                error,
            )
        except Exception:
            log.exception("could not park the event; it will be redelivered")
            await msg.nak(delay=MAX_RETRY_DELAY_SECONDS)
            return
        metrics.EVENTS_CONSUMED.labels(name, "dead_lettered").inc()
        await msg.term()

    async def _process(self, msg: Any) -> None:
        entry = self._handlers.get(msg.subject)
        logs.request_id.set((msg.headers or {}).get(logs.REQUEST_ID_HEADER))
        if entry is None:
            await msg.ack()
            return
        # The event's trace (the transaction that wrote its outbox row) goes on in this consumer's span.
        attributes = {"messaging.system": "nats", "messaging.destination.name": msg.subject}
        with tracing.span(msg.subject, SpanKind.CONSUMER, parent=msg.headers or {}, attributes=attributes) as span:
            await self._handle(msg, *entry, span)

    async def _handle(self, msg: Any, decoder: msgspec.json.Decoder, handler: Handler, span: Any) -> None:
        name = msg.subject.removeprefix(SUBJECT_PREFIX)
        try:
            event = decoder.decode(msg.data)
        except msgspec.MsgspecError:
            log.error("undecodable event parked", extra={"fields": {"subject": msg.subject}})
            await self._park(msg, name, f"stream-seq-{msg.metadata.sequence.stream}", "undecodable")
            return
        try:
            prepared = await handler.prepare(event) if isinstance(handler, Staged) else None
            if prepared is SKIP:
                await msg.ack()
                metrics.EVENTS_CONSUMED.labels(name, "skipped").inc()
                return
            async with self._pool.acquire() as conn, conn.transaction():
                fresh = await conn.fetchval(
                    "INSERT INTO processed_events (consumer, event_id, event_type) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING RETURNING true",
                    self._durable,
                    event.event_id,
                    event.name,
                )
                if fresh:
                    if isinstance(handler, Staged):
                        await handler.apply(conn, event, prepared)
                    else:
                        await handler(conn, event)
        except Exception as exc:
            tracing.failed(span)
            await self._failed(msg, name, event, exc)
            return
        await msg.ack()
        metrics.EVENTS_CONSUMED.labels(name, "applied" if fresh else "duplicate").inc()
