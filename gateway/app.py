"""The gateway application: create_app() wires settings, the NATS client, routes, errors and OpenAPI."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.plugins import PluginProtocol
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway import access, compression, deps, errors, portal, sessions
from gateway.routes import account, audit, auth, card, customs, reference, requests
from gateway.settings import Settings
from shared import bus, logs, tracing
from shared import health as probes

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# On every response unless the route set its own (the portal's pages carry their own CSP; Swagger UI outside
# production needs its scripts).
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Per-route metrics (litestar_requests_total, litestar_request_duration_seconds, …) labelled by the route template
# (group_path), never the raw path: one series per route. Served on HEALTH_PORT only.
PROMETHEUS = PrometheusConfig(app_name="gateway", group_path=True, exclude=["/health", "/ready"])


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: security headers on every response, error responses included; API answers never cached."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = dict(SECURITY_HEADERS)
                if not path.startswith("/schema"):
                    wanted[b"content-security-policy"] = API_CSP
                if path.startswith("/api/"):
                    wanted[b"cache-control"] = b"no-store"
                headers += [(name, value) for name, value in wanted.items() if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


@get("/health", include_in_schema=False)
async def health() -> dict:
    return {"status": "ok"}


def _connected(app: Litestar):
    async def check() -> bool:
        return app.state.nc.is_connected

    return check


@get("/ready", include_in_schema=False)
async def ready(request: Request) -> Response:
    ok = request.app.state.nc.is_connected
    return Response({"status": "ready" if ok else "not ready"}, status_code=200 if ok else 503)


def _refusal(status: int, code: str, message: str, fields: list | None = None) -> Response:
    return Response(errors.error_body(code, message, fields), status_code=status)


async def before_request(request: Request) -> Response | None:
    # A caller's request id is kept only if it looks like one: it goes into every log line and audit record.
    given = request.headers.get(logs.REQUEST_ID_HEADER, "")
    logs.request_id.set(given if REQUEST_ID.fullmatch(given) else logs.new_request_id())
    logs.client_address.set(request.client.host if request.client else None)
    tracing.name_server_span(request.method, request.scope.get("path_template", ""))
    # Who may call the route (gateway/access.py), before anything else reads the request. A hook, not a Litestar
    # guard: Litestar copies the route handler object for every guard call (5% of the gateway's CPU under 提交).
    await access.enforce(request)
    # PostgreSQL text cannot hold NUL: a parameter carrying one is refused by name before any service sees it.
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            return _refusal(422, "VALIDATION_FAILED", "请求参数有误", [{"field": key, "message": "不能包含空字符"}])
    if request.method in SAFE_METHODS:
        return None
    # Browsers send Origin on cross-site writes: only our own origin, scheme, host and port alike (CSRF defence
    # beside SameSite), or one configured in ALLOWED_ORIGINS.
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin and origin != own and origin not in request.app.state.allowed_origins:
        return _refusal(403, "FORBIDDEN_ORIGIN", "请求来源不被允许")
    # A body is JSON, or on the upload route multipart: a text/plain form cannot slip past CORS as a write.
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        upload = request.method == "POST" and request.url.path.endswith("/attachments")
        expected = "multipart/form-data" if upload else "application/json"
        if request.content_type[0] != expected:
            message = "请以 multipart/form-data 上传文件" if upload else "请求内容应为JSON（application/json）"
            return _refusal(415, "UNSUPPORTED_MEDIA_TYPE", message)
    return None


async def after_request(response: Response) -> Response:
    rid = logs.request_id.get()
    if rid:
        response.headers[logs.REQUEST_ID_HEADER] = rid
    return response


def _tracing_plugins() -> list[PluginProtocol]:
    """Litestar's OpenTelemetry plugin when tracing is on: a server span per request (continuing a caller's
    `traceparent`), named after the route by before_request; probes and the portal's static files are left out."""
    if not tracing.enabled:
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    config = OpenTelemetryConfig(
        exclude=["^/health$", "^/ready$", "^/assets/"],
        exclude_spans=["receive", "send"],
        scope_span_details_extractor=lambda scope: (str(scope.get("method", "HTTP")), {}),
    )
    return [OpenTelemetryPlugin(config)]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.sessions = sessions.SessionCache(settings.session_cache_seconds)

        async def reconnected() -> None:  # an eviction may have been missed while disconnected
            app.state.sessions.clear()

        app.state.nc = await bus.connect(
            settings.nats_url, "gateway", on_reconnect=reconnected, ca_file=settings.nats_ca_file
        )
        await app.state.sessions.listen(app.state.nc)
        # Metrics and probes for operators on their own port, never on the public one.
        probe = await probes.serve(settings.health_host, settings.health_port, _connected(app))
        try:
            yield
        finally:
            probe.close()
            await app.state.nc.drain()
            tracing.shutdown()

    tracing.setup(settings.tracing)
    # Swagger UI loads its scripts from a CDN: only outside production. The OpenAPI document itself is public.
    docs = [JsonRenderPlugin()] if settings.profile == "production" else [SwaggerRenderPlugin(), JsonRenderPlugin()]

    app = Litestar(
        route_handlers=[
            health,
            ready,
            *auth.routes,
            *card.routes,
            *account.routes,
            *reference.routes,
            *requests.routes,
            *customs.routes,
            *audit.routes,
            portal.portal,
        ],
        middleware=[security_headers, compression.compression, PROMETHEUS.middleware],
        dependencies={"actor": Provide(deps.provide_actor)},
        lifespan=[lifespan],
        plugins=_tracing_plugins(),
        exception_handlers=errors.HANDLERS,
        before_request=before_request,
        after_request=after_request,
        request_max_body_size=1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="享惠受阻协调申请 API", version="1.0.0", path="/schema", render_plugins=docs
        ),
        debug=False,
        logging_config=None,  # JSON logs are configured by shared.logs
    )
    app.state.settings = settings
    app.state.allowed_origins = settings.allowed_origins
    app.state.portal_assets = portal.load(Path(settings.portal_dir))
    return app
