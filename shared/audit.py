"""The audit trail: each service appends who did what, in the transaction of the act, to its own append-only
`audit_log` (shared migration 003); officers query every service's records through the gateway; records older
than the retention are purged."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from shared import logs
from shared.contracts.audit import MAX_LIMIT, AuditPage, AuditQuery, AuditRecord
from shared.errors import Forbidden
from shared.paging import Filters

log = logging.getLogger(__name__)

MIN_RETENTION_DAYS = 180  # the trigger refuses to delete anything younger
PURGE_EVERY_SECONDS = 3600

SUCCESS, FAILURE, REFUSED = "SUCCESS", "FAILURE", "REFUSED"


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    actor: str,
    action: str,
    result: str = SUCCESS,
    enterprise: str | None = "",
    target: str = "",
    client: str | None = None,
) -> None:
    """One audit record; pass the connection of the act's transaction so the act and its record stand or fall
    together."""
    await conn.execute(
        "INSERT INTO audit_log (actor, enterprise, action, target, result, client, request_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor,
        enterprise or "",
        action,
        target,
        result,
        client if client is not None else logs.client_address.get() or "",
        logs.request_id.get() or "",
    )


def query_handler(service: str, pool: asyncpg.Pool):
    async def handle(q: AuditQuery) -> AuditPage:
        if q.actor.role != "OFFICER":
            raise Forbidden("审计记录仅限海关关员查询")
        filters = Filters()
        if q.by_actor:
            filters.add("actor = ?", q.by_actor)
        if q.enterprise:
            filters.add("enterprise = ?", q.enterprise)
        if q.action:
            filters.add("action = ?", q.action)
        if q.since:
            filters.add("at >= ?", q.since)
        if q.until:
            filters.add("at < ?", q.until)
        limit = min(max(q.limit, 1), MAX_LIMIT)
        rows = await pool.fetch(
            "SELECT at, actor, enterprise, action, target, result, client, request_id FROM audit_log"
            f" WHERE {filters.where} ORDER BY at DESC, id DESC LIMIT {limit}",
            *filters.args,
        )
        return AuditPage(items=[AuditRecord(service=service, **dict(r)) for r in rows])

    return handle


async def purge_forever(pool: asyncpg.Pool, retention_days: int) -> None:
    """Deletes records older than the retention, hourly (never younger than the 180-day minimum)."""
    keep = timedelta(days=max(retention_days, MIN_RETENTION_DAYS))
    while True:
        try:
            deleted = await pool.execute("DELETE FROM audit_log WHERE at < now() - $1::interval", keep)
            log.info("audit records purged", extra={"fields": {"result": deleted}})
        except Exception:
            log.exception("audit purge failed")
        await asyncio.sleep(PURGE_EVERY_SECONDS)
