"""Ending sessions: the rows revoked and, in the same transaction, the event that makes every gateway drop its
cached copies of that user's sessions at once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from shared import outbox
from shared.contracts.events import SessionsEnded


async def announce(conn: asyncpg.Connection, user: uuid.UUID, reason: str) -> None:
    await outbox.record(conn, outbox.new_event(SessionsEnded, user_id=str(user), reason=reason))


async def end_all(conn: asyncpg.Connection, user: uuid.UUID, reason: str, *, keep: bytes | None = None) -> int:
    """Revokes the user's live sessions (all but `keep`, a token hash); call inside a transaction."""
    ended = await conn.fetch(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
        " AND ($2::bytea IS NULL OR token_hash <> $2) RETURNING token_hash",
        user,
        keep,
    )
    if ended:
        await announce(conn, user, reason)
    return len(ended)


async def announced(conn: asyncpg.Connection, wait_seconds: float = 10.0) -> bool:
    """Waits until identity's outbox relay has published every sessions-ended event (the gateways heard it);
    False if it has not within `wait_seconds`. For the admin command, which ends sessions outside the service."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL AND event_type = $1)", SessionsEnded.name
    ):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
