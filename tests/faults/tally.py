"""What the load left behind, read straight from the services' databases: lost, duplicated and stuck effects,
and dead letters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from shared.devstack.infra import SERVICE_DATABASES, Infra
from tests.faults.load import Ledger

# The status-history action each acknowledged operation must have left, and the status it leaves for good when
# it is the application's last acknowledged operation.
HISTORY = {"submit": "SUBMIT", "withdraw": "WITHDRAW", "accept": "ACCEPT", "return": "RETURN", "conclude": "CONCLUDE"}
FINAL = {"withdraw": "WITHDRAWN", "return": "RETURNED", "conclude": "CONCLUDED"}


@dataclass
class Tally:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    dead_letters: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    # Refused when retried, though an earlier attempt had taken effect: not lost, not doubled, but the client
    # was told the opposite of what happened.
    refused_but_applied: list[str] = field(default_factory=list)


async def _connect(infra: Infra, name: str) -> asyncpg.Connection:
    return await asyncpg.connect(infra.database_url(name))


async def settle(infra: Infra, timeout: float = 90.0) -> tuple[int, int]:
    """Wait until no outbox row is unpublished, no application waits in 已申报 for its receipt and no case waits
    for coordination-request's confirmation (events redelivered after a failure can take up to a minute);
    returns what is still waiting (unpublished rows, waiting applications and cases) when it gives up."""
    deadline = time.monotonic() + timeout
    while True:
        unpublished = 0
        for name in SERVICE_DATABASES:
            conn = await _connect(infra, name)
            try:
                unpublished += await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            finally:
                await conn.close()
        waiting = await _waiting(infra)
        if (unpublished == 0 and waiting == 0) or time.monotonic() > deadline:
            return unpublished, waiting
        await asyncio.sleep(1)


async def _waiting(infra: Infra) -> int:
    coordination = await _connect(infra, "coordination_request")
    customs = await _connect(infra, "customs_desk")
    try:
        declared = await coordination.fetchval("SELECT count(*) FROM coordination_requests WHERE status = 'DECLARED'")
        pending = await customs.fetchval("SELECT count(*) FROM cases WHERE pending_decision IS NOT NULL")
        return declared + pending
    finally:
        await coordination.close()
        await customs.close()


async def count(infra: Infra, ledger: Ledger) -> Tally:
    tally = Tally()
    coordination = await _connect(infra, "coordination_request")
    attachments = await _connect(infra, "attachment")
    customs = await _connect(infra, "customs_desk")
    try:
        rows = {
            str(r["id"]): r
            for r in await coordination.fetch(
                "SELECT id, import_declaration_no, status, reason, deleted_at FROM coordination_requests"
                " WHERE import_declaration_no LIKE 'FLT-%'"
            )
        }
        history: dict[str, list[str]] = {}
        for r in await coordination.fetch("SELECT request_id, action FROM status_history ORDER BY id"):
            history.setdefault(str(r["request_id"]), []).append(r["action"])
        files = {
            str(r["id"]): r
            for r in await attachments.fetch("SELECT id, request_id, filename, deleted_at FROM attachments")
        }
        tally.statuses.update(r["status"] for r in rows.values())

        # Lost: acknowledged, but absent or reverted.
        for app in ledger.applications.values():
            if not app.id:
                continue
            row = rows.get(app.id)
            if row is None or row["deleted_at"] is not None:
                tally.lost.append(f"{app.token}: acknowledged 暂存 {app.id} is not there")
                continue
            if "save" in app.acked and row["reason"] != app.reason:
                tally.lost.append(f"{app.token}: acknowledged 暂存 reverted (reason {row['reason']!r})")
            for attachment_id in app.attachment_ids:
                file = files.get(attachment_id)
                if file is None or file["deleted_at"] is not None:
                    tally.lost.append(f"{app.token}: acknowledged upload {attachment_id} is not there")
            actions = history.get(app.id, [])
            for op in app.acked:
                if op in HISTORY and HISTORY[op] not in actions:
                    tally.lost.append(f"{app.token}: acknowledged {op} not in the status history {actions}")
            for op in app.refused:
                if op in HISTORY and op not in app.acked and HISTORY[op] in actions:
                    tally.refused_but_applied.append(f"{app.token}: {op} refused, yet in the status history {actions}")
            last = app.acked[-1] if app.acked else None
            if last in FINAL and row["status"] != FINAL[last]:
                tally.lost.append(f"{app.token}: acknowledged {last}, but the status is {row['status']}")
            if last == "submit" and row["status"] in ("DRAFT", "RECEIPT_FAILED"):
                tally.lost.append(f"{app.token}: acknowledged 提交, but the status is {row['status']}")

        # Duplicated: two drafts for one operation, a move applied twice, a file row twice.
        for r in await coordination.fetch(
            "SELECT import_declaration_no, count(*) AS n FROM coordination_requests"
            " WHERE import_declaration_no LIKE 'FLT-%' GROUP BY 1 HAVING count(*) > 1"
        ):
            tally.duplicated.append(f"{r['n']} drafts for one create ({r['import_declaration_no']})")
        for request_id, actions in history.items():
            if request_id not in rows:
                continue
            moves = Counter(actions)
            for action, n in moves.items():
                # Each application is saved at most twice (暂存, 暂存 again) and moved at most once per action.
                if n > (2 if action == "SAVE" else 1):
                    tally.duplicated.append(
                        f"{action} applied {n} times to {rows[request_id]['import_declaration_no']}"
                    )
        for r in await attachments.fetch(
            "SELECT request_id, filename, count(*) AS n FROM attachments WHERE deleted_at IS NULL"
            " GROUP BY 1, 2 HAVING count(*) > 1"
        ):
            tally.duplicated.append(f"attachment {r['filename']} stored {r['n']} times")
        for r in await customs.fetch(
            "SELECT c.import_declaration_no, d.decision, count(*) AS n FROM case_decisions d"
            " JOIN cases c ON c.id = d.case_id GROUP BY 1, 2 HAVING count(*) > 1"
        ):
            tally.duplicated.append(f"decision {r['decision']} recorded {r['n']} times ({r['import_declaration_no']})")

        # Stuck: 已申报 without a receipt, or a decision never confirmed, once everything is back.
        for r in rows.values():
            if r["status"] == "DECLARED":
                tally.stuck.append(f"{r['import_declaration_no']} still 已申报")
        for r in await customs.fetch(
            "SELECT import_declaration_no, pending_decision FROM cases WHERE pending_decision IS NOT NULL"
        ):
            tally.stuck.append(f"{r['import_declaration_no']}: {r['pending_decision']} never confirmed")
    finally:
        for conn in (coordination, attachments, customs):
            await conn.close()

    for name in SERVICE_DATABASES:
        conn = await _connect(infra, name)
        try:
            for r in await conn.fetch("SELECT consumer, subject FROM dead_letters"):
                tally.dead_letters[f"{r['consumer']} {r['subject']}"] += 1
        finally:
            await conn.close()
    return tally
