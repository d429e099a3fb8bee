"""A minimal HTTP endpoint for probes and scraping: /health, /ready and /metrics (which first samples the gauges)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import metrics

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[bool]]
Refresh = Callable[[], Awaitable[None]]
REFRESH_TIMEOUT_SECONDS = 3.0


async def serve(host: str, port: int, ready: ReadyCheck, refresh: Refresh | None = None) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else ""
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            if path == "/health":
                status, body, ctype = 200, b'{"status":"ok"}', "application/json"
            elif path == "/ready":
                ok = await _safe(ready)
                status = 200 if ok else 503
                body = b'{"status":"ready"}' if ok else b'{"status":"not ready"}'
                ctype = "application/json"
            elif path == "/metrics":
                metrics.READY.set(1 if await _safe(ready) else 0)
                if refresh is not None:
                    await _refreshed(refresh)
                status, body, ctype = 200, generate_latest(), CONTENT_TYPE_LATEST
            else:
                status, body, ctype = 404, b'{"status":"not found"}', "application/json"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def _safe(check: ReadyCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), 3)
    except Exception:
        return False


async def _refreshed(refresh: Refresh) -> None:
    """Samples the gauges; when that fails (database or NATS away) the last values are served and readiness,
    scraped beside them, tells why."""
    try:
        await asyncio.wait_for(refresh(), REFRESH_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("metrics sampling failed", extra={"fields": {"error": type(exc).__name__}})
