"""Domain errors that cross service boundaries as (status, code, Chinese message, field errors)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from shared.contracts.common import ErrorReply, FieldError
from shared.workflow import Incomplete, NotAllowed, Outdated, Refused

P = ParamSpec("P")
R = TypeVar("R")


class ServiceError(Exception):
    """A refusal meant for the caller: stable code, Chinese message, optional field errors."""

    status = 400
    code = "BAD_REQUEST"
    message = "请求有误"
    retry_after: int | None = None  # seconds; for refusals that end by themselves (429)

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.fields = fields or []
        self.retry_after = retry_after
        super().__init__(self.code)

    def to_reply(self) -> ErrorReply:
        return ErrorReply(
            status=self.status, code=self.code, message=self.message, fields=self.fields, retry_after=self.retry_after
        )

    @classmethod
    def from_reply(cls, reply: ErrorReply) -> ServiceError:
        """Rebuild a remote refusal, as the family its status belongs to (so `except NotFound` works)."""
        family = _FAMILIES.get(reply.status, ServiceError)
        if reply.status == 409:
            family = Conflict if reply.code == Conflict.code else InvalidState
        return family(
            reply.message,
            code=reply.code,
            status=reply.status,
            fields=list(reply.fields),
            retry_after=reply.retry_after,
        )


class ValidationFailed(ServiceError):
    status, code, message = 422, "VALIDATION_FAILED", "填写内容有误，请按提示修改"

    @classmethod
    def of(cls, errors: dict[str, str]) -> ValidationFailed:
        """Every field error at once, from {field: message}."""
        return cls(fields=[FieldError(field=field, message=message) for field, message in errors.items()])


class NotFound(ServiceError):
    status, code, message = 404, "NOT_FOUND", "数据不存在"


class Conflict(ServiceError):
    status, code, message = 409, "VERSION_CONFLICT", "数据已被修改，请刷新后重试"


class InvalidState(ServiceError):
    status, code, message = 409, "INVALID_STATE", "当前状态不允许该操作"


class Unauthenticated(ServiceError):
    status, code, message = 401, "UNAUTHENTICATED", "请先登录"


class Forbidden(ServiceError):
    status, code, message = 403, "FORBIDDEN", "无权执行该操作"


class TooManyRequests(ServiceError):
    """Throttled; `retry_after` says in how many seconds to try again."""

    status, code, message = 429, "TOO_MANY_REQUESTS", "请求过于频繁，请稍后再试"


class Unavailable(ServiceError):
    status, code, message = 503, "SERVICE_UNAVAILABLE", "服务暂不可用，请稍后重试"


class InternalError(ServiceError):
    status, code, message = 500, "INTERNAL_ERROR", "系统内部错误，请稍后重试"


_FAMILIES: dict[int, type[ServiceError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    422: ValidationFailed,
    429: TooManyRequests,
    500: InternalError,
    503: Unavailable,
}


_REFUSALS: dict[type[Refused], type[ServiceError]] = {
    Outdated: Conflict,
    NotAllowed: InvalidState,
    Incomplete: ValidationFailed,
}


def answering(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A handler whose domain refusals reach the caller as the service errors of their kind."""

    @functools.wraps(handler)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await handler(*args, **kwargs)
        except Refused as refused:
            raise _REFUSALS[type(refused)](refused.message, code=refused.code) from None

    return answer
