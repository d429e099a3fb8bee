"""The example consumer for other customs systems (docs/subscriber_example.py) works against the real stack as the
`subscriber` user: it sees an application created through the API, a handler's failure gets the event again, and
`python docs/subscriber_example.py` runs as documented.

Other tests read the same durable (tests/e2e/test_nats_permissions.py), and a durable gives each event to one reader
only, so each test reads until its own event arrives, acking the others."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec

from shared.contracts.events import RequestCreated
from tests.support import create, form, login

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "subscriber_example.py"


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("subscriber_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_sees_an_application_created_through_the_api_and_retries_a_failed_handling(stack) -> None:
    example = _example()
    created = create(login(stack.gateway_url), form())
    attempts: list[str] = []
    handled: list[RequestCreated] = []

    async def run() -> None:
        stop = asyncio.Event()

        async def handle(event_type: str, event: dict[str, Any]) -> None:
            if event_type != RequestCreated.name or event["requestId"] != created["id"]:
                return
            attempts.append(event["eventId"])
            if len(attempts) == 1:
                raise RuntimeError("the subscriber's own database is down")
            handled.append(msgspec.convert(event, RequestCreated))  # the plain JSON is the contract's shape
            stop.set()

        nc = await example.connect(stack.infra.nats_url_for("subscriber"))
        try:
            await asyncio.wait_for(example.consume(nc, handle, stop), timeout=180)  # a guard against hanging only
        finally:
            await nc.close()

    asyncio.run(run())
    assert len(attempts) == 2 and attempts[0] == attempts[1], attempts
    assert [(e.request_no, e.credit_code) for e in handled] == [(created["requestNo"], created["creditCode"])]


def test_the_example_runs_as_a_script_and_stops_cleanly_on_sigterm(stack) -> None:
    url = stack.infra.nats_url_for("subscriber")
    created = create(login(stack.gateway_url), form())
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        cwd=ROOT,
        env={**os.environ, "NATS_URL": url, "NATS_CA_FILE": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        wanted = f"{RequestCreated.name} "
        while True:
            line = lines.get(timeout=180)  # a guard against hanging only
            if line.startswith(wanted) and line.split()[-1] == created["id"]:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read()
    assert "reading durable subscriber on EVENTS" in stderr
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert not password or password not in stderr
