"""The bare gateway for `make bench`: a minimal Litestar app whose POST answers a constant, served the way
gateway/__main__.py serves the gateway (uvicorn, uvloop, httptools, no access log; keep the arguments in step).
Its throughput is the ceiling 暂存 is compared against. Run as its own process: `python -m tests.bench_bare PORT`."""

from __future__ import annotations

import sys

import uvicorn
from litestar import Litestar, Response, get, post

CONSTANT = {"message": "暂存成功", "request": {"id": "00000000-0000-0000-0000-000000000000", "version": 1}}


@post("/api/v1/coordination-requests")
async def create_request() -> Response:
    return Response(CONSTANT, status_code=201)


@get("/ready")
async def ready() -> dict:
    return {"status": "ready"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[create_request, ready], debug=False, logging_config=None)


if __name__ == "__main__":
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
