"""Faults under a steady mixed load: kill -9 and restart, SIGSTOP past the timeouts, and network faults between
the services and NATS, PostgreSQL and S3, one at a time. Afterwards nothing acknowledged is lost, nothing is done
twice, nothing is stuck, and every process is ready again; the counts are printed."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from tests.faults import load, tally
from tests.faults.rig import PROCESSES, SERVERS, Rig

PAUSE_SECONDS = 6.0  # longer than the gateway's 5 s timeout on a call to a service
PROXY_FAULT_SECONDS = 4.0
STEADY_SECONDS = 1.5  # load with everything up between two faults
RESOLVE_SECONDS = 30.0  # retrying, at the end, what stayed unknown during the faults
ENTERPRISE_CLIENTS = ("demo", "demo", "demo2", "demo2")


def _faults(rig: Rig) -> list[tuple[str, Callable[[], None]]]:
    faults: list[tuple[str, Callable[[], None]]] = []
    for name in (*PROCESSES, *SERVERS):
        faults.append((f"kill -9 {name}, restart", lambda n=name: rig.kill_and_restart(n)))
    for name in (*PROCESSES, *SERVERS):
        # The gateway is paused past the client's own timeout too.
        seconds = load.REQUEST_TIMEOUT + 1 if name == "gateway" else PAUSE_SECONDS
        faults.append((f"SIGSTOP {name} {seconds:g} s, SIGCONT", lambda n=name, s=seconds: rig.pause(n, s)))
    for server in SERVERS:
        faults += [
            (f"proxy {server}: +200 ms per chunk", lambda s=server: _for_a_while(rig, s, delay=0.2)),
            (f"proxy {server}: every connection dropped", lambda s=server: rig.drop_connections(s)),
            (f"proxy {server}: resets mid-stream", lambda s=server: _for_a_while(rig, s, reset_after=4096)),
        ]
    wanted = os.environ.get("FAULT_FILTER")  # e.g. "postgres": only the faults whose label contains it
    return [fault for fault in faults if not wanted or wanted in fault[0]]


def _for_a_while(rig: Rig, server: str, **faults: float) -> None:
    rig.proxy(server, **faults)
    try:
        time.sleep(PROXY_FAULT_SECONDS)
    finally:
        rig.proxy(server)


async def _drive(rig: Rig, ledger: load.Ledger) -> list[str]:
    """Runs the load, injects each fault, and waits for every process to be ready again before the next one."""
    url = rig.running.gateway_url
    clients = [load.Careful(url, name, ledger) for name in ENTERPRISE_CLIENTS]
    officer = load.Careful(url, "officer", ledger)
    for client in (*clients, officer):
        await client.login()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(load.enterprise(c, ledger, stop, i)) for i, c in enumerate(clients)]
    tasks.append(asyncio.create_task(load.officer(officer, ledger, stop)))
    lines = []
    try:
        await asyncio.sleep(STEADY_SECONDS * 2)
        for label, inject in _faults(rig):
            started = time.monotonic()
            await asyncio.to_thread(inject)
            state = await asyncio.to_thread(rig.wait_all_ready, 60)
            missing = sorted(name for name, ok in state.items() if not ok)
            took = time.monotonic() - started
            lines.append(f"{label:<44} {took:5.1f} s" + (f"  NOT READY: {', '.join(missing)}" if missing else ""))
            await asyncio.sleep(STEADY_SECONDS)
            for task in tasks:  # a client that broke (a bug of the suite) fails the run now, not at the end
                if task.done():
                    raise task.exception() or AssertionError("a client stopped early")
        await asyncio.sleep(STEADY_SECONDS)
    finally:
        stop.set()
        # Each client finishes the operation in hand, bounded by its own retry budget.
        _, late = await asyncio.wait(tasks, timeout=load.OPERATION_SECONDS + load.REQUEST_TIMEOUT + 5)
        for task in late:
            task.cancel()
    try:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()
        assert not late, f"{len(late)} clients did not finish within their retry budget"
        await asyncio.to_thread(rig.wait_all_ready, 60)
        await load.resolve(ledger, RESOLVE_SECONDS)
    finally:
        for client in (*clients, officer):
            await client.close()
    return lines


def test_nothing_acknowledged_is_lost_or_done_twice_under_faults(rig: Rig) -> None:
    ledger = load.Ledger()
    started = time.monotonic()
    lines = asyncio.run(_drive(rig, ledger))
    unpublished, waiting = asyncio.run(tally.settle(rig.infra))
    result = asyncio.run(tally.count(rig.infra, ledger))
    ready = rig.wait_all_ready(30)

    def block(title: str, items: object) -> str:
        return f"  {title}: {items}"

    report = [
        f"\n=== fault injection: {len(lines)} faults in {time.monotonic() - started:.0f} s ===",
        *("  " + line for line in lines),
        block("applications", f"{len(ledger.applications)} started, final statuses {dict(result.statuses)}"),
        block("requests sent", ledger.requests),
        block("acknowledged operations", f"{sum(ledger.acknowledged.values())} {dict(ledger.acknowledged)}"),
        block("lost (acknowledged but absent or reverted)", len(result.lost)),
        block("duplicated effects", len(result.duplicated)),
        block("stuck (已申报 without receipt, decisions unconfirmed)", len(result.stuck)),
        block("dead letters", f"{sum(result.dead_letters.values())} {dict(result.dead_letters)}"),
        block("acknowledged only when retried at the end", f"{sum(ledger.resolved.values())} {dict(ledger.resolved)}"),
        block("outcome still unknown after that", f"{sum(ledger.unknown.values())} {+ledger.unknown}"),
        block("definite refusals", dict(ledger.refused)),
        block("of which refused on a retry though applied before", len(result.refused_but_applied)),
        block("client-visible errors by kind", dict(sorted(ledger.errors.items()))),
        block("slowest request", f"{ledger.slowest:.1f} s (client timeout {load.REQUEST_TIMEOUT:g} s)"),
        block("processes that exited by themselves (restarted by the watcher)", dict(rig.crashes)),
        block("ready at the end", ready),
        block("outbox rows unpublished / waiting at the end", (unpublished, waiting)),
    ]
    for title, items in (
        ("LOST", result.lost),
        ("DUPLICATED", result.duplicated),
        ("STUCK", result.stuck),
        ("REFUSED BUT APPLIED", result.refused_but_applied),
    ):
        report += [f"  {title}: {item}" for item in items[:20]]
    print("\n".join(report))

    assert sum(ledger.acknowledged.values()) > 0
    assert not result.lost, result.lost
    assert not result.duplicated, result.duplicated
    assert not result.stuck, result.stuck
    # Every write is keyed: a retry of one already applied gets its first answer, never a refusal.
    assert not result.refused_but_applied, result.refused_but_applied
    assert not result.dead_letters, dict(result.dead_letters)
    assert all(ready.values()), ready
    assert not any("NOT READY" in line for line in lines), lines
    assert ledger.slowest <= load.REQUEST_TIMEOUT + 1, ledger.slowest
    assert not rig.crashes, f"processes exited and had to be restarted: {dict(rig.crashes)}"
