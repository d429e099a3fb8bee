"""Login lockout, session idle timeout and captcha single use, checked against the real identity service."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
import uuid

import asyncpg
import httpx
import msgspec
import nats
import pytest
from argon2 import PasswordHasher

from services.identity.service import CAPTCHA_ALPHABET
from shared.contracts import attachment, coordination, identity
from shared.contracts.common import ErrorReply
from shared.devstack.stack import FIXED_CAPTCHA
from tests.support import login

pytestmark = pytest.mark.e2e


def sql(stack, query: str, *args) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def throwaway_user(stack) -> tuple[str, str]:
    """A user of the demo enterprise made for this test only (locking a shared account would disturb others)."""
    username, password = f"lock-{secrets.token_hex(4)}", "Right@2026"
    sql(
        stack,
        "INSERT INTO users (id, username, display_name, password_hash, role, enterprise_id)"
        " SELECT $1, $2, '测试', $3, 'ENTERPRISE', id FROM enterprises WHERE credit_code = '91310115MA1K4B2X0T'",
        uuid.uuid4(),
        username,
        PasswordHasher().hash(password),
    )
    return username, password


def attempt(stack, username: str, password: str) -> httpx.Response:
    # The fixed code answers only a captcha identity issued (issue 9), so each attempt asks for one first.
    captcha_id = httpx.get(stack.gateway_url + "/api/v1/auth/captcha").json()["captchaId"]
    return httpx.post(
        stack.gateway_url + "/api/v1/auth/login",
        json={"username": username, "password": password, "captchaId": captcha_id, "captchaCode": FIXED_CAPTCHA},
    )


def test_five_wrong_passwords_lock_the_account(stack, throwaway_user: tuple[str, str]) -> None:
    username, password = throwaway_user
    for _ in range(5):
        assert attempt(stack, username, "wrong").json()["code"] == "LOGIN_FAILED"
    locked = attempt(stack, username, password)
    assert locked.status_code == 423 and locked.json()["message"] == "登录失败次数过多，账号已锁定，请15分钟后再试"
    assert attempt(stack, "demo", "Demo@2026").status_code == 200  # other accounts are unaffected


def test_an_idle_session_expires(stack) -> None:
    client = login(stack.gateway_url)
    token = client.cookies.get("xh_session")
    sql(
        stack,
        "UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401 and expired.json()["code"] == "SESSION_EXPIRED"


def captcha_answer(stack, captcha_id: str) -> str:
    """Read the answer the way only a test may: from the stored hash, over the captcha alphabet."""

    async def stored() -> bytes:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            return bytes(await conn.fetchval("SELECT code_hash FROM captchas WHERE id = $1", uuid.UUID(captcha_id)))
        finally:
            await conn.close()

    digest = asyncio.run(stored())
    return next(
        "".join(c)
        for c in itertools.product(CAPTCHA_ALPHABET, repeat=4)
        if hashlib.sha256("".join(c).encode()).digest() == digest
    )


def test_a_real_captcha_works_once(stack) -> None:
    client = httpx.Client(base_url=stack.gateway_url)
    captcha = client.get("/api/v1/auth/captcha").json()
    answer = captcha_answer(stack, captcha["captchaId"])
    body = {"username": "demo", "password": "Demo@2026", "captchaId": captcha["captchaId"]}
    assert client.post("/api/v1/auth/login", json={**body, "captchaCode": answer.lower()}).status_code == 200
    replay = client.post("/api/v1/auth/login", json={**body, "captchaCode": answer})
    assert replay.status_code == 400 and replay.json()["code"] == "CAPTCHA_INVALID"


def test_session_cookie_flags(stack) -> None:
    response = attempt(stack, "demo", "Demo@2026")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def nats_request(stack, subject: str, payload) -> tuple[bool, bytes]:
    async def ask() -> tuple[bool, bytes]:
        nc = await nats.connect(stack.infra.nats_url)
        try:
            msg = await nc.request(subject, msgspec.json.encode(payload), timeout=10)
        finally:
            await nc.close()
        return bool(msg.headers and msg.headers.get("Nats-Service-Error-Code")), msg.data

    return asyncio.run(ask())


def test_services_trust_only_actors_identity_signed(stack) -> None:
    client = login(stack.gateway_url)
    failed, data = nats_request(
        stack, identity.SESSION_VERIFY, identity.SessionToken(token=client.cookies.get("xh_session"))
    )
    signed = msgspec.json.decode(data, type=identity.Session).actor
    assert not failed and signed.signature

    ok, _ = nats_request(stack, coordination.LIST, coordination.ListQuery(actor=signed))
    assert ok is False  # the genuine actor works
    impostor = msgspec.structs.replace(signed, credit_code="91330206MA2H7C5D1A")  # claims another enterprise
    unsigned = msgspec.structs.replace(signed, signature="")
    for actor in (impostor, unsigned):
        failed, data = nats_request(stack, coordination.LIST, coordination.ListQuery(actor=actor))
        assert failed and msgspec.json.decode(data, type=ErrorReply).code == "ACTOR_INVALID"
    expired = msgspec.structs.replace(signed, expires_at=1)
    failed, data = nats_request(stack, attachment.LIST, attachment.ListAttachments(actor=expired, request_id="x"))
    assert failed and msgspec.json.decode(data, type=ErrorReply).code == "ACTOR_EXPIRED"


def test_nats_users_are_limited_to_their_own_subjects(stack) -> None:
    if not stack.infra.nats_passwords:
        pytest.skip("NATS was given from outside; its users are not ours to test")
    anonymous = stack.infra.nats_url.split("@", 1)[-1]

    async def probe() -> tuple[bool, bool, list[str]]:
        violations: list[str] = []

        async def on_error(exc: Exception) -> None:
            violations.append(str(exc))

        try:
            await nats.connect(
                "nats://" + anonymous, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2
            )
            anonymous_refused = False
        except Exception:
            anonymous_refused = True
        nc = await nats.connect(stack.infra.nats_url_for("coordination_request"), error_cb=on_error)
        try:
            forged = False
            try:  # a service cannot issue certificates …
                await nc.jetstream().publish("events.origin.certificate.issued.v1", b"{}", timeout=2)
                forged = True
            except Exception:
                pass
            await nc.subscribe("svc.identity.login")  # … nor answer another service's requests
            await nc.flush()
            await asyncio.sleep(0.2)  # the server's refusal arrives asynchronously
        finally:
            await nc.close()
        return anonymous_refused, forged, violations

    anonymous_refused, forged, violations = asyncio.run(probe())
    assert anonymous_refused
    assert not forged
    assert any("permissions violation" in v.lower() for v in violations), violations
