"""Idempotency-Key, exactly once: a retry gets the first response back (`Idempotent-Replayed: true`), even after
the first try timed out, and never makes a second effect; the key is kept by the service in the effect's own
transaction (shared/idempotency.py), which is also tested here on its own against PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import asyncpg
import httpx
import pytest

from shared import idempotency
from shared.contracts.common import Actor, Empty
from shared.contracts.idempotency import IdempotencyKey
from tests.support import PDF, create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"
REPLAYED = "idempotent-replayed"


def keyed() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def drafts_with(client: httpx.Client, body: dict) -> list[dict]:
    """The enterprise's applications carrying this (fresh) export declaration number, as 查询 lists them."""
    listing = client.get(BASE, params={"exportDeclarationNo": body["exportDeclarationNo"], "limit": 100})
    assert listing.status_code == 200, listing.text
    return listing.json()["items"]


def replays(first: httpx.Response, again: httpx.Response) -> bool:
    return (
        again.status_code == first.status_code
        and again.json() == first.json()
        and again.headers.get(REPLAYED) == "true"
        and REPLAYED not in first.headers
    )


# --- the bug of issue 12 ------------------------------------------------------------------------------


def test_a_create_that_timed_out_is_replayed_by_its_retry_not_made_twice(stack, demo: httpx.Client) -> None:
    body, key = form(), keyed()
    service = stack.processes["coordination_request"]
    os.kill(service.pid, signal.SIGSTOP)  # longer than the gateway's 5 s call timeout
    try:
        first = demo.post(BASE, json=body, headers=key)
    finally:
        os.kill(service.pid, signal.SIGCONT)
    assert first.status_code == 503 and first.json()["code"] == "SERVICE_UNAVAILABLE", first.text
    # The outcome was unknown to the client, but the service went on and saved the draft once it ran again.
    [made] = wait_until(lambda: drafts_with(demo, body), lambda items: len(items) == 1)

    retry = demo.post(BASE, json=body, headers=key)
    assert retry.status_code == 201 and retry.headers.get(REPLAYED) == "true", retry.text
    assert retry.json()["message"] == "暂存成功" and retry.json()["request"]["id"] == made["id"]
    again = demo.post(BASE, json=body, headers=key)
    assert again.json() == retry.json() and again.headers.get(REPLAYED) == "true"
    assert [d["id"] for d in drafts_with(demo, body)] == [made["id"]]


# --- concurrency, reuse, refusals -------------------------------------------------------------------


def test_concurrent_tries_of_one_key_make_one_draft_and_one_file(demo: httpx.Client) -> None:
    body, key = form(), keyed()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: demo.post(BASE, json=body, headers=key), range(6)))
    made = [a for a in answers if a.status_code == 201]
    # Each try either waited for the first and got its response, or was told it is still in progress.
    assert all(a.status_code == 201 or a.json()["code"] == "REQUEST_IN_PROGRESS" for a in answers), answers
    assert len({a.json()["request"]["id"] for a in made}) == 1
    assert sum(REPLAYED not in a.headers for a in made) == 1
    [draft] = drafts_with(demo, body)

    file_key = keyed()
    with ThreadPoolExecutor(4) as pool:
        uploads = list(pool.map(lambda _: upload_keyed(demo, draft["id"], file_key), range(4)))
    stored = [u for u in uploads if u.status_code == 201]
    assert all(u.status_code == 201 or u.json()["code"] == "REQUEST_IN_PROGRESS" for u in uploads), uploads
    assert len({u.json()["attachment"]["id"] for u in stored}) == 1
    files = demo.get(f"{BASE}/{draft['id']}/attachments").json()["items"]
    assert [f["id"] for f in files] == [stored[0].json()["attachment"]["id"]]


def upload_keyed(client: httpx.Client, request_id: str, key: dict, content: bytes = PDF) -> httpx.Response:
    # httpx draws a new multipart boundary for every request: each retry's body differs, its file does not.
    return client.post(
        f"{BASE}/{request_id}/attachments", files={"file": ("证明材料.pdf", content, "application/pdf")}, headers=key
    )


def test_the_same_key_with_another_request_is_refused(demo: httpx.Client) -> None:
    body, key = form(), keyed()
    first = demo.post(BASE, json=body, headers=key)
    assert first.status_code == 201
    other = demo.post(BASE, json={**body, "reason": "另一份申请"}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert other.json()["message"] == "该幂等键已用于内容不同的请求"
    assert len(drafts_with(demo, body)) == 1

    file_key = keyed()
    assert upload_keyed(demo, first.json()["request"]["id"], file_key).status_code == 201
    another_file = upload_keyed(demo, first.json()["request"]["id"], file_key, content=PDF + b"%changed\n")
    assert another_file.status_code == 422 and another_file.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_refused_request_does_not_bind_its_key(demo: httpx.Client) -> None:
    body, key = form(), keyed()
    refused = demo.post(BASE, json={**body, "reason": ""}, headers=key)
    assert refused.status_code == 422 and refused.json()["code"] == "VALIDATION_FAILED"
    corrected = demo.post(BASE, json=body, headers=key)
    assert corrected.status_code == 201 and REPLAYED not in corrected.headers
    assert replays(corrected, demo.post(BASE, json=body, headers=key))
    assert len(drafts_with(demo, body)) == 1


def test_a_key_belongs_to_its_user(stack, demo: httpx.Client) -> None:
    other = login(stack.gateway_url, "demo2")
    key = keyed()
    mine = demo.post(BASE, json=form(), headers=key)
    theirs = other.post(
        BASE, json=form(certificateNo="K2633000000901", importCountry="KR", importPort="KRPUS"), headers=key
    )
    assert mine.status_code == theirs.status_code == 201 and REPLAYED not in theirs.headers
    assert mine.json()["request"]["creditCode"] != theirs.json()["request"]["creditCode"]


def test_a_malformed_key_is_refused(demo: httpx.Client) -> None:
    body = form()
    for bad in ("", "k" * 256):
        refused = demo.post(BASE, json=body, headers={"Idempotency-Key": bad})
        assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "Idempotency-Key"
    assert drafts_with(demo, body) == []


# --- every keyed route replays its first response ----------------------------------------------------


def test_every_step_of_an_application_retried_gets_its_first_response(
    demo: httpx.Client, officer: httpx.Client
) -> None:
    body = form()
    link_key, link_body = keyed(), {k: body[k] for k in ("proofType", "certificateNo", "exportDeclarationNo")}
    linked = demo.post("/api/v1/export-declaration-links", json=link_body, headers=link_key)
    assert linked.status_code == 201 and replays(
        linked, demo.post("/api/v1/export-declaration-links", json=link_body, headers=link_key)
    )

    create_key = keyed()
    created = demo.post(BASE, json=body, headers=create_key)
    draft = created.json()["request"]
    path = f"{BASE}/{draft['id']}"

    save_key, changed = keyed(), {**body, "reason": "补充说明", "version": draft["version"]}
    saved = demo.put(path, json=changed, headers=save_key)
    assert saved.status_code == 200 and replays(saved, demo.put(path, json=changed, headers=save_key))

    file_key = keyed()
    stored = upload_keyed(demo, draft["id"], file_key)
    assert stored.status_code == 201 and replays(stored, upload_keyed(demo, draft["id"], file_key))
    spare = upload(demo, draft["id"]).json()["attachment"]
    remove, remove_key = f"{path}/attachments/{spare['id']}", keyed()
    removed = demo.delete(remove, headers=remove_key)
    assert removed.status_code == 200 and replays(removed, demo.delete(remove, headers=remove_key))

    submit_key = keyed()
    submitted = demo.post(f"{path}/submit", headers=submit_key)
    assert submitted.status_code == 200 and submitted.json()["message"] == "申报成功"
    pending = wait_until(status_of(demo, draft["id"]), lambda r: r["status"] == "PENDING")
    # Retried once the application moved on: still the first responses, not "not allowed in this status".
    assert replays(submitted, demo.post(f"{path}/submit", headers=submit_key))
    assert replays(stored, upload_keyed(demo, draft["id"], file_key))
    assert replays(created, demo.post(BASE, json=body, headers=create_key))
    assert len(demo.get(f"{path}/attachments").json()["items"]) == 1

    ready_case(officer, draft["id"])
    accept_key = keyed()
    accepted = officer.post(f"{CUSTOMS}/{draft['id']}/accept", headers=accept_key)
    assert accepted.status_code == 200 and replays(
        accepted, officer.post(f"{CUSTOMS}/{draft['id']}/accept", headers=accept_key)
    )
    wait_until(status_of(demo, draft["id"]), lambda r: r["status"] == "COORDINATING")
    ready_case(officer, draft["id"])
    return_key, reason = keyed(), {"reason": "请补充进口国海关的书面决定"}
    returned = officer.post(f"{CUSTOMS}/{draft['id']}/return", json=reason, headers=return_key)
    assert returned.status_code == 200 and replays(
        returned, officer.post(f"{CUSTOMS}/{draft['id']}/return", json=reason, headers=return_key)
    )
    back = wait_until(status_of(demo, draft["id"]), lambda r: r["status"] == "RETURNED")
    history = [h["action"] for h in back["history"]]
    assert history.count("SUBMIT") == 1 and history.count("ACCEPT") == 1 and history.count("RETURN") == 1

    delete_key = keyed()
    deleted = demo.delete(path, headers=delete_key)
    assert deleted.status_code == 200 and replays(deleted, demo.delete(path, headers=delete_key))
    assert demo.get(path).status_code == 404
    assert pending["id"] == draft["id"]


def pending_application(demo: httpx.Client, officer: httpx.Client) -> dict:
    """A submitted application that customs received, its case ready for an officer."""
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    ready_case(officer, saved["id"])
    return saved


def ready_case(officer: httpx.Client, request_id: str) -> None:
    wait_until(
        lambda: officer.get(f"{CUSTOMS}/{request_id}"),
        lambda r: r.status_code == 200 and not r.json()["case"]["awaitingConfirmation"],
    )


def test_withdraw_and_conclude_retried_get_their_first_response(demo: httpx.Client, officer: httpx.Client) -> None:
    withdrawn_one = pending_application(demo, officer)
    withdraw, key = f"{BASE}/{withdrawn_one['id']}/withdraw", keyed()
    first = demo.post(withdraw, headers=key)
    assert first.status_code == 200 and first.json()["message"] == "撤回成功"
    assert replays(first, demo.post(withdraw, headers=key))
    assert demo.post(withdraw).status_code == 409  # without the key, a second withdraw is refused as it should be

    concluded_one = pending_application(demo, officer)
    case = f"{CUSTOMS}/{concluded_one['id']}"
    assert officer.post(f"{case}/accept").status_code == 200
    wait_until(status_of(demo, concluded_one["id"]), lambda r: r["status"] == "COORDINATING")
    ready_case(officer, concluded_one["id"])
    outcome, key = {"outcome": "SUCCESS", "reply": "已同意按协定税率退还税款"}, keyed()
    concluded = officer.post(f"{case}/conclude", json=outcome, headers=key)
    assert concluded.status_code == 200 and concluded.json()["message"] == "办结成功"
    assert replays(concluded, officer.post(f"{case}/conclude", json=outcome, headers=key))
    done = wait_until(status_of(demo, concluded_one["id"]), lambda r: r["status"] == "CONCLUDED")
    assert [h["action"] for h in done["history"]].count("CONCLUDE") == 1


# --- the helper, on its own against PostgreSQL --------------------------------------------------------


def someone() -> Actor:
    return Actor(user_id=str(uuid.uuid4()), username="helper", display_name="测试", role="ENTERPRISE")


def in_database(stack, work) -> None:
    """Runs `work(connect)` against coordination-request's database (which has the shared migrations)."""

    async def run() -> None:
        await work(lambda: asyncpg.connect(stack.infra.database_url("coordination_request")))

    asyncio.run(run())


def test_the_helper_binds_a_key_to_its_transaction_and_replays_its_reply(stack) -> None:
    actor, key = someone(), IdempotencyKey(key="op-1", fingerprint="asked")

    async def work(connect) -> None:
        conn = await connect()
        try:
            keys = idempotency.Keys(conn)
            assert await keys.recorded(actor, key, Empty) is None
            async with conn.transaction():
                assert await keys.claim(actor, key, Empty) is None  # bound: go on and make the effect
                await keys.complete(actor, key, Empty())
            idempotency.replayed.set(False)
            async with conn.transaction():
                assert await keys.claim(actor, key, Empty) == Empty()  # the first try's reply: do nothing
            assert idempotency.replayed.get()
            assert await keys.recorded(actor, key, Empty) == Empty()
            for reused in (keys.recorded, keys.claim):
                with pytest.raises(idempotency.KeyReused):
                    async with conn.transaction():
                        await reused(actor, IdempotencyKey(key="op-1", fingerprint="another"), Empty)
            # The same key of another user is another key; a refusal (rolled back) leaves a key free.
            assert await keys.recorded(someone(), key, Empty) is None
            fresh = IdempotencyKey(key="op-2", fingerprint="asked")
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    assert await keys.claim(actor, fresh, Empty) is None
                    raise RuntimeError("refused")
            async with conn.transaction():
                assert await keys.claim(actor, fresh, Empty) is None
                await keys.complete(actor, fresh, Empty())
        finally:
            await conn.close()

    in_database(stack, work)


def test_a_second_try_waits_for_the_first_then_replays_or_is_told_it_is_in_progress(stack) -> None:
    actor = someone()

    async def work(connect) -> None:
        first, second = await connect(), await connect()
        try:
            key = IdempotencyKey(key="op-wait", fingerprint="asked")
            async with first.transaction():
                assert await idempotency.Keys(first).claim(actor, key, Empty) is None
                waiting = asyncio.create_task(_claim(second, actor, key))
                await _until_waiting(first, second)
                await idempotency.Keys(first).complete(actor, key, Empty())
            assert await waiting == Empty()

            stuck = IdempotencyKey(key="op-stuck", fingerprint="asked")
            async with first.transaction():
                assert await idempotency.Keys(first).claim(actor, stuck, Empty) is None
                with pytest.raises(idempotency.InProgress):  # after WAIT_FOR_FIRST, not forever
                    await _claim(second, actor, stuck)
        finally:
            await first.close()
            await second.close()

    in_database(stack, work)


async def _claim(conn: asyncpg.Connection, actor: Actor, key: IdempotencyKey) -> Empty | None:
    async with conn.transaction():
        return await idempotency.Keys(conn).claim(actor, key, Empty)


async def _until_waiting(observer: asyncpg.Connection, waiter: asyncpg.Connection) -> None:
    pid = waiter.get_server_pid()
    while not await observer.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid):
        await asyncio.sleep(0.02)


def test_keys_past_their_24_hours_are_forgotten_and_purged(stack) -> None:
    actor, key = someone(), IdempotencyKey(key="op-old", fingerprint="asked")

    async def work(connect) -> None:
        conn = await connect()
        try:
            keys = idempotency.Keys(conn)
            async with conn.transaction():
                await keys.claim(actor, key, Empty)
                await keys.complete(actor, key, Empty())
            aged = idempotency.KEEP + timedelta(minutes=1)
            await conn.execute(
                "UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE actor_id = $1", actor.user_id, aged
            )
            assert await keys.recorded(actor, key, Empty) is None
            async with conn.transaction():
                assert await keys.claim(actor, key, Empty) is None  # taken over: the old try is forgotten
                await keys.complete(actor, key, Empty())
            await conn.execute(
                "UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE actor_id = $1", actor.user_id, aged
            )
            pool = await asyncpg.create_pool(stack.infra.database_url("coordination_request"), min_size=1, max_size=1)
            try:
                assert await idempotency.purge(pool) >= 1
            finally:
                await pool.close()
            assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE actor_id = $1", actor.user_id) == 0
        finally:
            await conn.close()

    in_database(stack, work)
