"""Degraded dependencies: with PostgreSQL, NATS or S3 down, what needs it answers 503 SERVICE_UNAVAILABLE at once,
the /ready of the processes that need it turns false, the rest keeps working, and all of it recovers by itself."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import httpx
import pytest

from tests import support
from tests.faults.rig import PROCESSES, Rig

QUICK_SECONDS = 3.0  # "at once": well under the gateway's 5 s call timeout
NEEDS = {
    "postgres": set(PROCESSES) - {"gateway"},
    "nats": set(PROCESSES),
    "s3": {"attachment"},
}


def _timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def _until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _health(rig: Rig, name: str) -> int:
    url = rig.ready_url(name).removesuffix("/ready") + "/health"
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
        return response.status


@pytest.fixture(scope="module")
def enterprise(rig: Rig) -> tuple[httpx.Client, dict]:
    """A logged-in enterprise user and a draft of theirs."""
    client = support.login(rig.running.gateway_url)
    client.timeout = httpx.Timeout(10)
    body = support.form()
    support.link(client, body)
    return client, support.create(client, body)


def _unavailable(response: httpx.Response, elapsed: float, what: str) -> None:
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    assert response.json()["code"] == "SERVICE_UNAVAILABLE", f"{what}: {response.text}"
    assert elapsed < QUICK_SECONDS, f"{what} took {elapsed:.1f} s to answer 503"


@pytest.mark.parametrize("server", ["s3", "postgres", "nats"])
def test_a_dependency_down_answers_503_at_once_and_everything_recovers(
    rig: Rig, enterprise: tuple[httpx.Client, dict], server: str
) -> None:
    client, draft = enterprise
    crashes_before = sum(rig.crashes.values())
    assert all(rig.wait_all_ready().values())
    rig.stop_server(server)
    try:
        # /ready of exactly the processes that need the server turns false; the others stay ready.
        assert _until(lambda: not any(rig.is_ready(name) for name in NEEDS[server])), {
            name: rig.is_ready(name) for name in NEEDS[server]
        }
        assert all(rig.is_ready(name) for name in set(PROCESSES) - NEEDS[server])
        # Every process still answers /health, and the gateway serves the portal.
        assert all(_health(rig, name) == 200 for name in PROCESSES)
        assert httpx.get(rig.running.gateway_url + "/", timeout=5).status_code == 200

        base = f"/api/v1/coordination-requests/{draft['id']}"
        upload = _timed(lambda: support.upload(client, draft["id"], filename="降级.pdf"))
        _unavailable(*upload, "upload")
        if server == "s3":
            # Only files need S3: a draft is still saved, read and listed.
            created = client.post("/api/v1/coordination-requests", json=support.form(importDeclarationNo="S3-DOWN"))
            assert created.status_code == 201, created.text
            assert client.get(base).status_code == 200
            assert client.get("/api/v1/coordination-requests").status_code == 200
        else:
            _unavailable(*_timed(lambda: client.get(base)), "detail")
            _unavailable(*_timed(lambda: client.get("/api/v1/coordination-requests")), "list")
            created = _timed(lambda: client.post("/api/v1/coordination-requests", json=support.form()))
            _unavailable(*created, "create")
    finally:
        rig.start_server(server)

    # Back by itself: every process ready, no process restarted, and the refused requests now pass.
    state = rig.wait_all_ready(60)
    assert all(state.values()), f"not ready again after {server} returned: {state}"
    assert sum(rig.crashes.values()) == crashes_before, f"processes exited instead of waiting: {dict(rig.crashes)}"
    response = support.upload(client, draft["id"], filename=f"恢复-{server}.pdf")
    assert response.status_code == 201, response.text
    assert client.get("/api/v1/coordination-requests").status_code == 200
