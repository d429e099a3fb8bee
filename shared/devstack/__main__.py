"""`make run`: start real infrastructure, every service and the gateway, restart a service that dies; Ctrl-C stops
everything."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path

from shared import demo
from shared.devstack import infra as infrastructure
from shared.devstack import stack as services
from shared.devstack import supervisor

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the whole suite locally.")
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", str(ROOT / ".data")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("HTTP_PORT", "8000")))
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    log_dir = data_dir / "logs"

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    with ExitStack() as stack:
        try:
            infra = infrastructure.from_environment()
            if infra is None:
                print(f"Starting PostgreSQL, NATS and S3 (data in {data_dir}) ...", flush=True)
                infra = infrastructure.start_embedded(stack, data_dir, log_dir)
            infrastructure.create_databases(infra)
            print("Starting services ...", flush=True)
            running = services.start(stack, infra, log_dir, http_port=args.port)
            # Run in reverse: SIGTERM all at once, then wait for each, restarted processes included.
            stack.callback(services.terminate_all, running)
            stack.callback(services.stop_signal_children, running)
        except KeyboardInterrupt:
            print("\nStopped.")
            return 0
        _banner(running, log_dir)
        status = 0
        try:
            supervisor.supervise(running)
        except KeyboardInterrupt:
            print("\nStopping ...", flush=True)
        except supervisor.InfrastructureLost as lost:
            print(f"\n[runner] {lost}\n[runner] The stack cannot continue without it; stopping ...", flush=True)
            status = 1
    print("Stopped. Data is kept for the next run.")
    return status


def _card_line(running: services.Stack) -> str:
    card = demo.CARDS[0]
    port = running.card_agent_url.rsplit(":", 1)[-1]
    return (
        f"卡介质登录 as {card.username}: card {card.card_no}, PIN {card.pin}, after starting the card agent:"
        f" .venv/bin/python -m services.identity.card_agent serve --demo --port {port} --origin {running.gateway_url}"
    )


def _banner(running: services.Stack, log_dir: Path) -> None:
    users = "\n".join(
        f"    {u.username:<8} / {u.password:<13} {'海关关员' if u.role == 'OFFICER' else '企业用户'}"
        + (f"  {next(e.name for e in demo.ENTERPRISES if e.credit_code == u.credit_code)}" if u.credit_code else "")
        for u in demo.USERS
    )
    # The embedded NATS for trying an outside subscriber (docs/subscriber_example.py); passwords stay in the file.
    nats = (
        f"  NATS:     nats://{running.infra.nats_url.rpartition('@')[2]}  (users and passwords: {log_dir.parent / 'nats.conf'})\n"
        if running.infra.nats_passwords
        else ""
    )
    print(
        f"\n享惠受阻协调申请 is running ({running.infra.mode} infrastructure)\n"
        f"  Portal:   {running.gateway_url}/  (open it in a browser)\n"
        f"  API:      {running.gateway_url}/api/v1\n"
        f"  API docs: {running.gateway_url}/schema\n"
        f"  Accounts (captcha code {services.FIXED_CAPTCHA} works in dev):\n{users}\n"
        f"  Card:     {_card_line(running)}\n"
        f"{nats}"
        f"  Logs:     {log_dir}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
