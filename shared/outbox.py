"""Transactional outbox: events are written with the state change, then relayed to JetStream.

The relay publishes each row with `Nats-Msg-Id` = the row id, so a re-sent row is dropped by
JetStream's duplicate window; it marks rows published only after JetStream acknowledged them. A row's
headers carry the request id and the W3C trace context (`traceparent`) of the transaction that wrote it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import msgspec
from nats.js import JetStreamContext

from shared import db, logs, metrics, tracing
from shared.contracts.events import STREAM_MAX_AGE_SECONDS, Event

log = logging.getLogger(__name__)

CHANNEL = "outbox"
KEEP_PUBLISHED_DAYS = 7
CLEANUP_EVERY_SECONDS = 3600
RELAY_LOCK_ID = 7_305_118_002
STANDBY_POLL_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 5.0
E = TypeVar("E", bound=Event)


def new_event(cls: type[E], **fields: Any) -> E:
    return cls(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), **fields)


async def record(conn: asyncpg.Connection, *events: Event) -> None:
    """Add the events to the outbox; call inside the transaction that makes the change. One round trip for all
    of them, and the relay woken when the transaction commits."""
    if not events:
        return
    rid = logs.request_id.get()
    caused_by = {logs.REQUEST_ID_HEADER: rid} if rid else {}
    # The trace of the transaction that writes the rows: the relay publishes it with them, so the consumers'
    # spans continue the same trace however late the relay sends.
    tracing.inject(caused_by)
    rows = [
        (
            uuid.UUID(e.event_id),
            e.subject(),
            e.name,
            msgspec.json.encode(e),
            json.dumps({"Event-Type": e.name, **caused_by}),
        )
        for e in events
    ]
    await conn.execute(
        "WITH added AS (INSERT INTO outbox (id, subject, event_type, payload, headers)"
        " SELECT id, subject, event_type, payload, headers::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[])"
        " AS t (id, subject, event_type, payload, headers) RETURNING id)"
        " SELECT pg_notify($6, '') WHERE EXISTS (SELECT FROM added)",
        *(list(column) for column in zip(*rows, strict=True)),
        CHANNEL,
    )


class OutboxRelay:
    """Publishes unpublished outbox rows in order; woken by NOTIFY, polling as a fallback."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, *, batch: int = 100, poll_seconds: float = 1.0):
        self._pool = pool
        self._js = js
        self._batch = batch
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        next_cleanup = 0.0
        listener: asyncpg.Connection | None = None
        wake = lambda *_: self._wake.set()  # noqa: E731
        try:
            while True:
                if listener is None or _lost(listener):
                    # At start, and again once the database restarted or the connection dropped: the lock and the
                    # LISTEN went with the old session.
                    listener = await self._take_over(listener, wake)
                try:
                    while await self.drain_once() == self._batch:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if db.unreachable(exc):
                        log.warning("outbox relay waits for the database", extra={"fields": {"error": _name(exc)}})
                    else:
                        log.exception("outbox relay failed; retrying")
                    await asyncio.sleep(self._poll)
                if asyncio.get_running_loop().time() >= next_cleanup:
                    next_cleanup = asyncio.get_running_loop().time() + CLEANUP_EVERY_SECONDS
                    await self._forget_published()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            if listener is not None:
                await self._let_go(listener, wake)

    async def _take_over(self, previous: asyncpg.Connection | None, wake: Callable[..., None]) -> asyncpg.Connection:
        """A connection holding the relay's lock and listening for commits; waits while the database is away."""
        if previous is not None:
            await self._let_go(previous, wake)
        while True:
            try:
                conn = await self._pool.acquire()
            except Exception as exc:
                if not db.unreachable(exc):
                    raise
                await asyncio.sleep(self._poll)
                continue
            try:
                # One active relay per database keeps events in commit order; other replicas stand by.
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_ID):
                    await asyncio.sleep(STANDBY_POLL_SECONDS)
                await conn.add_listener(CHANNEL, wake)
            except BaseException as exc:
                await self._let_go(conn, wake)
                if isinstance(exc, Exception) and db.unreachable(exc):
                    await asyncio.sleep(self._poll)
                    continue
                raise
            self._wake.set()  # rows committed while nobody listened
            return conn

    async def _let_go(self, conn: asyncpg.Connection, wake: Callable[..., None]) -> None:
        """Unlisten, unlock and give the connection back; a connection that died has nothing left to undo."""
        try:
            if not _lost(conn):
                await conn.remove_listener(CHANNEL, wake)
                await conn.execute("SELECT pg_advisory_unlock_all()")
        except (asyncpg.InterfaceError, *db.UNREACHABLE_ERRORS):
            pass
        try:
            await self._pool.release(conn)
        except asyncpg.InterfaceError:  # already released by the pool when its connection was lost
            pass

    async def _forget_published(self) -> None:
        """Published rows are kept a week for inspection, then deleted so the table stays small; the inbox
        forgets events older than the stream keeps them (JetStream cannot redeliver those any more)."""
        try:
            await self._pool.execute(
                "DELETE FROM outbox WHERE published_at < now() - $1::interval", timedelta(days=KEEP_PUBLISHED_DAYS)
            )
            await self._pool.execute(
                "DELETE FROM processed_events WHERE processed_at < now() - $1::interval",
                timedelta(seconds=STREAM_MAX_AGE_SECONDS + 86400),
            )
        except Exception:
            log.exception("outbox cleanup failed")

    @staticmethod
    def _failed(row: asyncpg.Record, exc: BaseException) -> None:
        log.warning("publish failed", extra={"fields": {"subject": row["subject"], "error": type(exc).__name__}})

    async def drain_once(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, subject, payload, headers FROM outbox WHERE published_at IS NULL"
                " ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            # Pipelined: every row is sent in order, then the acknowledgements are awaited together; rows count
            # as published up to the first one JetStream did not acknowledge (a later one sent again is dropped
            # as a duplicate by its Nats-Msg-Id).
            sent = []
            for row in rows:
                headers = json.loads(row["headers"]) if isinstance(row["headers"], str) else dict(row["headers"])
                headers["Nats-Msg-Id"] = str(row["id"])
                try:
                    ack = await self._js.publish_async(row["subject"], bytes(row["payload"]), headers=headers)
                except Exception as exc:
                    self._failed(row, exc)
                    break
                sent.append((row, asyncio.wait_for(ack, PUBLISH_TIMEOUT_SECONDS)))
            results = await asyncio.gather(*(ack for _, ack in sent), return_exceptions=True)
            published = []
            for (row, _), result in zip(sent, results, strict=True):
                if isinstance(result, BaseException):
                    self._failed(row, result)
                    await conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = $1", row["id"])
                    break
                published.append(row["id"])
                metrics.EVENTS_PUBLISHED.labels(row["subject"]).inc()
            if published:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])", published)
            return len(published)


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _lost(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # the pool took the connection back when it was lost
        return True
