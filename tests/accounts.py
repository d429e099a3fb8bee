"""Helpers for tests of accounts: the admin command run against the test stack's identity database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
from stdnum.cn import uscc

from shared.devstack.stack import FIXED_CAPTCHA

ROOT = Path(__file__).resolve().parents[1]
DEMO_CREDIT_CODE = "91310115MA1K4B2X0T"
PASSWORD = "Harbour#Line7"


def admin(stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m services.identity.admin ARGS` on the stack's identity database."""
    env = {**os.environ, "DATABASE_URL": stack.infra.database_url("identity")}
    return subprocess.run(
        [sys.executable, "-m", "services.identity.admin", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def new_credit_code() -> str:
    """A fresh, valid 统一社会信用代码 (91 + a Shanghai division + a random organisation code + check digit)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91310115" + "".join(secrets.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def new_username(prefix: str = "acct") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def create_user(
    stack, password: str = PASSWORD, enterprise: str = DEMO_CREDIT_CODE, display_name: str = "测试用户"
) -> tuple[str, str]:
    """A new enterprise user of the demo enterprise, made with the admin command; (username, password)."""
    username = new_username()
    done = admin(stack, "user", "create", username, "--display-name", display_name, "--enterprise", enterprise,
                 "--password", password)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return username, password


def captcha_id(base_url: str) -> str:
    """A fresh captcha, waiting out identity's per-address throttle (these tests log in often, from one address)."""
    for _ in range(5):
        response = httpx.get(base_url + "/api/v1/auth/captcha")
        if response.status_code != 429:
            return response.json()["captchaId"]
        time.sleep(float(response.headers.get("Retry-After", "1")))
    raise AssertionError("captchas stayed throttled")


def attempt(base_url: str, username: str, password: str) -> httpx.Response:
    """One login try; the response as it is."""
    return httpx.post(
        base_url + "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "captchaId": captcha_id(base_url),
            "captchaCode": FIXED_CAPTCHA,
        },
    )


def login(base_url: str, username: str, password: str) -> httpx.Client:
    """A client logged in as this user (a session of its own)."""
    client = httpx.Client(base_url=base_url, timeout=30)
    response = client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "captchaId": captcha_id(base_url),
            "captchaCode": FIXED_CAPTCHA,
        },
    )
    assert response.status_code == 200, response.text
    return client


def audit_records(stack, **where: str) -> list[dict]:
    """identity's audit records matching column = value, oldest first."""
    import asyncio

    import asyncpg

    async def fetch() -> list[dict]:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            clauses = " AND ".join(f"{column} = ${i}" for i, column in enumerate(where, start=1))
            rows = await conn.fetch(f"SELECT * FROM audit_log WHERE {clauses} ORDER BY id", *where.values())
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(fetch())
