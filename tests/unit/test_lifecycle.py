"""A service handles SIGTERM from its first instant: stopped while it still waits for its database, it exits
at once and cleanly (code 0) instead of being killed by the signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared import actor_token
from shared.devstack.infra import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_during_start_up_ends_the_process_cleanly() -> None:
    _, verify_key = actor_token.generate_keypair()
    env = {
        **os.environ,
        "PROFILE": "test",
        "DATABASE_URL": f"postgresql://nobody:x@127.0.0.1:{free_port()}/none",  # nothing listens: it keeps retrying
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(free_port()),
        "ACTOR_VERIFY_KEY": verify_key,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.customs_desk"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Wait until it is inside start-up (it says the database is not reachable yet), then stop it.
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "database not reachable yet" in line:
                break
        assert any("database not reachable yet" in line for line in seen), "".join(seen)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(seen) + output
    assert "stopped during start-up" in output
