"""identity's handlers against an in-memory directory: captcha, password login and its lockout, session verify,
logout, the password change and the card login, each success and refusal with its code and what it records."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from services.identity import passwords, sm2
from services.identity.accounts import OLD_PASSWORD_REQUIRED, WRONG_OLD_PASSWORD, Accounts
from services.identity.cards import CardLogin
from services.identity.login import MAX_FAILED_ATTEMPTS, Sessions, digest
from services.identity.repository import (
    Card,
    Directory,
    EndedSession,
    LiveSession,
    LoginUser,
    SessionUser,
    SpentChallenge,
    Store,
)
from services.identity.service import CAPTCHAS_PER_ADDRESS, Identity
from shared.actor_token import ActorSigner, generate_keypair
from shared.contracts import card as cc
from shared.contracts import identity as c
from shared.contracts.audit import Refusal
from shared.contracts.common import Actor
from shared.errors import ServiceError

pytestmark = pytest.mark.anyio

FIXED = "8888"
PASSWORD = "Demo@2026"
IDLE = timedelta(minutes=30)
CARD_NO = "8800000000042"
CARD_KEY = sm2.private_key_from_seed(b"test card of demo")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class User:
    id: uuid.UUID
    username: str
    password_hash: str
    role: str = "ENTERPRISE"
    credit_code: str | None = "91310115MA1K4B2X0T"
    disabled: bool = False


@dataclass
class Records:
    """identity's tables as dictionaries; `now` is the database's clock, in seconds, moved by the tests."""

    now: float = 0.0
    users: dict[str, User] = field(default_factory=dict)
    captchas: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    failures: dict[bytes, tuple[int, float]] = field(default_factory=dict)  # name key -> (attempts, expires)
    sessions: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # card no -> (public key, username)
    challenges: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    login_audit: list[tuple[str, uuid.UUID | None, str]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # (user id, reason) of SessionsEnded
    lose_next_password_race: bool = False

    def user_by_id(self, user_id: uuid.UUID) -> User:
        return next(u for u in self.users.values() if u.id == user_id)


class InMemoryDirectory(Directory):
    def __init__(self, records: Records) -> None:
        self.r = records

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(self.r.__dict__)
        try:
            yield
        except BaseException:
            self.r.__dict__.update(saved)  # rolled back
            raise

    async def purge_expired_logins(self) -> None:
        self.r.captchas = {k: v for k, v in self.r.captchas.items() if v["expires"] >= self.r.now}
        self.r.failures = {k: v for k, v in self.r.failures.items() if v[1] >= self.r.now}

    async def add_captcha(self, captcha_id: uuid.UUID, code_hash: bytes, ttl: timedelta) -> None:
        self.r.captchas[captcha_id] = {"hash": code_hash, "expires": self.r.now + ttl.total_seconds(), "used": False}

    async def spend_captcha(self, captcha_id: uuid.UUID) -> bytes | None:
        captcha = self.r.captchas.get(captcha_id)
        if captcha is None or captcha["used"] or captcha["expires"] <= self.r.now:
            return None
        captcha["used"] = True
        return captcha["hash"]

    async def count_attempt(self, name_key: bytes, limit: int, lockout: timedelta) -> bool:
        attempts, expires = self.r.failures.get(name_key, (0, 0.0))
        if expires <= self.r.now:
            attempts = 0
        if attempts >= limit:
            return False
        self.r.failures[name_key] = (attempts + 1, self.r.now + lockout.total_seconds())
        return True

    async def clear_attempts(self, name_key: bytes) -> None:
        self.r.failures.pop(name_key, None)

    async def login_user(self, username: str) -> LoginUser | None:
        user = self.r.users.get(username)
        return None if user is None else LoginUser(user.id, user.password_hash, user.disabled)

    async def actor(self, user_id: uuid.UUID) -> Actor:
        user = self.r.user_by_id(user_id)
        return Actor(
            user_id=str(user.id),
            username=user.username,
            display_name=user.username.upper(),
            role=user.role,
            credit_code=user.credit_code,
        )

    async def add_session(self, token_hash: bytes, user_id: uuid.UUID, max_age: timedelta) -> None:
        self.r.sessions[token_hash] = {
            "user": user_id,
            "expires": self.r.now + max_age.total_seconds(),
            "seen": self.r.now,
            "revoked": False,
        }

    def _live(self, token_hash: bytes, idle: timedelta) -> dict[str, Any] | None:
        s = self.r.sessions.get(token_hash)
        if s is None or s["revoked"] or s["expires"] <= self.r.now or s["seen"] <= self.r.now - idle.total_seconds():
            return None
        return None if self.r.user_by_id(s["user"]).disabled else s

    async def touch_session(self, token_hash: bytes, idle: timedelta) -> LiveSession | None:
        s = self._live(token_hash, idle)
        if s is None:
            return None
        s["seen"] = self.r.now
        return LiveSession(await self.actor(s["user"]), min(s["expires"] - self.r.now, idle.total_seconds()))

    async def session_user(self, token_hash: bytes, idle: timedelta) -> SessionUser | None:
        s = self._live(token_hash, idle)
        if s is None:
            return None
        user = self.r.user_by_id(s["user"])
        return SessionUser(user.id, user.username, user.password_hash, user.credit_code)

    async def end_session(self, token_hash: bytes) -> EndedSession | None:
        s = self.r.sessions.get(token_hash)
        if s is None or s["revoked"]:
            return None
        s["revoked"] = True
        user = self.r.user_by_id(s["user"])
        return EndedSession(user.id, user.username, user.credit_code)

    async def end_sessions(self, user_id: uuid.UUID, reason: str, *, keep: bytes | None = None) -> int:
        ended = [s for h, s in self.r.sessions.items() if s["user"] == user_id and not s["revoked"] and h != keep]
        for s in ended:
            s["revoked"] = True
        if ended:
            await self.sessions_ended(user_id, reason)
        return len(ended)

    async def sessions_ended(self, user_id: uuid.UUID, reason: str) -> None:
        self.r.events.append((str(user_id), reason))

    async def change_password(self, user_id: uuid.UUID, new_hash: str, *, old_hash: str) -> bool:
        user = self.r.user_by_id(user_id)
        if self.r.lose_next_password_race:  # another change committed first
            user.password_hash = passwords.hasher.hash("Other#Change99")
        if user.password_hash != old_hash:
            return False
        user.password_hash = new_hash
        return True

    async def record_login(self, *, who: str, user_id: uuid.UUID | None, outcome: str, **audit: Any) -> None:
        self.r.login_audit.append((who, user_id, outcome))
        await self.audit(actor=who, **audit)

    async def audit(self, **record: Any) -> None:
        self.r.audit.append({"result": "SUCCESS", "enterprise": "", "target": ""} | record)

    async def add_challenge(self, challenge_id: uuid.UUID, card_no: str, nonce: bytes, ttl: timedelta) -> None:
        self.r.challenges[challenge_id] = {
            "card_no": card_no,
            "nonce": nonce,
            "expires": self.r.now + ttl.total_seconds(),
            "used": False,
        }

    async def card(self, card_no: str) -> Card | None:
        if card_no not in self.r.cards:
            return None
        public_key, username = self.r.cards[card_no]
        user = self.r.users[username]
        return Card(public_key, user.id, user.username, user.disabled)

    async def challenged_card(self, challenge_id: uuid.UUID) -> str | None:
        challenge = self.r.challenges.get(challenge_id)
        return challenge["card_no"] if challenge else None

    async def spend_challenge(self, challenge_id: uuid.UUID) -> SpentChallenge | None:
        challenge = self.r.challenges.get(challenge_id)
        if challenge is None or challenge["used"]:
            return None
        challenge["used"] = True
        return SpentChallenge(challenge["card_no"], challenge["nonce"], challenge["expires"] > self.r.now)


class InMemoryStore(Store):
    def __init__(self, records: Records) -> None:
        self.records = records

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Directory]:
        yield InMemoryDirectory(self.records)

    def within(self, conn: Any) -> Directory:
        return InMemoryDirectory(self.records)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Directory]:
        directory = InMemoryDirectory(self.records)
        async with directory.transaction():
            yield directory


_HASH = passwords.hasher.hash(PASSWORD)  # hashed once: argon2id is slow on purpose


@dataclass
class Service:
    records: Records
    identity: Identity
    accounts: Accounts
    cards: CardLogin


@pytest.fixture
def svc() -> Service:
    records = Records()
    records.users["demo"] = User(uuid.uuid4(), "demo", _HASH)
    records.users["demo2"] = User(uuid.uuid4(), "demo2", _HASH, credit_code="91330206MA2H7C5D1A")
    records.cards[CARD_NO] = (sm2.public_key(CARD_KEY), "demo")
    store = InMemoryStore(records)
    sessions = Sessions(ActorSigner(generate_keypair()[0]), IDLE)
    return Service(records, Identity(store, sessions, FIXED), Accounts(store, IDLE), CardLogin(store, sessions))


def refused(error: pytest.ExceptionInfo[ServiceError]) -> tuple[int, str]:
    return error.value.status, error.value.code


async def captcha(svc: Service, ip: str = "10.0.0.1") -> str:
    return (await svc.identity.create_captcha(c.CaptchaRequest(client_ip=ip))).captcha_id


async def login(svc: Service, username: str = "demo", password: str = PASSWORD, code: str = FIXED) -> c.Session:
    return await svc.identity.login(
        c.LoginCommand(
            username=username, password=password, captcha_id=await captcha(svc), captcha_code=code, client_ip="10.0.0.1"
        )
    )


# --- captcha and password login ------------------------------------------------------------------------


async def test_a_captcha_is_an_image_and_its_code_is_kept_only_as_a_digest(svc: Service) -> None:
    made = await svc.identity.create_captcha(c.CaptchaRequest(client_ip="10.0.0.1"))
    assert made.image_png.startswith(b"\x89PNG")
    kept = svc.records.captchas[uuid.UUID(made.captcha_id)]
    assert len(kept["hash"]) == 32 and not kept["used"]


async def test_captchas_are_throttled_per_address(svc: Service) -> None:
    for _ in range(CAPTCHAS_PER_ADDRESS):
        await captcha(svc, "10.9.9.9")
    with pytest.raises(ServiceError) as error:
        await captcha(svc, "10.9.9.9")
    assert refused(error) == (429, "TOO_MANY_REQUESTS") and error.value.retry_after
    await captcha(svc, "10.9.9.10")  # another address is not held up


async def test_login_opens_a_signed_session_and_clears_the_count(svc: Service) -> None:
    with pytest.raises(ServiceError):
        await login(svc, password="Wrong#Pass1")
    session = await login(svc)
    assert session.actor.username == "demo" and session.actor.signature
    assert session.idle_timeout_seconds == int(IDLE.total_seconds())
    assert digest(session.token) in svc.records.sessions
    assert svc.records.failures == {}
    assert [outcome for *_, outcome in svc.records.login_audit] == ["BAD_CREDENTIALS", "SUCCESS"]
    assert svc.records.audit[-1] == {
        "actor": "demo",
        "action": "LOGIN",
        "result": "SUCCESS",
        "enterprise": "",
        "target": "",
        "client": "10.0.0.1",
    }


async def test_a_captcha_is_single_use_and_a_wrong_code_refused(svc: Service) -> None:
    cid = await captcha(svc)
    cmd = c.LoginCommand(username="demo", password=PASSWORD, captcha_id=cid, captcha_code=FIXED, client_ip="")
    await svc.identity.login(cmd)
    with pytest.raises(ServiceError) as spent:
        await svc.identity.login(cmd)
    assert refused(spent) == (400, "CAPTCHA_INVALID")
    with pytest.raises(ServiceError) as wrong:
        await login(svc, code="1234")
    assert refused(wrong) == (400, "CAPTCHA_INVALID")
    with pytest.raises(ServiceError) as malformed:
        await svc.identity.login(msgspec.structs.replace(cmd, captcha_id="not-a-uuid"))
    assert refused(malformed) == (400, "CAPTCHA_INVALID")
    assert svc.records.login_audit[-1][2] == "CAPTCHA_INVALID"


async def test_an_expired_captcha_is_refused(svc: Service) -> None:
    cid = await captcha(svc)
    svc.records.now += 301
    cmd = c.LoginCommand(username="demo", password=PASSWORD, captcha_id=cid, captcha_code=FIXED, client_ip="")
    with pytest.raises(ServiceError) as error:
        await svc.identity.login(cmd)
    assert refused(error) == (400, "CAPTCHA_INVALID")


async def test_wrong_password_and_unknown_user_get_the_same_refusal(svc: Service) -> None:
    with pytest.raises(ServiceError) as wrong:
        await login(svc, password="Wrong#Pass1")
    with pytest.raises(ServiceError) as unknown:
        await login(svc, username="nobody")
    assert refused(wrong) == refused(unknown) == (401, "LOGIN_FAILED")
    who, user_id, _ = svc.records.login_audit[-1]
    assert who.startswith("unknown:") and "nobody" not in who and user_id is None


async def test_five_failures_lock_the_name_even_for_the_right_password(svc: Service) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(ServiceError) as error:
            await login(svc, password="Wrong#Pass1")
        assert refused(error) == (401, "LOGIN_FAILED")
    with pytest.raises(ServiceError) as locked:
        await login(svc, username=" DEMO ")  # another spelling of the name shares its count
    assert refused(locked) == (423, "ACCOUNT_LOCKED")
    svc.records.now += 15 * 60 + 1
    assert (await login(svc)).actor.username == "demo"


async def test_a_disabled_user_is_told_only_after_the_right_password(svc: Service) -> None:
    svc.records.users["demo"].disabled = True
    with pytest.raises(ServiceError) as wrong:
        await login(svc, password="Wrong#Pass1")
    assert refused(wrong) == (401, "LOGIN_FAILED")
    with pytest.raises(ServiceError) as disabled:
        await login(svc)
    assert refused(disabled) == (403, "ACCOUNT_DISABLED")
    assert svc.records.sessions == {}


# --- sessions ------------------------------------------------------------------------------------------


async def test_verify_touches_the_session_and_reuses_the_signature(svc: Service) -> None:
    session = await login(svc)
    svc.records.now += 600
    verified = await svc.identity.verify_session(c.SessionToken(token=session.token))
    assert verified.actor == session.actor  # the signature is reused, not made again
    assert verified.valid_for_seconds == IDLE.total_seconds()
    svc.records.now += 1700  # within the idle timeout of the touch, past that of the login
    assert (await svc.identity.verify_session(c.SessionToken(token=session.token))).actor.username == "demo"


async def test_verify_refuses_unknown_idle_and_disabled_sessions(svc: Service) -> None:
    with pytest.raises(ServiceError) as unknown:
        await svc.identity.verify_session(c.SessionToken(token="made-up"))
    assert refused(unknown) == (401, "SESSION_EXPIRED")
    idle = await login(svc)
    svc.records.now += IDLE.total_seconds() + 1
    with pytest.raises(ServiceError) as timed_out:
        await svc.identity.verify_session(c.SessionToken(token=idle.token))
    assert refused(timed_out) == (401, "SESSION_EXPIRED")
    fresh = await login(svc)
    svc.records.users["demo"].disabled = True
    with pytest.raises(ServiceError) as disabled:
        await svc.identity.verify_session(c.SessionToken(token=fresh.token))
    assert refused(disabled) == (401, "SESSION_EXPIRED")


async def test_logout_ends_the_session_and_tells_the_gateways(svc: Service) -> None:
    session = await login(svc)
    await svc.identity.logout(c.SessionToken(token=session.token))
    with pytest.raises(ServiceError):
        await svc.identity.verify_session(c.SessionToken(token=session.token))
    demo = svc.records.users["demo"]
    assert svc.records.events == [(str(demo.id), "LOGOUT")]
    assert svc.records.audit[-1]["action"] == "LOGOUT" and svc.records.audit[-1]["enterprise"] == demo.credit_code
    await svc.identity.logout(c.SessionToken(token=session.token))  # a second logout changes nothing
    assert len(svc.records.events) == 1


async def test_the_gateways_refusals_join_the_audit_trail(svc: Service) -> None:
    await svc.identity.record_refusal(
        Refusal(who="demo", enterprise="E", action="GET /x", target="t" * 600, result="FORBIDDEN", client="10.0.0.1")
    )
    record = svc.records.audit[-1]
    assert record["result"] == "FORBIDDEN" and len(record["target"]) == 500 and record["client"] == "10.0.0.1"


# --- the password change -------------------------------------------------------------------------------


def change(session: c.Session, old: str, new: str) -> c.PasswordChange:
    return c.PasswordChange(token=session.token, old_password=old, new_password=new)


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(svc: Service) -> None:
    other, mine = await login(svc), await login(svc)
    changed = await svc.accounts.change_password(change(mine, PASSWORD, "Harbour#Line7"))
    demo = svc.records.users["demo"]
    assert changed == c.PasswordChanged(sessions_ended=1, user_id=str(demo.id))
    assert passwords.verify(demo.password_hash, "Harbour#Line7")
    assert svc.records.sessions[digest(other.token)]["revoked"]
    assert not svc.records.sessions[digest(mine.token)]["revoked"]
    assert svc.records.events == [(str(demo.id), "PASSWORD_CHANGED")]
    assert svc.records.audit[-1]["target"] == "sessionsEnded=1"


async def test_a_password_change_names_every_problem_at_once(svc: Service) -> None:
    mine = await login(svc)
    with pytest.raises(ServiceError) as wrong:
        await svc.accounts.change_password(change(mine, "Wrong#Pass1", "short"))
    assert refused(wrong) == (422, "VALIDATION_FAILED")
    assert [(f.field, f.message) for f in wrong.value.fields] == [
        ("oldPassword", WRONG_OLD_PASSWORD),
        *(("newPassword", p) for p in passwords.problems("short")),
    ]
    with pytest.raises(ServiceError) as missing:
        await svc.accounts.change_password(change(mine, "", "Harbour#Line7"))
    assert [(f.field, f.message) for f in missing.value.fields] == [("oldPassword", OLD_PASSWORD_REQUIRED)]
    with pytest.raises(ServiceError) as same:
        await svc.accounts.change_password(change(mine, PASSWORD, PASSWORD))
    assert [f.message for f in same.value.fields] == [passwords.SAME_AS_OLD]
    assert [(a["result"], a["target"]) for a in svc.records.audit if a["action"] == "PASSWORD_CHANGE"] == [
        ("REFUSED", "newPassword,oldPassword"),
        ("REFUSED", "oldPassword"),
        ("REFUSED", "newPassword"),
    ]
    assert passwords.verify(svc.records.users["demo"].password_hash, PASSWORD)


async def test_the_old_password_counts_toward_the_lockout(svc: Service) -> None:
    mine = await login(svc)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(ServiceError):
            await svc.accounts.change_password(change(mine, "Wrong#Pass1", "Harbour#Line7"))
    with pytest.raises(ServiceError) as locked:
        await svc.accounts.change_password(change(mine, PASSWORD, "Harbour#Line7"))
    assert refused(locked) == (423, "ACCOUNT_LOCKED")


async def test_of_two_changes_at_once_the_loser_is_told_and_nothing_of_it_is_kept(svc: Service) -> None:
    other, mine = await login(svc), await login(svc)
    svc.records.lose_next_password_race = True
    with pytest.raises(ServiceError) as lost:
        await svc.accounts.change_password(change(mine, PASSWORD, "Harbour#Line7"))
    assert refused(lost) == (409, "VERSION_CONFLICT")
    assert not svc.records.sessions[digest(other.token)]["revoked"] and svc.records.events == []


async def test_a_password_change_needs_a_live_session(svc: Service) -> None:
    with pytest.raises(ServiceError) as error:
        await svc.accounts.change_password(c.PasswordChange(token="x", old_password=PASSWORD, new_password="A#b12345"))
    assert refused(error) == (401, "SESSION_EXPIRED")


# --- card-medium login ---------------------------------------------------------------------------------


async def challenge(svc: Service, card_no: str = CARD_NO) -> cc.CardChallenge:
    return await svc.cards.challenge(cc.CardChallengeRequest(card_no=card_no, client_ip="10.0.0.1"))


def card_login(issued: cc.CardChallenge, signature: bytes, card_no: str = CARD_NO) -> cc.CardLoginCommand:
    return cc.CardLoginCommand(
        card_no=card_no, challenge_id=issued.challenge_id, signature_hex=signature.hex(), client_ip="10.0.0.1"
    )


async def test_a_card_signature_of_the_challenge_opens_a_session(svc: Service) -> None:
    issued = await challenge(svc)
    assert len(bytes.fromhex(issued.nonce_hex)) == 32 and issued.expires_in_seconds == 120
    session = await svc.cards.login(card_login(issued, sm2.sign(CARD_KEY, bytes.fromhex(issued.nonce_hex))))
    assert session.actor.username == "demo" and digest(session.token) in svc.records.sessions
    assert svc.records.login_audit[-1] == ("demo", svc.records.users["demo"].id, "CARD_SUCCESS")
    assert svc.records.audit[-1]["action"] == "CARD_LOGIN" and svc.records.audit[-1]["target"] == CARD_NO


async def test_a_malformed_card_number_is_a_field_error(svc: Service) -> None:
    with pytest.raises(ServiceError) as error:
        await challenge(svc, "../x")
    assert refused(error) == (422, "VALIDATION_FAILED") and error.value.fields[0].field == "cardNo"


async def test_card_login_refusals(svc: Service) -> None:
    issued = await challenge(svc)
    nonce = bytes.fromhex(issued.nonce_hex)
    with pytest.raises(ServiceError) as forged:
        await svc.cards.login(card_login(issued, sm2.sign(sm2.private_key_from_seed(b"another card"), nonce)))
    assert refused(forged) == (401, "CARD_SIGNATURE_INVALID")
    with pytest.raises(ServiceError) as replayed:  # the challenge was spent by the failed try
        await svc.cards.login(card_login(issued, sm2.sign(CARD_KEY, nonce)))
    assert refused(replayed) == (401, "CARD_CHALLENGE_INVALID")
    late = await challenge(svc)
    svc.records.now += 121
    with pytest.raises(ServiceError) as expired:
        await svc.cards.login(card_login(late, sm2.sign(CARD_KEY, bytes.fromhex(late.nonce_hex))))
    assert refused(expired) == (401, "CARD_CHALLENGE_EXPIRED")
    made_up = cc.CardChallenge(challenge_id=str(uuid.uuid4()), nonce_hex=nonce.hex(), expires_in_seconds=120)
    with pytest.raises(ServiceError) as unknown:
        await svc.cards.login(card_login(made_up, sm2.sign(CARD_KEY, nonce)))
    assert refused(unknown) == (401, "CARD_CHALLENGE_INVALID")
    assert [o for *_, o in svc.records.login_audit] == [
        "CARD_SIGNATURE_INVALID",
        "CARD_CHALLENGE_INVALID",
        "CARD_CHALLENGE_EXPIRED",
        "CARD_CHALLENGE_INVALID",
    ]


async def test_only_tries_on_a_challenge_for_that_card_count_toward_the_lockout(svc: Service) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS + 2):  # a challenge of another card: refused, never counted
        other = await challenge(svc, "8800000000099")
        with pytest.raises(ServiceError) as error:
            await svc.cards.login(card_login(other, bytes(64)))
        assert refused(error) == (401, "CARD_CHALLENGE_INVALID")
    assert svc.records.failures == {}
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(ServiceError):
            await svc.cards.login(card_login(await challenge(svc), bytes(64)))
    issued = await challenge(svc)
    with pytest.raises(ServiceError) as locked:
        await svc.cards.login(card_login(issued, sm2.sign(CARD_KEY, bytes.fromhex(issued.nonce_hex))))
    assert refused(locked) == (423, "ACCOUNT_LOCKED")
    with pytest.raises(ServiceError) as password:  # the same lock as the password login's
        await login(svc)
    assert refused(password) == (423, "ACCOUNT_LOCKED")


async def test_a_disabled_card_holder_is_told_only_after_a_valid_signature(svc: Service) -> None:
    svc.records.users["demo"].disabled = True
    issued = await challenge(svc)
    with pytest.raises(ServiceError) as error:
        await svc.cards.login(card_login(issued, sm2.sign(CARD_KEY, bytes.fromhex(issued.nonce_hex))))
    assert refused(error) == (403, "ACCOUNT_DISABLED")
