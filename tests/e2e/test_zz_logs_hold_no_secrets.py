"""Runs after the other e2e and browser tests of the session: no password or session id used anywhere in the
run appears in any process's log (named zz so it comes last)."""

from __future__ import annotations

import httpx

from shared import demo
from shared.devstack.stack import FIXED_CAPTCHA
from tests.support import login

WRONG_PASSWORD = "Wr0ng-Passw0rd!zz"


def test_no_password_or_session_id_in_any_log(stack) -> None:
    client = login(stack.gateway_url)
    token = client.cookies["xh_session"]
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/me").status_code == 401  # the spent token is used once more, refused
    with httpx.Client(base_url=stack.gateway_url) as anonymous:
        captcha = anonymous.get("/api/v1/auth/captcha").json()
        body = {
            "username": "demo2",
            "password": WRONG_PASSWORD,
            "captchaId": captcha["captchaId"],
            "captchaCode": FIXED_CAPTCHA,
        }
        assert anonymous.post("/api/v1/auth/login", json=body).status_code == 401

    secrets = {"demo password": demo.DEMO_PASSWORD, "wrong password": WRONG_PASSWORD, "session id": token}
    secrets.update({f"password of {u.username}": u.password for u in demo.USERS})
    logs = sorted(stack.log_dir.glob("*.log"))
    assert logs, "the stack writes its logs here"
    for path in logs:
        text = path.read_text(errors="replace")
        for what, secret in secrets.items():
            assert secret not in text, f"{what} appears in {path.name}"
        assert '"captchaCode"' not in text and "captcha_code" not in text, f"a captcha answer field in {path.name}"
