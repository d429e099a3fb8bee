"""certificate-registry's handlers against an in-memory registry: lookup, the form and submit checks, 补录 with its
refusals and Idempotency-Key, the enterprise's links, and the issuing and declaration systems' events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from services.certificate_registry.ingest import CertificateRecord
from services.certificate_registry.reference import ReferenceData
from services.certificate_registry.repository import MAX_LINKS_LISTED, Certificate, Certificates
from services.certificate_registry.service import Ingestion, Registry
from shared.contracts import registry as c
from shared.contracts.common import Actor, Empty
from shared.contracts.events import CertificateIssued, CertificateRevoked, DeclarationLinkReported
from shared.contracts.idempotency import IdempotencyKey
from shared.errors import ServiceError
from tests.unit import fakes
from tests.unit.fakes import InMemoryKeys

pytestmark = pytest.mark.anyio

MINE = "91310115MA1K4B2X0T"
THEIRS = "91330206MA2H7C5D1A"
ME = Actor(user_id="u1", username="demo", display_name="张三", role="ENTERPRISE", credit_code=MINE)
OTHER = Actor(user_id="u2", username="demo2", display_name="李四", role="ENTERPRISE", credit_code=THEIRS)
OFFICER = Actor(user_id="o1", username="officer", display_name="王关员", role="OFFICER")
DECLARATION = "310120260000123456"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
CERT = CertificateRecord(
    proof_type="CUSTOMS_CO",
    certificate_no="K2631000000001",
    holder_credit_code=MINE,
    holder_name="上海华贸进出口有限公司",
    agreement_code="22",
    import_country="JP",
    issue_date=date(2026, 1, 5),
    valid_until=date(2026, 12, 31),
)
THEIR_CERT = replace(CERT, certificate_no="K2633000000901", holder_credit_code=THEIRS, holder_name="宁波海联")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return ReferenceData()


class InMemoryCertificates(InMemoryKeys, Certificates):
    """The certificates and links in dictionaries; the events a new link records, in a list."""

    def __init__(self) -> None:
        self.certificates: dict[tuple[str, str], tuple[CertificateRecord, str]] = {}  # -> (record, status)
        self.links_made: dict[tuple[str, str, str], tuple[str, str, datetime]] = {}  # -> (credit code, source, at)
        self.events: list[tuple[str, str, str, str]] = []
        self.keys: dict[tuple[str, str], tuple[str, bytes | None]] = {}
        self.clock = NOW

    async def find(self, proof_type: str, certificate_no: str) -> Certificate | None:
        found = self.certificates.get((proof_type, certificate_no))
        if found is None:
            return None
        record, status = found
        return Certificate(
            proof_type, certificate_no, record.agreement_code, record.import_country, record.valid_until, status
        )

    async def agreement_code(self, proof_type: str, certificate_no: str) -> str | None:
        found = self.certificates.get((proof_type, certificate_no))
        return found[0].agreement_code if found else None

    async def holder(self, proof_type: str, certificate_no: str) -> str | None:
        found = self.certificates.get((proof_type, certificate_no))
        return found[0].holder_credit_code if found else None

    async def owned_and_linked(
        self, proof_type: str, certificate_no: str, credit_code: str, declaration_no: str
    ) -> tuple[bool, bool]:
        owned = await self.holder(proof_type, certificate_no) == credit_code
        return owned, (proof_type, certificate_no, declaration_no) in self.links_made

    async def upsert(self, record: CertificateRecord) -> bool:
        key = (record.proof_type, record.certificate_no)
        if key in self.certificates:
            if self.certificates[key][1] == "VALID":
                self.certificates[key] = (record, "VALID")
            return False
        self.certificates[key] = (record, "VALID")
        return True

    async def revoke(self, proof_type: str, certificate_no: str, reason: str) -> bool:
        found = self.certificates.get((proof_type, certificate_no))
        if found is None or found[1] != "VALID":
            return False
        self.certificates[(proof_type, certificate_no)] = (found[0], "REVOKED")
        return True

    async def link(
        self, proof_type: str, certificate_no: str, declaration_no: str, credit_code: str, source: str
    ) -> c.ExportDeclarationLink:
        key = (proof_type, certificate_no, declaration_no)
        if key not in self.links_made:
            self.clock += timedelta(minutes=1)
            self.links_made[key] = (credit_code, source, self.clock)
            self.events.append((proof_type, certificate_no, declaration_no, credit_code))
        return c.ExportDeclarationLink(
            proof_type=proof_type,
            certificate_no=certificate_no,
            export_declaration_no=declaration_no,
            created_at=self.links_made[key][2].isoformat(),
        )

    async def links(self, credit_code: str) -> list[c.ExportDeclarationLink]:
        mine = sorted(
            ((k, at) for k, (code, _, at) in self.links_made.items() if code == credit_code),
            key=lambda item: item[1],
            reverse=True,
        )
        return [
            c.ExportDeclarationLink(
                proof_type=pt, certificate_no=no, export_declaration_no=decl, created_at=at.isoformat()
            )
            for (pt, no, decl), at in mine[:MAX_LINKS_LISTED]
        ]


class InMemoryStore(fakes.InMemoryStore[Certificates]):
    def __init__(self) -> None:
        super().__init__(InMemoryCertificates())
        self.registry = self.work


@pytest.fixture
async def store() -> InMemoryStore:
    store = InMemoryStore()
    await store.registry.upsert(CERT)
    await store.registry.upsert(THEIR_CERT)
    return store


@pytest.fixture
def registry(store: InMemoryStore, reference: ReferenceData) -> Registry:
    return Registry(store, reference)


@pytest.fixture
def ingestion(store: InMemoryStore, reference: ReferenceData) -> Ingestion:
    return Ingestion(store, reference)


async def refused(call: Any, status: int, code: str) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        await call
    assert (error.value.status, error.value.code) == (status, code)
    return error.value


def link_cmd(actor: Actor = ME, certificate_no: str = " K2631000000001 ", **more: Any) -> c.LinkCommand:
    return c.LinkCommand(
        actor=actor, proof_type="CUSTOMS_CO", certificate_no=certificate_no, export_declaration_no=DECLARATION, **more
    )


# --- lookup and checks ---------------------------------------------------------------------------------


async def test_lookup_answers_the_agreement_but_never_the_holder(registry: Registry) -> None:
    info = await registry.lookup(c.CertificateKey(proof_type="CUSTOMS_CO", certificate_no=" K2631000000001 "))
    assert info == c.CertificateInfo(
        proof_type="CUSTOMS_CO",
        certificate_no="K2631000000001",
        agreement_code="22",
        agreement_name=info.agreement_name,
        import_country="JP",
        valid_until=date(2026, 12, 31),
        status="VALID",
    )
    assert info.agreement_name  # the reference data's name of agreement 22
    await refused(
        registry.lookup(c.CertificateKey(proof_type="CCPIT_CO", certificate_no="K2631000000001")),
        404,
        "CERTIFICATE_NOT_FOUND",
    )


async def test_the_form_check_gives_the_agreement_or_every_error(registry: Registry, reference: ReferenceData) -> None:
    good = await registry.check_form(
        c.FormCheck(proof_type="CUSTOMS_CO", certificate_no="K2631000000001", import_country="JP", import_port="JPTYO")
    )
    assert good == c.FormCheckResult(agreement_code="22", errors=[])
    foreign_port = next(p.code for p in reference.ports if p.country != "JP")
    bad = await registry.check_form(
        c.FormCheck(
            proof_type="CUSTOMS_CO", certificate_no="K0000000000000", import_country="JP", import_port=foreign_port
        )
    )
    assert bad.agreement_code is None
    assert [e.field for e in bad.errors] == ["importPort", "certificateNo"]
    assert bad.errors[0].message == "该口岸不属于所选进口国家/地区"
    unknown = await registry.check_form(c.FormCheck(import_country="ZZ", import_port="ZZZZZ"))
    assert [e.field for e in unknown.errors] == ["importCountry", "importPort"]
    assert await registry.check_form(c.FormCheck()) == c.FormCheckResult(agreement_code=None, errors=[])


async def test_the_submit_check_answers_ownership_and_linkage(registry: Registry) -> None:
    query = c.SubmitCheckQuery(
        proof_type="CUSTOMS_CO", certificate_no="K2631000000001", credit_code=MINE, export_declaration_no=DECLARATION
    )
    assert await registry.submit_check(query) == c.SubmitCheck(owned=True, linked=False)
    await registry.link(link_cmd())
    assert await registry.submit_check(query) == c.SubmitCheck(owned=True, linked=True)
    theirs = msgspec.structs.replace(query, credit_code=THEIRS)
    assert await registry.submit_check(theirs) == c.SubmitCheck(owned=False, linked=True)


# --- 补录 (export-declaration links) -------------------------------------------------------------------


async def test_a_link_is_made_once_and_announced_once(registry: Registry, store: InMemoryStore) -> None:
    first = await registry.link(link_cmd())
    again = await registry.link(link_cmd())
    assert first == again and first.certificate_no == "K2631000000001"
    assert store.registry.events == [("CUSTOMS_CO", "K2631000000001", DECLARATION, MINE)]
    assert store.registry.links_made[("CUSTOMS_CO", "K2631000000001", DECLARATION)][1] == "ENTERPRISE"
    assert (await registry.list_links(c.LinkList(actor=ME))).items == [first]
    assert (await registry.list_links(c.LinkList(actor=OTHER))).items == []


async def test_another_enterprises_certificate_is_refused_as_a_missing_one(
    registry: Registry, store: InMemoryStore
) -> None:
    await refused(registry.link(link_cmd(certificate_no="K2633000000901")), 404, "CERTIFICATE_NOT_FOUND")
    await refused(registry.link(link_cmd(certificate_no="K9999999999999")), 404, "CERTIFICATE_NOT_FOUND")
    assert store.registry.links_made == {} and store.registry.events == []


async def test_a_link_names_every_bad_field_and_officers_may_not_link(registry: Registry) -> None:
    bad = c.LinkCommand(actor=ME, proof_type="NOPE", certificate_no=" ", export_declaration_no="12")
    error = await refused(registry.link(bad), 422, "VALIDATION_FAILED")
    assert [f.field for f in error.fields] == ["proofType", "certificateNo", "exportDeclarationNo"]
    await refused(registry.link(link_cmd(actor=OFFICER)), 403, "FORBIDDEN")


async def test_a_retried_link_gets_its_first_reply_and_a_reused_key_is_refused(
    registry: Registry, store: InMemoryStore
) -> None:
    key = IdempotencyKey(key="k1", fingerprint="f1")
    first = await registry.link(link_cmd(idempotency=key))
    assert await registry.link(link_cmd(idempotency=key)) == first
    other = link_cmd(idempotency=IdempotencyKey(key="k1", fingerprint="f2"))
    await refused(registry.link(other), 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(store.registry.events) == 1


# --- reference data ------------------------------------------------------------------------------------


async def test_reference_searches_are_bounded(registry: Registry, reference: ReferenceData) -> None:
    assert (await registry.agreements(Empty())).items == reference.agreements
    assert len((await registry.countries(c.ReferenceQuery(q="", limit=1000))).items) == 100
    assert len((await registry.countries(c.ReferenceQuery(q="", limit=0))).items) == 1
    assert [p.code for p in (await registry.ports(c.ReferenceQuery(q="JPTYO", country="JP"))).items][:1] == ["JPTYO"]
    assert (await registry.ports(c.ReferenceQuery(q="JPTYO", country="ZZ"))).items == []


# --- the issuing and declaration systems' events -------------------------------------------------------


def issued(**changes: Any) -> CertificateIssued:
    fields = {
        "event_id": "e1",
        "occurred_at": NOW,
        "proof_type": "CCPIT_CO",
        "certificate_no": " C263100000000099 ",
        "holder_credit_code": MINE.lower(),
        "holder_name": " 上海华贸 ",
        "agreement_code": "18",
        "import_country": "au",
        "issue_date": date(2026, 2, 1),
        "valid_until": None,
    }
    return CertificateIssued(**fields | changes)


async def test_an_issued_certificate_is_kept_cleaned_and_a_malformed_one_refused(
    ingestion: Ingestion, store: InMemoryStore
) -> None:
    await ingestion.on_issued(None, issued())
    record, status = store.registry.certificates[("CCPIT_CO", "C263100000000099")]
    assert (record.holder_credit_code, record.holder_name, record.import_country, status) == (
        MINE,
        "上海华贸",
        "AU",
        "VALID",
    )
    await ingestion.on_issued(None, issued(certificate_no="C2", agreement_code="99"))
    assert ("CCPIT_CO", "C2") not in store.registry.certificates


async def test_a_revoked_certificate_stays_revoked(ingestion: Ingestion, store: InMemoryStore) -> None:
    revoked = CertificateRevoked(
        event_id="e2", occurred_at=NOW, proof_type="CUSTOMS_CO", certificate_no=" K2631000000001 ", reason="x"
    )
    await ingestion.on_revoked(None, revoked)
    assert store.registry.certificates[("CUSTOMS_CO", "K2631000000001")][1] == "REVOKED"
    await ingestion.on_revoked(None, revoked)  # again: a warning, nothing changes
    await store.registry.upsert(CERT)
    assert store.registry.certificates[("CUSTOMS_CO", "K2631000000001")][1] == "REVOKED"


async def test_a_reported_link_is_kept_only_for_the_holder(ingestion: Ingestion, store: InMemoryStore) -> None:
    report = DeclarationLinkReported(
        event_id="e3",
        occurred_at=NOW,
        proof_type="CUSTOMS_CO",
        certificate_no="K2631000000001",
        export_declaration_no=DECLARATION,
        credit_code=THEIRS,
    )
    await ingestion.on_declaration_linked(None, report)
    assert store.registry.links_made == {}
    await ingestion.on_declaration_linked(None, msgspec.structs.replace(report, credit_code=MINE))
    assert store.registry.links_made[("CUSTOMS_CO", "K2631000000001", DECLARATION)][:2] == (MINE, "DECLARATION_SYSTEM")
