"""certificate-registry's endpoints: certificate lookup, ownership and linkage answers, 补录, reference data."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.certificate_registry import ingest
from services.certificate_registry.reference import ReferenceData
from services.certificate_registry.repository import PostgresStore, Store
from shared import demo
from shared.bus import Endpoint
from shared.clock import china_date
from shared.contracts import registry as c
from shared.contracts.common import Empty, FieldError
from shared.contracts.events import CertificateIssued, CertificateRevoked, DeclarationLinkReported
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.formats import EXPORT_DECLARATION_NO_RULE, is_export_declaration_no
from shared.runtime import Context, ServiceDefinition

log = logging.getLogger(__name__)


class CertificateNotFound(NotFound):
    code, message = "CERTIFICATE_NOT_FOUND", "未找到该原产地证书（声明），请核对类型和编号"


class Registry:
    def __init__(self, store: Store, reference: ReferenceData) -> None:
        self.store = store
        self.ref = reference

    async def lookup(self, key: c.CertificateKey) -> c.CertificateInfo:
        async with self.store.reading() as certificates:
            found = await certificates.find(key.proof_type, key.certificate_no.strip())
        if found is None:
            raise CertificateNotFound()
        agreement = self.ref.agreement_by_code.get(found.agreement_code)
        return c.CertificateInfo(
            proof_type=found.proof_type,
            certificate_no=found.certificate_no,
            agreement_code=found.agreement_code,
            agreement_name=agreement.name_zh if agreement else "",
            import_country=found.import_country,
            valid_until=found.valid_until,
            status=found.status,
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
            async with self.store.reading() as certificates:
                agreement_code = await certificates.agreement_code(q.proof_type, q.certificate_no)
            if agreement_code is None:
                label = c.PROOF_TYPES[q.proof_type].number_label
                errors.append(FieldError(field="certificateNo", message=f"{label}不存在，请核对享惠证明类型和编号"))
        return c.FormCheckResult(agreement_code=agreement_code, errors=errors)

    async def submit_check(self, q: c.SubmitCheckQuery) -> c.SubmitCheck:
        """Ownership and linkage in one statement: the two facts a 提交 depends on."""
        async with self.store.reading() as certificates:
            owned, linked = await certificates.owned_and_linked(
                q.proof_type, q.certificate_no, q.credit_code, q.export_declaration_no
            )
        return c.SubmitCheck(owned=owned, linked=linked)

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
        certificate_no = cmd.certificate_no.strip()
        async with self.store.transaction() as certificates:
            if done := await certificates.claim(cmd.actor, cmd.idempotency, c.ExportDeclarationLink):
                return done
            # Someone else's certificate is refused exactly as a missing one: no hint that it exists.
            if await certificates.holder(cmd.proof_type, certificate_no) != cmd.actor.credit_code:
                raise CertificateNotFound()
            link = await certificates.link(
                cmd.proof_type, certificate_no, cmd.export_declaration_no, cmd.actor.credit_code, source="ENTERPRISE"
            )
            await certificates.complete(cmd.actor, cmd.idempotency, link)
        return link

    async def list_links(self, q: c.LinkList) -> c.LinkPage:
        async with self.store.reading() as certificates:
            return c.LinkPage(items=await certificates.links(q.actor.credit_code))

    async def agreements(self, _: Empty) -> c.AgreementList:
        return c.AgreementList(items=self.ref.agreements)

    async def countries(self, q: c.ReferenceQuery) -> c.CountryList:
        return c.CountryList(items=self.ref.search_countries(q.q, min(max(q.limit, 1), 100)))

    async def ports(self, q: c.ReferenceQuery) -> c.PortList:
        return c.PortList(items=self.ref.search_ports(q.q, q.country, min(max(q.limit, 1), 100)))


class Ingestion:
    """The issuing and declaration systems' events, applied idempotently (the inbox records each event)."""

    def __init__(self, store: Store, reference: ReferenceData) -> None:
        self.store = store
        self.ref = reference

    async def on_issued(self, conn: Any, event: CertificateIssued) -> None:
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
        await self.store.within(conn).upsert(record)

    async def on_revoked(self, conn: Any, event: CertificateRevoked) -> None:
        certificates = self.store.within(conn)
        if not await certificates.revoke(event.proof_type, event.certificate_no.strip(), event.reason):
            log.warning(
                "revocation of an unknown or already revoked certificate",
                extra={"fields": {"eventId": event.event_id, "proofType": event.proof_type}},
            )

    async def on_declaration_linked(self, conn: Any, event: DeclarationLinkReported) -> None:
        certificates = self.store.within(conn)
        holder = await certificates.holder(event.proof_type, event.certificate_no)
        if holder is None or holder != event.credit_code or not is_export_declaration_no(event.export_declaration_no):
            log.error("declaration link refused", extra={"fields": {"eventId": event.event_id}})
            return
        await certificates.link(
            event.proof_type,
            event.certificate_no,
            event.export_declaration_no,
            event.credit_code,
            source="DECLARATION_SYSTEM",
        )


async def seed(ctx: Context) -> None:
    """Demo certificates go in through the same ingest path as the issuing systems' records."""
    async with _store(ctx).transaction() as certificates:
        today = china_date(ctx.clock.now())
        for cert in demo.CERTIFICATES:
            await certificates.upsert(
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
                await certificates.link(
                    cert.proof_type, cert.certificate_no, declaration, cert.holder.credit_code, source="SEED"
                )


def _reference(ctx: Context) -> ReferenceData:
    return ctx.one("reference", lambda: ReferenceData())


def _store(ctx: Context) -> Store:
    return ctx.one("store", lambda: PostgresStore(ctx.pool))


def consumers(ctx: Context) -> dict[type, Any]:
    ingestion = Ingestion(_store(ctx), _reference(ctx))
    return {
        CertificateIssued: ingestion.on_issued,
        CertificateRevoked: ingestion.on_revoked,
        DeclarationLinkReported: ingestion.on_declaration_linked,
    }


def endpoints(ctx: Context) -> list[Endpoint]:
    svc = Registry(_store(ctx), _reference(ctx))
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
