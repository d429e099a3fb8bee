"""Attachments under abuse and failure (issue 9): officers see only submitted applications' files, a cap on
files per application, no submit with a damaged file, and S3 outages answered as such."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import nats
import pytest
from minio import Minio

from shared.contracts import attachment
from shared.contracts.common import Empty
from shared.devstack.infra import free_port
from tests.support import PDF, create, form, link, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"
MIB4 = 4 * 1024 * 1024
FULL = PDF[:-6] + b"0" * (MIB4 - len(PDF)) + b"%%EOF\n"  # a valid PDF of exactly 4 MiB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"IEND\xaeB`\x82"


@pytest.fixture(scope="module")
def s3(stack) -> Minio:
    return Minio(
        stack.infra.s3_endpoint,
        access_key=stack.infra.s3_access_key,
        secret_key=stack.infra.s3_secret_key,
        secure=False,
    )


def refused(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


def submitted(demo: httpx.Client, officer: httpx.Client, body: dict) -> dict:
    """Submit and wait until customs has received it: the officer's case detail answers."""
    assert demo.post(f"{BASE}/{body['id']}/submit").status_code == 200
    mine = wait_until(status_of(demo, body["id"]), lambda r: r["status"] == "PENDING")
    wait_until(lambda: officer.get(f"{CUSTOMS}/{body['id']}"), lambda r: r.status_code == 200)
    return mine


def reconcile(stack) -> attachment.ReconcileReport:
    async def ask() -> attachment.ReconcileReport:
        nc = await nats.connect(stack.infra.nats_url)
        try:
            msg = await nc.request(attachment.RECONCILE, msgspec.json.encode(Empty()), timeout=30)
        finally:
            await nc.close()
        return msgspec.json.decode(msg.data, type=attachment.ReconcileReport)

    return asyncio.run(ask())


def in_parallel(stack, demo: httpx.Client, request_id: str, contents: list[bytes]) -> list[httpx.Response]:
    """The same enterprise sends several uploads at once (one connection each)."""

    def send(content: bytes) -> httpx.Response:
        with httpx.Client(base_url=stack.gateway_url, cookies=dict(demo.cookies), timeout=60) as client:
            return upload(client, request_id, content=content)

    with ThreadPoolExecutor(len(contents)) as pool:
        return list(pool.map(send, contents))


# --- 6. officers see only the files of applications submitted to customs ----------------------------------


def test_officer_cannot_list_or_download_files_of_a_never_submitted_application(
    demo: httpx.Client, officer: httpx.Client
) -> None:
    body = form()
    link(demo, body)
    draft = create(demo, body)
    info = upload(demo, draft["id"]).json()["attachment"]
    assert officer.get(f"{CUSTOMS}/{draft['id']}").status_code == 404  # the detail already says "no such case"
    refused(officer.get(f"{BASE}/{draft['id']}/attachments"), 404, "REQUEST_NOT_FOUND", "协调申请不存在")
    refused(officer.get(f"{BASE}/{draft['id']}/attachments/{info['id']}"), 404, "ATTACHMENT_NOT_FOUND", "附件不存在")

    submitted(demo, officer, draft)
    listed = officer.get(f"{BASE}/{draft['id']}/attachments")
    assert listed.status_code == 200 and [i["id"] for i in listed.json()["items"]] == [info["id"]]
    download = officer.get(f"{BASE}/{draft['id']}/attachments/{info['id']}")
    assert download.status_code == 200 and download.content == PDF


# --- 9. at most 30 files and 100 MiB per application, also under concurrent uploads ---------------------------


def test_at_most_thirty_files_per_application_even_when_uploaded_at_once(stack, demo: httpx.Client) -> None:
    saved = create(demo, form())
    for _ in range(29):
        assert upload(demo, saved["id"]).status_code == 201
    racing = in_parallel(stack, demo, saved["id"], [PDF] * 5)
    assert sorted(r.status_code for r in racing) == [201, 422, 422, 422, 422], [r.text for r in racing]
    for response in racing:
        if response.status_code == 422:
            refused(response, 422, "ATTACHMENT_LIMIT_COUNT", "每个申请最多上传30个附件")
    items = demo.get(f"{BASE}/{saved['id']}/attachments").json()["items"]
    assert len(items) == 30
    refused(upload(demo, saved["id"], content=PNG, filename="b.png"), 422, "ATTACHMENT_LIMIT_COUNT")

    assert demo.delete(f"{BASE}/{saved['id']}/attachments/{items[0]['id']}").status_code == 200
    assert upload(demo, saved["id"]).status_code == 201  # room for one again
    assert demo.delete(f"{BASE}/{saved['id']}").status_code == 200


def test_at_most_100_mib_per_application_even_when_uploaded_at_once(stack, demo: httpx.Client) -> None:
    saved = create(demo, form())
    for _ in range(24):
        assert upload(demo, saved["id"], content=FULL).status_code == 201  # 96 MiB
    racing = in_parallel(stack, demo, saved["id"], [FULL] * 3)
    assert sorted(r.status_code for r in racing) == [201, 422, 422], [r.text for r in racing]
    for response in racing:
        if response.status_code == 422:
            refused(response, 422, "ATTACHMENT_LIMIT_SIZE", "每个申请的附件总大小不能超过100M")
    items = demo.get(f"{BASE}/{saved['id']}/attachments").json()["items"]
    assert len(items) == 25 and sum(i["size"] for i in items) == 100 * 1024 * 1024  # exactly the cap is fine
    refused(upload(demo, saved["id"]), 422, "ATTACHMENT_LIMIT_SIZE")  # not even a few bytes more
    assert demo.delete(f"{BASE}/{saved['id']}").status_code == 200


# --- 11. no submit with a file that failed its integrity check ----------------------------------------------


def test_a_submit_with_a_tampered_file_is_refused_until_it_is_replaced(demo: httpx.Client, s3: Minio) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    upload(demo, saved["id"])
    bad = upload(demo, saved["id"], filename="被篡改.pdf").json()["attachment"]
    forged = PDF.replace(b"trailer", b"TRAILER")
    s3.put_object("attachments", f"{saved['creditCode']}/{saved['id']}/{bad['id']}", io.BytesIO(forged), len(forged))
    refused(demo.get(f"{BASE}/{saved['id']}/attachments/{bad['id']}"), 500, "ATTACHMENT_CORRUPTED")
    listed = {a["filename"]: a["damaged"] for a in demo.get(f"{BASE}/{saved['id']}/attachments").json()["items"]}
    assert listed == {"证明材料.pdf": False, "被篡改.pdf": True}  # the user sees which file to replace

    refused(demo.post(f"{BASE}/{saved['id']}/submit"), 422, "ATTACHMENT_DAMAGED", "附件已损坏，请删除后重新上传")
    assert status_of(demo, saved["id"])()["status"] == "DRAFT"

    assert demo.delete(f"{BASE}/{saved['id']}/attachments/{bad['id']}").status_code == 200
    assert upload(demo, saved["id"], filename="重新上传.pdf").status_code == 201
    again = demo.post(f"{BASE}/{saved['id']}/submit")
    assert again.status_code == 200 and again.json()["message"] == "申报成功"


def test_a_submit_with_a_file_whose_object_disappeared_is_refused(stack, demo: httpx.Client, s3: Minio) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    info = upload(demo, saved["id"]).json()["attachment"]
    s3.remove_object("attachments", f"{saved['creditCode']}/{saved['id']}/{info['id']}")
    wait_until(lambda: reconcile(stack), lambda report: not report.skipped and report.missing_flagged >= 1)
    refused(demo.post(f"{BASE}/{saved['id']}/submit"), 422, "ATTACHMENT_DAMAGED", "附件已损坏，请删除后重新上传")


def test_damage_found_by_an_officer_blocks_the_resubmission_after_a_return(
    demo: httpx.Client, officer: httpx.Client, s3: Minio
) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    info = upload(demo, saved["id"]).json()["attachment"]
    submitted(demo, officer, saved)
    forged = PDF.replace(b"trailer", b"TRAILER")
    s3.put_object("attachments", f"{saved['creditCode']}/{saved['id']}/{info['id']}", io.BytesIO(forged), len(forged))
    refused(officer.get(f"{BASE}/{saved['id']}/attachments/{info['id']}"), 500, "ATTACHMENT_CORRUPTED")
    wait_until(
        lambda: officer.get(f"{CUSTOMS}/{saved['id']}").json()["case"], lambda case: case["canReturn"], timeout=15
    )
    assert (
        officer.post(f"{CUSTOMS}/{saved['id']}/return", json={"reason": "附件无法打开，请重新上传"}).status_code == 200
    )
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "RETURNED")
    refused(demo.post(f"{BASE}/{saved['id']}/submit"), 422, "ATTACHMENT_DAMAGED")


# --- 13. S3 down: 503 with a clear message, /ready false, and back by itself ---------------------------------

S3_DOWN = {"code": "SERVICE_UNAVAILABLE", "message": "文件存储暂时不可用，请稍后重试", "fields": []}


def seaweedfs_pid(stack) -> int:
    """The test stack's own SeaweedFS process (a child of this pytest process, serving the stack's S3 port)."""
    if stack.infra.mode != "embedded":
        pytest.skip("stopping S3 is only done for the embedded SeaweedFS this test session started")
    port = stack.infra.s3_endpoint.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if Path(args[0].decode()).name == "weed" and f"-s3.port={port}".encode() in args and ppid == os.getpid():
            return int(proc.name)
    pytest.skip("the stack's SeaweedFS process was not found")


def ready(stack) -> int:
    return httpx.get(f"http://127.0.0.1:{stack.health_ports['attachment']}/ready", timeout=10).status_code


def test_with_s3_down_uploads_and_downloads_answer_503_and_the_service_is_not_ready(stack, demo: httpx.Client) -> None:
    saved = create(demo, form())
    info = upload(demo, saved["id"]).json()["attachment"]
    pid = seaweedfs_pid(stack)
    os.kill(pid, signal.SIGSTOP)  # S3 accepts connections but never answers: the worst kind of outage
    try:
        wait_until(lambda: ready(stack), lambda status: status == 503, timeout=30)
        started = time.monotonic()
        down = upload(demo, saved["id"], content=PNG, filename="b.png")
        assert down.status_code == 503 and down.json() == S3_DOWN, down.text
        fetch = demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}")
        assert fetch.status_code == 503 and fetch.json() == S3_DOWN, fetch.text
        assert time.monotonic() - started < 10  # refused at once, not after the gateway's timeout
        listed = demo.get(f"{BASE}/{saved['id']}/attachments")  # the list needs no S3
        assert listed.status_code == 200 and [i["id"] for i in listed.json()["items"]] == [info["id"]]
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: ready(stack), lambda status: status == 200, timeout=30)
    wait_until(lambda: upload(demo, saved["id"], content=PNG, filename="b.png"), lambda r: r.status_code == 201)
    assert demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}").content == PDF


def test_an_s3_that_refuses_connections_is_reported_as_unavailable() -> None:
    from services.attachment import storage

    dead = Minio(f"127.0.0.1:{free_port()}", access_key="x", secret_key="y", secure=False, http_client=storage.http())
    store = storage.Storage(dead, probe=dead, bucket="attachments")
    started = time.monotonic()
    with pytest.raises(storage.StorageUnavailable) as refused_:
        asyncio.run(store.call(dead.bucket_exists, "attachments"))
    assert refused_.value.code == "SERVICE_UNAVAILABLE" and refused_.value.message == "文件存储暂时不可用，请稍后重试"
    assert refused_.value.status == 503 and time.monotonic() - started < 10
    assert asyncio.run(store.check()) is False
