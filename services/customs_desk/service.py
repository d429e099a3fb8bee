"""customs-desk: receipt of submitted applications, the officers' queue, and their decisions.

It learns of applications only from events and tells coordination-request its decisions only by events.
A case mirrors the application's status from `status_changed` events (newest version wins); an officer's
decision changes the case at once and is confirmed, or refused, by coordination-request.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from shared import bus, outbox
from shared.clock import china_date, china_day_start
from shared.contracts import customs as c
from shared.contracts import registry
from shared.contracts.common import Actor, FieldError
from shared.contracts.coordination import STATUS_LABELS
from shared.contracts.events import (
    CaseAccepted,
    CaseConcluded,
    CaseReturned,
    DecisionRefused,
    ReceiptAccepted,
    ReceiptRejected,
    RequestStatusChanged,
    RequestSubmitted,
)
from shared.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from shared.inbox import Staged
from shared.paging import decode_cursor, encode_cursor
from shared.runtime import Context, ServiceDefinition

log = logging.getLogger(__name__)

OPEN = ("PENDING", "COORDINATING")
DUE_AFTER = timedelta(days=30)
REASON_MAX = 500
REPLY_MAX = 2000
# decision -> (case statuses it may be taken from, status it leads to)
DECISIONS: dict[str, tuple[frozenset[str], str]] = {
    "ACCEPT": (frozenset({"PENDING"}), "COORDINATING"),
    "RETURN": (frozenset({"PENDING", "COORDINATING"}), "RETURNED"),
    "CONCLUDE": (frozenset({"COORDINATING"}), "CONCLUDED"),
}
REFUSALS = {
    "ACCEPT": "仅待办状态的申请可以受理",
    "RETURN": "仅待办或协调中的申请可以退回",
    "CONCLUDE": "仅协调中的申请可以办结",
}
COLUMNS = (
    "id, request_id, request_no, credit_code, enterprise_name, proof_type, certificate_no, agreement_code,"
    " export_declaration_no, import_declaration_no, import_country, import_port, reason, status, decision_reason,"
    " received_at, submitted_at, due_at, version, outcome, reply, note, pending_decision, request_version"
)


DECISION_LABELS = {"ACCEPT": "受理", "RETURN": "退回", "CONCLUDE": "办结"}


def _lost(decision: str, status: str) -> str:
    """The note an officer reads when the application moved on before the decision took effect."""
    return f"{DECISION_LABELS[decision]}未生效：申请当前状态为“{STATUS_LABELS.get(status, status)}”"


class CaseNotFound(NotFound):
    code, message = "CASE_NOT_FOUND", "该申请不存在或尚未被海关接收"


def _officer(actor: Actor) -> None:
    if actor.role != "OFFICER":
        raise Forbidden("仅海关关员可以办理")


def _view(row: asyncpg.Record) -> c.Case:
    status = row["status"]
    settled = row["pending_decision"] is None
    return c.Case(
        id=str(row["id"]),
        request_id=str(row["request_id"]),
        request_no=row["request_no"],
        credit_code=row["credit_code"],
        enterprise_name=row["enterprise_name"],
        proof_type=row["proof_type"],
        certificate_no=row["certificate_no"],
        agreement_code=row["agreement_code"],
        export_declaration_no=row["export_declaration_no"],
        import_declaration_no=row["import_declaration_no"],
        import_country=row["import_country"],
        import_port=row["import_port"],
        reason=row["reason"],
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        received_at=row["received_at"],
        due_at=row["due_at"],
        version=row["version"],
        can_accept=settled and status in DECISIONS["ACCEPT"][0],
        can_return=settled and status in DECISIONS["RETURN"][0],
        can_conclude=settled and status in DECISIONS["CONCLUDE"][0],
        awaiting_confirmation=not settled,
        decision_reason=row["decision_reason"],
        outcome=row["outcome"],
        reply=row["reply"],
        note=row["note"],
    )


class CustomsDesk:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        self.nc = ctx.nc
        self.clock = ctx.clock

    # --- receipt ------------------------------------------------------------------------------------

    async def certificate_problem(self, event: RequestSubmitted) -> str | None:
        """Receipt, first part, before any transaction: what the registry says is wrong with the certificate."""
        form = event.form
        try:
            info = await bus.call(
                self.nc,
                registry.CERTIFICATE_LOOKUP,
                registry.CertificateKey(proof_type=form.proof_type, certificate_no=form.certificate_no),
                registry.CertificateInfo,
            )
        except NotFound:
            return "原产地证书（声明）在海关系统中不存在"
        if info.status != "VALID":
            return "原产地证书（声明）已被撤销"
        if info.valid_until is not None and info.valid_until < china_date(self.clock.now()):
            return "原产地证书（声明）已过有效期"
        return None

    async def on_submitted(
        self, conn: asyncpg.Connection, event: RequestSubmitted, certificate_problem: str | None
    ) -> None:
        """Receipt. The case waits for coordination-request to confirm the receipt before officers may act."""
        form = event.form
        reason = certificate_problem or await self._duplicate(conn, event)
        status = "RECEIPT_FAILED" if reason else "PENDING"
        case_id = await conn.fetchval(
            "INSERT INTO cases (id, request_id, request_no, credit_code, enterprise_name, proof_type, certificate_no,"
            " agreement_code, export_declaration_no, import_declaration_no, import_country, import_port, reason,"
            " status, decision_reason, submitted_at, due_at, request_version, pending_decision)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18, 'RECEIPT')"
            " ON CONFLICT (request_id) DO UPDATE SET request_no = EXCLUDED.request_no,"
            " proof_type = EXCLUDED.proof_type, certificate_no = EXCLUDED.certificate_no,"
            " agreement_code = EXCLUDED.agreement_code, export_declaration_no = EXCLUDED.export_declaration_no,"
            " import_declaration_no = EXCLUDED.import_declaration_no, import_country = EXCLUDED.import_country,"
            " import_port = EXCLUDED.import_port, reason = EXCLUDED.reason, status = EXCLUDED.status,"
            " decision_reason = EXCLUDED.decision_reason, submitted_at = EXCLUDED.submitted_at,"
            " due_at = EXCLUDED.due_at, request_version = EXCLUDED.request_version, received_at = now(),"
            " version = cases.version + 1, outcome = NULL, reply = NULL, note = NULL, pending_decision = 'RECEIPT'"
            " RETURNING id",
            uuid.uuid4(),
            uuid.UUID(event.request_id),
            form.request_no,
            form.credit_code,
            form.enterprise_name,
            form.proof_type,
            form.certificate_no,
            form.agreement_code,
            form.export_declaration_no,
            form.import_declaration_no,
            form.import_country,
            form.import_port,
            form.reason,
            status,
            reason,
            event.submitted_at,
            event.submitted_at + DUE_AFTER,
            event.version,
        )
        if reason:
            await outbox.record(conn, outbox.new_event(ReceiptRejected, request_id=event.request_id, reason=reason))
        else:
            await outbox.record(
                conn, outbox.new_event(ReceiptAccepted, request_id=event.request_id, case_id=str(case_id))
            )

    async def _duplicate(self, conn: asyncpg.Connection, event: RequestSubmitted) -> str | None:
        form = event.form
        duplicate = await conn.fetchval(
            "SELECT request_no FROM cases WHERE proof_type = $1 AND certificate_no = $2"
            " AND export_declaration_no = $3 AND status = ANY($4::text[]) AND request_id <> $5",
            form.proof_type,
            form.certificate_no,
            form.export_declaration_no,
            list(OPEN),
            uuid.UUID(event.request_id),
        )
        if duplicate:
            return f"该证书与出口报关单已有办理中的协调申请（{duplicate}），请勿重复申请"
        return None

    # --- the application's status, mirrored ----------------------------------------------------------

    async def on_status_changed(self, conn: asyncpg.Connection, event: RequestStatusChanged) -> None:
        case = await conn.fetchrow(
            "SELECT pending_decision, request_version FROM cases WHERE request_id = $1 FOR UPDATE",
            uuid.UUID(event.request_id),
        )
        if case is None or case["request_version"] >= event.version:
            return  # not ours, or older than what the case already shows
        pending = case["pending_decision"]
        lost = pending in DECISIONS and event.to_status != DECISIONS[pending][1]
        await conn.execute(
            "UPDATE cases SET status = $2, request_version = $3, version = version + 1, pending_decision = NULL,"
            " note = coalesce($4, note) WHERE request_id = $1",
            uuid.UUID(event.request_id),
            event.to_status,
            event.version,
            _lost(pending, event.to_status) if lost else None,
        )

    async def on_decision_refused(self, conn: asyncpg.Connection, event: DecisionRefused) -> None:
        await conn.execute(
            "UPDATE cases SET status = CASE WHEN request_version <= $3 THEN $2 ELSE status END,"
            " request_version = greatest(request_version, $3), note = $4, version = version + 1,"
            " pending_decision = NULL WHERE request_id = $1",
            uuid.UUID(event.request_id),
            event.status,
            event.version,
            event.reason,
        )

    # --- officers -----------------------------------------------------------------------------------

    async def list_cases(self, q: c.CaseQuery) -> c.CasePage:
        _officer(q.actor)
        limit = min(max(q.limit, 1), 100)
        where: list[str] = ["true"]
        args: list[Any] = []

        def add(clause: str, value: Any) -> None:
            args.append(value)
            where.append(clause.replace("?", f"${len(args)}"))

        for column, value in (
            ("request_no", q.request_no),
            ("certificate_no", q.certificate_no),
            ("export_declaration_no", q.export_declaration_no),
            ("status", q.status),
            ("proof_type", q.proof_type),
            ("agreement_code", q.agreement_code),
        ):
            if value:
                add(f"{column} = ?", value.strip())
        if q.enterprise:
            add("(credit_code = ? OR strpos(enterprise_name, ?) > 0)", q.enterprise.strip())
        if q.submitted_from:
            add("submitted_at >= ?", china_day_start(q.submitted_from))
        if q.submitted_to:
            add("submitted_at < ?", china_day_start(q.submitted_to + timedelta(days=1)))
        filters = " AND ".join(where)
        page_where, page_args = filters, list(args)
        if q.cursor:
            due, case_id = decode_cursor(q.cursor)
            page_args += [due, case_id]
            page_where += f" AND (due_at, id) > (${len(page_args) - 1}, ${len(page_args)})"
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM cases WHERE {page_where} ORDER BY due_at, id LIMIT {limit + 1}", *page_args
            )
            total = await conn.fetchval(f"SELECT count(*) FROM cases WHERE {filters}", *args)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = encode_cursor(rows[-1]["due_at"], rows[-1]["id"]) if more else None
        return c.CasePage(items=[_view(r) for r in rows], total=total, next_cursor=cursor)

    async def get_case(self, ref: c.CaseRef) -> c.Case:
        _officer(ref.actor)
        row = await self.pool.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE request_id = $1", _uuid(ref.request_id))
        if row is None:
            raise CaseNotFound()
        return _view(row)

    async def accept(self, d: c.Decision) -> c.Case:
        return await self._decide(d, "ACCEPT")

    async def return_(self, d: c.Decision) -> c.Case:
        reason = d.reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise ValidationFailed(fields=[FieldError(field="reason", message="请填写退回原因（1至500个字符）")])
        return await self._decide(d, "RETURN", reason=reason)

    async def conclude(self, d: c.Decision) -> c.Case:
        errors = []
        if d.outcome not in c.OUTCOMES:
            errors.append(FieldError(field="outcome", message="请选择办结结果：协调成功、协调未果或不予受理"))
        if not d.reply.strip() or len(d.reply.strip()) > REPLY_MAX:
            errors.append(FieldError(field="reply", message="请填写答复内容（1至2000个字符）"))
        if errors:
            raise ValidationFailed(fields=errors)
        return await self._decide(d, "CONCLUDE", outcome=d.outcome, reply=d.reply.strip())

    async def _decide(
        self,
        d: c.Decision,
        decision: str,
        *,
        reason: str | None = None,
        outcome: str | None = None,
        reply: str | None = None,
    ) -> c.Case:
        _officer(d.actor)
        sources, target = DECISIONS[decision]
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM cases WHERE request_id = $1 FOR UPDATE", _uuid(d.request_id)
            )
            if row is None:
                raise CaseNotFound()
            if d.version is not None and d.version != row["version"]:
                raise Conflict()
            if row["pending_decision"] is not None:
                raise InvalidState("上一项处理尚未生效，请稍后刷新再试", code="DECISION_PENDING")
            if row["status"] not in sources:
                raise InvalidState(REFUSALS[decision], code="DECISION_NOT_ALLOWED")
            updated = await conn.fetchrow(
                "UPDATE cases SET status = $2, version = version + 1, note = NULL, pending_decision = $6,"
                " decision_reason = coalesce($3, decision_reason), outcome = coalesce($4, outcome),"
                f" reply = coalesce($5, reply) WHERE id = $1 RETURNING {COLUMNS}",
                row["id"],
                target,
                reason,
                outcome,
                reply,
                decision,
            )
            await conn.execute(
                "INSERT INTO case_decisions (case_id, officer, decision, reason, outcome, reply)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                row["id"],
                d.actor.display_name,
                decision,
                reason,
                outcome,
                reply,
            )
            common = {
                "request_id": str(row["request_id"]),
                "case_id": str(row["id"]),
                "officer": d.actor.display_name,
                "request_version": row["request_version"],
            }
            if decision == "ACCEPT":
                event = outbox.new_event(CaseAccepted, **common)
            elif decision == "RETURN":
                event = outbox.new_event(CaseReturned, reason=reason or "", **common)
            else:
                event = outbox.new_event(CaseConcluded, outcome=outcome or "", reply=reply or "", **common)
            await outbox.record(conn, event)
        return _view(updated)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CaseNotFound() from None


def _desk(ctx: Context) -> CustomsDesk:
    return ctx.one("desk", lambda: CustomsDesk(ctx))


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    desk = _desk(ctx)
    return [
        bus.Endpoint(c.CASE_LIST, c.CaseQuery, desk.list_cases),
        bus.Endpoint(c.CASE_GET, c.CaseRef, desk.get_case),
        bus.Endpoint(c.CASE_ACCEPT, c.Decision, desk.accept),
        bus.Endpoint(c.CASE_RETURN, c.Decision, desk.return_),
        bus.Endpoint(c.CASE_CONCLUDE, c.Decision, desk.conclude),
    ]


def consumers(ctx: Context) -> dict[type, Any]:
    desk = _desk(ctx)
    return {
        RequestSubmitted: Staged(prepare=desk.certificate_problem, apply=desk.on_submitted),
        RequestStatusChanged: desk.on_status_changed,
        DecisionRefused: desk.on_decision_refused,
    }


definition = ServiceDefinition(
    name="customs_desk",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
)
