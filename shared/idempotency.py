"""Exactly-once commands: a client's Idempotency-Key is recorded in the transaction of the effect it started
(shared migration 004), with the reply, so a retry gets that reply back and never makes a second effect.

A service looks the key up before its work (`recorded`), binds it as the first statement of the effect's
transaction (`claim`: a concurrent try of the same key waits for that transaction, then replays its reply) and
stores the reply before the commit (`complete`). A refusal rolls the binding back with the rest, so a corrected
retry runs. Replies are marked Idempotent-Replayed on their way back (the `replayed` flag, a NATS header).
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from datetime import timedelta
from typing import TypeVar

import asyncpg
import msgspec

from shared.contracts.common import Actor, Contract
from shared.contracts.idempotency import IdempotencyKey, ReplayQuery
from shared.errors import NotFound, ServiceError

log = logging.getLogger(__name__)
R = TypeVar("R")

REPLAYED_HEADER = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
PURGE_EVERY_SECONDS = 3600
# How long a try waits for another try of the same key still in its transaction, before "in progress".
WAIT_FOR_FIRST = "2s"

# Set when a reply is a replay: by the service's helpers, then by bus.call in the caller from the NATS header.
replayed: ContextVar[bool] = ContextVar("idempotent_replayed", default=False)


class KeyReused(ServiceError):
    status, code, message = 422, "IDEMPOTENCY_KEY_REUSED", "该幂等键已用于内容不同的请求"


class InProgress(ServiceError):
    status, code, message = 409, "REQUEST_IN_PROGRESS", "相同的请求正在处理中，请稍后重试"


class NothingRecorded(NotFound):
    code, message = "IDEMPOTENCY_KEY_UNKNOWN", "没有该幂等键的处理结果"


class Keys:
    """The Idempotency-Keys as one connection sees them; `claim` and `complete` in the effect's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def recorded(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        """The reply of the key's first try, when it committed; None when there is none (yet)."""
        raw = await self.recorded_raw(actor, key)
        return None if raw is None else _replay(raw, reply_type)

    async def recorded_raw(self, actor: Actor, key: IdempotencyKey | None) -> bytes | None:
        if key is None:
            return None
        row = await self.conn.fetchrow(
            "SELECT fingerprint, reply FROM idempotency_keys WHERE actor_id = $1 AND key = $2"
            " AND created_at > now() - $3::interval",
            actor.user_id,
            key.key,
            KEEP,
        )
        return None if row is None else _reply_of(row, key)

    async def claim(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        """Binds the key to this transaction (call it first, before any other lock). None: go on and make the
        effect. A reply: another try of the key made it; return that and do nothing. A try still running past
        WAIT_FOR_FIRST: InProgress."""
        if key is None:
            return None
        try:
            await self.conn.execute(f"SET LOCAL lock_timeout = '{WAIT_FOR_FIRST}'")
            # A row past its 24 hours (not purged yet) is taken over as if it were not there.
            bound = await self.conn.fetchval(
                "INSERT INTO idempotency_keys (actor_id, key, fingerprint) VALUES ($1, $2, $3)"
                " ON CONFLICT (actor_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, reply = NULL,"
                " created_at = now() WHERE idempotency_keys.created_at <= now() - $4::interval"
                " RETURNING true",
                actor.user_id,
                key.key,
                key.fingerprint,
                KEEP,
            )
            await self.conn.execute("SET LOCAL lock_timeout = DEFAULT")
        except asyncpg.LockNotAvailableError:
            raise InProgress() from None
        if bound:
            return None
        row = await self.conn.fetchrow(
            "SELECT fingerprint, reply FROM idempotency_keys WHERE actor_id = $1 AND key = $2", actor.user_id, key.key
        )
        if row is None:  # purged between the two statements: its 24 hours just ended
            raise InProgress()
        return _replay(_reply_of(row, key), reply_type)

    async def complete(self, actor: Actor, key: IdempotencyKey | None, reply: Contract) -> None:
        """Keeps the reply with the key, in the transaction that `claim`ed it."""
        if key is not None:
            await self.conn.execute(
                "UPDATE idempotency_keys SET reply = $3 WHERE actor_id = $1 AND key = $2",
                actor.user_id,
                key.key,
                msgspec.json.encode(reply),
            )


def _reply_of(row: asyncpg.Record, key: IdempotencyKey) -> bytes:
    if row["fingerprint"] != key.fingerprint:
        raise KeyReused()
    if row["reply"] is None:  # committed without its reply: never written so; refuse rather than run twice
        raise InProgress()
    return row["reply"]


def _replay(raw: bytes, reply_type: type[R]) -> R:
    replayed.set(True)
    return msgspec.json.decode(raw, type=reply_type)


def replay_handler(pool: asyncpg.Pool):
    """The endpoint a caller asks when its own checks before the effect would refuse a retry (e.g. a submit whose
    first try succeeded): the first try's reply as it was sent, or NothingRecorded."""

    async def handle(q: ReplayQuery) -> msgspec.Raw:
        async with pool.acquire() as conn:
            raw = await Keys(conn).recorded_raw(q.actor, q.idempotency)
        if raw is None:
            raise NothingRecorded()
        replayed.set(True)
        return msgspec.Raw(raw)

    return handle


async def purge(pool: asyncpg.Pool) -> int:
    """Deletes the keys past their 24 hours; how many."""
    deleted = await pool.execute("DELETE FROM idempotency_keys WHERE created_at <= now() - $1::interval", KEEP)
    return int(deleted.split()[-1])


async def purge_forever(pool: asyncpg.Pool) -> None:
    """`purge`, hourly."""
    while True:
        try:
            log.info("idempotency keys purged", extra={"fields": {"deleted": await purge(pool)}})
        except Exception:
            log.exception("idempotency key purge failed")
        await asyncio.sleep(PURGE_EVERY_SECONDS)
