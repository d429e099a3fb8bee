"""JSON logs, one object a line, carrying the request id that travels through HTTP and NATS headers."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-Id"
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# The client's address, carried from the gateway through NATS headers like the request id (for the audit trail).
CLIENT_HEADER = "X-Client-Address"
client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)
# Set by shared.tracing when traces are on: the id of the current (sampled) trace, put into every log line.
trace_id: Callable[[], str | None] | None = None


def new_request_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["requestId"] = rid
        tid = trace_id() if trace_id is not None else None
        if tid:
            entry["traceId"] = tid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(component: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "asyncio", "urllib3"):
        logging.getLogger(noisy).setLevel("WARNING")
