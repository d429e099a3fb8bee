"""The audit trail (issue 9): logins, logouts, refusals, status changes, uploads, downloads and deletes are
recorded with time, actor, enterprise, action, target, result, client address and request id; officers query
them; the services cannot rewrite them with their ordinary statements (the role still owns the table: a
separate migration owner is the remaining step)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
import httpx
import pytest

from shared.demo import USERS as DEMO_USERS
from tests.support import PDF, create, form, link, login, upload, wait_until

AUDIT = "/api/v1/customs/audit-records"
CREDIT = "91310115MA1K4B2X0T"


def records(officer: httpx.Client, **params) -> list[dict]:
    response = officer.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


# Who each move of the walk below is recorded under: the login name of who acted, 海关 for customs' own receipt.
WALK = {
    "REQUEST_SAVE": "demo",
    "ATTACHMENT_UPLOAD": "demo",
    "ATTACHMENT_DOWNLOAD": "demo",
    "REQUEST_SUBMIT": "demo",
    "REQUEST_RECEIPT_ACCEPT": "海关",
    "REQUEST_ACCEPT": "officer",
}


def test_an_applications_life_is_in_the_audit_trail(stack, officer: httpx.Client) -> None:
    demo = login(stack.gateway_url)
    body = form()
    link(demo, body)
    saved = create(demo, body)
    number = saved["requestNo"]
    attachment = upload(demo, saved["id"], PDF).json()["attachment"]
    assert demo.get(f"/api/v1/coordination-requests/{saved['id']}/attachments/{attachment['id']}").content == PDF
    rid = "audit-" + uuid.uuid4().hex
    assert (
        demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit", headers={"X-Request-Id": rid}).status_code
        == 200
    )
    case = f"/api/v1/customs/coordination-requests/{saved['id']}"
    wait_until(lambda: officer.get(case).json().get("case") or {}, lambda found: found.get("canAccept", False))
    assert officer.post(f"{case}/accept").status_code == 200

    trail = wait_until(
        lambda: records(officer, enterprise=CREDIT, limit=200),
        lambda found: set(WALK) <= {r["action"] for r in found if r["target"].startswith(number)},
    )
    # Issue 18: the application's records name it by its 协调单号, never by its id; each names who acted by login.
    assert not [r for r in trail if saved["id"] in r["target"]]
    assert not {r["actor"] for r in trail} & {user.display_name for user in DEMO_USERS}
    mine = [r for r in trail if r["target"].startswith(number)]
    assert {(r["action"], r["actor"]) for r in mine} == set(WALK.items())
    assert {r["action"]: r["target"] for r in mine if r["service"] == "coordination_request"} == {
        "REQUEST_SAVE": f"{number} ->DRAFT",
        "REQUEST_SUBMIT": f"{number} DRAFT->DECLARED",
        "REQUEST_RECEIPT_ACCEPT": f"{number} DECLARED->PENDING",
        "REQUEST_ACCEPT": f"{number} PENDING->COORDINATING",
    }
    file = f"{number}/{attachment['filename']} ({attachment['id']})"
    assert {r["target"] for r in mine if r["service"] == "attachment"} == {file}
    submit = next(r for r in mine if r["action"] == "REQUEST_SUBMIT")
    assert submit["requestId"] == rid and submit["result"] == "SUCCESS" and submit["enterprise"] == CREDIT
    assert submit["client"] == "127.0.0.1" and submit["service"] == "coordination_request"
    upload_record = next(r for r in mine if r["action"] == "ATTACHMENT_UPLOAD")
    assert upload_record["actor"] == "demo" and upload_record["client"] == "127.0.0.1"
    assert [r["at"] for r in mine] == sorted((r["at"] for r in mine), reverse=True)
    # The officer's filter by actor finds the decision under the officer's login name.
    accepted = records(officer, actor="officer", action="REQUEST_ACCEPT", limit=200)
    assert any(r["target"] == f"{number} PENDING->COORDINATING" for r in accepted)


def test_logins_logouts_and_refusals_are_recorded(stack, officer: httpx.Client) -> None:
    user = login(stack.gateway_url, "demo2")
    assert user.get(f"/api/v1/coordination-requests/{uuid.uuid4()}").status_code == 404  # a refusal
    assert user.post("/api/v1/auth/logout").status_code == 200
    with httpx.Client(base_url=stack.gateway_url) as anonymous:
        assert anonymous.get("/api/v1/coordination-requests").status_code == 401

    found = wait_until(
        lambda: records(officer, actor="demo2", limit=200),
        lambda items: (
            {"LOGIN", "LOGOUT"} <= {r["action"] for r in items}
            and any(r["result"] == "REQUEST_NOT_FOUND" for r in items)
        ),
    )
    assert any(r["action"] == "LOGIN" and r["result"] == "SUCCESS" for r in found)
    anonymous_refusals = wait_until(
        lambda: records(officer, actor="anonymous", limit=50),
        lambda items: any(r["action"] == "GET /api/v1/coordination-requests" for r in items),
    )
    assert anonymous_refusals[0]["result"] in ("UNAUTHENTICATED", "SESSION_EXPIRED")


def test_only_officers_query_the_audit_trail(stack) -> None:
    assert login(stack.gateway_url).get(AUDIT).status_code == 403
    assert httpx.get(stack.gateway_url + AUDIT).status_code == 401


@pytest.mark.parametrize("service", ["identity", "coordination_request", "attachment"])
def test_the_services_role_cannot_rewrite_the_audit_trail(stack, service: str) -> None:
    async def probe() -> tuple[list[str], int]:
        conn = await asyncpg.connect(stack.infra.database_url(service))
        refused = []
        try:
            await conn.execute("INSERT INTO audit_log (actor, action, result) VALUES ('probe', 'PROBE', 'SUCCESS')")
            for statement in (
                "UPDATE audit_log SET result = 'FORGED' WHERE actor = 'probe'",
                "DELETE FROM audit_log WHERE actor = 'probe'",
                "TRUNCATE audit_log",
            ):
                try:
                    await conn.execute(statement)
                except asyncpg.InsufficientPrivilegeError:
                    refused.append(statement.split()[0])
            return refused, await conn.fetchval("SELECT count(*) FROM audit_log WHERE result = 'SUCCESS'")
        finally:
            await conn.close()

    refused, kept = asyncio.run(probe())
    assert refused == ["UPDATE", "DELETE", "TRUNCATE"] and kept >= 1


def test_the_trail_pages_with_before_missing_and_repeating_nothing(stack, officer: httpx.Client) -> None:
    """Issue 18: pages of the merged trail, each the records strictly older than the last one shown (`before=`)."""
    demo = login(stack.gateway_url)
    for _ in range(3):  # records of several services, some at one instant (a move and its audit share a transaction)
        saved = create(demo, form())
        upload(demo, saved["id"], PDF)
    whole = records(officer, limit=60)
    seen: list[dict] = []
    before = None
    for _ in range(30):
        params = {"limit": 7, **({"before": before} if before else {})}
        response = officer.get(AUDIT, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert 0 < len(page["items"]) <= 7
        seen += page["items"]
        before = page.get("nextBefore")
        assert before is None or at(before) == at(page["items"][-1]["at"])
        if before is None or len(seen) >= len(whole):
            break
    key = lambda r: (r["service"], r["requestId"], r["at"], r["action"], r["target"])  # noqa: E731
    assert len({key(r) for r in seen}) == len(seen), "a record shown twice"
    assert [at(r["at"]) for r in seen] == sorted((at(r["at"]) for r in seen), reverse=True)
    # The records the pages showed are the newest of the trail, none left out (newer ones may have come meanwhile).
    oldest, newest = at(seen[-1]["at"]), at(seen[0]["at"])
    assert {key(r) for r in whole if oldest <= at(r["at"]) < newest} <= {key(r) for r in seen}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_before_must_say_its_time_zone(officer: httpx.Client) -> None:
    response = officer.get(AUDIT, params={"before": "2026-03-10T08:00:00"})
    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "before"
    assert officer.get(AUDIT, params={"before": "2026-03-10T08:00:00+08:00"}).status_code == 200
