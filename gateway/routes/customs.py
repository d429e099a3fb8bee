"""The officers' side: the queue of all enterprises' applications, a case's detail, and decisions."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from gateway import apidoc, idempotency
from gateway.deps import call, decode_body
from gateway.idempotency import idempotent
from gateway.routes.filters import provide_filters
from shared.contracts import attachment, coordination, customs
from shared.contracts.common import Actor

BASE = "/api/v1/customs/coordination-requests"


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    version: FromQuery[int | None] = None
    reason: str = ""
    outcome: str = ""
    reply: str = ""


class CaseDetail(msgspec.Struct, kw_only=True):
    case: customs.Case
    request: coordination.CoordinationRequest
    attachments: list[attachment.AttachmentInfo]


class Decided(msgspec.Struct, kw_only=True):
    message: str
    case: customs.Case


DECISION = {
    "responses": apidoc.refusals(401, 403, 404, 409, write=True),
    "operation_class": apidoc.json_body(DecisionIn),
}


@get(
    BASE,
    summary="Officer queue: every enterprise's received applications, oldest due first",
    dependencies={"filters": provide_filters},
    responses=apidoc.refusals(401, 403),
)
async def queue(
    request: Request,
    actor: NamedDependency[Actor],
    filters: NamedDependency[coordination.RequestFilters],
    enterprise: FromQuery[str | None] = None,
) -> customs.CasePage:
    return await call(
        request,
        customs.CASE_LIST,
        customs.CaseQuery(actor=actor, enterprise=enterprise, **msgspec.structs.asdict(filters)),
        customs.CasePage,
    )


@get(
    BASE + "/{request_id:str}",
    summary="A case: the application, its status history and attachments",
    responses=apidoc.refusals(401, 403, 404),
)
async def case_detail(request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]) -> CaseDetail:
    case = await call(request, customs.CASE_GET, customs.CaseRef(actor=actor, request_id=request_id), customs.Case)
    application = await call(
        request,
        coordination.GET,
        coordination.RequestRef(actor=actor, request_id=request_id),
        coordination.CoordinationRequest,
    )
    files = await call(
        request,
        attachment.LIST,
        attachment.ListAttachments(actor=actor, request_id=request_id),
        attachment.AttachmentList,
    )
    return CaseDetail(case=case, request=application, attachments=list(files.items))


async def _decide(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str], subject: str, message: str
) -> Response[Decided]:
    body = await decode_body(request, DecisionIn)
    case = await call(
        request,
        subject,
        customs.Decision(
            actor=actor,
            request_id=request_id,
            version=body.version,
            reason=body.reason,
            outcome=body.outcome,
            reply=body.reply,
            idempotency=await idempotency.key(request),
        ),
        customs.Case,
    )
    return Response(Decided(message=message, case=case), status_code=200)


@post(BASE + "/{request_id:str}/accept", summary="受理: 待办 → 协调中", status_code=200, **DECISION)
@idempotent
async def accept(request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]) -> Response[Decided]:
    return await _decide(request, actor, request_id, customs.CASE_ACCEPT, "受理成功")


@post(BASE + "/{request_id:str}/return", summary="退回 with a reason: 待办|协调中 → 退回", status_code=200, **DECISION)
@idempotent
async def return_(request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]) -> Response[Decided]:
    return await _decide(request, actor, request_id, customs.CASE_RETURN, "退回成功")


@post(
    BASE + "/{request_id:str}/conclude",
    summary="办结 with outcome (SUCCESS 协调成功 | UNRESOLVED 协调未果 | NOT_ACCEPTED 不予受理) and reply",
    status_code=200,
    **DECISION,
)
@idempotent
async def conclude(request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]) -> Response[Decided]:
    return await _decide(request, actor, request_id, customs.CASE_CONCLUDE, "办结成功")


routes = [queue, case_detail, accept, return_, conclude]
