"""What the OpenAPI document says beyond the handlers' signatures: the request bodies (handlers decode them
themselves, see deps.decode_body) and every refusal a route can answer, each in the {code, message, fields} shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from shared.contracts.common import FieldError


class ApiError(msgspec.Struct, kw_only=True):
    """Every error answer: a stable code for programs, a Chinese message for people, and the fields at fault."""

    code: Annotated[str, msgspec.Meta(min_length=1)]
    message: Annotated[str, msgspec.Meta(min_length=1)]
    fields: list[FieldError]


class Message(msgspec.Struct, kw_only=True):
    message: str


_WHEN = {
    400: "请求有误：JSON 或参数格式错误（BAD_JSON、BAD_REQUEST 等）",
    401: "未登录或会话已结束（UNAUTHENTICATED），或登录失败",
    403: "无权执行：角色不符（FORBIDDEN）、请求来源不被允许（FORBIDDEN_ORIGIN）、账号已停用",
    404: "数据不存在，或属于其他企业（NOT_FOUND 及各服务的 *_NOT_FOUND）",
    405: "不支持该请求方法",
    409: "数据已被修改（VERSION_CONFLICT）、当前状态不允许（INVALID_STATE）或相同请求处理中",
    413: "请求内容过大（FILE_TOO_LARGE、PAYLOAD_TOO_LARGE、MULTIPART_LIMIT）",
    415: "请求格式不支持（UNSUPPORTED_MEDIA_TYPE、UNSUPPORTED_FILE_TYPE）",
    422: "填写内容有误，fields 逐项说明（VALIDATION_FAILED 等）",
    423: "登录失败次数过多，账号已锁定（ACCOUNT_LOCKED）",
    429: "请求过于频繁（TOO_MANY_REQUESTS），见 Retry-After",
    500: "附件已损坏或缺失（ATTACHMENT_CORRUPTED、ATTACHMENT_MISSING）",
    503: "依赖的服务暂不可用（SERVICE_UNAVAILABLE），请稍后重试",
}
# A route's own statuses come on top of these: a parameter that cannot be parsed (400) or carries NUL (422),
# a method the path does not take (405), and a service that does not answer (503).
_EVERY_ROUTE = (400, 405, 422, 503)
# A write can also be refused for its Origin (403), its media type (415) or its size (413).
_EVERY_WRITE = (403, 413, 415)


def refusals(*statuses: int, write: bool = False) -> dict[int, ResponseSpec]:
    """The error responses of a route: its own statuses, plus those every route (and every write) can give."""
    every = {*_EVERY_ROUTE, *statuses, *(_EVERY_WRITE if write else ())}
    return {
        status: ResponseSpec(data_container=ApiError, description=_WHEN[status], generate_examples=False)
        for status in sorted(every)
    }


def _inline_schema(model: type[msgspec.Struct]) -> dict[str, Any]:
    (ref,), components = msgspec.json.schema_components([model])  # request bodies are flat structs
    schema = dict(components[ref["$ref"].rsplit("/", 1)[1]])
    schema.pop("title", None)
    return schema


UPLOAD_SCHEMA = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary", "description": "PDF, JPEG, PNG 或 OFD，≤ 4 MiB"}},
    "required": ["file"],
}


def _with_body(media_type: str, schema: dict[str, Any], *, required: bool) -> type[Operation]:
    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            content = {media_type: OpenAPIMediaType(schema=schema)}  # type: ignore[arg-type]
            self.request_body = RequestBody(content=content, required=required)

    return WithBody


def json_body(model: type[msgspec.Struct]) -> type[Operation]:
    """An OpenAPI operation (for `operation_class`) carrying the JSON body `model`. Not required: an absent body
    reads as {}, where every field has its default or is reported missing."""
    return _with_body("application/json", _inline_schema(model), required=False)


def upload_body() -> type[Operation]:
    """An OpenAPI operation carrying the upload's multipart form."""
    return _with_body("multipart/form-data", UPLOAD_SCHEMA, required=True)


# The types the attachment service accepts, decided by content (services/attachment/filetype.py).
FILE_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/ofd")


def download() -> type[Operation]:
    """An OpenAPI operation whose success is the file itself, in one of the accepted types."""

    @dataclass
    class FileDownload(Operation):
        def __post_init__(self) -> None:
            success = self.responses["200"]  # type: ignore[index]
            binary = {"type": "string", "format": "binary"}
            success.content = {media_type: OpenAPIMediaType(schema=binary) for media_type in FILE_TYPES}  # type: ignore[union-attr,misc]

    return FileDownload
