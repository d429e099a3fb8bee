"""The audit trail for officers: every service's records, merged newest first; and the gateway's refusals,
handed to identity to keep (the gateway has no database)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Annotated

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from gateway import apidoc
from gateway.deps import call
from gateway.routes.filters import EARLIEST, LATEST
from shared import bus
from shared.clock import china_day_start
from shared.contracts.audit import MAX_LIMIT, QUERY_SUBJECTS, RECORD_REFUSAL, AuditPage, AuditQuery, Refusal
from shared.contracts.common import Actor, Empty, FieldError
from shared.errors import ServiceError, ValidationFailed

log = logging.getLogger(__name__)
_pending: set[asyncio.Task] = set()
MAX_IN_FLIGHT = 200


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
) -> AuditPage:
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(FieldError(field="limit", message=f"条数应为1至{MAX_LIMIT}"))
    for field, day in (("from", date_from), ("to", date_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            problems.append(FieldError(field=field, message=f"日期应在{EARLIEST}至{LATEST}之间"))
    if problems:
        raise ValidationFailed(fields=problems)
    query = AuditQuery(
        actor=actor,
        by_actor=by_actor,
        enterprise=enterprise,
        action=action,
        since=china_day_start(date_from) if date_from else None,
        until=china_day_start(date_to + timedelta(days=1)) if date_to else None,
        limit=limit,
    )
    pages = await asyncio.gather(*(call(request, subject, query, AuditPage) for subject in QUERY_SUBJECTS.values()))
    items = sorted((r for page in pages for r in page.items), key=lambda r: r.at, reverse=True)
    return AuditPage(items=items[:limit])


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
