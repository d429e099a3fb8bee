"""coordination-request's endpoints and event handlers; every query is scoped to the actor's enterprise."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.coordination_request import domain
from services.coordination_request.domain import Action, Status
from shared import audit, bus, outbox
from shared.clock import china_date, china_day_start
from shared.contracts import coordination as c
from shared.contracts import registry
from shared.contracts.common import Actor, FieldError
from shared.contracts.customs import OUTCOMES
from shared.contracts.events import (
    CaseAccepted,
    CaseConcluded,
    CaseReturned,
    DecisionRefused,
    ReceiptAccepted,
    ReceiptRejected,
    RequestCreated,
    RequestDeleted,
    RequestFormSnapshot,
    RequestStatusChanged,
    RequestSubmitted,
    RequestUpdated,
    RequestWithdrawn,
)
from shared.errors import Conflict, Forbidden, InvalidState, NotFound, ServiceError, ValidationFailed
from shared.paging import decode_cursor, encode_cursor
from shared.runtime import Context, ServiceDefinition

CUSTOMS_ACTOR = "海关"
MAX_PAGE = 100
COLUMNS = (
    "id, request_no, credit_code, enterprise_name, proof_type, import_country, import_port, certificate_no,"
    " agreement_code, export_declaration_no, import_declaration_no, reason, status, status_reason, version,"
    " created_at, updated_at, submitted_at, outcome, reply, attachments_revision, attachment_count,"
    " damaged_attachments"
)


class RequestNotFound(NotFound):
    code, message = "REQUEST_NOT_FOUND", "协调申请不存在"


class AttachmentRequired(ServiceError):
    status, code, message = 422, "ATTACHMENT_REQUIRED", "提交失败:请至少上传一个附件"


class AttachmentDamaged(ServiceError):
    status, code, message = 422, "ATTACHMENT_DAMAGED", "附件已损坏，请删除后重新上传"


def _tenant(actor: Actor) -> str:
    if actor.role != "ENTERPRISE" or not actor.credit_code:
        raise Forbidden("仅企业用户可以办理享惠受阻协调申请")
    return actor.credit_code


def _view(row: asyncpg.Record, history: list[c.HistoryEntry] | None = None) -> c.CoordinationRequest:
    status = Status(row["status"])
    return c.CoordinationRequest(
        id=str(row["id"]),
        request_no=row["request_no"],
        proof_type=row["proof_type"],
        proof_type_label=registry.PROOF_TYPES[row["proof_type"]].label,
        credit_code=row["credit_code"],
        enterprise_name=row["enterprise_name"],
        import_country=row["import_country"],
        import_port=row["import_port"],
        certificate_no=row["certificate_no"],
        agreement_code=row["agreement_code"],
        export_declaration_no=row["export_declaration_no"],
        import_declaration_no=row["import_declaration_no"],
        reason=row["reason"],
        status=status.value,
        status_label=c.STATUS_LABELS[status],
        status_reason=row["status_reason"],
        version=row["version"],
        attachments_revision=row["attachments_revision"],
        attachment_count=row["attachment_count"],
        editable=status in domain.EDITABLE,
        deletable=domain.can_delete(status),
        withdrawable=status in domain.WITHDRAWABLE,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        outcome=row["outcome"],
        outcome_label=OUTCOMES.get(row["outcome"]) if row["outcome"] else None,
        reply=row["reply"],
        history=history or [],
    )


def _snapshot(row: asyncpg.Record) -> RequestFormSnapshot:
    return RequestFormSnapshot(
        request_no=row["request_no"],
        proof_type=row["proof_type"],
        credit_code=row["credit_code"],
        enterprise_name=row["enterprise_name"],
        import_country=row["import_country"],
        import_port=row["import_port"],
        certificate_no=row["certificate_no"],
        agreement_code=row["agreement_code"],
        export_declaration_no=row["export_declaration_no"],
        import_declaration_no=row["import_declaration_no"],
        reason=row["reason"],
    )


class Requests:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        self.nc = ctx.nc
        self.clock = ctx.clock

    # --- validation ---------------------------------------------------------------------------------

    async def _validated(self, form: c.RequestForm) -> tuple[domain.Form, str]:
        """Checks every field, asks the registry for the certificate, returns the form and its agreement code."""
        clean = domain.Form(
            proof_type=form.proof_type.strip(),
            import_country=form.import_country.strip().upper(),
            import_port=form.import_port.strip().upper(),
            certificate_no=form.certificate_no.strip(),
            export_declaration_no=form.export_declaration_no.strip(),
            import_declaration_no=form.import_declaration_no.strip(),
            reason=form.reason.strip(),
        )
        errors = domain.validate(clean)
        # The registry knows certificates, countries and ports; ask only about fields that are well-formed.
        check = await bus.call(
            self.nc,
            registry.FORM_CHECK,
            registry.FormCheck(
                proof_type="" if "proofType" in errors else clean.proof_type,
                certificate_no="" if "certificateNo" in errors else clean.certificate_no,
                import_country="" if "importCountry" in errors else clean.import_country,
                import_port="" if "importPort" in errors else clean.import_port,
            ),
            registry.FormCheckResult,
        )
        for error in check.errors:
            errors.setdefault(error.field, error.message)
        agreement_code = check.agreement_code or ""
        if errors:
            raise ValidationFailed(fields=[FieldError(field=f, message=m) for f, m in errors.items()])
        return clean, agreement_code

    # --- commands -----------------------------------------------------------------------------------

    async def create(self, cmd: c.CreateCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        form, agreement_code = await self._validated(cmd.form)
        request_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            request_no = await self._allocate_number(conn)
            row = await conn.fetchrow(
                f"INSERT INTO coordination_requests (id, request_no, credit_code, enterprise_name, proof_type,"
                " import_country, import_port, certificate_no, agreement_code, export_declaration_no,"
                " import_declaration_no, reason, status, created_by)"
                f" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING {COLUMNS}",
                request_id,
                request_no,
                tenant,
                cmd.actor.enterprise_name or "",
                form.proof_type,
                form.import_country,
                form.import_port,
                form.certificate_no,
                agreement_code,
                form.export_declaration_no,
                form.import_declaration_no,
                form.reason,
                Status.DRAFT.value,
                cmd.actor.user_id,
            )
            await self._history(
                conn, request_id, cmd.actor.display_name, Action.SAVE, None, Status.DRAFT, enterprise=tenant
            )
            await outbox.record(
                conn,
                outbox.new_event(
                    RequestCreated,
                    request_id=str(request_id),
                    request_no=request_no,
                    credit_code=tenant,
                    proof_type=form.proof_type,
                ),
            )
            await self._status_event(conn, row, None)
        return _view(row)

    async def update(self, cmd: c.UpdateCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        form, agreement_code = await self._validated(cmd.form)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._locked(conn, tenant, cmd.request_id, cmd.version)
            target = self._move(current, Action.SAVE)
            row = await conn.fetchrow(
                "UPDATE coordination_requests SET proof_type=$2, import_country=$3, import_port=$4,"
                " certificate_no=$5, agreement_code=$6, export_declaration_no=$7, import_declaration_no=$8,"
                " reason=$9, status=$10, status_reason=NULL, version=version+1, updated_at=now()"
                f" WHERE id=$1 RETURNING {COLUMNS}",
                current["id"],
                form.proof_type,
                form.import_country,
                form.import_port,
                form.certificate_no,
                agreement_code,
                form.export_declaration_no,
                form.import_declaration_no,
                form.reason,
                target.value,
            )
            await self._history(
                conn,
                row["id"],
                cmd.actor.display_name,
                Action.SAVE,
                Status(current["status"]),
                target,
                enterprise=tenant,
            )
            await outbox.record(
                conn,
                outbox.new_event(
                    RequestUpdated,
                    request_id=str(row["id"]),
                    credit_code=tenant,
                    version=row["version"],
                ),
            )
            if current["status"] != target:
                await self._status_event(conn, row, Status(current["status"]))
        return _view(row)

    async def submit(self, cmd: c.TransitionCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._locked(conn, tenant, cmd.request_id, cmd.version)
            if cmd.attachments_revision is not None and cmd.attachments_revision != current["attachments_revision"]:
                raise Conflict("附件已变更，请刷新后重新提交", code="ATTACHMENTS_CHANGED")
            if current["attachment_count"] == 0:
                raise AttachmentRequired()
            if current["damaged_attachments"] > 0:
                raise AttachmentDamaged()
            row = await self._apply(
                conn, current, self._move(current, Action.SUBMIT), Action.SUBMIT, cmd.actor.display_name
            )
            await outbox.record(
                conn,
                outbox.new_event(
                    RequestSubmitted,
                    request_id=str(row["id"]),
                    version=row["version"],
                    submitted_at=row["submitted_at"],
                    form=_snapshot(row),
                ),
            )
        return _view(row)

    async def withdraw(self, cmd: c.TransitionCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._locked(conn, tenant, cmd.request_id, cmd.version)
            row = await self._apply(
                conn, current, self._move(current, Action.WITHDRAW), Action.WITHDRAW, cmd.actor.display_name
            )
            await outbox.record(conn, outbox.new_event(RequestWithdrawn, request_id=str(row["id"]), credit_code=tenant))
        return _view(row)

    async def attachments_changed(self, cmd: c.AttachmentsChanged) -> c.AttachmentsRevision:
        tenant = _tenant(cmd.actor)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._locked(conn, tenant, cmd.request_id, None)
            if Status(current["status"]) not in domain.EDITABLE:
                raise InvalidState("当前状态不允许变更附件", code="ATTACHMENTS_FROZEN")
            revision = await conn.fetchval(
                "UPDATE coordination_requests SET attachments_revision = attachments_revision + 1,"
                " attachment_count = coalesce($3, attachment_count),"
                " damaged_attachments = coalesce($2, damaged_attachments) WHERE id = $1 RETURNING attachments_revision",
                current["id"],
                cmd.damaged,
                cmd.count,
            )
        return c.AttachmentsRevision(attachments_revision=revision)

    async def attachments_damaged(self, cmd: c.AttachmentsDamaged) -> c.AttachmentsRevision:
        """The attachment service's count of damaged files, in any status (an officer's download may find one)."""
        revision = await self.pool.fetchval(
            "UPDATE coordination_requests SET damaged_attachments = $2 WHERE id = $1 RETURNING attachments_revision",
            self._parse_id(cmd.request_id),
            max(cmd.damaged, 0),
        )
        if revision is None:
            raise RequestNotFound()
        return c.AttachmentsRevision(attachments_revision=revision)

    async def delete(self, cmd: c.TransitionCommand) -> c.Deleted:
        tenant = _tenant(cmd.actor)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await self._locked(conn, tenant, cmd.request_id, cmd.version)
            if not domain.can_delete(Status(current["status"])):
                raise InvalidState(domain.DELETE_REFUSAL, code="DELETE_NOT_ALLOWED")
            # Kept, not erased: the history stays for audit; every query skips deleted rows.
            await conn.execute(
                "UPDATE coordination_requests SET deleted_at=now(), version=version+1 WHERE id=$1", current["id"]
            )
            await audit.record(
                conn, actor=cmd.actor.username, enterprise=tenant, action="REQUEST_DELETE", target=str(current["id"])
            )
            await outbox.record(
                conn,
                outbox.new_event(
                    RequestDeleted,
                    request_id=str(current["id"]),
                    credit_code=tenant,
                ),
            )
        return c.Deleted(request_id=str(current["id"]))

    # --- queries ------------------------------------------------------------------------------------

    async def get(self, ref: c.RequestRef) -> c.CoordinationRequest:
        # Officers read every application; an enterprise only its own (another's is "not found").
        tenant = None if ref.actor.role == "OFFICER" else _tenant(ref.actor)
        rid = self._parse_id(ref.request_id)
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 AND ($2::text IS NULL OR credit_code=$2)"
                " AND deleted_at IS NULL",
                rid,
                tenant,
            )
            if row is None:
                raise RequestNotFound()
            if not ref.history:
                return _view(row)
            history = await conn.fetch(
                "SELECT at, actor, action, from_status, to_status, reason FROM status_history"
                " WHERE request_id=$1 ORDER BY id",
                rid,
            )
        return _view(
            row,
            [
                c.HistoryEntry(
                    at=h["at"],
                    actor=h["actor"],
                    action=h["action"],
                    from_status=h["from_status"],
                    to_status=h["to_status"],
                    reason=h["reason"],
                )
                for h in history
            ],
        )

    async def list(self, q: c.ListQuery) -> c.RequestPage:
        tenant = _tenant(q.actor)
        limit = min(max(q.limit, 1), MAX_PAGE)
        where, args = ["credit_code = $1", "deleted_at IS NULL"], [tenant]

        def add(clause: str, value: Any) -> None:
            args.append(value)
            where.append(clause.replace("?", f"${len(args)}"))

        if q.request_no:
            add("request_no = ?", q.request_no.strip())
        if q.certificate_no:
            add("certificate_no = ?", q.certificate_no.strip())
        if q.export_declaration_no:
            add("export_declaration_no = ?", q.export_declaration_no.strip())
        if q.status:
            add("status = ?", q.status)
        if q.proof_type:
            add("proof_type = ?", q.proof_type)
        if q.agreement_code:
            add("agreement_code = ?", q.agreement_code)
        if q.submitted_from:
            add("submitted_at >= ?", china_day_start(q.submitted_from))
        if q.submitted_to:
            add("submitted_at < ?", china_day_start(q.submitted_to + timedelta(days=1)))
        filters = " AND ".join(where)
        page_where = filters
        page_args = list(args)
        if q.cursor:
            created, rid = decode_cursor(q.cursor)
            page_args += [created, rid]
            page_where += f" AND (created_at, id) < (${len(page_args) - 1}, ${len(page_args)})"
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM coordination_requests WHERE {page_where}"
                f" ORDER BY created_at DESC, id DESC LIMIT {limit + 1}",
                *page_args,
            )
            total = await conn.fetchval(f"SELECT count(*) FROM coordination_requests WHERE {filters}", *args)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return c.RequestPage(items=[_view(r) for r in rows], total=total, next_cursor=next_cursor)

    # --- customs decisions arrive only as events ------------------------------------------------------

    async def on_receipt_accepted(self, conn: asyncpg.Connection, event: ReceiptAccepted) -> None:
        await self._customs_move(conn, event.request_id, Action.RECEIPT_ACCEPT, CUSTOMS_ACTOR)

    async def on_receipt_rejected(self, conn: asyncpg.Connection, event: ReceiptRejected) -> None:
        await self._customs_move(conn, event.request_id, Action.RECEIPT_REJECT, CUSTOMS_ACTOR, reason=event.reason)

    async def on_case_accepted(self, conn: asyncpg.Connection, event: CaseAccepted) -> None:
        await self._customs_move(conn, event.request_id, Action.ACCEPT, event.officer, seen=event.request_version)

    async def on_case_returned(self, conn: asyncpg.Connection, event: CaseReturned) -> None:
        await self._customs_move(
            conn, event.request_id, Action.RETURN, event.officer, reason=event.reason, seen=event.request_version
        )

    async def on_case_concluded(self, conn: asyncpg.Connection, event: CaseConcluded) -> None:
        await self._customs_move(
            conn,
            event.request_id,
            Action.CONCLUDE,
            event.officer,
            reason=event.reply,
            outcome=event.outcome,
            seen=event.request_version,
        )

    async def _customs_move(
        self,
        conn: asyncpg.Connection,
        request_id: str,
        action: Action,
        actor: str,
        *,
        reason: str | None = None,
        outcome: str | None = None,
        seen: int = 0,
    ) -> None:
        current = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 FOR UPDATE", uuid.UUID(request_id)
        )
        if current is None:
            return
        source = Status(current["status"])
        try:
            target = domain.transition(source, action)
            if seen and seen != current["version"]:
                # The officer decided on a version the application has since left (e.g. withdrawn and
                # resubmitted): the decision does not carry over.
                raise domain.IllegalTransition(action, source)
        except domain.IllegalTransition:
            # The application moved on first (e.g. the enterprise withdrew): the decision loses, and customs
            # is told why, with the status that won.
            if action in (Action.ACCEPT, Action.RETURN, Action.CONCLUDE):
                await outbox.record(
                    conn,
                    outbox.new_event(
                        DecisionRefused,
                        request_id=request_id,
                        decision=action.value,
                        status=source.value,
                        version=current["version"],
                        reason=f"{domain.ACTION_LABELS[action]}未生效：申请当前状态为“{c.STATUS_LABELS[source]}”",
                    ),
                )
            return
        await self._apply(conn, current, target, action, actor, reason=reason, outcome=outcome)

    # --- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _parse_id(request_id: str) -> uuid.UUID:
        try:
            return uuid.UUID(request_id)
        except ValueError:
            raise RequestNotFound() from None

    async def _locked(
        self, conn: asyncpg.Connection, tenant: str, request_id: str, version: int | None
    ) -> asyncpg.Record:
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM coordination_requests WHERE id=$1 AND credit_code=$2 AND deleted_at IS NULL"
            " FOR UPDATE",
            self._parse_id(request_id),
            tenant,
        )
        if row is None:
            raise RequestNotFound()
        if version is not None and row["version"] != version:
            raise Conflict()
        return row

    @staticmethod
    def _move(row: asyncpg.Record, action: Action) -> Status:
        try:
            return domain.transition(Status(row["status"]), action)
        except domain.IllegalTransition as exc:
            raise InvalidState(exc.message) from None

    async def _apply(
        self,
        conn: asyncpg.Connection,
        current: asyncpg.Record,
        target: Status,
        action: Action,
        actor: str,
        *,
        reason: str | None = None,
        outcome: str | None = None,
    ) -> asyncpg.Record:
        """One status move: the row, its history entry and the status_changed event, in the caller's transaction."""
        row = await conn.fetchrow(
            "UPDATE coordination_requests SET status=$2, status_reason=$3, version=version+1, updated_at=now(),"
            " submitted_at = coalesce($5, submitted_at),"
            " outcome = coalesce($4, outcome), reply = CASE WHEN $4::text IS NULL THEN reply ELSE $3 END"
            f" WHERE id=$1 RETURNING {COLUMNS}",
            current["id"],
            target.value,
            reason,
            outcome,
            self.clock.now() if target is Status.DECLARED else None,
        )
        source = Status(current["status"])
        await self._history(conn, row["id"], actor, action, source, target, reason, enterprise=row["credit_code"])
        await self._status_event(conn, row, source)
        return row

    async def _allocate_number(self, conn: asyncpg.Connection) -> str:
        today = china_date(self.clock.now())
        seq = await conn.fetchval(
            "INSERT INTO request_number_counters (day, last) VALUES ($1, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = request_number_counters.last + 1 RETURNING last",
            today,
        )
        return f"XT{today:%Y%m%d}{seq:06d}"

    @staticmethod
    async def _history(
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        actor: str,
        action: Action,
        source: Status | None,
        target: Status,
        reason: str | None = None,
        *,
        enterprise: str,
    ) -> None:
        """One status move in the application's history and in the audit trail, in the caller's transaction."""
        await conn.execute(
            "INSERT INTO status_history (request_id, actor, action, from_status, to_status, reason)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            request_id,
            actor,
            action.value,
            source.value if source else None,
            target.value,
            reason,
        )
        move = f"{source.value if source else '-'}->{target.value}"
        await audit.record(
            conn, actor=actor, enterprise=enterprise, action=f"REQUEST_{action.value}", target=f"{request_id} {move}"
        )

    @staticmethod
    async def _status_event(conn: asyncpg.Connection, row: asyncpg.Record, source: Status | None) -> None:
        await outbox.record(
            conn,
            outbox.new_event(
                RequestStatusChanged,
                request_id=str(row["id"]),
                credit_code=row["credit_code"],
                from_status=source.value if source else None,
                to_status=row["status"],
                reason=row["status_reason"],
                version=row["version"],
            ),
        )


def _services(ctx: Context) -> Requests:
    return ctx.one("requests", lambda: Requests(ctx))


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    svc = _services(ctx)
    return [
        bus.Endpoint(c.CREATE, c.CreateCommand, svc.create),
        bus.Endpoint(c.UPDATE, c.UpdateCommand, svc.update),
        bus.Endpoint(c.GET, c.RequestRef, svc.get),
        bus.Endpoint(c.LIST, c.ListQuery, svc.list),
        bus.Endpoint(c.SUBMIT, c.TransitionCommand, svc.submit),
        bus.Endpoint(c.WITHDRAW, c.TransitionCommand, svc.withdraw),
        bus.Endpoint(c.DELETE, c.TransitionCommand, svc.delete),
        bus.Endpoint(c.ATTACHMENTS_CHANGED, c.AttachmentsChanged, svc.attachments_changed),
        bus.Endpoint(c.ATTACHMENTS_DAMAGED, c.AttachmentsDamaged, svc.attachments_damaged),
    ]


def consumers(ctx: Context) -> dict[type, Any]:
    svc = _services(ctx)
    return {
        ReceiptAccepted: svc.on_receipt_accepted,
        ReceiptRejected: svc.on_receipt_rejected,
        CaseAccepted: svc.on_case_accepted,
        CaseReturned: svc.on_case_returned,
        CaseConcluded: svc.on_case_concluded,
    }


definition = ServiceDefinition(
    name="coordination_request",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
)
