"""certificate-registry's endpoints: certificate lookup, ownership and linkage answers, 补录, reference data."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.certificate_registry import ingest
from services.certificate_registry.reference import ReferenceData
from shared import demo, idempotency, outbox
from shared.bus import Endpoint
from shared.clock import china_date
from shared.contracts import registry as c
from shared.contracts.common import Empty, FieldError
from shared.contracts.events import (
    CertificateIssued,
    CertificateRevoked,
    DeclarationLinkReported,
    ExportDeclarationLinked,
)
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.formats import EXPORT_DECLARATION_NO_RULE, is_export_declaration_no
from shared.runtime import Context, ServiceDefinition

log = logging.getLogger(__name__)


class CertificateNotFound(NotFound):
    code, message = "CERTIFICATE_NOT_FOUND", "未找到该原产地证书（声明），请核对类型和编号"


class Registry:
    def __init__(self, ctx: Context, reference: ReferenceData) -> None:
        self.pool = ctx.pool
        self.ref = reference

    async def lookup(self, key: c.CertificateKey) -> c.CertificateInfo:
        row = await self.pool.fetchrow(
            "SELECT proof_type, certificate_no, agreement_code, import_country, valid_until, status"
            " FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
            key.proof_type,
            key.certificate_no.strip(),
        )
        if row is None:
            raise CertificateNotFound()
        agreement = self.ref.agreement_by_code.get(row["agreement_code"])
        return c.CertificateInfo(
            proof_type=row["proof_type"],
            certificate_no=row["certificate_no"],
            agreement_code=row["agreement_code"],
            agreement_name=agreement.name_zh if agreement else "",
            import_country=row["import_country"],
            valid_until=row["valid_until"],
            status=row["status"],
        )

    async def check_form(self, q: c.FormCheck) -> c.FormCheckResult:
        errors: list[FieldError] = []
        agreement_code = None
        if q.import_country and q.import_country not in self.ref.country_by_code:
            errors.append(FieldError(field="importCountry", message="进口国家/地区不存在，请从列表中选择"))
        if q.import_port:
            port = self.ref.port_by_code.get(q.import_port)
            if port is None:
                errors.append(FieldError(field="importPort", message="进口国家/地区口岸不存在，请从列表中选择"))
            elif q.import_country and port.country != q.import_country:
                errors.append(FieldError(field="importPort", message="该口岸不属于所选进口国家/地区"))
        if q.proof_type in c.PROOF_TYPES and q.certificate_no:
            agreement_code = await self.pool.fetchval(
                "SELECT agreement_code FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
                q.proof_type,
                q.certificate_no,
            )
            if agreement_code is None:
                label = c.PROOF_TYPES[q.proof_type].number_label
                errors.append(FieldError(field="certificateNo", message=f"{label}不存在，请核对享惠证明类型和编号"))
        return c.FormCheckResult(agreement_code=agreement_code, errors=errors)

    async def submit_check(self, q: c.SubmitCheckQuery) -> c.SubmitCheck:
        """Ownership and linkage in one statement: the two facts a 提交 depends on."""
        row = await self.pool.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM certificates WHERE proof_type = $1 AND certificate_no = $2"
            " AND holder_credit_code = $3) AS owned,"
            " EXISTS (SELECT 1 FROM export_declaration_links WHERE proof_type = $1 AND certificate_no = $2"
            " AND export_declaration_no = $4) AS linked",
            q.proof_type,
            q.certificate_no,
            q.credit_code,
            q.export_declaration_no,
        )
        return c.SubmitCheck(owned=row["owned"], linked=row["linked"])

    async def link(self, cmd: c.LinkCommand) -> c.ExportDeclarationLink:
        if cmd.actor.credit_code is None:
            raise Forbidden("仅企业用户可以进行出口报关单补录")
        errors = []
        if cmd.proof_type not in c.PROOF_TYPES:
            errors.append(FieldError(field="proofType", message="请选择享惠证明类型"))
        if not cmd.certificate_no.strip():
            errors.append(FieldError(field="certificateNo", message="请填写原产地证书号/声明号"))
        if not is_export_declaration_no(cmd.export_declaration_no):
            errors.append(FieldError(field="exportDeclarationNo", message=EXPORT_DECLARATION_NO_RULE))
        if errors:
            raise ValidationFailed(fields=errors)
        async with self.pool.acquire() as conn, conn.transaction():
            keys = idempotency.Keys(conn)
            if done := await keys.claim(cmd.actor, cmd.idempotency, c.ExportDeclarationLink):
                return done
            # Someone else's certificate is refused exactly as a missing one: no hint that it exists.
            owned = await conn.fetchval(
                "SELECT true FROM certificates WHERE proof_type = $1 AND certificate_no = $2"
                " AND holder_credit_code = $3",
                cmd.proof_type,
                cmd.certificate_no.strip(),
                cmd.actor.credit_code,
            )
            if not owned:
                raise CertificateNotFound()
            row = await self._insert_link(
                conn, cmd.proof_type, cmd.certificate_no.strip(), cmd.export_declaration_no, cmd.actor.credit_code
            )
            await keys.complete(cmd.actor, cmd.idempotency, row)
        return row

    @staticmethod
    async def _insert_link(
        conn: asyncpg.Connection,
        proof_type: str,
        certificate_no: str,
        declaration_no: str,
        credit_code: str,
        source: str = "ENTERPRISE",
    ) -> c.ExportDeclarationLink:
        created = await conn.fetchval(
            "INSERT INTO export_declaration_links (proof_type, certificate_no, export_declaration_no, credit_code, source)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING created_at",
            proof_type,
            certificate_no,
            declaration_no,
            credit_code,
            source,
        )
        if created is not None:
            await outbox.record(
                conn,
                outbox.new_event(
                    ExportDeclarationLinked,
                    proof_type=proof_type,
                    certificate_no=certificate_no,
                    export_declaration_no=declaration_no,
                    credit_code=credit_code,
                ),
            )
        else:
            created = await conn.fetchval(
                "SELECT created_at FROM export_declaration_links"
                " WHERE proof_type = $1 AND certificate_no = $2 AND export_declaration_no = $3",
                proof_type,
                certificate_no,
                declaration_no,
            )
        return c.ExportDeclarationLink(
            proof_type=proof_type,
            certificate_no=certificate_no,
            export_declaration_no=declaration_no,
            created_at=created.isoformat(),
        )

    async def list_links(self, q: c.LinkList) -> c.LinkPage:
        rows = await self.pool.fetch(
            "SELECT proof_type, certificate_no, export_declaration_no, created_at FROM export_declaration_links"
            " WHERE credit_code = $1 ORDER BY created_at DESC LIMIT 500",
            q.actor.credit_code,
        )
        return c.LinkPage(
            items=[
                c.ExportDeclarationLink(
                    proof_type=r["proof_type"],
                    certificate_no=r["certificate_no"],
                    export_declaration_no=r["export_declaration_no"],
                    created_at=r["created_at"].isoformat(),
                )
                for r in rows
            ]
        )

    async def agreements(self, _: Empty) -> c.AgreementList:
        return c.AgreementList(items=self.ref.agreements)

    async def countries(self, q: c.ReferenceQuery) -> c.CountryList:
        return c.CountryList(items=self.ref.search_countries(q.q, min(max(q.limit, 1), 100)))

    async def ports(self, q: c.ReferenceQuery) -> c.PortList:
        return c.PortList(items=self.ref.search_ports(q.q, q.country, min(max(q.limit, 1), 100)))


class Ingestion:
    """The issuing and declaration systems' events, applied idempotently (the inbox records each event)."""

    def __init__(self, reference: ReferenceData) -> None:
        self.ref = reference

    async def on_issued(self, conn: asyncpg.Connection, event: CertificateIssued) -> None:
        record = ingest.CertificateRecord(
            proof_type=event.proof_type,
            certificate_no=event.certificate_no.strip(),
            holder_credit_code=event.holder_credit_code.strip().upper(),
            holder_name=event.holder_name.strip(),
            agreement_code=event.agreement_code,
            import_country=event.import_country.upper(),
            issue_date=event.issue_date,
            valid_until=event.valid_until,
        )
        problems = ingest.check(record, self.ref)
        if problems:
            # A malformed event cannot become valid by redelivery: refuse it loudly and move on.
            log.error("certificate event refused", extra={"fields": {"eventId": event.event_id, "problems": problems}})
            return
        await ingest.upsert(conn, record)

    async def on_revoked(self, conn: asyncpg.Connection, event: CertificateRevoked) -> None:
        if not await ingest.revoke(conn, event.proof_type, event.certificate_no.strip(), event.reason):
            log.warning(
                "revocation of an unknown or already revoked certificate",
                extra={"fields": {"eventId": event.event_id, "proofType": event.proof_type}},
            )

    async def on_declaration_linked(self, conn: asyncpg.Connection, event: DeclarationLinkReported) -> None:
        holder = await conn.fetchval(
            "SELECT holder_credit_code FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
            event.proof_type,
            event.certificate_no,
        )
        if holder is None or holder != event.credit_code or not is_export_declaration_no(event.export_declaration_no):
            log.error("declaration link refused", extra={"fields": {"eventId": event.event_id}})
            return
        await Registry._insert_link(
            conn,
            event.proof_type,
            event.certificate_no,
            event.export_declaration_no,
            event.credit_code,
            source="DECLARATION_SYSTEM",
        )


async def seed(ctx: Context) -> None:
    """Demo certificates go in through the same ingest path as the issuing systems' records."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        today = china_date(ctx.clock.now())
        for cert in demo.CERTIFICATES:
            await ingest.upsert(
                conn,
                ingest.CertificateRecord(
                    proof_type=cert.proof_type,
                    certificate_no=cert.certificate_no,
                    holder_credit_code=cert.holder.credit_code,
                    holder_name=cert.holder.name,
                    agreement_code=cert.agreement_code,
                    import_country=cert.import_country,
                    issue_date=today - timedelta(days=30),
                    valid_until=today + timedelta(days=335),
                ),
            )
            for declaration in cert.linked_declarations:
                await Registry._insert_link(
                    conn, cert.proof_type, cert.certificate_no, declaration, cert.holder.credit_code, source="SEED"
                )


def _reference(ctx: Context) -> ReferenceData:
    return ctx.one("reference", lambda: ReferenceData())


def consumers(ctx: Context) -> dict[type, Any]:
    ingestion = Ingestion(_reference(ctx))
    return {
        CertificateIssued: ingestion.on_issued,
        CertificateRevoked: ingestion.on_revoked,
        DeclarationLinkReported: ingestion.on_declaration_linked,
    }


def endpoints(ctx: Context) -> list[Endpoint]:
    svc = Registry(ctx, _reference(ctx))
    return [
        Endpoint(c.CERTIFICATE_LOOKUP, c.CertificateKey, svc.lookup),
        Endpoint(c.SUBMIT_CHECK, c.SubmitCheckQuery, svc.submit_check),
        Endpoint(c.FORM_CHECK, c.FormCheck, svc.check_form),
        Endpoint(c.LINK_CREATE, c.LinkCommand, svc.link),
        Endpoint(c.LINK_LIST, c.LinkList, svc.list_links),
        Endpoint(c.REFERENCE_AGREEMENTS, Empty, svc.agreements),
        Endpoint(c.REFERENCE_COUNTRIES, c.ReferenceQuery, svc.countries),
        Endpoint(c.REFERENCE_PORTS, c.ReferenceQuery, svc.ports),
    ]


definition = ServiceDefinition(
    name="certificate_registry",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
    seed=seed,
)
