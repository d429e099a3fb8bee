"""SPEC §2–§5 through the public API: form rules, numbering, concurrency, idempotency, query, customs side."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from shared.clock import china_date
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"


def submitted_pending(demo: httpx.Client, **overrides) -> dict:
    body = form(**overrides)
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
    return wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")


def case_of(officer: httpx.Client, request_id: str) -> dict:
    return officer.get(f"{CUSTOMS}/{request_id}").json()["case"]


def settled(demo: httpx.Client, officer: httpx.Client, request_id: str) -> tuple[dict, dict]:
    """Wait until the officer's case shows the same status as the enterprise's application."""
    both = wait_until(
        lambda: (status_of(demo, request_id)(), case_of(officer, request_id)),
        lambda pair: (
            pair[0]["status"] == pair[1]["status"]
            and pair[0]["status"] != "DECLARED"
            and not pair[1]["awaitingConfirmation"]
        ),
    )
    return both


# --- the form ---------------------------------------------------------------------------------------


def test_country_and_port_must_exist_and_belong_together(demo: httpx.Client) -> None:
    unknown = demo.post(BASE, json=form(importCountry="ZZ", importPort="ZZXXX"))
    assert {f["field"] for f in unknown.json()["fields"]} == {"importCountry", "importPort"}
    mismatch = demo.post(BASE, json=form(importCountry="JP", importPort="KRPUS"))
    assert mismatch.status_code == 422
    assert mismatch.json()["fields"] == [{"field": "importPort", "message": "该口岸不属于所选进口国家/地区"}]


def test_certificate_must_exist_for_the_chosen_type(demo: httpx.Client) -> None:
    wrong_type = demo.post(BASE, json=form(proofType="CCPIT_CO", certificateNo="K2631000000001"))
    assert wrong_type.status_code == 422
    assert wrong_type.json()["fields"][0]["field"] == "certificateNo"
    for proof_type, number, agreement in (
        ("APPROVED_EXPORTER", "AE2631000000003", "17"),
        ("RULING_DECLARATION", "RD2631000000004", "19"),
        ("CCPIT_CO", "C263100000000005", "18"),
    ):
        saved = create(demo, form(proofType=proof_type, certificateNo=number))
        assert saved["agreementCode"] == agreement
        assert saved["proofTypeLabel"] in {
            "经核准出口商原产地声明",
            "基于海关行政裁定或预裁定的原产地声明",
            "贸促会原产地证书",
        }


def test_request_numbers_are_unique_under_concurrency(stack, pinned_clock) -> None:
    pinned_clock(datetime(2026, 6, 30, 16, 30, tzinfo=UTC))  # already 1 July in China
    clients = [login(stack.gateway_url) for _ in range(4)]
    numbers: list[str] = []
    errors: list[str] = []

    def save(client: httpx.Client) -> None:
        for _ in range(5):
            response = client.post(BASE, json=form())
            (
                numbers.append(response.json()["request"]["requestNo"])
                if response.status_code == 201
                else errors.append(response.text)
            )

    threads = [threading.Thread(target=save, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 20 and len(set(numbers)) == 20
    assert all(n.startswith("XT20260701") and len(n) == 16 for n in numbers)


def test_stale_version_gets_409_never_a_lost_update(demo: httpx.Client) -> None:
    saved = create(demo, form())
    first = demo.put(f"{BASE}/{saved['id']}", json={**form(reason="第一次修改"), "version": saved["version"]})
    assert first.status_code == 200 and first.json()["request"]["version"] == saved["version"] + 1
    stale = demo.put(f"{BASE}/{saved['id']}", json={**form(reason="过期的修改"), "version": saved["version"]})
    assert stale.status_code == 409
    assert stale.json()["message"] == "数据已被修改，请刷新后重试"
    assert status_of(demo, saved["id"])()["reason"] == "第一次修改"
    stale_submit = demo.post(f"{BASE}/{saved['id']}/submit", json={"version": saved["version"]})
    assert stale_submit.status_code == 409


def test_saving_a_failed_request_again_puts_it_back_to_draft(demo: httpx.Client) -> None:
    pending = submitted_pending(demo)
    body = form(exportDeclarationNo=pending["exportDeclarationNo"])
    twin = create(demo, body)
    upload(demo, twin["id"])
    demo.post(f"{BASE}/{twin['id']}/submit")
    failed = wait_until(status_of(demo, twin["id"]), lambda r: r["status"] == "RECEIPT_FAILED")
    resaved = demo.put(f"{BASE}/{twin['id']}", json={**body, "version": failed["version"]})
    assert resaved.status_code == 200
    assert resaved.json()["request"]["status"] == "DRAFT" and resaved.json()["request"]["statusReason"] is None
    history = status_of(demo, twin["id"])()["history"]
    assert [(h["fromStatus"], h["toStatus"]) for h in history][-2:] == [
        ("DECLARED", "RECEIPT_FAILED"),
        ("RECEIPT_FAILED", "DRAFT"),
    ]


def test_delete_and_withdraw_refusals(demo: httpx.Client) -> None:
    pending = submitted_pending(demo)
    refused = demo.delete(f"{BASE}/{pending['id']}")
    assert refused.status_code == 409 and refused.json()["message"] == "当前状态不允许删除"
    draft = create(demo, form())
    not_pending = demo.post(f"{BASE}/{draft['id']}/withdraw")
    assert not_pending.status_code == 409 and not_pending.json()["message"] == "仅待办状态的申请可以撤回"
    resubmit = demo.post(f"{BASE}/{pending['id']}/submit")
    assert resubmit.status_code == 409 and resubmit.json()["message"] == "当前状态不允许提交"


# --- idempotency --------------------------------------------------------------------------------------


def test_a_retried_submit_does_not_submit_twice(demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    upload(demo, saved["id"])
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = demo.post(f"{BASE}/{saved['id']}/submit", headers=key)
    again = demo.post(f"{BASE}/{saved['id']}/submit", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    submits = [h for h in status_of(demo, saved["id"])()["history"] if h["action"] == "SUBMIT"]
    assert len(submits) == 1
    different = demo.post(f"{BASE}/{saved['id']}/submit", headers=key, json={"version": 1})
    assert different.status_code == 422 and different.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_retried_save_creates_one_application(demo: httpx.Client) -> None:
    body = form(reason=f"幂等暂存 {uuid.uuid4()}")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = demo.post(BASE, json=body, headers=key)
    second = demo.post(BASE, json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["request"]["id"] == second.json()["request"]["id"]
    # A refusal is not remembered: the corrected retry with the same key runs.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert demo.post(BASE, json={"reason": "缺字段"}, headers=key).status_code == 422
    assert demo.post(BASE, json={"reason": "缺字段"}, headers=key).status_code == 422


# --- 查询 -----------------------------------------------------------------------------------------------


def test_query_filters_newest_first_and_keyset_pages(stack) -> None:
    client = login(stack.gateway_url, "demo2")  # an enterprise with few applications of its own
    mine = [
        create(client, form(certificateNo="K2633000000901", importCountry="KR", importPort="KRPUS")) for _ in range(5)
    ]
    listing = client.get(BASE, params={"limit": 100}).json()
    assert [i["id"] for i in listing["items"][:5]] == [m["id"] for m in reversed(mine)]
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get(BASE, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert page["total"] == (None if cursor else listing["total"])  # counted on the first page only
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [i["id"] for i in listing["items"]] and len(seen) == len(set(seen))

    target = mine[2]
    for params in (
        {"requestNo": target["requestNo"]},
        {"exportDeclarationNo": target["exportDeclarationNo"]},
    ):
        found = client.get(BASE, params=params).json()
        assert [i["id"] for i in found["items"]] == [target["id"]], params
    assert client.get(BASE, params={"certificateNo": "K2633000000901"}).json()["total"] == listing["total"]
    assert client.get(BASE, params={"certificateNo": "K2631000000001"}).json()["total"] == 0
    assert (
        client.get(BASE, params={"status": "DRAFT", "proofType": "CUSTOMS_CO", "agreementCode": "19"}).json()["total"]
        >= 5
    )
    assert client.get(BASE, params={"agreementCode": "22"}).json()["total"] == 0
    assert client.get(BASE, params={"status": "PENDING"}).json()["total"] == 0
    today = china_date(datetime.now(UTC)).isoformat()
    assert client.get(BASE, params={"submittedFrom": today, "submittedTo": today}).json()["total"] == 0
    assert client.get(BASE, params={"limit": 101}).status_code == 422
    assert client.get(BASE, params={"cursor": "garbage"}).status_code == 422


def test_query_by_submission_date(demo: httpx.Client) -> None:
    pending = submitted_pending(demo)
    day = china_date(datetime.fromisoformat(pending["submittedAt"])).isoformat()  # the filters read China days
    hits = demo.get(BASE, params={"submittedFrom": day, "submittedTo": day, "requestNo": pending["requestNo"]})
    assert hits.json()["total"] == 1
    before = demo.get(BASE, params={"submittedTo": "2020-01-01", "requestNo": pending["requestNo"]})
    assert before.json()["total"] == 0


def test_submission_day_and_number_follow_the_china_calendar(
    demo: httpx.Client, officer: httpx.Client, pinned_clock: Callable[[datetime], None]
) -> None:
    """16:00 UTC is midnight in China: a minute either side lands on different days everywhere."""
    pinned_clock(datetime(2026, 3, 10, 15, 59, 30, tzinfo=UTC))
    first = submitted_pending(demo)
    pinned_clock(datetime(2026, 3, 10, 16, 0, 30, tzinfo=UTC))
    second = submitted_pending(demo)
    settled(demo, officer, first["id"])
    settled(demo, officer, second["id"])
    assert first["requestNo"].startswith("XT20260310") and second["requestNo"].startswith("XT20260311")
    assert datetime.fromisoformat(first["submittedAt"]) == datetime(2026, 3, 10, 15, 59, 30, tzinfo=UTC)

    for application, day in ((first, "2026-03-10"), (second, "2026-03-11")):
        for asked in ("2026-03-10", "2026-03-11"):
            params = {"submittedFrom": asked, "submittedTo": asked, "requestNo": application["requestNo"]}
            expected = 1 if asked == day else 0
            assert demo.get(BASE, params=params).json()["total"] == expected, (application["requestNo"], asked)
            assert officer.get(CUSTOMS, params=params).json()["total"] == expected, (application["requestNo"], asked)
        both_days = {"submittedFrom": "2026-03-10", "submittedTo": "2026-03-11", "requestNo": application["requestNo"]}
        assert demo.get(BASE, params=both_days).json()["total"] == 1
        assert officer.get(CUSTOMS, params=both_days).json()["total"] == 1


# --- customs side --------------------------------------------------------------------------------------


def test_officer_accepts_returns_and_the_enterprise_resubmits(demo: httpx.Client, officer: httpx.Client) -> None:
    pending = submitted_pending(demo)
    settled(demo, officer, pending["id"])  # customs has confirmed the receipt
    accepted = officer.post(f"{CUSTOMS}/{pending['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["message"] == "受理成功"
    mine, case = settled(demo, officer, pending["id"])
    assert mine["status"] == "COORDINATING" and mine["statusLabel"] == "协调中"
    assert not (mine["editable"] or mine["deletable"] or mine["withdrawable"])
    assert mine["history"][-1]["actor"] == "王海关" and mine["history"][-1]["action"] == "ACCEPT"
    assert case["canReturn"] and case["canConclude"] and not case["canAccept"]

    no_reason = officer.post(f"{CUSTOMS}/{pending['id']}/return", json={"reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["fields"][0]["field"] == "reason"
    returned = officer.post(f"{CUSTOMS}/{pending['id']}/return", json={"reason": "请补充进口国海关的书面拒绝文件"})
    assert returned.status_code == 200
    mine, _ = settled(demo, officer, pending["id"])
    assert mine["status"] == "RETURNED" and mine["statusReason"] == "请补充进口国海关的书面拒绝文件"
    assert mine["editable"] and mine["deletable"]

    again = demo.post(f"{BASE}/{pending['id']}/submit")
    assert again.status_code == 200
    mine, case = settled(demo, officer, pending["id"])
    assert mine["status"] == "PENDING" and case["status"] == "PENDING"


def test_officer_concludes_with_outcome_and_reply(demo: httpx.Client, officer: httpx.Client) -> None:
    pending = submitted_pending(demo)
    settled(demo, officer, pending["id"])
    too_early = officer.post(f"{CUSTOMS}/{pending['id']}/conclude", json={"outcome": "SUCCESS", "reply": "好"})
    assert too_early.status_code == 409 and too_early.json()["message"] == "仅协调中的申请可以办结"
    officer.post(f"{CUSTOMS}/{pending['id']}/accept")
    settled(demo, officer, pending["id"])
    invalid = officer.post(f"{CUSTOMS}/{pending['id']}/conclude", json={"outcome": "MAYBE", "reply": ""})
    assert {f["field"] for f in invalid.json()["fields"]} == {"outcome", "reply"}
    done = officer.post(
        f"{CUSTOMS}/{pending['id']}/conclude",
        json={"outcome": "SUCCESS", "reply": "经与日本海关磋商，已同意按RCEP协定税率退还税款。"},
    )
    assert done.status_code == 200 and done.json()["message"] == "办结成功"
    mine, case = settled(demo, officer, pending["id"])
    assert mine["status"] == "CONCLUDED" and mine["outcomeLabel"] == "协调成功"
    assert mine["reply"] == "经与日本海关磋商，已同意按RCEP协定税率退还税款。"
    assert not any((mine["editable"], mine["deletable"], mine["withdrawable"]))
    assert not any((case["canAccept"], case["canReturn"], case["canConclude"]))


def test_officer_queue_filters_and_enterprise(demo: httpx.Client, officer: httpx.Client) -> None:
    pending = submitted_pending(demo)
    by_number = officer.get(CUSTOMS, params={"requestNo": pending["requestNo"]}).json()
    assert by_number["total"] == 1 and by_number["items"][0]["requestId"] == pending["id"]
    by_enterprise = officer.get(CUSTOMS, params={"enterprise": "华贸", "status": "PENDING", "limit": 100}).json()
    assert pending["id"] in {i["requestId"] for i in by_enterprise["items"]}
    assert officer.get(CUSTOMS, params={"enterprise": "海联", "requestNo": pending["requestNo"]}).json()["total"] == 0
    queue = officer.get(CUSTOMS, params={"limit": 100}).json()["items"]
    dues = [i["dueAt"] for i in queue]
    assert dues == sorted(dues)


def test_withdraw_racing_an_accept_ends_in_one_consistent_state(demo: httpx.Client, officer: httpx.Client) -> None:
    pending = submitted_pending(demo)
    settled(demo, officer, pending["id"])
    results: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(2)

    def withdraw() -> None:
        barrier.wait()
        results["withdraw"] = demo.post(f"{BASE}/{pending['id']}/withdraw")

    def accept() -> None:
        barrier.wait()
        results["accept"] = officer.post(f"{CUSTOMS}/{pending['id']}/accept")

    threads = [threading.Thread(target=withdraw), threading.Thread(target=accept)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mine, case = settled(demo, officer, pending["id"])
    if mine["status"] == "WITHDRAWN":
        assert results["withdraw"].status_code == 200
        if results["accept"].status_code == 200:  # the officer acted on a stale view: told on the case
            assert "受理未生效" in (case["note"] or "")
        else:
            assert results["accept"].status_code == 409
    else:
        assert mine["status"] == "COORDINATING"
        assert results["accept"].status_code == 200
        assert results["withdraw"].status_code == 409
        assert results["withdraw"].json()["message"] == "仅待办状态的申请可以撤回"
    assert case["status"] == mine["status"]
