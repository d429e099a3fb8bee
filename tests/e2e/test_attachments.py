"""Attachments: streaming size limit, type by content, safe names, integrity, reconciliation, cascade delete."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import zipfile
from collections.abc import Iterator

import asyncpg
import httpx
import msgspec
import nats
import pytest
from minio import Minio

from shared.contracts import attachment, coordination, identity
from shared.contracts.common import Empty, ErrorReply
from tests.support import PDF, create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
BASE = "/api/v1/coordination-requests"
MIB4 = 4 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"


def zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<?xml version='1.0'?><ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def s3(stack) -> Minio:
    return Minio(
        stack.infra.s3_endpoint,
        access_key=stack.infra.s3_access_key,
        secret_key=stack.infra.s3_secret_key,
        secure=False,
    )


def objects(s3: Minio, prefix: str) -> list[str]:
    return [o.object_name for o in s3.list_objects("attachments", prefix=prefix, recursive=True)]


def reconcile(stack) -> attachment.ReconcileReport:
    async def ask() -> attachment.ReconcileReport:
        nc = await nats.connect(stack.infra.nats_url)
        try:
            msg = await nc.request(attachment.RECONCILE, msgspec.json.encode(Empty()), timeout=30)
        finally:
            await nc.close()
        return msgspec.json.decode(msg.data, type=attachment.ReconcileReport)

    return asyncio.run(ask())


def test_four_mebibytes_exactly_is_accepted_one_byte_more_is_not(demo: httpx.Client) -> None:
    saved = create(demo, form())
    exact = upload(demo, saved["id"], content=PDF[:-6] + b"0" * (MIB4 - len(PDF)) + b"%%EOF\n")
    assert exact.status_code == 201, exact.text
    assert exact.json()["attachment"]["size"] == MIB4
    over = upload(demo, saved["id"], content=PDF[:-6] + b"0" * (MIB4 - len(PDF) + 1) + b"%%EOF\n")
    assert over.status_code == 413 and over.json() == {
        "code": "FILE_TOO_LARGE",
        "message": "文件大小不能超过4M",
        "fields": [],
    }


def test_a_much_larger_upload_is_refused_while_streaming(demo: httpx.Client) -> None:
    saved = create(demo, form())

    def body():  # streamed without Content-Length, so only counting the bytes can stop it
        yield b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n%PDF-1.4\n'
        for _ in range(64):
            yield b"0" * (256 * 1024)
        yield b"\r\n--b0undary--\r\n"

    response = demo.post(
        f"{BASE}/{saved['id']}/attachments",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 413 and response.json()["message"] == "文件大小不能超过4M"
    assert demo.get(f"{BASE}/{saved['id']}/attachments").json()["items"] == []


@pytest.mark.parametrize(
    ("content", "filename", "accepted_as"),
    [
        (PDF, "a.pdf", "application/pdf"),
        (PNG, "scan.png", "image/png"),
        (JPEG, "photo.jpg", "image/jpeg"),
        (zip_bytes(["OFD.xml", "Doc_0/Document.xml"]), "invoice.ofd", "application/ofd"),
        (PNG, "scan.pdf", "image/png"),  # the name does not decide the type
    ],
)
def test_accepted_types_by_content(demo: httpx.Client, content: bytes, filename: str, accepted_as: str) -> None:
    saved = create(demo, form())
    response = upload(demo, saved["id"], content=content, filename=filename)
    assert response.status_code == 201, response.text
    assert response.json()["attachment"]["contentType"] == accepted_as


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (b"MZ\x90\x00\x03" + b"\x00" * 200, "invoice.pdf", "UNSUPPORTED_FILE_TYPE"),  # a renamed .exe
        (PDF + zip_bytes(["payload.exe"]), "polyglot.pdf", "UNSUPPORTED_FILE_TYPE"),  # PDF that is also a zip
        (PNG + zip_bytes(["x.js"]), "polyglot.png", "UNSUPPORTED_FILE_TYPE"),
        (zip_bytes(["word/document.xml"]), "report.ofd", "UNSUPPORTED_FILE_TYPE"),  # a zip but not OFD
        (b"%PDF-1.7 truncated", "broken.pdf", "UNSUPPORTED_FILE_TYPE"),
        (b"", "empty.pdf", "EMPTY_FILE"),
    ],
)
def test_refused_files(demo: httpx.Client, content: bytes, filename: str, code: str) -> None:
    saved = create(demo, form())
    response = upload(demo, saved["id"], content=content, filename=filename)
    assert response.status_code in (400, 415) and response.json()["code"] == code, response.text
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("报关\r\nSet-Cookie: x=1.pdf", "报关Set-Cookie: x=1.pdf"),
        ("原产地证明（2026年11月）.pdf", "原产地证明（2026年11月）.pdf"),
    ],
)
def test_filenames_are_for_display_only(demo: httpx.Client, raw: str, shown: str) -> None:
    saved = create(demo, form())
    info = upload(demo, saved["id"], filename=raw).json()["attachment"]
    assert info["filename"] == shown
    download = demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert "\r" not in download.headers["content-disposition"] and "\n" not in download.headers["content-disposition"]
    assert download.headers["content-disposition"].startswith("attachment; ")


def test_uploads_and_deletes_only_while_editable(stack, demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    info = upload(demo, saved["id"]).json()["attachment"]
    demo.post(f"{BASE}/{saved['id']}/submit")
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    late = upload(demo, saved["id"])
    assert late.status_code == 409 and late.json()["message"] == "当前状态不允许上传附件"
    assert demo.delete(f"{BASE}/{saved['id']}/attachments/{info['id']}").status_code == 409
    assert demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}").content == PDF  # download in every status
    officer = login(stack.gateway_url, "officer", "Officer@2026")
    assert officer.get(f"{BASE}/{saved['id']}/attachments/{info['id']}").content == PDF
    assert officer.delete(f"{BASE}/{saved['id']}/attachments/{info['id']}").status_code == 403


def test_deleting_an_attachment_removes_its_object(demo: httpx.Client, s3: Minio) -> None:
    saved = create(demo, form())
    info = upload(demo, saved["id"]).json()["attachment"]
    assert len(objects(s3, f"{saved['creditCode']}/{saved['id']}/")) == 1
    deleted = demo.delete(f"{BASE}/{saved['id']}/attachments/{info['id']}")
    assert deleted.status_code == 200
    assert objects(s3, f"{saved['creditCode']}/{saved['id']}/") == []
    assert demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}").status_code == 404


def test_a_tampered_object_is_refused_not_served(demo: httpx.Client, s3: Minio) -> None:
    saved = create(demo, form())
    info = upload(demo, saved["id"]).json()["attachment"]
    key = f"{saved['creditCode']}/{saved['id']}/{info['id']}"
    forged = PDF.replace(b"trailer", b"TRAILER")
    s3.put_object("attachments", key, io.BytesIO(forged), len(forged))
    response = demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}")
    assert response.status_code == 500 and response.json()["code"] == "ATTACHMENT_CORRUPTED"
    assert forged not in response.content


def test_reconciler_sweeps_orphans_and_flags_missing_objects(stack, demo: httpx.Client, s3: Minio) -> None:
    orphan = "orphans/never-committed-upload"
    s3.put_object("attachments", orphan, io.BytesIO(PDF), len(PDF))
    saved = create(demo, form())
    info = upload(demo, saved["id"]).json()["attachment"]
    s3.remove_object("attachments", f"{saved['creditCode']}/{saved['id']}/{info['id']}")

    reports = []
    wait_until(lambda: reports.append(reconcile(stack)) or objects(s3, "orphans/"), lambda left: left == [], timeout=20)
    assert sum(r.orphans_removed for r in reports) >= 1
    assert sum(r.missing_flagged for r in reports) >= 1
    assert objects(s3, f"{saved['creditCode']}/") != []  # live objects are kept
    missing = demo.get(f"{BASE}/{saved['id']}/attachments/{info['id']}")
    assert missing.status_code == 500 and missing.json()["code"] == "ATTACHMENT_MISSING"


def test_deleting_a_request_removes_its_objects(demo: httpx.Client, s3: Minio) -> None:
    saved = create(demo, form())
    upload(demo, saved["id"])
    upload(demo, saved["id"], content=PNG, filename="b.png")
    prefix = f"{saved['creditCode']}/{saved['id']}/"
    assert len(objects(s3, prefix)) == 2
    assert demo.delete(f"{BASE}/{saved['id']}").status_code == 200
    wait_until(lambda: objects(s3, prefix), lambda left: left == [])


def test_eicar_is_refused_when_a_scanner_is_configured(stack, demo: httpx.Client) -> None:
    if not stack.clamd_address:
        pytest.skip("no clamd: install Debian's clamav-daemon (the CI does) or set CLAMD_ADDRESS")
    eicar = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    saved = create(demo, form())
    carrier = PDF[:-6] + eicar + b"\n%%EOF\n"
    response = upload(demo, saved["id"], content=carrier, filename="eicar.pdf")
    assert response.status_code == 422 and response.json()["code"] == "VIRUS_FOUND"


def nats_call(stack, subject: str, payload, reply_type):
    async def ask():
        nc = await nats.connect(stack.infra.nats_url)
        try:
            msg = await nc.request(subject, msgspec.json.encode(payload), timeout=10)
        finally:
            await nc.close()
        if msg.headers and msg.headers.get("Nats-Service-Error-Code"):
            return msgspec.json.decode(msg.data, type=ErrorReply)
        return msgspec.json.decode(msg.data, type=reply_type)

    return asyncio.run(ask())


def test_files_cannot_change_under_a_submit(stack, demo: httpx.Client) -> None:
    actor = nats_call(
        stack, identity.SESSION_VERIFY, identity.SessionToken(token=demo.cookies.get("xh_session")), identity.Session
    ).actor
    body = form()
    link(demo, body)
    saved = create(demo, body)
    upload(demo, saved["id"])
    checked = status_of(demo, saved["id"])()  # what a submit checked …
    upload(demo, saved["id"], content=PNG, filename="late.png")  # … then a file arrives
    stale = nats_call(
        stack,
        coordination.SUBMIT,
        coordination.TransitionCommand(
            actor=actor,
            request_id=saved["id"],
            version=checked["version"],
            attachments_revision=checked["attachmentsRevision"],
        ),
        coordination.CoordinationRequest,
    )
    assert isinstance(stale, ErrorReply) and stale.code == "ATTACHMENTS_CHANGED" and stale.status == 409

    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
    frozen = nats_call(
        stack,
        coordination.ATTACHMENTS_CHANGED,
        coordination.AttachmentsChanged(actor=actor, request_id=saved["id"]),
        coordination.AttachmentsRevision,
    )
    assert isinstance(frozen, ErrorReply) and frozen.code == "ATTACHMENTS_FROZEN"


@contextlib.contextmanager
def commits_fail_for(stack, filename: str) -> Iterator[None]:
    """The attachment database refuses, at COMMIT, a transaction that added a file of that name: every statement
    ran (coordination-request was asked and consented), then the commit fails."""
    assert re.fullmatch(r"[a-z.-]+", filename)  # safe to write as an SQL literal

    async def run(*statements: str) -> None:
        conn = await asyncpg.connect(stack.infra.database_url("attachment"))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(
        run(
            "CREATE FUNCTION test_commit_fails() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.filename = '{filename}' THEN RAISE EXCEPTION 'commit refused by the test'; END IF;"
            " RETURN NULL; END $$",
            "CREATE CONSTRAINT TRIGGER test_commit_fails AFTER INSERT ON attachments"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_fails()",
        )
    )
    try:
        yield
    finally:
        asyncio.run(run("DROP TRIGGER test_commit_fails ON attachments", "DROP FUNCTION test_commit_fails()"))


def test_an_upload_whose_commit_fails_after_coordination_consented_leaves_no_file_counted(
    stack, demo: httpx.Client
) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    before = status_of(demo, saved["id"])()
    with commits_fail_for(stack, "lost-at-commit.pdf"):
        lost = upload(demo, saved["id"], filename="lost-at-commit.pdf")
    assert lost.status_code == 500 and lost.json()["code"] == "INTERNAL_ERROR", lost.text
    assert demo.get(f"{BASE}/{saved['id']}/attachments").json()["items"] == []
    after = status_of(demo, saved["id"])()
    # Counted when it consented, then told the files kept: none. The revision moved with each telling.
    assert (after["attachmentCount"], after["attachmentsRevision"]) == (0, before["attachmentsRevision"] + 2)
    refused = demo.post(f"{BASE}/{saved['id']}/submit")
    assert refused.status_code == 422 and refused.json()["code"] == "ATTACHMENT_REQUIRED", refused.text

    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
