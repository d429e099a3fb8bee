"""Test infrastructure: env URLs if set, else testcontainers when a Docker engine answers, else the
embedded binaries; then every service and the gateway as real processes (profile `test`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest

from shared.devstack import infra as infrastructure
from shared.devstack import portal
from shared.devstack import stack as services
from tests.otlp import Receiver

# The fault-injection suite kills and stops its own servers for minutes: only `make test-faults` runs it.
collect_ignore = [] if os.environ.get("FAULT_SUITE") == "1" else ["faults"]


@pytest.fixture(scope="session")
def otlp() -> Iterator[Receiver]:
    """Where the test stack's processes send their traces (OTLP/HTTP, in this process)."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def stack(otlp: Receiver) -> Iterator[services.Stack]:
    portal.ensure_built()  # the gateway reads the built portal once, at start-up
    with ExitStack() as exits:
        work = Path(tempfile.mkdtemp(prefix="xianghui-test-"))
        # Removed last, after every server stopped (~200 MB a run); KEEP_TEST_DATA=1 keeps it to look at the logs.
        if os.environ.get("KEEP_TEST_DATA") != "1":
            exits.callback(shutil.rmtree, work, ignore_errors=True)
        infra = infrastructure.from_environment()
        if infra is None and os.environ.get("TEST_INFRA", "auto") != "embedded" and infrastructure.docker_answers():
            infra = infrastructure.start_containers(exits, work / "containers")
        if infra is None:
            infra = infrastructure.start_embedded(exits, work / "data", work / "logs")
        infrastructure.create_databases(infra)
        # A short grace period lets the reconciler test see an orphan object swept without long waits.
        extra = {"ORPHAN_GRACE_SECONDS": "1"}
        # The gateway's session cache far longer than the default 5 s: a test that sees a session end at once
        # proves identity's event evicted it, not the cache's expiry.
        extra["SESSION_CACHE_SECONDS"] = "60"
        # The card agent's port is free at start-up, so a browser test can start the agent there (tests/browser).
        extra["CARD_AGENT_URL"] = f"http://127.0.0.1:{infrastructure.free_port()}"
        # Tracing is on as in production, but only a request that arrives with a sampled `traceparent` is traced
        # (parent-based sampler, ratio 0 for new traces): the other tests pay for unsampled spans only.
        extra.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OTEL_TRACES_SAMPLER="parentbased_traceidratio",
            OTEL_TRACES_SAMPLER_ARG="0",
            OTEL_BSP_SCHEDULE_DELAY="200",
        )
        clamd = os.environ.get("CLAMD_ADDRESS") or infrastructure.start_clamd(exits, work / "data", work / "logs")
        if clamd:
            extra["CLAMD_ADDRESS"] = clamd
        running = services.start(exits, infra, work / "logs", profile="test", extra_env=extra)
        running.clamd_address = clamd
        exits.callback(services.stop_signal_children, running)
        yield running


@pytest.fixture
def pinned_clock(stack: services.Stack) -> Iterator[Callable[[datetime], None]]:
    """`pin(instant)` makes the services read that (aware) instant as now; the clock runs freely again after."""
    path = stack.clock_file
    assert path is not None, "the test stack has no clock file"

    def pin(instant: datetime) -> None:
        assert instant.tzinfo is not None, "pin an aware instant"
        staged = path.with_suffix(".new")
        staged.write_text(instant.isoformat())
        staged.replace(path)  # atomic: a service never reads a half-written instant

    try:
        yield pin
    finally:
        path.unlink(missing_ok=True)
