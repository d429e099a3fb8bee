"""The gateway application: create_app() wires settings, the NATS client, routes, errors and OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from gateway import errors, idempotency, portal
from gateway.routes import auth, customs, reference, requests
from gateway.settings import Settings
from shared import bus, logs

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@get("/health", include_in_schema=False)
async def health() -> dict:
    return {"status": "ok"}


@get("/ready", include_in_schema=False)
async def ready(request: Request) -> Response:
    ok = request.app.state.nc.is_connected
    return Response({"status": "ready" if ok else "not ready"}, status_code=200 if ok else 503)


async def before_request(request: Request) -> Response | None:
    logs.request_id.set(request.headers.get(logs.REQUEST_ID_HEADER) or logs.new_request_id())
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        # Browsers send Origin on cross-site writes; refuse any we do not serve (CSRF defence beside SameSite).
        if origin and origin not in request.app.state.allowed_origins:
            host = request.headers.get("host", "")
            if origin.split("://", 1)[-1] != host:
                return Response(errors.error_body("FORBIDDEN_ORIGIN", "请求来源不被允许"), status_code=403)
    return None


async def after_request(response: Response) -> Response:
    rid = logs.request_id.get()
    if rid:
        response.headers[logs.REQUEST_ID_HEADER] = rid
    return response


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.nc = await bus.connect(settings.nats_url, "gateway")
        app.state.idempotency = await idempotency.open_bucket(app.state.nc.jetstream())
        try:
            yield
        finally:
            await app.state.nc.drain()

    prometheus = PrometheusConfig(app_name="gateway", group_path=True, exclude=["/health", "/ready", "/metrics"])

    class Metrics(PrometheusController):
        include_in_schema = False

    app = Litestar(
        route_handlers=[
            health,
            ready,
            Metrics,
            *auth.routes,
            *reference.routes,
            *requests.routes,
            *customs.routes,
            portal.portal,
        ],
        middleware=[prometheus.middleware],
        lifespan=[lifespan],
        exception_handlers=errors.HANDLERS,
        before_request=before_request,
        after_request=after_request,
        request_max_body_size=1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="享惠受阻协调申请 API", version="1.0.0", path="/schema", render_plugins=[SwaggerRenderPlugin()]
        ),
        debug=False,
        logging_config=None,  # JSON logs are configured by shared.logs
    )
    app.state.settings = settings
    app.state.allowed_origins = settings.allowed_origins
    app.state.portal_assets = portal.load(Path(settings.portal_dir))
    return app
