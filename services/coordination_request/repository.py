"""Where applications are kept: the only code that knows their tables (the application row, its status history,
the daily number counter) and writes, in the same transaction, the audit records and outbox events its moves
caused."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from datetime import date
from typing import Any

import asyncpg
import msgspec

from services.coordination_request import domain
from services.coordination_request.domain import Application, Effects, HistoryEntry
from shared import audit, outbox, repository
from shared.contracts import coordination as c
from shared.contracts import events
from shared.paging import Filters, Page, keyset_page
from shared.workflow import Status


class Applications(repository.Keyed):
    """The applications as one transaction, or one read, sees them."""

    @abstractmethod
    async def next_sequence(self, day: date) -> int:
        """The next number of the (China) day: unique; taken outside the create's transaction, so a create that
        fails after taking it leaves a gap."""

    @abstractmethod
    async def lock(self, request_id: uuid.UUID, tenant: str) -> Application | None:
        """The enterprise's application, held until the transaction ends; None when missing or deleted."""

    @abstractmethod
    async def lock_any(self, request_id: uuid.UUID) -> Application | None:
        """Any enterprise's application, deleted ones too (for customs' events and the attachment service)."""

    @abstractmethod
    async def find(self, request_id: uuid.UUID, tenant: str | None) -> Application | None:
        """For reading, deleted ones excluded; `tenant` None: every enterprise's (officers read them all)."""

    @abstractmethod
    async def history(self, request_id: uuid.UUID) -> list[c.HistoryEntry]: ...

    @abstractmethod
    async def page(self, q: c.ListQuery, tenant: str) -> Page[Application]:
        """The enterprise's applications matching the query, newest first."""

    @abstractmethod
    async def add(self, app: Application, effects: Effects) -> None:
        """Keeps a new application, stamping its created_at and updated_at, and what its creation caused."""

    @abstractmethod
    async def save(self, app: Application, effects: Effects) -> None:
        """Keeps the application as the move left it (stamping updated_at when it made history), and what the
        move caused."""


Store = repository.Store[Applications]


class PostgresStore(repository.PostgresStore[Applications]):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, PostgresApplications)


_FORM = c.RequestForm.__struct_fields__
_FIXED = ("id", "request_no", "credit_code", "enterprise_name", "created_by")
_STATE = (
    "agreement_code",
    "status",
    "status_reason",
    "version",
    "submitted_at",
    "outcome",
    "reply",
    "attachments_revision",
    "attachment_count",
    "damaged_attachments",
)
COLUMNS = ", ".join((*_FIXED, *_FORM, *_STATE, "created_at", "updated_at", "deleted_at IS NOT NULL AS deleted"))
_INSERT = (
    f"INSERT INTO coordination_requests ({', '.join((*_FIXED, *_FORM, *_STATE))})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_FIXED + _FORM + _STATE) + 1))})"
    " RETURNING created_at, updated_at"
)
_DELETED, _TOUCHED = len(_FORM + _STATE) + 2, len(_FORM + _STATE) + 3
_UPDATE = (
    "UPDATE coordination_requests SET "
    + ", ".join(f"{column}=${i}" for i, column in enumerate((*_FORM, *_STATE), start=2))
    # Deleted rows are kept: the history stays for audit, and every query for the enterprise skips them.
    + f", deleted_at = CASE WHEN ${_DELETED} THEN coalesce(deleted_at, now()) END"
    + f", updated_at = CASE WHEN ${_TOUCHED} THEN now() ELSE updated_at END"
    + " WHERE id=$1 RETURNING updated_at"
)


def _state(app: Application) -> tuple[Any, ...]:
    """The columns a move may change, in the order of _FORM and _STATE."""
    return (*msgspec.structs.astuple(app.form), *(getattr(app, column) for column in _STATE))


def _application(row: asyncpg.Record) -> Application:
    kept = {column: row[column] for column in (*_FIXED, *_STATE, "created_at", "updated_at", "deleted")}
    return Application(**kept | {"status": Status(row["status"])}, form=c.RequestForm(**{f: row[f] for f in _FORM}))


class PostgresApplications(repository.PostgresKeyed, Applications):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn)
        # Each locked application as it was read, so one a move left unchanged is not written again.
        self._loaded: dict[uuid.UUID, tuple[tuple[Any, ...], bool]] = {}

    async def next_sequence(self, day: date) -> int:
        return await self.conn.fetchval(
            "INSERT INTO request_number_counters (day, last) VALUES ($1, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = request_number_counters.last + 1 RETURNING last",
            day,
        )

    async def lock(self, request_id: uuid.UUID, tenant: str) -> Application | None:
        return self._held(
            await self.conn.fetchrow(
                f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 AND credit_code=$2 AND deleted_at IS NULL"
                " FOR UPDATE",
                request_id,
                tenant,
            )
        )

    async def lock_any(self, request_id: uuid.UUID) -> Application | None:
        return self._held(
            await self.conn.fetchrow(f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 FOR UPDATE", request_id)
        )

    def _held(self, row: asyncpg.Record | None) -> Application | None:
        if row is None:
            return None
        app = _application(row)
        self._loaded[app.id] = (_state(app), app.deleted)
        return app

    async def find(self, request_id: uuid.UUID, tenant: str | None) -> Application | None:
        row = await self.conn.fetchrow(
            f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 AND ($2::text IS NULL OR credit_code=$2)"
            " AND deleted_at IS NULL",
            request_id,
            tenant,
        )
        return None if row is None else _application(row)

    async def history(self, request_id: uuid.UUID) -> list[c.HistoryEntry]:
        rows = await self.conn.fetch(
            "SELECT at, actor, action, from_status, to_status, reason FROM status_history WHERE request_id=$1"
            " ORDER BY id",
            request_id,
        )
        return [c.HistoryEntry(**dict(row)) for row in rows]

    async def page(self, q: c.ListQuery, tenant: str) -> Page[Application]:
        filters = Filters(["deleted_at IS NULL"])
        filters.add("credit_code = ?", tenant)
        filters.request_filters(q)
        page = await keyset_page(
            self.conn,
            "coordination_requests",
            COLUMNS,
            filters,
            order=("created_at", "id"),
            descending=True,
            cursor=q.cursor,
            limit=q.limit,
        )
        return Page([_application(row) for row in page.items], page.total, page.next_cursor, page.total_capped)

    async def add(self, app: Application, effects: Effects) -> None:
        fixed = (app.id, app.request_no, app.credit_code, app.enterprise_name, app.created_by)
        row = await self.conn.fetchrow(_INSERT, *fixed, *_state(app))
        app.created_at, app.updated_at = row["created_at"], row["updated_at"]
        await self._record(app, effects)

    async def save(self, app: Application, effects: Effects) -> None:
        state = (_state(app), app.deleted)
        if state != self._loaded.get(app.id):
            app.updated_at = await self.conn.fetchval(_UPDATE, app.id, *state[0], app.deleted, bool(effects.history))
            self._loaded[app.id] = state
        await self._record(app, effects)

    async def _record(self, app: Application, effects: Effects) -> None:
        # The history names people by their display names; the audit trail by the login name of who acted, and the
        # application by its 协调单号.
        for entry in effects.history:
            await self.conn.execute(
                "INSERT INTO status_history (request_id, actor, action, from_status, to_status, reason)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                app.id,
                entry.by.name,
                entry.action,
                entry.from_status,
                entry.to_status,
                entry.reason,
            )
            await audit.record(
                self.conn,
                actor=entry.by.login,
                enterprise=app.credit_code,
                action=f"REQUEST_{entry.action}",
                target=move_target(app, entry),
            )
        for event in effects.events:
            if isinstance(event, domain.Deleted):
                await audit.record(
                    self.conn,
                    actor=event.by.login,
                    enterprise=app.credit_code,
                    action="REQUEST_DELETE",
                    target=app.request_no,
                )
        await outbox.record(self.conn, *(_outbox_event(app, event) for event in effects.events))


def move_target(app: Application, entry: HistoryEntry) -> str:
    """A move as the audit trail names it: the 协调单号 and the statuses, `XT20261204000001 DRAFT->PENDING`."""
    return f"{app.request_no} {entry.from_status or ''}->{entry.to_status}"  # a creation: `XT… ->DRAFT`


def _outbox_event(app: Application, event: domain.Event) -> events.Event:
    """The published form of what a move caused."""
    request_id = str(app.id)
    match event:
        case domain.Created():
            return outbox.new_event(
                events.RequestCreated,
                request_id=request_id,
                request_no=app.request_no,
                credit_code=app.credit_code,
                proof_type=app.form.proof_type,
            )
        case domain.Updated():
            return outbox.new_event(
                events.RequestUpdated, request_id=request_id, credit_code=app.credit_code, version=app.version
            )
        case domain.Submitted():
            return outbox.new_event(
                events.RequestSubmitted,
                request_id=request_id,
                version=app.version,
                submitted_at=app.submitted_at,
                form=events.RequestFormSnapshot(
                    request_no=app.request_no,
                    credit_code=app.credit_code,
                    enterprise_name=app.enterprise_name,
                    agreement_code=app.agreement_code,
                    **msgspec.structs.asdict(app.form),
                ),
            )
        case domain.Withdrawn():
            return outbox.new_event(events.RequestWithdrawn, request_id=request_id, credit_code=app.credit_code)
        case domain.Deleted():
            return outbox.new_event(events.RequestDeleted, request_id=request_id, credit_code=app.credit_code)
        case domain.StatusChanged():
            return outbox.new_event(
                events.RequestStatusChanged,
                request_id=request_id,
                credit_code=app.credit_code,
                from_status=event.from_status,
                to_status=event.to_status,
                reason=event.reason,
                version=event.version,
            )
        case domain.DecisionRefused():
            return outbox.new_event(
                events.DecisionRefused,
                request_id=request_id,
                decision=event.decision,
                status=event.status,
                version=event.version,
                reason=event.reason,
            )
