"""The gateway's front door under abuse (issue 9): NUL characters, impossible dates, broken bodies, the Origin
check, content types, what the public port serves, and the security headers on every response."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.support import PDF, create, form

BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"]
    if field is not None:
        assert field in {f["field"] for f in body["fields"]}, body
    return body


# --- 1. NUL characters never reach PostgreSQL -------------------------------------------------------------


def test_nul_in_query_parameters_is_refused_naming_the_parameter(demo: httpx.Client) -> None:
    refused(demo.get(BASE, params={"requestNo": "\x00"}), 422, "requestNo")
    refused(demo.get("/api/v1/certificates/lookup", params={"type": "CUSTOMS_CO", "number": "K\x00"}), 422, "number")
    refused(demo.get("/api/v1/reference/countries", params={"q": "m\x00g"}), 422, "q")


def test_nul_in_a_json_field_is_refused_naming_the_field(demo: httpx.Client, stack) -> None:
    refused(demo.post(BASE, json=form(reason="a\x00b")), 422, "reason")
    saved = create(demo, form())
    refused(
        demo.put(f"{BASE}/{saved['id']}", json={**form(importDeclarationNo="X\x00"), "version": 1}),
        422,
        "importDeclarationNo",
    )
    anonymous = httpx.Client(base_url=stack.gateway_url)
    captcha = anonymous.get("/api/v1/auth/captcha").json()
    body = {"username": "demo\x00", "password": "x", "captchaId": captcha["captchaId"], "captchaCode": "8888"}
    refused(anonymous.post("/api/v1/auth/login", json=body), 422, "username")


# --- 2. dates a calendar cannot hold -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"submittedTo": "9999-12-31"},
        {"submittedFrom": "0001-01-01"},
        {"submittedFrom": "2026-03-02", "submittedTo": "2026-03-01"},
    ],
)
def test_out_of_range_dates_are_refused_on_query_and_queue(demo: httpx.Client, officer: httpx.Client, params) -> None:
    field = next(iter(params)) if len(params) == 1 else "submittedTo"
    refused(demo.get(BASE, params=params), 422, field)
    refused(officer.get(CUSTOMS, params=params), 422, field)


def test_a_cursor_carrying_an_impossible_date_is_refused(demo: httpx.Client, officer: httpx.Client) -> None:
    for at in ("9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00"):
        cursor = base64.urlsafe_b64encode(f"{at}|{uuid.uuid4()}".encode()).decode()
        refused(demo.get(BASE, params={"cursor": cursor}), 422, "cursor")
        refused(officer.get(CUSTOMS, params={"cursor": cursor}), 422, "cursor")


# --- 3. bodies that are not what they claim -------------------------------------------------------------------


def test_json_with_invalid_utf8_is_a_400(demo: httpx.Client) -> None:
    response = demo.post(BASE, content=b'{"reason": "\xff\xfe"}', headers={"content-type": "application/json"})
    refused(response, 400)


def test_multipart_with_too_many_parts_or_a_huge_part_header_is_refused(demo: httpx.Client) -> None:
    saved = create(demo, form())
    url = f"{BASE}/{saved['id']}/attachments"
    many = {f"extra{i}": (None, "x") for i in range(12)}
    assert demo.post(url, files={**many, "file": ("a.pdf", PDF, "application/pdf")}).status_code in (400, 413)
    huge_name = "证" * 5000 + ".pdf"
    response = demo.post(url, files={"file": (huge_name, PDF, "application/pdf")})
    assert response.status_code in (400, 413), response.text
    assert set(response.json()) == {"code", "message", "fields"}


# --- 7. what the public port serves -----------------------------------------------------------------------------


def test_metrics_are_served_on_the_internal_port_only(demo: httpx.Client, stack) -> None:
    demo.get(BASE)
    public = httpx.get(f"{stack.gateway_url}/metrics")  # the portal's page, if anything
    assert "app_name=" not in public.text and "# TYPE" not in public.text
    internal = httpx.get(f"http://127.0.0.1:{stack.health_ports['gateway']}/metrics")
    assert (
        internal.status_code == 200
        and 'app_name="gateway",method="GET",path="/api/v1/coordination-requests"' in internal.text
    )


def test_api_docs_load_no_script_from_another_site_in_production() -> None:
    from gateway.app import create_app
    from gateway.settings import Settings

    def paths(profile: str) -> set[str]:
        settings = Settings(profile, "nats://unused", "127.0.0.1", 0, True, frozenset(), "INFO")
        return {route.path for route in create_app(settings).routes}

    assert "/schema/swagger" in paths("test")
    assert "/schema/swagger" not in paths("production") and "/schema/openapi.json" in paths("production")


# --- 10. Origin and content type ---------------------------------------------------------------------------------


def test_origin_must_match_scheme_host_and_port_exactly(demo: httpx.Client, stack) -> None:
    host = stack.gateway_url.split("://", 1)[1]
    for origin in (f"https://{host}", f"http://{host.split(':')[0]}", f"http://{host}.evil.example", "null"):
        response = demo.post(BASE, json=form(), headers={"origin": origin})
        assert response.status_code == 403, (origin, response.text)
        assert response.json()["code"] == "FORBIDDEN_ORIGIN"
    assert demo.post(BASE, json=form(), headers={"origin": f"http://{host}"}).status_code == 201


def test_json_routes_refuse_other_content_types(demo: httpx.Client) -> None:
    import json

    body = json.dumps(form(), ensure_ascii=False).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = demo.post(BASE, content=body, headers={"content-type": content_type})
        assert refused(response, 415)["code"] == "UNSUPPORTED_MEDIA_TYPE", content_type
    assert demo.post(BASE, content=body, headers={"content-type": "application/json; charset=utf-8"}).status_code == 201


# --- everywhere: security headers ------------------------------------------------------------------------------


def test_every_api_response_carries_the_security_headers(demo: httpx.Client, stack) -> None:
    for response in (
        demo.get(BASE),
        demo.get(f"{BASE}/{uuid.uuid4()}"),
        httpx.get(f"{stack.gateway_url}/api/v1/me"),
        demo.post(BASE, json={}),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", response.request.url
        assert headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"


def test_deeply_nested_json_and_forged_request_ids_are_handled(demo: httpx.Client) -> None:
    deep = b"[" * 5000 + b'"\\u0000"' + b"]" * 5000
    refused(demo.post(BASE, content=deep, headers={"content-type": "application/json"}), 400)
    odd = demo.get(BASE, headers={"X-Request-Id": "x" * 300})
    assert odd.status_code == 200 and len(odd.headers["x-request-id"]) == 32
    kept = demo.get(BASE, headers={"X-Request-Id": "erp-2026.11-abc"})
    assert kept.headers["x-request-id"] == "erp-2026.11-abc"
