"""PostgreSQL access: connection pool with retries, and the versioned SQL migration runner."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
# One lock id for every service: migrations of one database never run twice at once.
MIGRATION_LOCK_ID = 7_305_118_001


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a connection is reset with on its way back to the pool, beyond asyncpg's own (an open transaction
    rolled back, listener callbacks dropped): nothing. asyncpg's default sends `pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL` on every release, one more round trip per transaction. Our code keeps no session
    state on pooled connections: session advisory locks (migrations, outbox relay, reconciler) and LISTEN (the
    relay) are undone in `finally` by whoever takes them; everything else is transaction-scoped."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, wait_seconds: float = 30.0) -> asyncpg.Pool:
    """Connect, retrying while the server comes up (containers start in any order)."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, command_timeout=30, reset=_no_session_state
            )
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("database not reachable yet, retrying", extra={"fields": {"error": type(exc).__name__}})
            await asyncio.sleep(0.5)


# What a database that is down, restarting or paused past a timeout raises at a caller: a connection refused or
# reset, one lost mid-query, the server starting up or shutting down, a pool acquire or command timed out.
UNREACHABLE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def unreachable(exc: BaseException) -> bool:
    """The database could not be reached or went away mid-request: not the request's fault, so it is answered
    503 (the client may retry) rather than 500."""
    if isinstance(exc, asyncpg.InterfaceError):  # asyncpg's word for a connection already closed under us
        return "closed" in str(exc)
    return isinstance(exc, UNREACHABLE_ERRORS)


def _migration_files(directory: Path) -> list[tuple[str, Path]]:
    label = directory.parent.name if directory.name == "migrations" else directory.name
    return [(f"{label}/{p.name}", p) for p in sorted(directory.glob("*.sql"))]


async def migrate(pool: asyncpg.Pool, service_migrations: Path) -> list[str]:
    """Apply the shared (outbox/inbox) then the service's migrations not yet applied, each in a transaction."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, path in _migration_files(SHARED_MIGRATIONS) + _migration_files(service_migrations):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                applied.append(version)
                log.info("migration applied", extra={"fields": {"version": version}})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied
