"""NATS helpers: connecting, serving request/reply endpoints, calling them, and the JetStream stream."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.micro import ServiceConfig, add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service
from opentelemetry.trace import SpanKind

from shared import db, idempotency, logs, metrics, natsauth, tracing
from shared.actor_token import ActorVerifier
from shared.contracts.common import Contract, ErrorReply
from shared.errors import InternalError, ServiceError, Unavailable

log = logging.getLogger(__name__)

ERROR_CODE_HEADER = "Nats-Service-Error-Code"
DEFAULT_TIMEOUT = 5.0
R = TypeVar("R")


async def connect(
    url: str,
    name: str,
    wait_seconds: float = 30.0,
    *,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ca_file: str | None = None,
) -> Client:
    """Connect, retrying while the server comes up, then reconnecting forever (`on_reconnect` after each).
    Replies arrive on the user's own inbox prefix (the only one its NATS permissions allow; shared/natsauth.py).
    With `ca_file` (NATS_CA_FILE; a `tls://` URL) the server's certificate must chain to that CA."""
    user = natsauth.user_of(url)
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", extra={"fields": {"error": type(exc).__name__}})

    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await nats.connect(
                url,
                name=name,
                connect_timeout=2,
                reconnect_time_wait=0.5,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=on_error,
                inbox_prefix=natsauth.inbox_prefix(user) if user else "_INBOX",
                **({"tls": tls} if tls else {}),
                **({"reconnected_cb": on_reconnect} if on_reconnect else {}),
            )
        except (OSError, nats.errors.NoServersError, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Endpoint:
    """One request/reply endpoint: subject, payload type and handler."""

    subject: str
    payload: type[Any]
    handler: Callable[[Any], Awaitable[Contract]]


class Responder:
    """Serves endpoints via nats.micro; every request runs in its own task behind a semaphore."""

    def __init__(
        self,
        nc: Client,
        name: str,
        endpoints: list[Endpoint],
        verifier: ActorVerifier | None,
        concurrency: int = 64,
    ) -> None:
        self._nc = nc
        self._verifier = verifier
        self._name = name
        self._endpoints = endpoints
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._service: Service | None = None

    async def start(self) -> None:
        self._service = await add_service(self._nc, ServiceConfig(name=self._name, version="1.0.0"))
        for ep in self._endpoints:
            await self._service.add_endpoint(
                EndpointConfig(name=ep.subject.replace(".", "_"), subject=ep.subject, handler=self._dispatcher(ep))
            )

    async def stop(self) -> None:
        if self._service:
            await self._service.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    def _dispatcher(self, ep: Endpoint) -> Callable[[Request], Awaitable[None]]:
        decoder = msgspec.json.Decoder(ep.payload)

        async def dispatch(req: Request) -> None:
            # Take the slot before making the task: when all are busy the subscription waits (and NATS buffers
            # within its limits) instead of piling up tasks without bound.
            await self._slots.acquire()
            task = asyncio.create_task(self._handle(ep, decoder, req))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _: self._slots.release())

        return dispatch

    async def _handle(self, ep: Endpoint, decoder: msgspec.json.Decoder, req: Request) -> None:
        logs.request_id.set((req.headers or {}).get(logs.REQUEST_ID_HEADER))
        logs.client_address.set((req.headers or {}).get(logs.CLIENT_HEADER))
        idempotency.replayed.set(False)
        outcome = "ok"
        with (
            metrics.REQUEST_SECONDS.labels(ep.subject).time(),
            tracing.span(
                ep.subject, SpanKind.SERVER, parent=req.headers or {}, attributes=_span_attributes(ep.subject)
            ) as span,
        ):
            try:
                payload = decoder.decode(req.data)
                actor = getattr(payload, "actor", None)
                if actor is not None and self._verifier is not None:
                    self._verifier.verify(actor)  # the tenant in a request is trusted only if identity signed it
                result = await ep.handler(payload)
                replayed = {idempotency.REPLAYED_HEADER: "true"} if idempotency.replayed.get() else None
                await req.respond(msgspec.json.encode(result), headers=replayed)
            except (msgspec.ValidationError, msgspec.DecodeError):
                outcome = "bad_request"
                await self._error(req, ServiceError("请求格式有误", code="BAD_REQUEST", status=400))
            except ServiceError as exc:
                outcome = "refused"
                await self._error(req, exc)
            except Exception as exc:
                if db.unreachable(exc):  # the database is down or restarting: 503, the caller may retry
                    outcome = "unavailable"
                    log.warning(
                        "endpoint could not reach the database",
                        extra={"fields": {"subject": ep.subject, "error": type(exc).__name__}},
                    )
                    await self._error(req, Unavailable())
                else:
                    outcome = "error"
                    tracing.failed(span)
                    log.exception("endpoint failed", extra={"fields": {"subject": ep.subject}})
                    await self._error(req, InternalError())
        metrics.REQUESTS.labels(ep.subject, outcome).inc()

    @staticmethod
    async def _error(req: Request, exc: ServiceError) -> None:
        try:
            await req.respond_error(str(exc.status), exc.code, msgspec.json.encode(exc.to_reply()))
        except Exception:
            log.exception("could not send error reply")


def _span_attributes(subject: str) -> dict[str, str]:
    return {"messaging.system": "nats", "messaging.destination.name": subject}


async def call(
    nc: Client, subject: str, payload: Contract, reply_type: type[R], *, timeout: float = DEFAULT_TIMEOUT
) -> R:
    """Request/reply with an explicit timeout; a refusal comes back as the ServiceError it was. While NATS is
    unreachable the call is refused at once (503) instead of waiting out its timeout in the reconnect buffer."""
    if not nc.is_connected:
        raise Unavailable()
    headers = {}
    rid = logs.request_id.get()
    if rid:
        headers[logs.REQUEST_ID_HEADER] = rid
    client = logs.client_address.get()
    if client:
        headers[logs.CLIENT_HEADER] = client
    with tracing.span(subject, SpanKind.CLIENT, attributes=_span_attributes(subject)) as span:
        tracing.inject(headers)  # the callee's server span continues this trace
        try:
            msg = await nc.request(subject, msgspec.json.encode(payload), timeout=timeout, headers=headers or None)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError) as exc:
            tracing.failed(span)
            log.warning("service call failed", extra={"fields": {"subject": subject, "error": type(exc).__name__}})
            raise Unavailable() from None
    if msg.headers and msg.headers.get(ERROR_CODE_HEADER):
        try:
            reply = msgspec.json.decode(msg.data, type=ErrorReply)
        except msgspec.MsgspecError:
            raise InternalError() from None
        raise ServiceError.from_reply(reply)
    if msg.headers and msg.headers.get(idempotency.REPLAYED_HEADER):
        idempotency.replayed.set(True)  # the first try's reply: the caller says so to its own caller
    return msgspec.json.decode(msg.data, type=reply_type)
