"""API fuzzing: schemathesis drives every operation of the gateway's OpenAPI document, as an anonymous caller, an
enterprise user and a customs officer, with every schemathesis check. No answer may be a 5xx, every answer must be
documented (status, media type, schema), and every error must be {code, message, fields} with a Chinese message.

The run is bounded (max examples per operation) and deterministic (fixed seed, derandomized, no example database).
The fuzzer works with accounts of its own: the demo accounts other tests use are never logged out or locked.
What it found is kept, with its inputs, as plain tests in test_fuzz_regressions.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from gateway import access
from services.identity.service import CAPTCHA_WINDOW_SECONDS
from shared.devstack.stack import FIXED_CAPTCHA
from tests.accounts import PASSWORD, admin, create_user, login, new_credit_code, new_username
from tests.support import PDF, form

pytestmark = pytest.mark.e2e

# Operations that would change the fuzzer's own session: a logout ends it, a login replaces its cookie. They are
# fuzzed anonymously only (with a session they are the same code with a cookie that is then gone).
SESSION_CHANGING = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/card/login"),
}
# Refusals a schema cannot foresee: the registry does not know a certificate, a captcha is spent, a file is not a
# PDF. Schema-valid input may get them; a 400 for a malformed body, 413, 415 or 405 it may not.
BUSINESS_REFUSALS = ["2xx", 401, 403, 404, 409, 422, 423, 429]
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260412,
        # Generating data is slow on a busy machine; that is not the API's fault.
        "suppress-health-check": ["too_slow"],
        # FUZZ_EXAMPLES=200 for a deeper run by hand; `make test` keeps it short.
        "generation": {
            "max-examples": int(os.environ.get("FUZZ_EXAMPLES", "25")),
            "deterministic": True,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": True,
            # (max_response_time stays unset: speed is measured by `make bench`, never asserted in tests.)
            "positive_data_acceptance": {"expected-statuses": BUSINESS_REFUSALS},
        },
        "operations": [
            # A wrong captcha is refused as 400 CAPTCHA_INVALID.
            {
                "include-path": "/api/v1/auth/login",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*BUSINESS_REFUSALS, 400]}},
            },
            # A file's type is decided by its content: an empty file is 400 EMPTY_FILE, other bytes 415.
            {
                "include-path-regex": "/attachments$",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*BUSINESS_REFUSALS, 400, 415]}},
            },
        ],
    }
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def fuzz_sessions(stack) -> Iterator[dict[str, requests.Session]]:
    """A session per role, each for an account made for the fuzzer alone (a fresh enterprise, a fresh officer)."""
    served = requests.get(stack.gateway_url + "/schema/openapi.json", timeout=30).json()
    assert served == json.loads(DOCUMENT.read_text()), "the gateway serves another OpenAPI document than the fuzzer's"
    credit_code = new_credit_code()
    done = admin(stack, "enterprise", "create", "--name", "模糊测试贸易有限公司", "--credit-code", credit_code,
                 "--customs-code", "3105960777")  # fmt: skip
    assert done.returncode == 0, done.stderr
    sessions = {"anonymous": requests.Session()}
    for role, kind in (("enterprise", ["--enterprise", credit_code]), ("officer", ["--officer"])):
        username = new_username("fuzz")
        done = admin(stack, "user", "create", username, "--display-name", "模糊测试", *kind, "--password", PASSWORD)
        assert done.returncode == 0, done.stderr
        session = requests.Session()
        session.cookies.update(login(stack.gateway_url, username, PASSWORD).cookies)
        sessions[role] = session
    yield sessions
    for session in sessions.values():
        session.close()
    # The fuzzer asks for many captchas from this address: the next module starts with identity's throttle clear.
    time.sleep(CAPTCHA_WINDOW_SECONDS + 1)


# The document `make openapi` exports (a unit test fails when it is stale); the fixture below checks the running
# gateway serves the same one. Loaded at import, so each operation is a test of its own.
DOCUMENT = Path(__file__).resolve().parents[2] / "portal" / "openapi.json"
schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG)


def assert_error_shape(response: requests.Response) -> None:
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", body["code"]), body
    assert isinstance(body["message"], str) and CHINESE.search(body["message"]), body
    assert isinstance(body["fields"], list), body
    for field in body["fields"]:
        assert set(field) == {"field", "message"} and all(isinstance(v, str) for v in field.values()), body
        assert CHINESE.search(field["message"]), body


def fuzz(case, role: str, sessions: dict[str, requests.Session], base_url: str) -> None:
    operation = (case.method.upper(), case.path)
    if role != "anonymous" and operation in SESSION_CHANGING:
        return  # changes the fuzzer's own session: fuzzed anonymously
    response = case.call_and_validate(base_url=base_url, session=sessions[role], timeout=30)
    if response.status_code >= 400:
        assert_error_shape(response)
    if role == "anonymous" and access.POLICY.get(operation, access.PUBLIC) != access.PUBLIC:
        # Who is not logged in learns nothing else: not even whether the input was well formed.
        assert response.status_code == 401, response.text


@pytest.mark.parametrize("role", ["anonymous", "enterprise", "officer"])
@schema.parametrize()
def test_fuzz(case, role: str, fuzz_sessions, stack) -> None:
    fuzz(case, role, fuzz_sessions, stack.gateway_url)


def test_successful_answers_match_the_document(fuzz_sessions, stack) -> None:
    """The fuzzer's own accounts own no certificate, so it mostly meets refusals: the answers of a real walk through
    the API are checked against the document as well."""
    base = stack.gateway_url

    def answer(role: str, method: str, path: str, template: str | None = None, status: int = 200, **kwargs):
        response = fuzz_sessions[role].request(method, base + path, timeout=30, **kwargs)
        assert response.status_code == status, response.text
        schema[template or path.split("?")[0]][method].validate_response(response)
        return response

    for role in ("enterprise", "officer"):
        answer(role, "GET", "/api/v1/me")
    answer("anonymous", "GET", "/api/v1/auth/captcha")
    answer("anonymous", "GET", "/api/v1/reference/proof-types")
    answer("anonymous", "GET", "/api/v1/reference/agreements")
    answer("enterprise", "GET", "/api/v1/reference/countries?q=mg")
    answer("enterprise", "GET", "/api/v1/reference/ports?country=JP&q=tyo")
    answer("enterprise", "GET", "/api/v1/certificates/lookup?type=CUSTOMS_CO&number=K2631000000001")
    answer("enterprise", "GET", "/api/v1/export-declaration-links")

    draft = answer("enterprise", "POST", "/api/v1/coordination-requests", json=form(), status=201).json()["request"]
    one = f"/api/v1/coordination-requests/{draft['id']}"
    template = "/api/v1/coordination-requests/{request_id}"
    answer("enterprise", "PUT", one, template, json=form(reason="改后的事由", version=draft["version"]))
    answer("enterprise", "GET", "/api/v1/coordination-requests?limit=5")
    files = {"file": ("证明材料.pdf", PDF, "application/pdf")}
    uploaded = answer("enterprise", "POST", one + "/attachments", template + "/attachments", 201, files=files)
    file = f"{one}/attachments/{uploaded.json()['attachment']['id']}"
    answer("enterprise", "GET", one + "/attachments", template + "/attachments")
    downloaded = answer("enterprise", "GET", file, template + "/attachments/{attachment_id}")
    assert downloaded.content == PDF
    answer("enterprise", "GET", one, template)
    answer("enterprise", "DELETE", file, template + "/attachments/{attachment_id}")
    answer("enterprise", "DELETE", one, template)

    answer("officer", "GET", "/api/v1/customs/coordination-requests?limit=5")
    answer("officer", "GET", "/api/v1/customs/audit-records?limit=5")

    # Logging in and out with an account of its own: the fuzzer's have met wrong old passwords (修改密码) and are
    # locked by now, as a guessed password should leave them.
    username, password = create_user(stack)
    extra = requests.Session()
    captcha = extra.get(base + "/api/v1/auth/captcha", timeout=30).json()
    credentials = {"username": username, "password": password}
    logged_in = extra.post(
        base + "/api/v1/auth/login",
        json={**credentials, "captchaId": captcha["captchaId"], "captchaCode": FIXED_CAPTCHA},
        timeout=30,
    )
    assert logged_in.status_code == 200, logged_in.text
    schema["/api/v1/auth/login"]["POST"].validate_response(logged_in)
    logged_out = extra.post(base + "/api/v1/auth/logout", timeout=30)
    schema["/api/v1/auth/logout"]["POST"].validate_response(logged_out)
    assert logged_out.status_code == 200, logged_out.text
