"""Card-medium login (卡介质登录) against the whole stack: challenge → SM2 signature → the same session as a password
login; replay, expiry, a foreign card and a wrong signature are refused and count toward the lockout."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from services.identity import sm2
from services.identity.card_agent import keyfile
from shared import demo
from shared.devstack.stack import FIXED_CAPTCHA


def sql(stack, query: str, *args) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()

    asyncio.run(run())


def fetch(stack, query: str, *args) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.infra.database_url("identity"))
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def new_user_with_card(stack) -> tuple[str, str, bytes]:
    """A user of the demo enterprise with a card of its own: (username, card number, the card's private key)."""
    username, card_no, sk = f"card-{secrets.token_hex(4)}", "88" + str(secrets.randbelow(10**11)).zfill(11), b""
    sk = sm2.generate_private_key()
    user_id = uuid.uuid4()
    sql(
        stack,
        "INSERT INTO users (id, username, display_name, password_hash, role, enterprise_id)"
        " SELECT $1, $2, '持卡人', $3, 'ENTERPRISE', id FROM enterprises WHERE credit_code = $4",
        user_id,
        username,
        PasswordHasher().hash("Right@2026"),
        demo.HUAMAO.credit_code,
    )
    sql(
        stack,
        "INSERT INTO cards (card_no, user_id, public_key) VALUES ($1, $2, $3)",
        card_no,
        user_id,
        sm2.public_key(sk),
    )
    return username, card_no, sk


@pytest.fixture
def holder(stack) -> tuple[str, str, bytes]:
    return new_user_with_card(stack)


def challenge(client: httpx.Client, card_no: str) -> dict:
    response = client.post("/api/v1/auth/card/challenge", json={"cardNo": card_no})
    assert response.status_code == 200, response.text
    return response.json()


def card_login(client: httpx.Client, card_no: str, challenge_id: str, signature: str) -> httpx.Response:
    return client.post(
        "/api/v1/auth/card/login", json={"cardNo": card_no, "challengeId": challenge_id, "signature": signature}
    )


def signed(sk: bytes, issued: dict) -> str:
    return sm2.sign(sk, bytes.fromhex(issued["nonce"])).hex()


def test_the_demo_card_logs_in_with_the_same_session_as_a_password(stack, tmp_path) -> None:
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    card = demo.CARDS[0]
    issued = challenge(client, card.card_no)
    assert len(bytes.fromhex(issued["nonce"])) >= 16 and issued["expiresInSeconds"] == 120
    assert issued["agentUrl"].startswith("http://127.0.0.1:")
    assert challenge(client, card.card_no)["nonce"] != issued["nonce"]
    # Signed the way a user's machine does it: the agent's key file, unlocked by the PIN.
    key_file = keyfile.read_card(keyfile.demo_card_path(tmp_path))
    signature = keyfile.sign_challenge(key_file, card.pin, issued["nonce"])
    response = card_login(client, card.card_no, issued["challengeId"], signature)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "登录成功" and response.json()["user"]["username"] == "demo"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["enterprise"]["creditCode"] == demo.HUAMAO.credit_code
    assert client.get("/api/v1/coordination-requests").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_a_challenge_works_once(stack, holder) -> None:
    username, card_no, sk = holder
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    issued = challenge(client, card_no)
    signature = signed(sk, issued)
    first = card_login(client, card_no, issued["challengeId"], signature)
    assert first.status_code == 200 and first.json()["user"]["username"] == username
    replay = card_login(httpx.Client(base_url=stack.gateway_url), card_no, issued["challengeId"], signature)
    assert replay.status_code == 401
    assert replay.json()["code"] == "CARD_CHALLENGE_INVALID"
    assert replay.json()["message"] == "挑战码无效或已使用，请重新登录"
    unknown = card_login(client, card_no, str(uuid.uuid4()), signature)
    assert unknown.status_code == 401 and unknown.json()["code"] == "CARD_CHALLENGE_INVALID"
    assert card_login(client, card_no, "not-a-uuid", signature).json()["code"] == "CARD_CHALLENGE_INVALID"
    trail = fetch(stack, "SELECT actor, action, result FROM audit_log WHERE target = $1 ORDER BY id", card_no)
    assert [tuple(r) for r in trail] == [(username, "CARD_LOGIN", "SUCCESS")] + [
        (username, "CARD_LOGIN", "CARD_CHALLENGE_INVALID")
    ] * 3


def test_an_expired_challenge_is_refused(stack, holder) -> None:
    _, card_no, sk = holder
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    issued = challenge(client, card_no)
    sql(
        stack,
        "UPDATE card_challenges SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(issued["challengeId"]),
    )
    response = card_login(client, card_no, issued["challengeId"], signed(sk, issued))
    assert response.status_code == 401
    assert response.json() | {"fields": []} == {
        "code": "CARD_CHALLENGE_EXPIRED",
        "message": "挑战码已过期，请重新登录",
        "fields": [],
    }


def test_a_foreign_card_or_a_wrong_signature_is_refused(stack, holder) -> None:
    _, card_no, sk = holder
    _, other_card, other_sk = new_user_with_card(stack)
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)

    def refused(response: httpx.Response) -> None:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "CARD_SIGNATURE_INVALID"
        assert response.json()["message"] == "卡介质签名验证失败，请确认插入的是本人的卡"
        assert "set-cookie" not in response.headers

    # Signed by another card's key.
    issued = challenge(client, card_no)
    refused(card_login(client, card_no, issued["challengeId"], signed(other_sk, issued)))
    # Another user's card answering this card's challenge, with its own valid signature: the challenge was not
    # issued to it (refused without counting toward anyone's lockout).
    issued = challenge(client, card_no)
    borrowed = card_login(client, other_card, issued["challengeId"], signed(other_sk, issued))
    assert borrowed.status_code == 401 and borrowed.json()["code"] == "CARD_CHALLENGE_INVALID"
    # A wrong signature, a malformed one, and a card no one registered.
    issued = challenge(client, card_no)
    refused(card_login(client, card_no, issued["challengeId"], secrets.token_hex(64)))
    issued = challenge(client, card_no)
    refused(card_login(client, card_no, issued["challengeId"], "zz"))
    issued = challenge(client, "8899999999999")
    refused(card_login(client, "8899999999999", issued["challengeId"], signed(sk, issued)))
    # The right card still logs in afterwards (3 failures counted, then cleared).
    issued = challenge(client, card_no)
    assert card_login(client, card_no, issued["challengeId"], signed(sk, issued)).status_code == 200


def test_card_failures_count_toward_the_lockout(stack, holder) -> None:
    username, card_no, sk = holder
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    issued = challenge(client, card_no)
    good = signed(sk, issued)
    assert card_login(client, card_no, issued["challengeId"], secrets.token_hex(64)).status_code == 401
    assert card_login(client, card_no, issued["challengeId"], good).json()["code"] == "CARD_CHALLENGE_INVALID"  # replay
    expired = challenge(client, card_no)
    sql(stack, "UPDATE card_challenges SET expires_at = now() WHERE id = $1", uuid.UUID(expired["challengeId"]))
    assert card_login(client, card_no, expired["challengeId"], signed(sk, expired)).status_code == 401
    # A wrong password counts toward the same name as the card's failures.
    captcha_id = client.get("/api/v1/auth/captcha").json()["captchaId"]
    wrong = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": "Wrong@2026", "captchaId": captcha_id, "captchaCode": FIXED_CAPTCHA},
    )
    assert wrong.json()["code"] == "LOGIN_FAILED"
    _, _, other_sk = new_user_with_card(stack)
    issued = challenge(client, card_no)
    assert card_login(client, card_no, issued["challengeId"], signed(other_sk, issued)).status_code == 401  # 5th
    # Locked: even the right signature, and the right password, are refused for 15 minutes.
    issued = challenge(client, card_no)
    locked = card_login(client, card_no, issued["challengeId"], signed(sk, issued))
    assert locked.status_code == 423 and locked.json()["code"] == "ACCOUNT_LOCKED"
    captcha_id = client.get("/api/v1/auth/captcha").json()["captchaId"]
    by_password = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": "Right@2026", "captchaId": captcha_id, "captchaCode": FIXED_CAPTCHA},
    )
    assert by_password.status_code == 423
    assert client.get("/api/v1/me").status_code == 401


def test_challenge_input_is_checked(stack) -> None:
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    bad = client.post("/api/v1/auth/card/challenge", json={"cardNo": "卡号; drop"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "cardNo"
    assert client.post("/api/v1/auth/card/challenge", json={"cardNo": "8800000000001", "x": 1}).status_code in (
        400,
        422,
    )
    assert client.post("/api/v1/auth/card/login", json={"cardNo": "8800000000001"}).status_code in (400, 422)


def test_a_disabled_users_card_does_not_log_in(stack, holder) -> None:
    username, card_no, sk = holder
    sql(stack, "UPDATE users SET disabled_at = now() WHERE username = $1", username)
    client = httpx.Client(base_url=stack.gateway_url, timeout=30)
    issued = challenge(client, card_no)
    response = card_login(client, card_no, issued["challengeId"], signed(sk, issued))
    assert response.status_code == 403 and response.json()["code"] == "ACCOUNT_DISABLED"
    assert "set-cookie" not in response.headers


def test_cards_are_registered_and_revoked_with_the_admin_command(stack) -> None:
    from tests.accounts import admin, create_user

    username, _ = create_user(stack)
    sk = sm2.generate_private_key()
    card_no = "88" + str(secrets.randbelow(10**11)).zfill(11)
    bad = admin(stack, "card", "register", card_no, "--username", username, "--public-key", "04abcd")
    assert bad.returncode == 2 and "公钥不是有效的SM2公钥" in bad.stderr
    done = admin(stack, "card", "register", card_no, "--username", username, "--public-key", sm2.public_key(sk).hex())
    assert done.returncode == 0, done.stderr
    again = admin(stack, "card", "register", card_no, "--username", username, "--public-key", sm2.public_key(sk).hex())
    assert again.returncode == 2 and "卡号已登记" in again.stderr

    holder = httpx.Client(base_url=stack.gateway_url)
    issued = challenge(holder, card_no)
    assert card_login(holder, card_no, issued["challengeId"], signed(sk, issued)).status_code == 200
    assert holder.get("/api/v1/me").json()["username"] == username

    assert admin(stack, "card", "revoke", card_no).returncode == 0
    assert holder.get("/api/v1/me").status_code == 401  # the session opened with the card ended with it
    with httpx.Client(base_url=stack.gateway_url) as client:
        response = client.post("/api/v1/auth/card/challenge", json={"cardNo": card_no})
        if response.status_code == 200:  # a revoked card may still be asked for a challenge, but cannot log in
            refused = card_login(client, card_no, response.json()["challengeId"], signed(sk, response.json()))
            assert refused.status_code == 401, refused.text
    assert admin(stack, "card", "revoke", "8800000000000").returncode == 2


def test_made_up_challenges_do_not_lock_the_holder_out(stack, holder) -> None:
    _, card_no, sk = holder
    with httpx.Client(base_url=stack.gateway_url) as client:
        for _ in range(8):  # more than the lockout's five: an attacker who knows only the card number
            refused = card_login(client, card_no, str(uuid.uuid4()), secrets.token_hex(64))
            assert refused.status_code == 401 and refused.json()["code"] == "CARD_CHALLENGE_INVALID"
        issued = challenge(client, card_no)
        assert card_login(client, card_no, issued["challengeId"], signed(sk, issued)).status_code == 200
