"""Idempotency-Key on mutating routes: the gateway names the operation and what the request asks; the service that
makes the effect records the key in the effect's own transaction (shared/idempotency.py), so a retry, even of a
request that timed out, gets the first response back (`Idempotent-Replayed: true`) and never a second effect.

Nothing is kept here: a 503 or a gateway that died leaves no claim behind, and the retry simply asks again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response

from gateway.deps import call
from shared import idempotency
from shared.contracts.common import Actor, FieldError
from shared.contracts.idempotency import REPLAY_SUBJECTS, IdempotencyKey, ReplayQuery
from shared.errors import NotFound, ValidationFailed

HEADER = "idempotency-key"
R = TypeVar("R")


def idempotent(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Decorates a mutating route handler (which takes `request` and passes `await key(request)` to the service
    call that makes its effect): the response of a replayed effect is marked Idempotent-Replayed."""

    @functools.wraps(handler)
    async def once(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        raw_key = request.headers.get(HEADER)
        if raw_key is not None:
            if not 1 <= len(raw_key) <= 255 or not raw_key.isascii() or not raw_key.isprintable():
                raise ValidationFailed(
                    "Idempotency-Key 格式有误",
                    fields=[FieldError(field="Idempotency-Key", message="应为1至255个可打印ASCII字符")],
                )
            # The operation the key names; the service scopes it by the acting user.
            request.state.idempotency_key = _digest(request.method, request.url.path, raw_key)
        replayed = idempotency.replayed.set(False)
        try:
            response = await handler(*args, **kwargs)
            if idempotency.replayed.get():
                response.headers[idempotency.REPLAYED_HEADER] = "true"
        finally:
            idempotency.replayed.reset(replayed)
        return response

    return once


async def key(request: Request, *asked: bytes) -> IdempotencyKey | None:
    """The request's Idempotency-Key for the service call that makes its effect, bound to what the request asks:
    its query and body, or its query and `asked` (an upload's file name and bytes: its multipart framing differs
    at every try)."""
    digest = getattr(request.state, "idempotency_key", None)
    if digest is None:
        return None
    fingerprint = _digest(request.url.query, *(asked or (await request.body(),)))
    return IdempotencyKey(key=digest, fingerprint=fingerprint)


async def recorded(
    request: Request, service: str, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]
) -> R | None:
    """The reply `service` recorded for the key's first try, if it made its effect: for a route whose own checks
    before the effect would refuse the retry (a submit already submitted)."""
    if key is None:
        return None
    try:
        return await call(request, REPLAY_SUBJECTS[service], ReplayQuery(actor=actor, idempotency=key), reply_type)
    except NotFound:  # no first try made the effect
        return None


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()
