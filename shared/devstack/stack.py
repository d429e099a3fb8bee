"""Starts every service and the gateway as child processes against given infrastructure, and stops them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from shared import actor_token, bus, streams
from shared.devstack.infra import Infra, _spawn, _terminate, free_port, wait_for

SERVICES = ("identity", "certificate_registry", "coordination_request", "attachment", "customs_desk")
# The services that read business dates from `Context.clock`: pinnable through CLOCK_FILE in the test profile.
CLOCKED = ("certificate_registry", "coordination_request", "customs_desk")
ROOT = Path(__file__).resolve().parents[2]
FIXED_CAPTCHA = "8888"


@dataclass
class Stack:
    infra: Infra
    gateway_url: str
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    health_ports: dict[str, int] = field(default_factory=dict)
    clamd_address: str | None = None
    # Test profile only: write an ISO-8601 instant here to pin the services' clock; remove it to unpin.
    clock_file: Path | None = None
    # Where the portal looks for the card agent (卡介质客户端控件); the gateway's CSP allows this origin.
    card_agent_url: str = "http://127.0.0.1:8765"
    # How each process was started (command line, environment), so the dev runner can start it again.
    commands: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def ready_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.health_ports[name]}/ready"

    def respawn(self, name: str) -> subprocess.Popen:
        """Start a process again as `start` did, appending to its log; the caller stops it."""
        args, env = self.commands[name]
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
            )
        self.processes[name] = proc
        return proc


def _ready(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def start(
    stack: ExitStack,
    infra: Infra,
    log_dir: Path,
    *,
    profile: str = "dev",
    http_port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    log_dir.mkdir(parents=True, exist_ok=True)
    http_port = http_port or free_port()
    # A fresh key pair each start: actors are re-signed on every request, nothing signed outlives a run.
    signing_key, verify_key = actor_token.generate_keypair()
    base_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PROFILE": profile,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "SEED_DEMO_DATA": "true",
        "CAPTCHA_FIXED_CODE": FIXED_CAPTCHA,
        "HEALTH_HOST": "127.0.0.1",
        "ACTOR_VERIFY_KEY": verify_key,
        **(extra_env or {}),
    }
    result = Stack(infra=infra, gateway_url=f"http://127.0.0.1:{http_port}", log_dir=log_dir)
    result.card_agent_url = base_env.setdefault("CARD_AGENT_URL", result.card_agent_url)
    if profile == "test":
        result.clock_file = log_dir.parent / "clock"  # in the work directory, next to the logs
        result.clock_file.unlink(missing_ok=True)

    provision(infra)
    for name in SERVICES:
        result.health_ports[name] = free_port()
        _launch(stack, result, name, f"services.{name}", _service_env(name, base_env, infra, result, signing_key))
    for name in SERVICES:
        _wait_process(result, name, f"http://127.0.0.1:{result.health_ports[name]}/ready")
    result.health_ports["gateway"] = free_port()
    gateway_env = {
        **base_env,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(http_port),
        "HEALTH_PORT": str(result.health_ports["gateway"]),
        "NATS_URL": infra.nats_url_for("gateway"),
        "OTEL_SERVICE_NAME": "gateway",
    }
    _launch(stack, result, "gateway", "gateway", gateway_env)
    _wait_process(result, "gateway", result.gateway_url + "/ready")
    return result


def _service_env(name: str, base_env: dict[str, str], infra: Infra, result: Stack, signing_key: str) -> dict[str, str]:
    """A service's environment: its database, probe port and NATS user, and what that one service needs."""
    env = {
        **base_env,
        "DATABASE_URL": infra.database_url(name),
        "HEALTH_PORT": str(result.health_ports[name]),
        "NATS_URL": infra.nats_url_for(name),
        "OTEL_SERVICE_NAME": name.replace("_", "-"),
    }
    if name in CLOCKED and result.clock_file:
        env["CLOCK_FILE"] = str(result.clock_file)
    if name == "identity":
        env["ACTOR_SIGNING_KEY"] = signing_key
    if name == "attachment":
        env.update(
            S3_ENDPOINT=infra.s3_endpoint,
            S3_ACCESS_KEY=infra.s3_access_key,
            S3_SECRET_KEY=infra.s3_secret_key,
            S3_BUCKET="attachments",
            S3_SECURE="false",
        )
    return env


def _launch(stack: ExitStack, result: Stack, name: str, module: str, env: dict[str, str]) -> subprocess.Popen:
    args = [sys.executable, "-m", module]
    proc = _spawn(args, result.log_dir / f"{name}.log", env=env, cwd=ROOT)
    result.commands[name] = (args, env)
    stack.callback(_terminate, proc)
    result.processes[name] = proc
    return proc


def provision(infra: Infra) -> None:
    """The JetStream topology, as the `provisioner` user (the services and the gateway may not create it)."""

    async def run() -> None:
        nc = await bus.connect(infra.nats_url_for("provisioner"), "provisioner")
        try:
            await streams.provision(nc.jetstream(), streams.Topology())
        finally:
            await nc.close()

    asyncio.run(run())


def _wait_process(result: Stack, name: str, url: str) -> None:
    proc = result.processes[name]

    def check() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}:\n{result.log_tail(name)}")
        return _ready(url)

    try:
        wait_for(check, name, timeout=60)
    except RuntimeError as exc:
        raise SystemExit(f"{exc}\n{result.log_tail(name)}") from None


def stop_signal_children(result: Stack) -> None:
    """SIGTERM everything at once so the services drain in parallel."""
    for proc in result.processes.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)


def terminate_all(result: Stack) -> None:
    """Wait for every current process to stop (killing stragglers), restarted ones included."""
    for proc in result.processes.values():
        _terminate(proc)
