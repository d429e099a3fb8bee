"""Every error leaves the gateway as {"code", "message", "fields"}; exception text never does."""

from __future__ import annotations

import logging

import nats.errors
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from gateway.routes.audit import record_refusal
from shared.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)
audit = logging.getLogger("audit")

_HTTP_MESSAGES = {
    400: ("BAD_REQUEST", "请求参数有误"),
    401: ("UNAUTHENTICATED", "请先登录"),
    403: ("FORBIDDEN", "无权执行该操作"),
    404: ("NOT_FOUND", "资源不存在"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
    413: ("PAYLOAD_TOO_LARGE", "请求内容过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的请求格式"),
}


def error_body(code: str, message: str, fields: list | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or []}


def service_error(request: Request, exc: ServiceError) -> Response:
    fields = [{"field": f.field, "message": f.message} for f in exc.fields]
    # The audit trail of denials: who was refused what (the request id ties it to the services' logs).
    audit.info(
        "request refused",
        extra={
            "fields": {
                "status": exc.status,
                "code": exc.code,
                "method": request.method,
                "path": request.url.path,
                "client": request.client.host if request.client else "",
            }
        },
    )
    if exc.status in (401, 403, 404):
        record_refusal(request, exc)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return Response(error_body(exc.code, exc.message, fields), status_code=exc.status, headers=headers)


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 413 and request.url.path.endswith("/attachments"):
        return Response(error_body("FILE_TOO_LARGE", "文件大小不能超过4M"), status_code=413)
    code, message = _HTTP_MESSAGES.get(status, ("HTTP_ERROR", "请求无法处理"))
    fields = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict) and item.get("key"):
                fields.append({"field": str(item["key"]), "message": "参数格式有误"})
    if status >= 500:
        log.error("http error", extra={"fields": {"status": status, "path": request.url.path}})
        code, message = "INTERNAL_ERROR", "系统内部错误，请稍后重试"
    return Response(error_body(code, message, fields), status_code=status, headers=exc.headers)


def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
    return Response(
        error_body("INTERNAL_ERROR", "系统内部错误，请稍后重试"), status_code=HTTP_500_INTERNAL_SERVER_ERROR
    )


def nats_unavailable(request: Request, exc: nats.errors.Error) -> Response:
    """NATS or JetStream did not answer (a server restarting, a stream without a leader, the idempotency store
    unreachable): the outcome is unknown to the client, who may retry, so 503 rather than 500."""
    log.warning("nats unavailable", extra={"fields": {"path": request.url.path, "error": type(exc).__name__}})
    return Response(error_body(Unavailable.code, Unavailable.message), status_code=Unavailable.status)


HANDLERS = {
    ServiceError: service_error,
    HTTPException: http_error,
    nats.errors.Error: nats_unavailable,
    Exception: unexpected_error,
}
