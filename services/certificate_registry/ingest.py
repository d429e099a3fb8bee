"""Ingesting proofs of origin the way the registry is fed: one validated record (then one upsert in its own
transaction, repository.py). Used by the issuing systems' events, the bulk import command and the demo seed alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from stdnum.cn import uscc

from services.certificate_registry.reference import ReferenceData
from shared.contracts.registry import PROOF_TYPES
from shared.formats import is_certificate_no

FIELDS = (
    "proofType",
    "certificateNo",
    "holderCreditCode",
    "holderName",
    "agreementCode",
    "importCountry",
    "issueDate",
    "validUntil",
)


@dataclass(frozen=True)
class CertificateRecord:
    proof_type: str
    certificate_no: str
    holder_credit_code: str
    holder_name: str
    agreement_code: str
    import_country: str
    issue_date: date
    valid_until: date | None = None


class InvalidRecord(ValueError):
    """A record the registry will not take, with every reason in Chinese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


def from_mapping(row: dict[str, Any], reference: ReferenceData) -> CertificateRecord:
    """Parse and validate one input row (CSV or JSON Lines, camelCase keys); raises InvalidRecord."""
    problems: list[str] = []
    text = {k: ("" if row.get(k) is None else str(row.get(k)).strip()) for k in FIELDS}
    issue_date = _date(text["issueDate"], "签发日期", problems, required=True)
    valid_until = _date(text["validUntil"], "有效期至", problems, required=False)
    record = CertificateRecord(
        proof_type=text["proofType"],
        certificate_no=text["certificateNo"],
        holder_credit_code=text["holderCreditCode"].upper(),
        holder_name=text["holderName"],
        agreement_code=text["agreementCode"].zfill(2) if text["agreementCode"].isdigit() else text["agreementCode"],
        import_country=text["importCountry"].upper(),
        issue_date=issue_date or date.min,
        valid_until=valid_until,
    )
    problems += check(record, reference)
    if problems:
        raise InvalidRecord(problems)
    return record


def check(record: CertificateRecord, reference: ReferenceData) -> list[str]:
    problems = []
    if record.proof_type not in PROOF_TYPES:
        problems.append(f"享惠证明类型无效：{record.proof_type or '空'}")
    if not is_certificate_no(record.certificate_no):
        problems.append("证书号/声明号应为1至40位字母、数字、-或/")
    if not uscc.is_valid(record.holder_credit_code):
        problems.append(f"持证企业统一社会信用代码无效：{record.holder_credit_code or '空'}")
    if not record.holder_name:
        problems.append("持证企业名称不能为空")
    if record.agreement_code not in reference.agreement_by_code:
        problems.append(f"优惠贸易协定代码不存在：{record.agreement_code or '空'}")
    if record.import_country not in reference.country_by_code:
        problems.append(f"进口国家/地区代码不存在：{record.import_country or '空'}")
    if record.valid_until and record.valid_until < record.issue_date:
        problems.append("有效期至不能早于签发日期")
    return problems


def _date(value: str, label: str, problems: list[str], *, required: bool) -> date | None:
    if not value:
        if required:
            problems.append(f"{label}不能为空")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{label}格式应为YYYY-MM-DD：{value}")
        return None
