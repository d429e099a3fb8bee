"""The audit trail for officers: every service's records, merged newest first; and the gateway's refusals,
handed to identity to keep (the gateway has no database)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from gateway import apidoc
from gateway.deps import call
from gateway.routes.filters import EARLIEST, LATEST
from shared import bus
from shared.clock import china_day_start
from shared.contracts.audit import (
    MAX_LIMIT,
    QUERY_SUBJECTS,
    RECORD_REFUSAL,
    AuditPage,
    AuditQuery,
    AuditRecord,
    Refusal,
)
from shared.contracts.common import Actor, Empty, FieldError
from shared.errors import ServiceError, ValidationFailed

log = logging.getLogger(__name__)
_pending: set[asyncio.Task] = set()
MAX_IN_FLIGHT = 200


class AuditTrailPage(msgspec.Struct, kw_only=True, rename="camel"):
    """One page of the merged trail, newest first; `nextBefore` (the time of its last record) asks for the next
    page (`before=`), absent on the last one."""

    items: list[AuditRecord]
    next_before: datetime | None = None


@get(
    "/api/v1/customs/audit-records",
    summary="Audit trail (officers): by actor, enterprise, action and date",
    responses=apidoc.refusals(401, 403),
)
async def audit_records(
    request: Request,
    actor: NamedDependency[Actor],
    by_actor: Annotated[str | None, QueryParameter(name="actor")] = None,
    enterprise: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    date_from: Annotated[date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    limit: FromQuery[int] = 100,
    before: FromQuery[datetime | None] = None,
) -> AuditTrailPage:
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(FieldError(field="limit", message=f"条数应为1至{MAX_LIMIT}"))
    for field, day in (("from", date_from), ("to", date_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            problems.append(FieldError(field=field, message=f"日期应在{EARLIEST}至{LATEST}之间"))
    if before is not None:
        if before.tzinfo is None:
            problems.append(FieldError(field="before", message="时间须带时区"))
        elif not EARLIEST <= _utc_day(before) <= LATEST:
            problems.append(FieldError(field="before", message=f"时间应在{EARLIEST}至{LATEST}之间"))
    if problems:
        raise ValidationFailed(fields=problems)
    until = china_day_start(date_to + timedelta(days=1)) if date_to else None
    if before is not None:
        until = min(until, before) if until else before
    query = AuditQuery(
        actor=actor,
        by_actor=by_actor,
        enterprise=enterprise,
        action=action,
        since=china_day_start(date_from) if date_from else None,
        until=until,
        limit=min(limit + 1, MAX_LIMIT),  # one more than shown: a service with no more is known to have none
    )
    pages = await asyncio.gather(*(call(request, subject, query, AuditPage) for subject in QUERY_SUBJECTS.values()))
    return merged_page([page.items for page in pages], limit, asked=query.limit)


def _utc_day(at: datetime) -> date:
    try:
        return at.astimezone(UTC).date()
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC instant Python knows
        return date.min


def merged_page(pages: list[list[AuditRecord]], limit: int, asked: int | None = None) -> AuditTrailPage:
    """The newest `limit` records of the services' pages (each newest first, at most `asked` long: `limit` or one
    more), cut so that the next page, the records strictly older than this page's last one, misses none and repeats
    none.

    Records of one instant are never split across pages: a transaction stamps all its records with one time. So a
    service whose page is full may hold more records at the instant of its last one; nothing at or before that
    instant is shown now. And the page ends before an instant that goes on past it. Only when more than `limit`
    records share one instant can a page not end between instants; then they are shown and the rest of that instant
    is skipped (never seen in practice: a move writes one or two records).
    """
    merged = sorted((r for page in pages for r in page), key=lambda r: r.at, reverse=True)
    asked = asked or limit
    horizon = max((page[-1].at for page in pages if len(page) >= asked), default=None)
    complete = [r for r in merged if horizon is None or r.at > horizon]
    items = complete[:limit]
    if len(complete) > limit:
        items = [r for r in items if r.at > complete[limit].at]
    if not items:
        items = merged[:limit]
    more = len(merged) > len(items) or horizon is not None  # a full page may have more behind it
    return AuditTrailPage(items=items, next_before=items[-1].at if more and items else None)


def record_refusal(request: Request, exc: ServiceError) -> None:
    """Hands a refusal to identity in the background: the answer to the client never waits for it. Logins are
    audited by identity itself; a flood of refusals beyond MAX_IN_FLIGHT is logged, not queued without bound."""
    if request.url.path.startswith("/api/v1/auth/"):
        return
    if len(_pending) >= MAX_IN_FLIGHT:
        log.warning("refusal not recorded in the audit trail: too many at once", extra={"fields": {"code": exc.code}})
        return
    actor = getattr(request.state, "actor", None)
    refusal = Refusal(
        who=actor.username if actor else "anonymous",
        enterprise=(actor.credit_code or "") if actor else "",
        action=f"{request.method} {request.scope.get('path_template') or request.url.path}",
        target=request.url.path.replace("\x00", "")[:500],
        result=exc.code,
        client=request.client.host if request.client else "",
    )

    async def send() -> None:
        try:
            await bus.call(request.app.state.nc, RECORD_REFUSAL, refusal, Empty, timeout=2.0)
        except Exception:
            log.warning("refusal not recorded in the audit trail", extra={"fields": {"code": exc.code}})

    task = asyncio.get_running_loop().create_task(send())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


routes = [audit_records]
