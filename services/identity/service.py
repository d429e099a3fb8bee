"""identity's request/reply endpoints: captcha, password login with lockout, session verify, logout."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from argon2.exceptions import InvalidHashError, VerificationError
from captcha.image import ImageCaptcha

from services.identity import accounts, passwords, seed, sessions
from services.identity.throttle import SlidingWindowLimit
from shared import audit
from shared.actor_token import ActorSigner, valid_private_key
from shared.bus import Endpoint
from shared.contracts import identity as c
from shared.contracts.audit import RECORD_REFUSAL, Refusal
from shared.contracts.common import Actor, Empty
from shared.errors import ServiceError, TooManyRequests, Unauthenticated
from shared.runtime import Context, ServiceDefinition
from shared.settings import Env, check_fixed_captcha

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
CAPTCHA_TTL = timedelta(minutes=5)
SESSION_MAX_AGE = timedelta(hours=12)
# A signed actor lives actor_token.TTL_SECONDS; it is reused until this close to its expiry, then signed anew.
RESIGN_BEFORE_SECONDS = 120
MAX_CACHED_SIGNATURES = 50_000
# Captcha images cost CPU (about 3 ms each): at most this many per client address, and in all, within any window
# (per replica). A person reloading the login page never meets the limit; an office behind one address rarely.
CAPTCHAS_PER_ADDRESS = 20
CAPTCHAS_OVERALL = 200
CAPTCHA_WINDOW_SECONDS = 10
# Letters and digits that cannot be mistaken for one another.
CAPTCHA_ALPHABET = "ACDEFHJKLMNPRTUVWXY345679"

hasher = passwords.hasher  # argon2id, shared with the password change and the admin command
_image = ImageCaptcha(width=120, height=44)
# Verified against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))


class LoginFailed(ServiceError):
    status, code, message = 401, "LOGIN_FAILED", "用户名或密码错误"


class CaptchaInvalid(ServiceError):
    status, code, message = 400, "CAPTCHA_INVALID", "验证码错误或已过期，请重新输入"


class AccountLocked(ServiceError):
    status, code, message = 423, "ACCOUNT_LOCKED", "登录失败次数过多，账号已锁定，请15分钟后再试"


class AccountDisabled(ServiceError):
    status, code, message = 403, "ACCOUNT_DISABLED", "账号已停用，请联系管理员"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _name_key(username: str) -> bytes:
    """Failures are counted per submitted name as normalised, so other spellings of a name share its count."""
    return _digest(unicodedata.normalize("NFKC", username).strip().casefold())


class Identity:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        settings: Settings = ctx.settings
        self.fixed_captcha = settings.captcha_fixed_code
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.signer = ActorSigner(settings.actor_signing_key)
        self._signatures: dict[str, Actor] = {}  # user id -> the actor last signed for them
        self.captcha_limit = SlidingWindowLimit(CAPTCHAS_PER_ADDRESS, CAPTCHAS_OVERALL, CAPTCHA_WINDOW_SECONDS)

    async def create_captcha(self, cmd: c.CaptchaRequest) -> c.Captcha:
        wait = self.captcha_limit.take(cmd.client_ip)  # before any work
        if wait:
            raise TooManyRequests(retry_after=wait)
        code = "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(4))
        captcha_id = uuid.uuid4()
        png = await asyncio.to_thread(lambda: _image.generate(code).getvalue())
        async with self.pool.acquire() as conn:
            # Purged here, where they are made: at most the throttle's rate, each an index range of a few rows.
            await conn.execute("DELETE FROM captchas WHERE expires_at < now()")
            await conn.execute("DELETE FROM login_failures WHERE expires_at < now()")
            await conn.execute(
                "INSERT INTO captchas (id, code_hash, expires_at) VALUES ($1, $2, now() + $3::interval)",
                captcha_id,
                _digest(code),
                CAPTCHA_TTL,
            )
        return c.Captcha(captcha_id=str(captcha_id), image_png=png)

    async def _check_captcha(self, conn: asyncpg.Connection, captcha_id: str, code: str) -> bool:
        try:
            cid = uuid.UUID(captcha_id)
        except ValueError:
            return False
        # Single use: the captcha is spent by any attempt, right or wrong.
        stored = await conn.fetchval(
            "UPDATE captchas SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()"
            " RETURNING code_hash",
            cid,
        )
        if stored is None:
            return False
        # The fixed dev/test code answers an issued, unspent captcha like its own code does, and no other.
        if self.fixed_captcha and hmac.compare_digest(code.strip().encode(), self.fixed_captcha.encode()):
            return True
        return hmac.compare_digest(bytes(stored), _digest(code.strip().upper()))

    async def login(self, cmd: c.LoginCommand) -> c.Session:
        async with self.pool.acquire() as conn:
            if not await self._check_captcha(conn, cmd.captcha_id, cmd.captcha_code):
                await self._audit(conn, cmd, None, "CAPTCHA_INVALID")
                raise CaptchaInvalid()
            user = await conn.fetchrow(
                "SELECT id, password_hash, disabled_at FROM users WHERE username = $1", cmd.username
            )
            user_id = user["id"] if user else None
            # Every name, existing or not, is treated alike: the attempt is counted before the password is
            # checked, in one statement, so that however many arrive at once at most MAX_FAILED_ATTEMPTS are
            # checked. A success clears the count; a failure leaves its attempt counted.
            name_key = _name_key(cmd.username)
            if not await self.count_attempt(conn, name_key):
                await self._audit(conn, cmd, user_id, "LOCKED")
                raise AccountLocked()
            ok = await asyncio.to_thread(self._verify, user["password_hash"] if user else _DUMMY_HASH, cmd.password)
            if user is None or not ok:
                await self._audit(conn, cmd, user_id, "BAD_CREDENTIALS")
                raise LoginFailed()
            if user["disabled_at"] is not None:  # told only to whoever knows the password
                await self._audit(conn, cmd, user_id, "DISABLED")
                raise AccountDisabled()
            return await self.open_session(
                conn, user["id"], name_key, lambda: self._audit(conn, cmd, user["id"], "SUCCESS")
            )

    @staticmethod
    async def count_attempt(conn: asyncpg.Connection, name_key: bytes) -> bool:
        """Counts a login try under its name before anything is checked; False when the name is locked. One
        statement, so however many tries arrive at once at most MAX_FAILED_ATTEMPTS get through."""
        counted = await conn.fetchval(
            "INSERT INTO login_failures AS f (name_key, attempts, expires_at) VALUES ($1, 1, now() + $3::interval)"
            " ON CONFLICT (name_key) DO UPDATE SET"
            " attempts = CASE WHEN f.expires_at <= now() THEN 1 ELSE f.attempts + 1 END,"
            " expires_at = now() + $3::interval"
            " WHERE f.expires_at <= now() OR f.attempts < $2"
            " RETURNING attempts",
            name_key,
            MAX_FAILED_ATTEMPTS,
            LOCKOUT,
        )
        return counted is not None

    async def open_session(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        name_key: bytes,
        audit_success: Callable[[], Awaitable[None]],
    ) -> c.Session:
        """A successful login of either kind: the name's count cleared, a session, its audit record, together."""
        token = secrets.token_urlsafe(32)
        async with conn.transaction():
            await conn.execute("DELETE FROM login_failures WHERE name_key = $1", name_key)
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)",
                _digest(token),
                user_id,
                SESSION_MAX_AGE,
            )
            await audit_success()
        actor = await self._actor(conn, user_id)
        return c.Session(token=token, actor=self._signed(actor), idle_timeout_seconds=int(self.idle.total_seconds()))

    @staticmethod
    def _verify(password_hash: str, password: str) -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify_session(self, cmd: c.SessionToken) -> c.Session:
        """One statement: the session touched (idle timeout) and its user read; the actor signed once and reused
        while its signature has well over a minute to live."""
        row = await self.pool.fetchrow(
            "WITH s AS (UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1 AND revoked_at IS NULL"
            " AND expires_at > now() AND last_seen_at > now() - $2::interval"
            " RETURNING user_id, extract(epoch FROM least(expires_at - now(), $2::interval)) AS valid_for)"
            f" SELECT s.valid_for, {ACTOR_COLUMNS} FROM s JOIN users u ON u.id = s.user_id"
            " LEFT JOIN enterprises e ON e.id = u.enterprise_id WHERE u.disabled_at IS NULL",
            _digest(cmd.token),
            self.idle,
        )
        if row is None:
            raise Unauthenticated("登录已失效，请重新登录", code="SESSION_EXPIRED")
        return c.Session(
            token=cmd.token,
            actor=self._signed(_actor_from(row)),
            idle_timeout_seconds=int(self.idle.total_seconds()),
            valid_for_seconds=float(row["valid_for"]),
        )

    def _signed(self, actor: Actor) -> Actor:
        cached = self._signatures.get(actor.user_id)
        if cached and cached.expires_at - time.time() > RESIGN_BEFORE_SECONDS:
            if msgspec.structs.replace(cached, expires_at=0, signature="") == actor:
                return cached
        if len(self._signatures) >= MAX_CACHED_SIGNATURES:
            self._signatures.clear()
        signed = self._signatures[actor.user_id] = self.signer.sign(actor)
        return signed

    async def logout(self, cmd: c.SessionToken) -> Empty:
        async with self.pool.acquire() as conn, conn.transaction():
            ended = await conn.fetchrow(
                "UPDATE sessions s SET revoked_at = now() FROM users u"
                " LEFT JOIN enterprises e ON e.id = u.enterprise_id"
                " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND u.id = s.user_id"
                " RETURNING u.id, u.username, e.credit_code",
                _digest(cmd.token),
            )
            if ended:
                await audit.record(conn, actor=ended["username"], enterprise=ended["credit_code"], action="LOGOUT")
                await sessions.announce(conn, ended["id"], "LOGOUT")
        return Empty()

    async def record_refusal(self, cmd: Refusal) -> Empty:
        """The gateway's refusals (401/403/404) join the audit trail here: the gateway has no database."""
        await audit.record(
            self.pool,
            actor=cmd.who[:200],
            enterprise=cmd.enterprise,
            action=cmd.action[:200],
            target=cmd.target[:500],
            result=cmd.result,
            client=cmd.client[:64],
        )
        return Empty()

    @staticmethod
    async def _actor(conn: asyncpg.Connection, user_id: uuid.UUID) -> Actor:
        row = await conn.fetchrow(
            f"SELECT {ACTOR_COLUMNS} FROM users u LEFT JOIN enterprises e ON e.id = u.enterprise_id WHERE u.id = $1",
            user_id,
        )
        return _actor_from(row)

    @staticmethod
    async def _audit(conn: asyncpg.Connection, cmd: c.LoginCommand, user_id: Any, outcome: str) -> None:
        # A name that is no account is kept only as a short digest: it may be a password typed in the wrong field.
        who = cmd.username[:200] if user_id else "unknown:" + _name_key(cmd.username).hex()[:12]
        await conn.execute(
            "INSERT INTO login_audit (username, user_id, outcome, client_ip) VALUES ($1, $2, $3, $4)",
            who,
            user_id,
            outcome,
            cmd.client_ip[:64],
        )
        result = audit.SUCCESS if outcome == "SUCCESS" else outcome
        await audit.record(conn, actor=who, action="LOGIN", result=result, client=cmd.client_ip[:64])


ACTOR_COLUMNS = "u.id, u.username, u.display_name, u.role, e.credit_code, e.name AS enterprise_name, e.customs_code"


def _actor_from(row: asyncpg.Record) -> Actor:
    return Actor(
        user_id=str(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        credit_code=row["credit_code"],
        enterprise_name=row["enterprise_name"],
        customs_code=row["customs_code"],
    )


@dataclass(frozen=True)
class Settings:
    actor_signing_key: str
    session_idle_minutes: int = 30
    captcha_fixed_code: str | None = None  # dev and test profiles only

    @classmethod
    def from_env(cls, env: Env, profile: str) -> Settings:
        settings = cls(
            actor_signing_key=env.str("ACTOR_SIGNING_KEY"),
            session_idle_minutes=env.int("SESSION_IDLE_MINUTES", 30),
            captcha_fixed_code=env.optional("CAPTCHA_FIXED_CODE"),
        )
        check_fixed_captcha(env, profile, settings.captcha_fixed_code)
        env.require(
            not settings.actor_signing_key or valid_private_key(settings.actor_signing_key),
            "ACTOR_SIGNING_KEY must be a base64 Ed25519 private key",
        )
        return settings


def endpoints(ctx: Context) -> list[Endpoint]:
    from services.identity import cards  # card-medium login builds on this module, so it is imported here

    svc = Identity(ctx)
    return [
        Endpoint(c.CAPTCHA_CREATE, c.CaptchaRequest, svc.create_captcha),
        Endpoint(c.LOGIN, c.LoginCommand, svc.login),
        Endpoint(c.SESSION_VERIFY, c.SessionToken, svc.verify_session),
        Endpoint(c.LOGOUT, c.SessionToken, svc.logout),
        Endpoint(RECORD_REFUSAL, Refusal, svc.record_refusal),
        *cards.endpoints(svc),
        *accounts.endpoints(ctx),
    ]


definition = ServiceDefinition(
    name="identity",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    seed=seed.seed,
    settings=Settings.from_env,
)
