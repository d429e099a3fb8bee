"""What the API fuzzer (test_fuzz_api.py) found, kept as plain tests with its inputs: answers the OpenAPI document
did not declare. Each refusal must be declared for its operation, as {code, message, fields} (ApiError)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests import accounts
from tests.support import login

pytestmark = pytest.mark.e2e

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "portal" / "openapi.json").read_text())
ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}
R = "/api/v1/coordination-requests"
C = "/api/v1/customs/coordination-requests"

# (who, method, url, body, status, the operation in the document): the fuzzer's inputs, and what was wrong.
FOUND = [
    # 400 was declared as Litestar's {status_code, detail, extra}, but the gateway answers {code, message, fields}.
    ("demo", "GET", R + "?submittedTo=AAA", None, 400, R),
    ("demo", "GET", "/api/v1/reference/countries?limit=null&limit=null", None, 400, "/api/v1/reference/countries"),
    # Refusals not declared at all: the document named only the success (and that 400).
    ("demo", "GET", "/api/v1/certificates/lookup", None, 422, "/api/v1/certificates/lookup"),
    ("demo", "GET", R + "/0", None, 404, R + "/{request_id}"),
    ("demo", "DELETE", R + "/0/attachments/0", None, 404, R + "/{request_id}/attachments/{attachment_id}"),
    ("demo", "PUT", R + "/0", {}, 422, R + "/{request_id}"),
    ("demo", "POST", R + "/0/attachments", {}, 415, R + "/{request_id}/attachments"),
    ("demo", "POST", "/api/v1/export-declaration-links", {}, 422, "/api/v1/export-declaration-links"),
    ("demo", "POST", C + "/0/accept", {}, 403, C + "/{request_id}/accept"),
    ("officer", "POST", R + "/0/submit", {}, 403, R + "/{request_id}/submit"),
    (None, "POST", "/api/v1/auth/login", {}, 422, "/api/v1/auth/login"),
    (None, "POST", "/api/v1/auth/card/challenge", {}, 422, "/api/v1/auth/card/challenge"),
    (None, "GET", "/api/v1/me", None, 401, "/api/v1/me"),
]


@pytest.fixture(scope="module")
def clients(stack):
    users = {"demo": login(stack.gateway_url), "officer": login(stack.gateway_url, "officer", "Officer@2026")}
    users[None] = httpx.Client(base_url=stack.gateway_url, timeout=30)
    yield users
    for client in users.values():
        client.close()


@pytest.mark.parametrize(("who", "method", "url", "body", "status", "operation"), FOUND)
def test_a_refusal_the_fuzzer_found_is_declared_in_the_document(clients, who, method, url, body, status, operation):
    response = clients[who].request(method, url, json=body)

    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"code", "message", "fields"} and error["code"] and error["message"]
    declared = DOCUMENT["paths"][operation][method.lower()]["responses"]
    assert declared[str(status)]["content"]["application/json"]["schema"] == ERROR_SCHEMA


def test_login_logout_and_password_change_answer_the_status_the_document_declares(stack) -> None:
    """They answered 200 while the document declared 201 (Litestar's default for a POST)."""
    for path in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me/password"):
        declared = DOCUMENT["paths"][path]["post"]["responses"]
        assert "200" in declared and "201" not in declared, path
    client = accounts.login(stack.gateway_url, *accounts.create_user(stack))  # asserts the login's 200
    assert client.post("/api/v1/auth/logout").status_code == 200


def test_wrong_old_passwords_lock_the_account_and_the_document_says_so(stack) -> None:
    """FUZZ_EXAMPLES=150 found 修改密码 answering 423 ACCOUNT_LOCKED, which the document did not declare."""
    client = accounts.login(stack.gateway_url, *accounts.create_user(stack))
    statuses = [
        client.post("/api/v1/me/password", json={"oldPassword": f"Wrong#Guess{n}", "newPassword": "Harbour#Line8"})
        for n in range(6)
    ]
    assert [r.status_code for r in statuses[:5]] == [422] * 5
    locked = statuses[5]
    assert locked.status_code == 423 and locked.json()["code"] == "ACCOUNT_LOCKED", locked.text
    declared = DOCUMENT["paths"]["/api/v1/me/password"]["post"]["responses"]
    assert declared["423"]["content"]["application/json"]["schema"] == ERROR_SCHEMA
