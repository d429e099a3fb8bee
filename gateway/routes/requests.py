"""享惠受阻协调申请: 暂存, 查询, 详情, 删除, 提交 (composed across services), 撤回, and attachments."""

from __future__ import annotations

from urllib.parse import quote

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from gateway import apidoc, idempotency
from gateway.deps import call, decode_body
from gateway.idempotency import idempotent
from gateway.routes.filters import provide_filters
from gateway.upload import read_file
from shared.contracts import attachment, coordination, registry
from shared.contracts.common import Actor, FieldError
from shared.errors import Conflict, InvalidState, ServiceError, ValidationFailed

BASE = "/api/v1/coordination-requests"
UPLOAD_BODY_LIMIT = attachment.MAX_BYTES + 64 * 1024  # the file plus multipart framing


class CertificateNotOwned(ServiceError):
    status, code, message = 422, "CERTIFICATE_NOT_OWNED", "企业填写证书有误"


class DeclarationNotLinked(ServiceError):
    status, code = 422, "EXPORT_DECLARATION_NOT_LINKED"
    message = "提交失败:出口报关单号未与证书号关联，请点击此处进行出口报关单补录！"


class FormIn(coordination.RequestForm, forbid_unknown_fields=True):
    """The form as the browser sends it. Server-filled fields are accepted and ignored."""

    version: FromQuery[int | None] = None
    # Never taken from the client: filled from the session and the registry.
    agreement_code: str | None = None
    enterprise_name: str | None = None
    credit_code: str | None = None


class VersionIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    version: FromQuery[int | None] = None


class RequestResult(msgspec.Struct, kw_only=True):
    message: str
    request: coordination.CoordinationRequest


class RequestDetail(coordination.CoordinationRequest, kw_only=True):
    """详情: the application with its files."""

    attachments: list[attachment.AttachmentInfo]


class AttachmentUploaded(msgspec.Struct, kw_only=True):
    message: str
    attachment: attachment.AttachmentInfo


def _result(message: str, request: coordination.CoordinationRequest, status: int = 200) -> Response[RequestResult]:
    return Response(RequestResult(message=message, request=request), status_code=status)


@post(
    BASE,
    summary="暂存: save a new application (all field errors at once)",
    responses=apidoc.refusals(401, 403, 409, write=True),
    operation_class=apidoc.json_body(FormIn),
)
@idempotent
async def create_request(request: Request, actor: NamedDependency[Actor]) -> Response[RequestResult]:
    body = await decode_body(request, FormIn)
    created = await call(
        request,
        coordination.CREATE,
        coordination.CreateCommand(
            actor=actor, form=coordination.RequestForm.of(body), idempotency=await idempotency.key(request)
        ),
        coordination.CoordinationRequest,
    )
    return _result("暂存成功", created, 201)


@get(
    BASE,
    summary="查询: own applications, newest first, keyset paged",
    dependencies={"filters": provide_filters},
    responses=apidoc.refusals(401, 403),
)
async def list_requests(
    request: Request, actor: NamedDependency[Actor], filters: NamedDependency[coordination.RequestFilters]
) -> coordination.RequestPage:
    return await call(
        request,
        coordination.LIST,
        coordination.ListQuery(actor=actor, **msgspec.structs.asdict(filters)),
        coordination.RequestPage,
    )


async def _get(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> coordination.CoordinationRequest:
    return await call(
        request,
        coordination.GET,
        coordination.RequestRef(actor=actor, request_id=request_id),
        coordination.CoordinationRequest,
    )


@get(
    BASE + "/{request_id:str}",
    summary="详情: the application, its flags, status history and attachments",
    responses=apidoc.refusals(401, 403, 404),
)
async def get_request(request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]) -> RequestDetail:
    application = await _get(request, actor, request_id)
    files = await call(
        request,
        attachment.LIST,
        attachment.ListAttachments(actor=actor, request_id=application.id),
        attachment.AttachmentList,
    )
    return RequestDetail(**msgspec.structs.asdict(application), attachments=list(files.items))


@put(
    BASE + "/{request_id:str}",
    summary="暂存 again (editable statuses only; carries the version it saw)",
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
    operation_class=apidoc.json_body(FormIn),
)
@idempotent
async def update_request(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> Response[RequestResult]:
    body = await decode_body(request, FormIn)
    if body.version is None:
        raise ValidationFailed(fields=[FieldError(field="version", message="缺少数据版本号，请刷新后重试")])
    updated = await call(
        request,
        coordination.UPDATE,
        coordination.UpdateCommand(
            actor=actor,
            request_id=request_id,
            version=body.version,
            form=coordination.RequestForm.of(body),
            idempotency=await idempotency.key(request),
        ),
        coordination.CoordinationRequest,
    )
    return _result("暂存成功", updated)


@delete(
    BASE + "/{request_id:str}",
    summary="删除 (暂存, 已撤回, 退回 only)",
    status_code=200,
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
)
@idempotent
async def delete_request(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str], version: FromQuery[int | None] = None
) -> Response[apidoc.Message]:
    await call(
        request,
        coordination.DELETE,
        coordination.TransitionCommand(
            actor=actor, request_id=request_id, version=version, idempotency=await idempotency.key(request)
        ),
        coordination.Deleted,
    )
    return Response(apidoc.Message(message="删除成功"), status_code=200)


@post(
    BASE + "/{request_id:str}/submit",
    summary="提交: ownership and linkage (registry) → transition",
    status_code=200,
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
    operation_class=apidoc.json_body(VersionIn),
)
@idempotent
async def submit_request(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> Response[RequestResult]:
    """Three calls on the critical path: the application as it stands, one registry question (ownership and
    linkage together), the transition. The attachment facts (count, damage, revision) are coordination's own,
    told by the attachment service with every file change, and checked inside the transition.

    With an Idempotency-Key, a check here that refuses asks coordination-request whether the key's first try
    already submitted (its effect is why a retry is refused): then that try's response is the answer."""
    key = await idempotency.key(request)
    try:
        current = await _submittable(request, actor, request_id)
    except ServiceError as refused:
        if refused.status >= 500:
            raise
        done = await idempotency.recorded(request, "coordination_request", actor, key, coordination.CoordinationRequest)
        if done is None:
            raise
        return _result("申报成功", done)
    submitted = await call(
        request,
        coordination.SUBMIT,
        coordination.TransitionCommand(
            actor=actor,
            request_id=current.id,
            version=current.version,
            attachments_revision=current.attachments_revision,
            idempotency=key,
        ),
        coordination.CoordinationRequest,
    )
    return _result("申报成功", submitted)


async def _submittable(request: Request, actor: Actor, request_id: str) -> coordination.CoordinationRequest:
    """The application, once the checks before the transition pass: the version the client saw, an editable
    status, the certificate the enterprise's own and linked to the export declaration."""
    body = await decode_body(request, VersionIn)
    current = await call(
        request,
        coordination.GET,
        coordination.RequestRef(actor=actor, request_id=request_id, history=False),
        coordination.CoordinationRequest,
    )
    if body.version is not None and body.version != current.version:
        raise Conflict()
    if not current.editable:
        raise InvalidState("当前状态不允许提交")
    check = await call(
        request,
        registry.SUBMIT_CHECK,
        registry.SubmitCheckQuery(
            proof_type=current.proof_type,
            certificate_no=current.certificate_no,
            credit_code=actor.credit_code or "",
            export_declaration_no=current.export_declaration_no,
        ),
        registry.SubmitCheck,
    )
    if not check.owned:
        raise CertificateNotOwned()
    if not check.linked:
        raise DeclarationNotLinked()
    return current


@post(
    BASE + "/{request_id:str}/withdraw",
    summary="撤回 (待办 only)",
    status_code=200,
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
    operation_class=apidoc.json_body(VersionIn),
)
@idempotent
async def withdraw_request(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> Response[RequestResult]:
    body = await decode_body(request, VersionIn)
    withdrawn = await call(
        request,
        coordination.WITHDRAW,
        coordination.TransitionCommand(
            actor=actor, request_id=request_id, version=body.version, idempotency=await idempotency.key(request)
        ),
        coordination.CoordinationRequest,
    )
    return _result("撤回成功", withdrawn)


# --- attachments ------------------------------------------------------------------------------------


@post(
    BASE + "/{request_id:str}/attachments",
    summary="上传附件 (multipart field `file`, ≤ 4 MiB)",
    request_max_body_size=UPLOAD_BODY_LIMIT,
    status_code=201,
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
    operation_class=apidoc.upload_body(),
)
@idempotent
async def upload_attachment(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> Response[AttachmentUploaded]:
    upload = await read_file(request)
    # Bound to the file's name and bytes, not to the multipart body: its boundary differs at every try.
    key = await idempotency.key(request, upload.filename.encode(), upload.content)
    info = await call(
        request,
        attachment.UPLOAD,
        attachment.UploadCommand(
            actor=actor, request_id=request_id, filename=upload.filename, content=upload.content, idempotency=key
        ),
        attachment.AttachmentInfo,
        timeout=30,
    )
    return Response(AttachmentUploaded(message="上传成功", attachment=info), status_code=201)


@get(
    BASE + "/{request_id:str}/attachments",
    summary="Attachments of an application",
    responses=apidoc.refusals(401, 404),
)
async def list_attachments(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str]
) -> attachment.AttachmentList:
    return await call(
        request,
        attachment.LIST,
        attachment.ListAttachments(actor=actor, request_id=request_id),
        attachment.AttachmentList,
    )


@get(
    BASE + "/{request_id:str}/attachments/{attachment_id:str}",
    summary="Download an attachment (integrity-checked)",
    responses=apidoc.refusals(401, 404, 500),
    operation_class=apidoc.download(),
)
async def download_attachment(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str], attachment_id: FromPath[str]
) -> Response:
    result = await call(
        request,
        attachment.DOWNLOAD,
        attachment.AttachmentRef(
            actor=actor,
            request_id=request_id,
            attachment_id=attachment_id,
        ),
        attachment.AttachmentContent,
        timeout=30,
    )
    ascii_name = result.info.filename.encode("ascii", "ignore").decode().replace('"', "") or "attachment"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(result.info.filename)}"
    return Response(
        result.content,
        media_type=result.info.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@delete(
    BASE + "/{request_id:str}/attachments/{attachment_id:str}",
    summary="Delete an attachment (editable only)",
    status_code=200,
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
)
@idempotent
async def delete_attachment(
    request: Request, actor: NamedDependency[Actor], request_id: FromPath[str], attachment_id: FromPath[str]
) -> Response[apidoc.Message]:
    await call(
        request,
        attachment.DELETE,
        attachment.AttachmentRef(
            actor=actor,
            request_id=request_id,
            attachment_id=attachment_id,
            idempotency=await idempotency.key(request),
        ),
        attachment.AttachmentInfo,
    )
    return Response(apidoc.Message(message="删除成功"), status_code=200)


routes = [
    create_request,
    list_requests,
    get_request,
    update_request,
    delete_request,
    submit_request,
    withdraw_request,
    upload_attachment,
    list_attachments,
    download_attachment,
    delete_attachment,
]
