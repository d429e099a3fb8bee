"""The walking skeleton's flow through the gateway over real HTTP, with real PostgreSQL, NATS and S3."""

from __future__ import annotations

import httpx
import pytest

from tests.support import PDF, create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
NOT_LINKED = "提交失败:出口报关单号未与证书号关联，请点击此处进行出口报关单补录！"


def test_whole_happy_path(stack, demo: httpx.Client) -> None:
    lookup = demo.get("/api/v1/certificates/lookup", params={"type": "CUSTOMS_CO", "number": "K2631000000001"})
    assert lookup.status_code == 200
    assert lookup.json()["agreementCode"] == "22"

    body = form(agreementCode="99", creditCode="91110000000000000X", enterpriseName="冒名公司")
    link(demo, body)
    saved = create(demo, body)
    assert saved["status"] == "DRAFT" and saved["statusLabel"] == "暂存"
    assert saved["requestNo"].startswith("XT") and len(saved["requestNo"]) == 16
    # Server-filled fields come from the session and the registry, never from the client.
    assert saved["agreementCode"] == "22"
    assert saved["enterpriseName"] == "上海华贸进出口有限公司"
    assert saved["creditCode"] == "91310115MA1K4B2X0T"

    uploaded = upload(demo, saved["id"])
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["message"] == "上传成功"

    submitted = demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["message"] == "申报成功"
    assert submitted.json()["request"]["status"] == "DECLARED"

    pending = wait_until(status_of(demo, saved["id"]), lambda r: r["status"] != "DECLARED")
    assert pending["status"] == "PENDING" and pending["statusLabel"] == "待办"
    assert pending["withdrawable"] and not pending["editable"] and not pending["deletable"]
    assert [h["toStatus"] for h in pending["history"]] == ["DRAFT", "DECLARED", "PENDING"]
    assert [a["filename"] for a in pending["attachments"]] == ["证明材料.pdf"]

    listed = demo.get("/api/v1/coordination-requests", params={"requestNo": saved["requestNo"]}).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "PENDING"

    withdrawn = demo.post(f"/api/v1/coordination-requests/{saved['id']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["message"] == "撤回成功"
    assert withdrawn.json()["request"]["status"] == "WITHDRAWN"

    deleted = demo.delete(f"/api/v1/coordination-requests/{saved['id']}")
    assert deleted.status_code == 200 and deleted.json()["message"] == "删除成功"
    gone = demo.get(f"/api/v1/coordination-requests/{saved['id']}")
    assert gone.status_code == 404
    assert demo.get("/api/v1/coordination-requests", params={"requestNo": saved["requestNo"]}).json()["total"] == 0


def test_certificate_of_another_enterprise_is_refused(demo: httpx.Client) -> None:
    body = form(proofType="CUSTOMS_CO", certificateNo="K2633000000901", importCountry="KR", importPort="KRPUS")
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    refused = demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    assert refused.status_code == 422
    assert refused.json() == {"code": "CERTIFICATE_NOT_OWNED", "message": "企业填写证书有误", "fields": []}
    assert status_of(demo, saved["id"])()["status"] == "DRAFT"


def test_unlinked_export_declaration_is_refused_until_linked(demo: httpx.Client) -> None:
    body = form(certificateNo="K2631000000002", importCountry="VN", importPort="VNSGN")
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    refused = demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    assert refused.status_code == 422
    assert refused.json()["code"] == "EXPORT_DECLARATION_NOT_LINKED"
    assert refused.json()["message"] == NOT_LINKED

    link(demo, body)
    assert body["exportDeclarationNo"] in {
        item["exportDeclarationNo"] for item in demo.get("/api/v1/export-declaration-links").json()["items"]
    }
    passed = demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    assert passed.status_code == 200 and passed.json()["message"] == "申报成功"


def test_submit_without_attachment_is_refused(demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    refused = demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    assert refused.status_code == 422 and refused.json()["code"] == "ATTACHMENT_REQUIRED"


def test_linking_another_enterprises_certificate_looks_like_it_does_not_exist(demo: httpx.Client) -> None:
    theirs = demo.post(
        "/api/v1/export-declaration-links",
        json={
            "proofType": "CUSTOMS_CO",
            "certificateNo": "K2633000000901",
            "exportDeclarationNo": "310120260000000001",
        },
    )
    missing = demo.post(
        "/api/v1/export-declaration-links",
        json={
            "proofType": "CUSTOMS_CO",
            "certificateNo": "K0000000000000",
            "exportDeclarationNo": "310120260000000001",
        },
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_save_reports_every_field_error_at_once(demo: httpx.Client) -> None:
    response = demo.post(
        "/api/v1/coordination-requests",
        json={
            "proofType": "CUSTOMS_CO",
            "exportDeclarationNo": "310120261000000001",
            "importDeclarationNo": "x" * 65,
            "reason": "y" * 2001,
            "certificateNo": "NO-SUCH-CERT",
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    fields = {f["field"]: f["message"] for f in body["fields"]}
    assert set(fields) == {
        "importCountry",
        "importPort",
        "certificateNo",
        "exportDeclarationNo",
        "importDeclarationNo",
        "reason",
    }
    assert fields["exportDeclarationNo"] == "出口报关单号应为18位数字，且第9位为0"
    assert fields["certificateNo"].startswith("原产地证书号不存在")


def test_customs_receipt_rejects_a_second_open_request_for_the_same_declaration(demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    first, second = create(demo, body), create(demo, body)
    for saved in (first, second):
        assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"/api/v1/coordination-requests/{first['id']}/submit").status_code == 200
    wait_until(status_of(demo, first["id"]), lambda r: r["status"] == "PENDING")
    assert demo.post(f"/api/v1/coordination-requests/{second['id']}/submit").status_code == 200
    failed = wait_until(status_of(demo, second["id"]), lambda r: r["status"] != "DECLARED")
    assert failed["status"] == "RECEIPT_FAILED" and failed["statusLabel"] == "海关接收失败"
    assert first["requestNo"] in failed["statusReason"]
    assert failed["editable"] and not failed["deletable"]


def test_other_enterprise_cannot_see_or_touch_a_request(stack, demo: httpx.Client) -> None:
    saved = create(demo, form())
    other = login(stack.gateway_url, "demo2")
    for response in (
        other.get(f"/api/v1/coordination-requests/{saved['id']}"),
        other.post(f"/api/v1/coordination-requests/{saved['id']}/submit"),
        other.delete(f"/api/v1/coordination-requests/{saved['id']}"),
        other.get(f"/api/v1/coordination-requests/{saved['id']}/attachments"),
        upload(other, saved["id"]),
    ):
        assert response.status_code == 404, response.text
    assert saved["requestNo"] not in {
        i["requestNo"] for i in other.get("/api/v1/coordination-requests").json()["items"]
    }


def test_officer_sees_received_requests_in_the_queue(stack, demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    upload(demo, saved["id"])
    demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit")
    officer = login(stack.gateway_url, "officer", "Officer@2026")
    mine = {"requestNo": saved["requestNo"]}  # the queue is shared by every test's applications
    queue = wait_until(
        lambda: officer.get("/api/v1/customs/coordination-requests", params=mine).json()["items"],
        lambda items: saved["id"] in {i["requestId"] for i in items},
    )
    case = next(i for i in queue if i["requestId"] == saved["id"])
    assert case["enterpriseName"] == "上海华贸进出口有限公司" and case["status"] == "PENDING"
    assert demo.get("/api/v1/customs/coordination-requests").status_code == 403
    attachments = officer.get(f"/api/v1/coordination-requests/{saved['id']}/attachments").json()["items"]
    download = officer.get(f"/api/v1/coordination-requests/{saved['id']}/attachments/{attachments[0]['id']}")
    assert download.status_code == 200 and download.content == PDF


def test_attachment_download_is_the_uploaded_file(demo: httpx.Client) -> None:
    saved = create(demo, form())
    info = upload(demo, saved["id"], filename="../../发票 2026.pdf").json()["attachment"]
    assert info["filename"] == "发票 2026.pdf"
    response = demo.get(f"/api/v1/coordination-requests/{saved['id']}/attachments/{info['id']}")
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8%202026.pdf" in response.headers["content-disposition"]


def test_login_refusals_and_logout(stack) -> None:
    client = httpx.Client(base_url=stack.gateway_url)
    captcha = client.get("/api/v1/auth/captcha").json()
    assert captcha["image"].startswith("data:image/png;base64,")
    wrong_captcha = client.post(
        "/api/v1/auth/login",
        json={"username": "demo", "password": "Demo@2026", "captchaId": captcha["captchaId"], "captchaCode": "ZZZZ"},
    )
    assert wrong_captcha.status_code == 400 and wrong_captcha.json()["code"] == "CAPTCHA_INVALID"
    fresh = client.get("/api/v1/auth/captcha").json()  # the fixed code answers only an issued captcha
    wrong_password = client.post(
        "/api/v1/auth/login",
        json={"username": "demo", "password": "nope", "captchaId": fresh["captchaId"], "captchaCode": "8888"},
    )
    assert wrong_password.status_code == 401 and wrong_password.json()["message"] == "用户名或密码错误"
    assert client.get("/api/v1/me").status_code == 401

    session = login(stack.gateway_url)
    assert session.get("/api/v1/me").json()["enterprise"]["name"] == "上海华贸进出口有限公司"
    cookie = session.cookies.get("xh_session")
    assert session.post("/api/v1/auth/logout").status_code == 200
    replay = httpx.Client(base_url=stack.gateway_url, cookies={"xh_session": cookie})
    assert replay.get("/api/v1/me").status_code == 401


def test_errors_keep_their_shape_and_hide_internals(stack, demo: httpx.Client) -> None:
    unknown = demo.post("/api/v1/coordination-requests", json={"hack": True})
    assert unknown.status_code == 422 and unknown.json()["fields"] == [{"field": "hack", "message": "不支持的字段"}]
    broken = demo.post(
        "/api/v1/coordination-requests", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (
        broken.status_code == 400
        and broken.json()["code"] == "BAD_JSON"
        and set(broken.json()) == {"code", "message", "fields"}
    )
    assert demo.get("/api/v1/coordination-requests/not-a-uuid").status_code == 404
    cross_site = demo.post("/api/v1/coordination-requests", json=form(), headers={"origin": "https://evil.example"})
    assert cross_site.status_code == 403 and cross_site.json()["code"] == "FORBIDDEN_ORIGIN"
    schema = httpx.get(stack.gateway_url + "/schema/openapi.json")
    assert schema.status_code == 200 and "/api/v1/coordination-requests/{request_id}/submit" in schema.json()["paths"]


def test_probes_and_metrics_of_every_process(stack, demo: httpx.Client) -> None:
    create(demo, form())
    for name, port in stack.health_ports.items():
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/health").json() == {"status": "ok"}, name
        assert httpx.get(base + "/ready").status_code == 200, name
    metrics = httpx.get(f"http://127.0.0.1:{stack.health_ports['coordination_request']}/metrics").text
    assert 'nats_requests_total{outcome="ok",subject="svc.coordination.create"}' in metrics
    consumed = httpx.get(f"http://127.0.0.1:{stack.health_ports['customs_desk']}/metrics").text
    assert "events_consumed_total" in consumed
    gateway = httpx.get(f"http://127.0.0.1:{stack.health_ports['gateway']}/metrics").text  # internal port only
    assert 'app_name="gateway",method="POST",path="/api/v1/coordination-requests",status_code="201"' in gateway
