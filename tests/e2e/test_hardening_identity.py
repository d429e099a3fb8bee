"""Issue 9, identity's holes as an attacker met them: login failures counted atomically and per submitted name,
whether or not the account exists; the captcha throttled per client address and in all; the fixed dev code
accepted only as the answer to an issued, unspent captcha, once."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import pytest
from argon2 import PasswordHasher

from shared import demo, natsauth
from shared.contracts import identity
from shared.devstack.stack import FIXED_CAPTCHA

pytestmark = pytest.mark.e2e

LOGIN = "/api/v1/auth/login"
CAPTCHA = "/api/v1/auth/captcha"
# The policy identity enforces: at most this many captchas per client address, and in all, within any window.
PER_ADDRESS, OVERALL, WINDOW = 20, 200, 10
TOO_MANY = {"code": "TOO_MANY_REQUESTS", "message": "请求过于频繁，请稍后再试", "fields": []}
LOCKED = {"code": "ACCOUNT_LOCKED", "message": "登录失败次数过多，账号已锁定，请15分钟后再试", "fields": []}
FAILED = {"code": "LOGIN_FAILED", "message": "用户名或密码错误", "fields": []}
CAPTCHA_INVALID = {"code": "CAPTCHA_INVALID", "message": "验证码错误或已过期，请重新输入", "fields": []}
KNOWN_CODE = "ACDE"  # the answer of the captchas these tests issue straight into the database


def db(stack, query: str, *args: Any, fetch: bool = False) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            return await (conn.fetch if fetch else conn.execute)(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def issued_captchas(stack, n: int) -> list[str]:
    """Captchas as identity issues them, answered by KNOWN_CODE; made in the database so that the login tests
    do not spend the captcha endpoint's budget."""
    ids = [uuid.uuid4() for _ in range(n)]
    db(
        stack,
        "INSERT INTO captchas (id, code_hash, expires_at) SELECT unnest($1::uuid[]), $2, now() + interval '5 minutes'",
        ids,
        hashlib.sha256(KNOWN_CODE.encode()).digest(),
    )
    return [str(i) for i in ids]


@pytest.fixture
def throwaway_user(stack) -> tuple[str, str]:
    username, password = f"h9-{secrets.token_hex(4)}", "Right@2026"
    db(
        stack,
        "INSERT INTO users (id, username, display_name, password_hash, role, enterprise_id)"
        " SELECT $1, $2, '测试', $3, 'ENTERPRISE', id FROM enterprises WHERE credit_code = '91310115MA1K4B2X0T'",
        uuid.uuid4(),
        username,
        PasswordHasher().hash(password),
    )
    return username, password


def body(username: str, password: str, captcha_id: str, code: str = KNOWN_CODE) -> dict[str, str]:
    return {"username": username, "password": password, "captchaId": captcha_id, "captchaCode": code}


def attempt(stack, username: str, password: str) -> tuple[int, dict]:
    response = httpx.post(stack.gateway_url + LOGIN, json=body(username, password, issued_captchas(stack, 1)[0]))
    return response.status_code, response.json()


# --- 4: the failure count is atomic --------------------------------------------------------------------------


def test_forty_concurrent_wrong_passwords_have_only_five_checked(stack, throwaway_user: tuple[str, str]) -> None:
    username, password = throwaway_user
    ids = issued_captchas(stack, 40)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
            return await asyncio.gather(*(client.post(LOGIN, json=body(username, "Wrong@2026", i)) for i in ids))

    answers = [r.json() for r in asyncio.run(burst())]
    assert answers.count(FAILED) == 5, [a["code"] for a in answers]  # checked against the hash
    assert answers.count(LOCKED) == 35  # refused before any check
    assert attempt(stack, username, password) == (423, LOCKED)  # the right password waits too


# --- 5: a lock looks the same for every name -----------------------------------------------------------------


def test_an_unknown_name_is_locked_just_like_an_existing_account(stack, throwaway_user: tuple[str, str]) -> None:
    username, password = throwaway_user
    unknown = f"nobody-{secrets.token_hex(4)}"
    existing_answers = [attempt(stack, username, "Wrong@2026") for _ in range(6)]
    unknown_answers = [attempt(stack, unknown, "Wrong@2026") for _ in range(6)]
    assert existing_answers == unknown_answers == [(401, FAILED)] * 5 + [(423, LOCKED)]
    assert attempt(stack, username, password) == attempt(stack, unknown, password) == (423, LOCKED)
    # The submitted name is counted as normalised: other spellings of a locked name are locked too.
    assert attempt(stack, f"  {unknown.upper()} ", "Wrong@2026") == (423, LOCKED)


def test_a_lock_ends_after_fifteen_minutes_and_a_success_clears_the_count(
    stack, throwaway_user: tuple[str, str]
) -> None:
    username, password = throwaway_user
    for _ in range(5):
        assert attempt(stack, username, "Wrong@2026") == (401, FAILED)
    assert attempt(stack, username, password) == (423, LOCKED)
    db(stack, "UPDATE login_failures SET expires_at = now() - interval '1 second'")  # 15 minutes later
    assert attempt(stack, username, password)[0] == 200
    for _ in range(5):  # the success started the count afresh: five more tries before a lock
        assert attempt(stack, username, "Wrong@2026") == (401, FAILED)
    assert attempt(stack, username, "Wrong@2026") == (423, LOCKED)


# --- 12: the fixed dev code answers only an issued, unspent captcha ---------------------------------------------


def test_the_fixed_code_answers_only_an_issued_unspent_captcha_once(stack) -> None:
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)

    def log_in(captcha_id: str, code: str = FIXED_CAPTCHA) -> tuple[int, dict]:
        response = client.post(LOGIN, json=body("demo", demo.DEMO_PASSWORD, captcha_id, code))
        return response.status_code, response.json()

    for made_up in ("dev", "x", str(uuid.uuid4())):
        assert log_in(made_up) == (400, CAPTCHA_INVALID)
    issued = client.get(CAPTCHA).json()["captchaId"]
    assert log_in(issued)[0] == 200
    assert log_in(issued) == (400, CAPTCHA_INVALID)  # spent
    expired = issued_captchas(stack, 1)[0]
    db(stack, "UPDATE captchas SET expires_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(expired))
    assert log_in(expired) == (400, CAPTCHA_INVALID)
    # A code that is not ASCII is simply wrong (it used to fail the comparison with a 500).
    assert log_in(issued_captchas(stack, 1)[0], "验证码") == (400, CAPTCHA_INVALID)


# --- 8: the captcha is throttled -------------------------------------------------------------------------------


def ask_for_captchas(stack, addresses: list[str]) -> list[tuple[bool, dict | None]]:
    """The captcha requests the gateway makes, each for a client address; (served, error reply or None)."""

    async def ask() -> list[tuple[bool, dict | None]]:
        nc = await nats.connect(stack.infra.nats_url_for("gateway"), inbox_prefix=natsauth.inbox_prefix("gateway"))
        try:

            async def one(address: str) -> tuple[bool, dict | None]:
                payload = msgspec.json.encode({"clientIp": address})
                msg = await nc.request(identity.CAPTCHA_CREATE, payload, timeout=30)
                if msg.headers and msg.headers.get("Nats-Service-Error-Code"):
                    return False, msgspec.json.decode(msg.data)
                return True, None

            return list(await asyncio.gather(*(one(a) for a in addresses)))
        finally:
            await nc.close()

    return asyncio.run(ask())


def assert_told_to_wait(reply: dict | None) -> None:
    assert reply is not None
    assert (reply["status"], reply["code"], reply["message"]) == (429, TOO_MANY["code"], TOO_MANY["message"])
    assert 1 <= reply["retryAfter"] <= WINDOW


def test_captchas_are_throttled_per_client_address(stack) -> None:
    address = f"198.51.100.{secrets.randbelow(254) + 1}"
    answers = ask_for_captchas(stack, [address] * PER_ADDRESS)
    assert all(served for served, _ in answers)
    served, reply = ask_for_captchas(stack, [address])[0]
    assert not served
    assert_told_to_wait(reply)
    assert ask_for_captchas(stack, ["203.0.113.9"]) == [(True, None)]  # another address is still served
    # IPv6 clients are counted by their /64: an attacker holds the whole prefix.
    prefix = f"2001:db8:{secrets.randbelow(65535):x}:1::"
    answers = ask_for_captchas(stack, [f"{prefix}{i + 1:x}" for i in range(PER_ADDRESS + 1)])
    assert [served for served, _ in answers].count(False) == 1


def test_captchas_are_throttled_in_all_and_a_client_is_told_to_wait(stack) -> None:
    # Many addresses, each within its own limit, together ask for more than identity makes in a window.
    answers = ask_for_captchas(stack, [f"10.9.{i // 250}.{i % 250 + 1}" for i in range(OVERALL + 20)])
    started = time.monotonic()
    refused = [reply for served, reply in answers if not served]
    assert len(answers) - len(refused) <= OVERALL and refused
    for reply in refused:
        assert_told_to_wait(reply)

    # What a browser sees meanwhile, whatever its address.
    busy = httpx.get(stack.gateway_url + CAPTCHA)
    assert busy.status_code == 429 and busy.json() == TOO_MANY

    # The window passes and captchas are served again (the whole window, so that later tests have their budget).
    time.sleep(max(0.0, WINDOW + 0.5 - (time.monotonic() - started)))
    again = httpx.get(stack.gateway_url + CAPTCHA)
    assert again.status_code == 200 and again.json()["captchaId"]

    assert 1 <= int(busy.headers["retry-after"]) <= WINDOW


def test_expired_captchas_and_failure_counts_are_purged(stack) -> None:
    stale = uuid.uuid4()
    db(
        stack,
        "INSERT INTO captchas (id, code_hash, expires_at) VALUES ($1, $2, now() - interval '1 minute')",
        stale,
        hashlib.sha256(KNOWN_CODE.encode()).digest(),
    )
    key = hashlib.sha256(secrets.token_bytes(8)).digest()
    db(
        stack,
        "INSERT INTO login_failures (name_key, attempts, expires_at) VALUES ($1, 3, now() - interval '1 minute')",
        key,
    )
    assert httpx.get(stack.gateway_url + CAPTCHA).status_code == 200
    assert db(stack, "SELECT id FROM captchas WHERE id = $1", stale, fetch=True) == []
    assert db(stack, "SELECT name_key FROM login_failures WHERE name_key = $1", key, fetch=True) == []
