"""The fault suite's stack (`make test-faults`): its own embedded servers behind fault proxies, never the session
stack of the other tests, since the suite kills and stops its servers."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from shared.devstack import portal
from tests.faults import rig as rigging


def pytest_configure(config: pytest.Config) -> None:
    # `make test-faults` is bounded by timeout(1), which sends SIGTERM: end like Ctrl-C, so that the fixtures'
    # teardown stops every server and process the suite started (Python's default would exit on the spot).
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(scope="session")
def rig() -> Iterator[rigging.Rig]:
    portal.ensure_built()
    with ExitStack() as exits:
        work = Path(tempfile.mkdtemp(prefix="xianghui-faults-"))
        if os.environ.get("KEEP_TEST_DATA") != "1":
            exits.callback(shutil.rmtree, work, ignore_errors=True)
        else:
            print(f"\nfault suite data and logs: {work}")
        yield rigging.start(exits, work)
