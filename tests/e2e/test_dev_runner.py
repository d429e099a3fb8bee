"""`make run` (python -m shared.devstack) as a user runs it, on its own embedded servers in a temporary folder:
a service killed with SIGKILL is reported, restarted and ready again while the gateway keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from shared.devstack.infra import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VICTIM = "coordination_request"


class Runner:
    """The dev runner as a child process, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int) -> None:
        # Its own embedded servers even when the suite's come from the environment.
        env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_URL", "NATS_URL", "S3_ENDPOINT")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared.devstack", "--data-dir", str(data_dir), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> None:
        wait_until(lambda: any(text in line for line in self.lines), f"{text!r} in the output", timeout, self)

    def child(self, module: str) -> psutil.Process:
        matches = [p for p in psutil.Process(self.proc.pid).children() if module in p.cmdline()]
        assert len(matches) == 1, f"{module} among {[p.cmdline() for p in matches]}"
        return matches[0]


def wait_until(check: Callable[[], bool], what: str, timeout: float, runner: Runner) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if runner.proc.poll() is not None:
            pytest.fail(f"the runner exited ({runner.proc.returncode}) while waiting for {what}:\n{runner.output}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s:\n{runner.output}")
        time.sleep(0.2)


def http_status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None


def test_a_killed_service_is_reported_restarted_and_ready_again_while_the_gateway_answers(tmp_path: Path) -> None:
    port = free_port()
    runner = Runner(tmp_path / "data", port)
    try:
        runner.wait_for_line("Press Ctrl-C to stop.", timeout=180)
        victim = runner.child(f"services.{VICTIM}")
        victim.send_signal(signal.SIGKILL)

        gateway_answers: list[int | None] = []

        def back_again() -> bool:
            gateway_answers.append(http_status(f"http://127.0.0.1:{port}/health"))
            return any(f"{VICTIM} ready again" in line for line in runner.lines)

        wait_until(back_again, f"{VICTIM} ready again", 120, runner)

        assert f"[runner] {VICTIM} killed by SIGKILL; last lines of {VICTIM}.log:" in runner.output
        assert f"[runner] {VICTIM}: restarting in 0.5 s" in runner.output
        assert gateway_answers and set(gateway_answers) == {200}, gateway_answers
        restarted = runner.child(f"services.{VICTIM}")
        assert restarted.pid != victim.pid
        health_port = restarted.environ()["HEALTH_PORT"]
        assert http_status(f"http://127.0.0.1:{health_port}/ready") == 200
        children = psutil.Process(runner.proc.pid).children(recursive=True)
    finally:
        if runner.proc.poll() is None:
            runner.proc.send_signal(signal.SIGINT)
        try:
            runner.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            runner.proc.kill()
            raise
    assert runner.proc.returncode == 0, runner.output
    runner._reader.join(timeout=10)
    assert "Stopped." in runner.output
    assert not [p.pid for p in children if alive(p)], "no orphans: every process the runner started is gone"


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
