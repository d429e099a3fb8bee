"""Validation of certificate records as the bulk import and the issuing systems' events deliver them."""

from __future__ import annotations

from datetime import date

import pytest

from services.certificate_registry import ingest
from services.certificate_registry.importer import rows
from services.certificate_registry.reference import ReferenceData

GOOD = {
    "proofType": "CUSTOMS_CO",
    "certificateNo": "K2631999000001",
    "holderCreditCode": "91310115MA1K4B2X0T",
    "holderName": "上海华贸进出口有限公司",
    "agreementCode": "22",
    "importCountry": "jp",
    "issueDate": "2026-10-01",
    "validUntil": "2027-09-30",
}


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return ReferenceData()


def test_a_good_row_becomes_a_record(ref: ReferenceData) -> None:
    record = ingest.from_mapping(GOOD, ref)
    assert record.import_country == "JP" and record.issue_date == date(2026, 10, 1)
    assert ingest.from_mapping({**GOOD, "agreementCode": "2"}, ref).agreement_code == "02"


def test_every_problem_of_a_row_is_reported(ref: ReferenceData) -> None:
    bad = {
        **GOOD,
        "proofType": "XX",
        "holderCreditCode": "91310115MA1K4B2X0A",
        "agreementCode": "99",
        "importCountry": "ZZ",
        "issueDate": "2026-13-01",
        "holderName": "",
    }
    with pytest.raises(ingest.InvalidRecord) as refused:
        ingest.from_mapping(bad, ref)
    assert len(refused.value.problems) == 6
    assert any("统一社会信用代码无效" in p for p in refused.value.problems)


def test_validity_cannot_end_before_issue(ref: ReferenceData) -> None:
    with pytest.raises(ingest.InvalidRecord, match="有效期至不能早于签发日期"):
        ingest.from_mapping({**GOOD, "validUntil": "2026-01-01"}, ref)


def test_json_lines_report_unparseable_lines_by_number() -> None:
    parsed = list(rows('{"proofType":"CUSTOMS_CO"}\n\nnot json\n[1]\n', "jsonl"))
    assert [n for n, _ in parsed] == [1, 3, 4]
    assert isinstance(parsed[1][1], str) and isinstance(parsed[2][1], str)


def test_csv_needs_its_header() -> None:
    with pytest.raises(ValueError, match="header"):
        list(rows("a,b\n1,2\n", "csv"))
