"""Request-scoped helpers: the NATS client, the session's actor, body decoding that reports clear errors."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from nats.aio.client import Client

from shared import bus
from shared.contracts import identity
from shared.contracts.common import Actor, Contract, FieldError
from shared.errors import ServiceError, Unauthenticated, ValidationFailed

SESSION_COOKIE = "xh_session"
T = TypeVar("T")
R = TypeVar("R")


def nats_client(request: ASGIConnection) -> Client:
    return request.app.state.nc


async def call(
    request: ASGIConnection, subject: str, payload: Contract, reply_type: type[R], timeout: float = 5.0
) -> R:
    return await bus.call(nats_client(request), subject, payload, reply_type, timeout=timeout)


async def current_session(request: ASGIConnection) -> identity.Session:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated()

    async def verify(token: str) -> identity.Session:
        return await call(request, identity.SESSION_VERIFY, identity.SessionToken(token=token), identity.Session)

    return await request.app.state.sessions.get(token, verify)


async def current_actor(request: ASGIConnection) -> Actor:
    actor = (await current_session(request)).actor
    request.state.actor = actor  # who was refused, should a later step refuse (the audit trail)
    return actor


async def provide_actor(request: Request) -> Actor:
    """The `actor` dependency: already resolved by the access check (gateway/access.py, before every handler)."""
    actor = getattr(request.state, "actor", None)
    return actor if actor is not None else await current_actor(request)


async def decode_body(request: Request, model: type[T]) -> T:
    """Decode JSON with msgspec (strict types, unknown fields refused) and report the failing field."""
    raw = await request.body()
    try:
        if b"\\u0000" in raw:  # JSON can carry NUL only escaped
            refuse_nul(msgspec.json.decode(raw))
        return msgspec.json.decode(raw or b"{}", type=model)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.split("at `$.", 1)[1].rstrip("`").split("[")[0] if "at `$." in text else ""
        if text.startswith("Object contains unknown field"):
            field = text.split("`")[1]
            message = "不支持的字段"
        elif text.startswith("Object missing required field"):
            field = text.split("`")[1]
            message = "必填项不能为空"
        else:
            message = "格式有误"
        raise ValidationFailed("请求内容有误", fields=[FieldError(field=field, message=message)]) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ServiceError("请求内容不是有效的JSON", code="BAD_JSON", status=400) from None


def refuse_nul(values: object, path: str = "") -> None:
    """PostgreSQL text cannot hold NUL; a value carrying one is refused by name instead of failing deep down."""
    if isinstance(values, str):
        if "\x00" in values:
            raise ValidationFailed(fields=[FieldError(field=path, message="不能包含空字符")])
    elif isinstance(values, dict):
        for key, value in values.items():
            refuse_nul(key, path)
            refuse_nul(value, f"{path}.{key}" if path else str(key))
    elif isinstance(values, list):
        for value in values:
            refuse_nul(value, path)
