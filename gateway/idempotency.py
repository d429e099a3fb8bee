"""Idempotency-Key for mutating POSTs: a retried request returns the first one's response, never runs twice.

Records live in a NATS JetStream key-value bucket shared by every gateway replica. A key is claimed
atomically (`create`) before the work runs; a successful response is stored for 24 hours. A refusal
releases the key, so a corrected retry runs again; an unknown outcome keeps the claim until it is abandoned.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import nats.js.errors
from litestar import Request, Response
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from shared import streams
from shared.contracts.common import Actor, FieldError
from shared.errors import ServiceError, ValidationFailed

HEADER = "idempotency-key"
# A claim older than this is taken to be from a gateway that died mid-request.
ABANDONED_AFTER_SECONDS = 120


class Record(msgspec.Struct):
    state: str  # "pending" | "done"
    fingerprint: str
    started: float
    status: int = 0
    body: bytes = b""


class KeyReused(ServiceError):
    status, code, message = 422, "IDEMPOTENCY_KEY_REUSED", "该幂等键已用于内容不同的请求"


class InProgress(ServiceError):
    status, code, message = 409, "REQUEST_IN_PROGRESS", "相同的请求正在处理中，请稍后重试"


async def open_bucket(js: JetStreamContext) -> KeyValue:
    """The bucket, once the provisioner has made it (the gateway may not: shared/natsauth.py)."""
    await streams.await_provisioned(js)
    while True:
        try:
            return await js.key_value(streams.IDEMPOTENCY_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            await asyncio.sleep(1)


def idempotent(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Decorates a mutating route handler (which takes `request` and `actor`): with an Idempotency-Key, it runs
    at most once per key and user, and a retry gets the first response."""

    @functools.wraps(handler)
    async def once(*args: Any, **kwargs: Any) -> Response:
        return await _once(kwargs["request"], kwargs["actor"], lambda: handler(*args, **kwargs))

    return once


async def _once(request: Request, actor: Actor, work: Callable[[], Awaitable[Response]]) -> Response:
    raw_key = request.headers.get(HEADER)
    if raw_key is None:
        return await work()
    if not 1 <= len(raw_key) <= 255 or not raw_key.isascii() or not raw_key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key 格式有误",
            fields=[FieldError(field="Idempotency-Key", message="应为1至255个可打印ASCII字符")],
        )
    kv: KeyValue = request.app.state.idempotency
    scope = f"{actor.user_id}\n{request.method}\n{request.url.path}\n{raw_key}"
    key = hashlib.sha256(scope.encode()).hexdigest()
    fingerprint = hashlib.sha256(await request.body()).hexdigest()
    claim = msgspec.msgpack.encode(Record(state="pending", fingerprint=fingerprint, started=time.time()))
    try:
        await kv.create(key, claim)
    except nats.js.errors.KeyWrongLastSequenceError:
        entry = await kv.get(key)
        previous = msgspec.msgpack.decode(entry.value, type=Record)
        if previous.fingerprint != fingerprint:
            raise KeyReused() from None
        if previous.state == "done":
            return Response(
                previous.body,
                status_code=previous.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if time.time() - previous.started < ABANDONED_AFTER_SECONDS:
            raise InProgress() from None
        try:
            await kv.update(key, claim, last=entry.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise InProgress() from None
    try:
        response = await work()
    except ServiceError as exc:
        if exc.status < 500:
            await kv.delete(key)  # refused: nothing happened, a corrected retry may run
        # else the outcome is unknown (e.g. a timeout while the service went on): the claim stays, so a retry
        # is told the request is in progress until the claim is abandoned, instead of running it twice.
        raise
    if response.status_code >= 300:
        await kv.delete(key)
        return response
    body = msgspec.json.encode(response.content)
    done = Record(state="done", fingerprint=fingerprint, started=time.time(), status=response.status_code, body=body)
    await kv.put(key, msgspec.msgpack.encode(done))
    return response
