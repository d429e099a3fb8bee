"""customs-desk: receipt of submitted applications (accept or reject with a reason) and the officers' queue."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from shared import bus, outbox
from shared.contracts import customs as c
from shared.contracts import registry
from shared.contracts.events import ReceiptAccepted, ReceiptRejected, RequestSubmitted, RequestWithdrawn
from shared.errors import Forbidden, NotFound
from shared.runtime import Context, ServiceDefinition

log = logging.getLogger(__name__)

OPEN = ("PENDING", "COORDINATING")


class CustomsDesk:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        self.nc = ctx.nc

    async def on_submitted(self, conn: asyncpg.Connection, event: RequestSubmitted) -> None:
        form = event.form
        reason = await self._refusal(conn, event)
        status = "REJECTED" if reason else "PENDING"
        case_id = await conn.fetchval(
            "INSERT INTO cases (id, request_id, request_no, credit_code, enterprise_name, proof_type, certificate_no,"
            " agreement_code, export_declaration_no, import_declaration_no, import_country, import_port, reason,"
            " status, decision_reason)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
            " ON CONFLICT (request_id) DO UPDATE SET request_no = EXCLUDED.request_no,"
            " proof_type = EXCLUDED.proof_type, certificate_no = EXCLUDED.certificate_no,"
            " agreement_code = EXCLUDED.agreement_code, export_declaration_no = EXCLUDED.export_declaration_no,"
            " import_declaration_no = EXCLUDED.import_declaration_no, import_country = EXCLUDED.import_country,"
            " import_port = EXCLUDED.import_port, reason = EXCLUDED.reason, status = EXCLUDED.status,"
            " decision_reason = EXCLUDED.decision_reason, received_at = now(), updated_at = now()"
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
        )
        if reason:
            await outbox.record(conn, outbox.new_event(ReceiptRejected, request_id=event.request_id, reason=reason))
        else:
            await outbox.record(
                conn, outbox.new_event(ReceiptAccepted, request_id=event.request_id, case_id=str(case_id))
            )

    async def _refusal(self, conn: asyncpg.Connection, event: RequestSubmitted) -> str | None:
        """What customs' receipt checks find wrong, as the reason the enterprise will read; None if all is well."""
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
        if info.valid_until is not None and info.valid_until < date.today():
            return "原产地证书（声明）已过有效期"
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

    async def on_withdrawn(self, conn: asyncpg.Connection, event: RequestWithdrawn) -> None:
        await conn.execute(
            "UPDATE cases SET status = 'WITHDRAWN', updated_at = now() WHERE request_id = $1 AND status = 'PENDING'",
            uuid.UUID(event.request_id),
        )

    async def list_cases(self, q: c.CaseQuery) -> c.CaseList:
        if q.actor.role != "OFFICER":
            raise Forbidden("仅海关关员可以查看")
        rows = await self.pool.fetch(
            "SELECT id, request_id, request_no, credit_code, enterprise_name, proof_type, certificate_no,"
            " export_declaration_no, status, received_at, decision_reason FROM cases"
            " WHERE ($1::text IS NULL OR status = $1) ORDER BY received_at LIMIT $2",
            q.status,
            min(max(q.limit, 1), 200),
        )
        return c.CaseList(
            items=[
                c.Case(
                    id=str(r["id"]),
                    request_id=str(r["request_id"]),
                    request_no=r["request_no"],
                    credit_code=r["credit_code"],
                    enterprise_name=r["enterprise_name"],
                    proof_type=r["proof_type"],
                    certificate_no=r["certificate_no"],
                    export_declaration_no=r["export_declaration_no"],
                    status=r["status"],
                    received_at=r["received_at"],
                    decision_reason=r["decision_reason"],
                )
                for r in rows
            ]
        )


def _desk(ctx: Context) -> CustomsDesk:
    if "desk" not in ctx.extras:
        ctx.extras["desk"] = CustomsDesk(ctx)
    return ctx.extras["desk"]


def consumers(ctx: Context) -> dict[type, Any]:
    desk = _desk(ctx)
    return {RequestSubmitted: desk.on_submitted, RequestWithdrawn: desk.on_withdrawn}


definition = ServiceDefinition(
    name="customs_desk",
    migrations=Path(__file__).parent / "migrations",
    endpoints=lambda ctx: [bus.Endpoint(c.CASE_LIST, c.CaseQuery, _desk(ctx).list_cases)],
    consumers=consumers,
)
