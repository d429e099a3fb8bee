"""The certificate registry fed as in production: bulk import, issuing systems' events, declaration links;
and the reference look-ups the form uses, through the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import msgspec
import nats
import pytest

from shared import bus, outbox
from shared.contracts.events import CertificateIssued, CertificateRevoked, DeclarationLinkReported
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
HUAMAO = ("91310115MA1K4B2X0T", "上海华贸进出口有限公司")


def fresh_number(prefix: str = "K26") -> str:
    return f"{prefix}{secrets.randbelow(10**11):011d}"


def publish(stack, *events) -> None:
    """As the issuing and declaration systems do: the NATS user `issuer`."""

    async def send() -> None:
        nc = await bus.connect(stack.infra.nats_url_for("issuer"), "issuer")
        js = nc.jetstream()
        for event in events:
            await js.publish(event.subject(), msgspec.json.encode(event), headers={"Nats-Msg-Id": event.event_id})
        await nc.close()

    asyncio.run(send())


def lookup(client: httpx.Client, proof_type: str, number: str) -> httpx.Response:
    return client.get("/api/v1/certificates/lookup", params={"type": proof_type, "number": number})


def run_import(stack, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": stack.infra.database_url("certificate_registry"), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "services.certificate_registry.importer", str(path)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_bulk_import_reports_bad_lines_and_imports_the_rest(stack, demo: httpx.Client, tmp_path: Path) -> None:
    good, also_good, bad = fresh_number(), fresh_number("AE"), fresh_number()
    csv_file = tmp_path / "certificates.csv"
    csv_file.write_text(
        "proofType,certificateNo,holderCreditCode,holderName,agreementCode,importCountry,issueDate,validUntil\n"
        f"CUSTOMS_CO,{good},{HUAMAO[0]},{HUAMAO[1]},22,JP,2026-10-01,2027-09-30\n"
        f"CUSTOMS_CO,{bad},91310115MA1K4B2X0A,{HUAMAO[1]},99,JP,2026-10-01,\n"
        f"APPROVED_EXPORTER,{also_good},{HUAMAO[0]},{HUAMAO[1]},17,CH,2026-10-01,\n",
        encoding="utf-8",
    )
    result = run_import(stack, csv_file)
    assert result.returncode == 1, result.stderr
    assert "imported 2 (2 new, 0 updated), refused 1" in result.stdout
    assert result.stderr.startswith("line 3: ") and "统一社会信用代码无效" in result.stderr
    assert lookup(demo, "CUSTOMS_CO", good).json()["agreementCode"] == "22"
    assert lookup(demo, "APPROVED_EXPORTER", also_good).json()["agreementCode"] == "17"
    assert lookup(demo, "CUSTOMS_CO", bad).status_code == 404

    again = run_import(stack, csv_file)  # re-importing is harmless
    assert "imported 2 (0 new, 2 updated), refused 1" in again.stdout

    jsonl = tmp_path / "more.jsonl"
    number = fresh_number("C26")
    jsonl.write_text(
        json.dumps(
            {
                "proofType": "CCPIT_CO",
                "certificateNo": number,
                "holderCreditCode": HUAMAO[0],
                "holderName": HUAMAO[1],
                "agreementCode": "02",
                "importCountry": "VN",
                "issueDate": "2026-11-01",
            },
            ensure_ascii=False,
        )
        + "\n{broken\n",
        encoding="utf-8",
    )
    result = run_import(stack, jsonl)
    assert "imported 1" in result.stdout and "line 2: 不是有效的JSON" in result.stderr
    assert lookup(demo, "CCPIT_CO", number).json()["agreementName"].startswith("中国—东盟")


def issued(number: str) -> CertificateIssued:
    return outbox.new_event(
        CertificateIssued,
        proof_type="CUSTOMS_CO",
        certificate_no=number,
        holder_credit_code=HUAMAO[0],
        holder_name=HUAMAO[1],
        agreement_code="19",
        import_country="KR",
        issue_date="2026-11-01",
    )


def publish_and_settle(stack, client: httpx.Client, *events) -> None:
    """Publish, then a marker certificate: the registry applies events in order, so once the marker is
    visible every event before it has been applied."""
    marker = fresh_number()
    publish(stack, *events, issued(marker))
    wait_until(lambda: lookup(client, "CUSTOMS_CO", marker), lambda r: r.status_code == 200)


def submit_and_wait(client: httpx.Client, number: str) -> dict:
    body = form(certificateNo=number, importCountry="KR", importPort="KRPUS")
    link(client, body)
    saved = create(client, body)
    upload(client, saved["id"])
    assert client.post(f"/api/v1/coordination-requests/{saved['id']}/submit").status_code == 200
    return wait_until(status_of(client, saved["id"]), lambda r: r["status"] != "DECLARED")


def test_issuing_system_events_register_and_revoke(stack, demo: httpx.Client) -> None:
    number = fresh_number()
    event = issued(number)
    publish(stack, event, event)  # delivered twice: applied once
    found = wait_until(lambda: lookup(demo, "CUSTOMS_CO", number), lambda r: r.status_code == 200)
    assert found.json() == {
        "proofType": "CUSTOMS_CO",
        "certificateNo": number,
        "agreementCode": "19",
        "agreementName": "中国—韩国自贸协定",
    }  # nothing about holder, validity or status

    publish_and_settle(
        stack,
        demo,
        outbox.new_event(CertificateRevoked, proof_type="CUSTOMS_CO", certificate_no=number, reason="签证机构撤销"),
    )
    failed = submit_and_wait(demo, number)
    assert failed["status"] == "RECEIPT_FAILED" and failed["statusReason"] == "原产地证书（声明）已被撤销"

    publish_and_settle(stack, demo, issued(number))  # a late re-issue does not bring it back
    assert submit_and_wait(demo, number)["statusReason"] == "原产地证书（声明）已被撤销"


def test_links_reported_by_the_declaration_system(stack, demo: httpx.Client) -> None:
    declaration = "31012026" + "0" + f"{secrets.randbelow(10**9):09d}"
    publish(
        stack,
        outbox.new_event(
            DeclarationLinkReported,
            proof_type="CUSTOMS_CO",
            certificate_no="K2631000000002",
            export_declaration_no=declaration,
            credit_code=HUAMAO[0],
        ),
    )
    links = wait_until(
        lambda: demo.get("/api/v1/export-declaration-links").json()["items"],
        lambda items: declaration in {i["exportDeclarationNo"] for i in items},
    )
    assert any(i["certificateNo"] == "K2631000000002" for i in links if i["exportDeclarationNo"] == declaration)
    other = login(stack.gateway_url, "demo2")
    assert declaration not in {
        i["exportDeclarationNo"] for i in other.get("/api/v1/export-declaration-links").json()["items"]
    }


def test_duplicate_link_is_harmless_and_bad_numbers_are_refused(demo: httpx.Client) -> None:
    body = form(certificateNo="K2631000000002")
    link(demo, body)
    link(demo, body)
    assert [i["exportDeclarationNo"] for i in demo.get("/api/v1/export-declaration-links").json()["items"]].count(
        body["exportDeclarationNo"]
    ) == 1
    bad = demo.post(
        "/api/v1/export-declaration-links",
        json={
            "proofType": "CUSTOMS_CO",
            "certificateNo": "K2631000000002",
            "exportDeclarationNo": "310120261000000001",
        },
    )
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "exportDeclarationNo"


def test_reference_lookups_through_the_gateway(demo: httpx.Client) -> None:
    countries = demo.get("/api/v1/reference/countries", params={"q": "mg"}).json()["items"]
    assert "美国" in [c["nameZh"] for c in countries[:3]]
    ports = demo.get("/api/v1/reference/ports", params={"country": "vn", "q": "hcm"}).json()["items"]
    assert ports[0]["nameZh"] == "胡志明市" and ports[0]["code"] == "VNSGN"
    agreements = demo.get("/api/v1/reference/agreements").json()["items"]
    assert {a["code"] for a in agreements} >= {"01", "22", "28"}
    assert [p["code"] for p in demo.get("/api/v1/reference/proof-types").json()["items"]] == [
        "CUSTOMS_CO",
        "APPROVED_EXPORTER",
        "RULING_DECLARATION",
        "CCPIT_CO",
    ]
    missing = demo.get("/api/v1/certificates/lookup", params={"type": "CUSTOMS_CO", "number": "NOPE"})
    assert missing.status_code == 404 and missing.json()["message"] == "未找到该原产地证书（声明），请核对类型和编号"


def test_an_event_that_cannot_be_read_is_parked_not_lost(stack, demo: httpx.Client) -> None:
    async def send_broken() -> None:
        nc = await nats.connect(stack.infra.nats_url)
        js = nc.jetstream()
        await js.publish(
            CertificateIssued.subject(), b'{"not": "a certificate"', headers={"Nats-Msg-Id": fresh_number()}
        )
        await nc.close()

    asyncio.run(send_broken())
    publish_and_settle(stack, demo)  # later events still flow

    async def parked() -> list[str]:
        conn = await asyncpg.connect(stack.infra.database_url("certificate_registry"))
        try:
            rows = await conn.fetch(
                "SELECT error, payload FROM dead_letters WHERE subject = $1", CertificateIssued.subject()
            )
        finally:
            await conn.close()
        return [(r["error"], bytes(r["payload"])) for r in rows]

    assert ("undecodable", b'{"not": "a certificate"') in asyncio.run(parked())
