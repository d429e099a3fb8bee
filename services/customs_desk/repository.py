"""Where cases are kept: the only code that knows their tables (the case row, its officers' decisions) and writes,
in the same transaction, the outbox events its moves caused."""

from __future__ import annotations

import uuid
from abc import abstractmethod

import asyncpg

from services.customs_desk import domain
from services.customs_desk.domain import Case, Effects, Receipt
from shared import outbox, repository
from shared.contracts import customs as c
from shared.contracts import events
from shared.contracts.coordination import FiledForm
from shared.paging import Filters, Page, keyset_page
from shared.workflow import Status


class Cases(repository.Keyed):
    """The cases as one transaction, or one read, sees them."""

    @abstractmethod
    async def lock(self, request_id: uuid.UUID) -> Case | None:
        """The application's case, held until the transaction ends; None when customs has not received it."""

    @abstractmethod
    async def find(self, request_id: uuid.UUID) -> Case | None:
        """The application's case, for reading."""

    @abstractmethod
    async def page(self, q: c.CaseQuery) -> Page[Case]:
        """The cases matching the officers' query, the one due soonest first."""

    @abstractmethod
    async def open_case_like(self, form: FiledForm, request_id: uuid.UUID) -> str | None:
        """The number of another application open with customs for the form's certificate and export declaration."""

    @abstractmethod
    async def receive(self, receipt: Receipt, effects: Effects) -> None:
        """Keeps the receipt as the application's case (a new one, or the same one again on a resubmission), and
        what it caused."""

    @abstractmethod
    async def save(self, case: Case, effects: Effects = domain.NOTHING) -> None:
        """Keeps the case as the move left it, and what the move caused."""


Store = repository.Store[Cases]


class PostgresStore(repository.PostgresStore[Cases]):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, PostgresCases)


# The submitted form's columns, one for each field of the form the event carries.
FORM_COLUMNS = FiledForm.__struct_fields__
# The columns the case's rules change.
_STATE = ("status", "version", "request_version", "pending_decision", "decision_reason", "outcome", "reply", "note")
_RECEIPT = (*FORM_COLUMNS, "status", "decision_reason", "submitted_at", "due_at", "request_version")
COLUMNS = ", ".join(("id", "request_id", *FORM_COLUMNS, *_STATE, "received_at", "due_at"))
# Receipt: a case for the submitted form, or the same case again (its decisions cleared) on a resubmission.
_RECEIVE = (
    f"INSERT INTO cases (id, request_id, {', '.join(_RECEIPT)}, pending_decision)"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_RECEIPT) + 4))})"
    f" ON CONFLICT (request_id) DO UPDATE SET {', '.join(f'{column} = EXCLUDED.{column}' for column in _RECEIPT)},"
    " received_at = now(), version = cases.version + 1, outcome = NULL, reply = NULL, note = NULL,"
    " pending_decision = EXCLUDED.pending_decision RETURNING id"
)
_STORE = f"UPDATE cases SET {', '.join(f'{column} = ${i}' for i, column in enumerate(_STATE, start=2))} WHERE id = $1"


def _case(row: asyncpg.Record) -> Case:
    kept = {column: row[column] for column in ("id", "request_id", *_STATE, "received_at", "due_at")}
    return Case(**kept | {"status": Status(row["status"])}, form=FiledForm(**{f: row[f] for f in FORM_COLUMNS}))


class PostgresCases(repository.PostgresKeyed, Cases):
    async def lock(self, request_id: uuid.UUID) -> Case | None:
        row = await self.conn.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE request_id = $1 FOR UPDATE", request_id)
        return None if row is None else _case(row)

    async def find(self, request_id: uuid.UUID) -> Case | None:
        row = await self.conn.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE request_id = $1", request_id)
        return None if row is None else _case(row)

    async def page(self, q: c.CaseQuery) -> Page[Case]:
        filters = Filters()
        filters.request_filters(q)
        if q.enterprise:
            filters.add("(credit_code = ? OR strpos(enterprise_name, ?) > 0)", q.enterprise.strip())
        page = await keyset_page(
            self.conn,
            "cases",
            COLUMNS,
            filters,
            order=("due_at", "id"),
            descending=False,
            cursor=q.cursor,
            limit=q.limit,
        )
        return Page([_case(row) for row in page.items], page.total, page.next_cursor, page.total_capped)

    async def open_case_like(self, form: FiledForm, request_id: uuid.UUID) -> str | None:
        return await self.conn.fetchval(
            "SELECT request_no FROM cases WHERE proof_type = $1 AND certificate_no = $2"
            " AND export_declaration_no = $3 AND status = ANY($4::text[]) AND request_id <> $5",
            form.proof_type,
            form.certificate_no,
            form.export_declaration_no,
            list(domain.OPEN),
            request_id,
        )

    async def receive(self, receipt: Receipt, effects: Effects) -> None:
        case_id = await self.conn.fetchval(
            _RECEIVE,
            uuid.uuid4(),
            receipt.request_id,
            *(getattr(receipt.form, column) for column in FORM_COLUMNS),
            receipt.status,
            receipt.problem,
            receipt.submitted_at,
            receipt.due_at,
            receipt.request_version,
            domain.RECEIPT,
        )
        await self._record(case_id, receipt.request_id, receipt.request_version, effects)

    async def save(self, case: Case, effects: Effects = domain.NOTHING) -> None:
        await self.conn.execute(_STORE, case.id, *(getattr(case, column) for column in _STATE))
        await self._record(case.id, case.request_id, case.request_version, effects)

    async def _record(self, case_id: uuid.UUID, request_id: uuid.UUID, request_version: int, effects: Effects) -> None:
        for decision in effects.decisions:
            await self.conn.execute(
                "INSERT INTO case_decisions (case_id, officer, decision, reason, outcome, reply)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                case_id,
                decision.officer,
                decision.decision,
                decision.reason,
                decision.outcome,
                decision.reply,
            )
        await outbox.record(
            self.conn, *(outbox_event(case_id, request_id, request_version, event) for event in effects.events)
        )


def _officer(event: domain.CaseAccepted | domain.CaseReturned | domain.CaseConcluded) -> dict[str, str]:
    """Who decided: the display name for the history, the login name for the audit trail."""
    return {"officer": event.officer, "officer_username": event.officer_username}


def outbox_event(case_id: uuid.UUID, request_id: uuid.UUID, request_version: int, event: domain.Event) -> events.Event:
    """The published form of what a move caused; a decision names the application version it was taken on."""
    ids = {"request_id": str(request_id), "case_id": str(case_id)}
    match event:
        case domain.ReceiptAccepted():
            return outbox.new_event(events.ReceiptAccepted, **ids)
        case domain.ReceiptRejected():
            return outbox.new_event(events.ReceiptRejected, request_id=str(request_id), reason=event.reason)
        case domain.CaseAccepted():
            return outbox.new_event(events.CaseAccepted, **ids, **_officer(event), request_version=request_version)
        case domain.CaseReturned():
            return outbox.new_event(
                events.CaseReturned, **ids, **_officer(event), request_version=request_version, reason=event.reason
            )
        case domain.CaseConcluded():
            return outbox.new_event(
                events.CaseConcluded,
                **ids,
                **_officer(event),
                request_version=request_version,
                outcome=event.outcome,
                reply=event.reply,
            )
