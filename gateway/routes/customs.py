"""The officers' side: the queue of all enterprises' applications."""

from __future__ import annotations

from litestar import Request, get

from gateway.deps import call, officer_actor
from shared.contracts import customs


@get("/api/v1/customs/coordination-requests", summary="Officer queue: received applications, oldest first")
async def queue(request: Request, status: str | None = None, limit: int = 50) -> customs.CaseList:
    actor = await officer_actor(request)
    return await call(
        request, customs.CASE_LIST, customs.CaseQuery(actor=actor, status=status, limit=limit), customs.CaseList
    )


routes = [queue]
