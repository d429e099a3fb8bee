"""certificate-registry: proofs of origin, export-declaration links, reference data."""

from __future__ import annotations

from datetime import date

from shared.contracts.common import Actor, Contract, FieldError
from shared.contracts.idempotency import IdempotencyKey
from shared.formats import PROOF_KINDS

CERTIFICATE_LOOKUP = "svc.registry.certificate.lookup"
SUBMIT_CHECK = "svc.registry.submit.check"
LINK_CREATE = "svc.registry.link.create"
LINK_LIST = "svc.registry.link.list"
REFERENCE_AGREEMENTS = "svc.registry.reference.agreements"
REFERENCE_COUNTRIES = "svc.registry.reference.countries"
REFERENCE_PORTS = "svc.registry.reference.ports"
FORM_CHECK = "svc.registry.form.check"


class CertificateKey(Contract):
    proof_type: str
    certificate_no: str


class CertificateInfo(Contract):
    """What anyone may learn of a certificate: enough for the agreement auto-fill, not the holder."""

    proof_type: str
    certificate_no: str
    agreement_code: str
    agreement_name: str
    import_country: str | None = None
    valid_until: date | None = None
    status: str = "VALID"


class SubmitCheckQuery(Contract):
    """What a 提交 needs from the registry, asked once: does the enterprise hold the certificate, and is the
    export declaration linked to it."""

    proof_type: str
    certificate_no: str
    credit_code: str
    export_declaration_no: str


class SubmitCheck(Contract):
    owned: bool
    linked: bool


class LinkCommand(Contract):
    actor: Actor
    proof_type: str
    certificate_no: str
    export_declaration_no: str
    idempotency: IdempotencyKey | None = None


class ExportDeclarationLink(Contract):
    proof_type: str
    certificate_no: str
    export_declaration_no: str
    created_at: str


class LinkList(Contract):
    actor: Actor


class LinkPage(Contract):
    items: list[ExportDeclarationLink]


class Agreement(Contract):
    code: str
    name_zh: str
    name_en: str
    valid_from: date | None = None
    valid_until: date | None = None
    note: str | None = None


class AgreementList(Contract):
    items: list[Agreement]


class Country(Contract):
    code: str
    name_zh: str
    name_en: str


class Port(Contract):
    code: str
    country: str
    name_zh: str
    name_en: str


class FormCheck(Contract):
    """The registry's part of validating an application form; empty fields are not checked."""

    proof_type: str = ""
    certificate_no: str = ""
    import_country: str = ""
    import_port: str = ""


class FormCheckResult(Contract):
    agreement_code: str | None = None
    errors: list[FieldError] = []


class ReferenceQuery(Contract):
    q: str = ""
    country: str | None = None
    limit: int = 20


class CountryList(Contract):
    items: list[Country]


class PortList(Contract):
    items: list[Port]


class ProofType(Contract):
    code: str
    label: str
    number_label: str


# The proof-of-origin types as the reference data lists them.
PROOF_TYPES: dict[str, ProofType] = {
    code: ProofType(code=code, label=kind.label, number_label=kind.number_label) for code, kind in PROOF_KINDS.items()
}
