"""customs-desk: receipt of submitted applications, the officers' queue, and their decisions.

It learns of applications only from events and tells coordination-request its decisions only by events.
A case mirrors the application's status from `status_changed` events (newest version wins); an officer's
decision changes the case at once and is confirmed, or refused, by coordination-request.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

import asyncpg

from services.customs_desk import domain
from services.customs_desk.domain import Case
from shared import bus, idempotency, outbox
from shared.clock import china_date
from shared.contracts import customs as c
from shared.contracts import registry
from shared.contracts.common import Actor
from shared.contracts.coordination import FiledForm
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
from shared.errors import Forbidden, NotFound, ValidationFailed, answering
from shared.inbox import SKIP, Staged
from shared.paging import Filters, keyset_page
from shared.runtime import Context, ServiceDefinition
from shared.workflow import STATUS_LABELS, Action, Status

# The submitted form's columns, one for each field of the form the event carries.
FORM_COLUMNS = FiledForm.__struct_fields__
_RECEIPT = (*FORM_COLUMNS, "status", "decision_reason", "submitted_at", "due_at", "request_version")
_KEPT = ("received_at", "version", "outcome", "reply", "note", "pending_decision")
COLUMNS = ", ".join(("id", "request_id", *_RECEIPT, *_KEPT))
# Receipt: a case for the submitted form, or the same case again (its decisions cleared) on a resubmission.
_RECEIVE = (
    f"INSERT INTO cases (id, request_id, {', '.join(_RECEIPT)}, pending_decision)"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_RECEIPT) + 4))})"
    f" ON CONFLICT (request_id) DO UPDATE SET {', '.join(f'{column} = EXCLUDED.{column}' for column in _RECEIPT)},"
    " received_at = now(), version = cases.version + 1, outcome = NULL, reply = NULL, note = NULL,"
    " pending_decision = EXCLUDED.pending_decision RETURNING id"
)
# The columns the case's rules change: one for each field of domain.Case.
CASE_COLUMNS = tuple(f.name for f in fields(Case))
_STORE = (
    f"UPDATE cases SET {', '.join(f'{column} = ${i}' for i, column in enumerate(CASE_COLUMNS, start=2))}"
    f" WHERE id = $1 RETURNING {COLUMNS}"
)


class CaseNotFound(NotFound):
    code, message = "CASE_NOT_FOUND", "该申请不存在或尚未被海关接收"


def _officer(actor: Actor) -> None:
    if actor.role != "OFFICER":
        raise Forbidden("仅海关关员可以办理")


def _case(row: asyncpg.Record) -> Case:
    return Case(**{column: row[column] for column in CASE_COLUMNS} | {"status": Status(row["status"])})


def _view(row: asyncpg.Record) -> c.Case:
    case = _case(row)
    return c.Case(
        id=str(row["id"]),
        request_id=str(row["request_id"]),
        **{column: row[column] for column in FORM_COLUMNS},
        status=case.status.value,
        status_label=STATUS_LABELS[case.status],
        received_at=row["received_at"],
        due_at=row["due_at"],
        version=case.version,
        can_accept=case.can(Action.ACCEPT),
        can_return=case.can(Action.RETURN),
        can_conclude=case.can(Action.CONCLUDE),
        awaiting_confirmation=case.awaiting_confirmation,
        decision_reason=case.decision_reason,
        outcome=case.outcome,
        reply=case.reply,
        note=case.note,
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
        problem = certificate_problem or await self._duplicate(conn, event)
        case_id = await conn.fetchval(
            _RECEIVE,
            uuid.uuid4(),
            uuid.UUID(event.request_id),
            *(getattr(form, column) for column in FORM_COLUMNS),
            domain.receipt_status(problem),
            problem,
            event.submitted_at,
            event.submitted_at + domain.DUE_AFTER,
            event.version,
            domain.RECEIPT,
        )
        if problem:
            await outbox.record(conn, outbox.new_event(ReceiptRejected, request_id=event.request_id, reason=problem))
        else:
            await outbox.record(
                conn, outbox.new_event(ReceiptAccepted, request_id=event.request_id, case_id=str(case_id))
            )

    async def _duplicate(self, conn: asyncpg.Connection, event: RequestSubmitted) -> str | None:
        form = event.form
        request_no = await conn.fetchval(
            "SELECT request_no FROM cases WHERE proof_type = $1 AND certificate_no = $2"
            " AND export_declaration_no = $3 AND status = ANY($4::text[]) AND request_id <> $5",
            form.proof_type,
            form.certificate_no,
            form.export_declaration_no,
            list(domain.OPEN),
            uuid.UUID(event.request_id),
        )
        return domain.duplicate(request_no) if request_no else None

    # --- the application's status, mirrored ----------------------------------------------------------

    @staticmethod
    async def status_change_matters(event: RequestStatusChanged) -> object:
        """A case exists only once its application was submitted, and the submission's own event writes it: a
        draft's creation and the move to 已申报 change no case, so they cost no transaction here."""
        return SKIP if event.from_status is None or event.to_status == Status.DECLARED else None

    async def on_status_changed(self, conn: asyncpg.Connection, event: RequestStatusChanged, _: object = None) -> None:
        row = await _locked(conn, uuid.UUID(event.request_id))
        if row is None:
            return  # not ours
        case = _case(row)
        if case.follow(Status(event.to_status), event.version):
            await _store(conn, row["id"], case)

    async def on_decision_refused(self, conn: asyncpg.Connection, event: DecisionRefused) -> None:
        row = await _locked(conn, uuid.UUID(event.request_id))
        if row is not None:
            case = _case(row)
            case.decision_refused(Status(event.status), event.version, event.reason)
            await _store(conn, row["id"], case)

    # --- officers -----------------------------------------------------------------------------------

    async def list_cases(self, q: c.CaseQuery) -> c.CasePage:
        _officer(q.actor)
        filters = Filters()
        for column, value in (
            ("request_no", q.request_no),
            ("certificate_no", q.certificate_no),
            ("export_declaration_no", q.export_declaration_no),
            ("status", q.status),
            ("proof_type", q.proof_type),
            ("agreement_code", q.agreement_code),
        ):
            if value:
                filters.add(f"{column} = ?", value.strip())
        if q.enterprise:
            filters.add("(credit_code = ? OR strpos(enterprise_name, ?) > 0)", q.enterprise.strip())
        filters.china_days("submitted_at", q.submitted_from, q.submitted_to)
        async with self.pool.acquire() as conn:
            page = await keyset_page(
                conn,
                "cases",
                COLUMNS,
                filters,
                order=("due_at", "id"),
                descending=False,
                cursor=q.cursor,
                limit=q.limit,
            )
        return c.CasePage(
            items=[_view(r) for r in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
            total_capped=page.total_capped,
        )

    async def get_case(self, ref: c.CaseRef) -> c.Case:
        _officer(ref.actor)
        row = await self.pool.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE request_id = $1", _uuid(ref.request_id))
        if row is None:
            raise CaseNotFound()
        return _view(row)

    async def accept(self, d: c.Decision) -> c.Case:
        return await self._decide(d, Action.ACCEPT)

    async def return_(self, d: c.Decision) -> c.Case:
        reason = d.reason.strip()
        if errors := domain.return_errors(reason):
            raise ValidationFailed.of(errors)
        return await self._decide(d, Action.RETURN, reason=reason)

    async def conclude(self, d: c.Decision) -> c.Case:
        reply = d.reply.strip()
        if errors := domain.conclusion_errors(d.outcome, reply):
            raise ValidationFailed.of(errors)
        return await self._decide(d, Action.CONCLUDE, outcome=d.outcome, reply=reply)

    @answering
    async def _decide(
        self,
        d: c.Decision,
        decision: Action,
        *,
        reason: str | None = None,
        outcome: str | None = None,
        reply: str | None = None,
    ) -> c.Case:
        _officer(d.actor)
        async with self.pool.acquire() as conn, conn.transaction():
            keys = idempotency.Keys(conn)
            if done := await keys.claim(d.actor, d.idempotency, c.Case):
                return done  # this decision's retry: the case as the first try left it
            row = await _locked(conn, _uuid(d.request_id))
            if row is None:
                raise CaseNotFound()
            case = _case(row)
            case.decide(decision, version=d.version, reason=reason, outcome=outcome, reply=reply)
            updated = await _store(conn, row["id"], case)
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
            if decision is Action.ACCEPT:
                event = outbox.new_event(CaseAccepted, **common)
            elif decision is Action.RETURN:
                event = outbox.new_event(CaseReturned, reason=reason or "", **common)
            else:
                event = outbox.new_event(CaseConcluded, outcome=outcome or "", reply=reply or "", **common)
            await outbox.record(conn, event)
            view = _view(updated)
            await keys.complete(d.actor, d.idempotency, view)
        return view


async def _locked(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE request_id = $1 FOR UPDATE", request_id)


async def _store(conn: asyncpg.Connection, case_id: uuid.UUID, case: Case) -> asyncpg.Record:
    """The case as its rules left it."""
    return await conn.fetchrow(_STORE, case_id, *(getattr(case, column) for column in CASE_COLUMNS))


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
        RequestStatusChanged: Staged(prepare=desk.status_change_matters, apply=desk.on_status_changed),
        DecisionRefused: desk.on_decision_refused,
    }


definition = ServiceDefinition(
    name="customs_desk",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
)
