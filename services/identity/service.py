"""identity's request/reply endpoints: captcha, password login with lockout, session verify, logout."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from captcha.image import ImageCaptcha

from services.identity import accounts, cards, passwords, seed
from services.identity.login import AccountDisabled, AccountLocked, Sessions, count_attempt, digest, name_key
from services.identity.repository import Directory, PostgresStore, Store
from services.identity.throttle import SlidingWindowLimit
from shared import audit
from shared.actor_token import ActorSigner, valid_private_key
from shared.bus import Endpoint
from shared.contracts import identity as c
from shared.contracts.audit import RECORD_REFUSAL, Refusal
from shared.contracts.common import Empty
from shared.errors import ServiceError, TooManyRequests, Unauthenticated
from shared.runtime import Context, ServiceDefinition
from shared.settings import Env, check_fixed_captcha

CAPTCHA_TTL = timedelta(minutes=5)
# Captcha images cost CPU (about 3 ms each): at most this many per client address, and in all, within any window
# (per replica). A person reloading the login page never meets the limit; an office behind one address rarely.
CAPTCHAS_PER_ADDRESS = 20
CAPTCHAS_OVERALL = 200
CAPTCHA_WINDOW_SECONDS = 10
# Letters and digits that cannot be mistaken for one another.
CAPTCHA_ALPHABET = "ACDEFHJKLMNPRTUVWXY345679"

_image = ImageCaptcha(width=120, height=44)
# Verified against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = passwords.hasher.hash(secrets.token_hex(16))


class LoginFailed(ServiceError):
    status, code, message = 401, "LOGIN_FAILED", "用户名或密码错误"


class CaptchaInvalid(ServiceError):
    status, code, message = 400, "CAPTCHA_INVALID", "验证码错误或已过期，请重新输入"


class Identity:
    def __init__(self, store: Store, sessions: Sessions, fixed_captcha: str | None) -> None:
        self.store = store
        self.sessions = sessions
        self.fixed_captcha = fixed_captcha
        self.captcha_limit = SlidingWindowLimit(CAPTCHAS_PER_ADDRESS, CAPTCHAS_OVERALL, CAPTCHA_WINDOW_SECONDS)

    async def create_captcha(self, cmd: c.CaptchaRequest) -> c.Captcha:
        wait = self.captcha_limit.take(cmd.client_ip)  # before any work
        if wait:
            raise TooManyRequests(retry_after=wait)
        code = "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(4))
        captcha_id = uuid.uuid4()
        png = await asyncio.to_thread(lambda: _image.generate(code).getvalue())
        async with self.store.reading() as directory:
            # Purged here, where they are made: at most the throttle's rate, each an index range of a few rows.
            await directory.purge_expired_logins()
            await directory.add_captcha(captcha_id, digest(code), CAPTCHA_TTL)
        return c.Captcha(captcha_id=str(captcha_id), image_png=png)

    async def _check_captcha(self, directory: Directory, captcha_id: str, code: str) -> bool:
        try:
            cid = uuid.UUID(captcha_id)
        except ValueError:
            return False
        # Single use: the captcha is spent by any attempt, right or wrong.
        stored = await directory.spend_captcha(cid)
        if stored is None:
            return False
        # The fixed dev/test code answers an issued, unspent captcha like its own code does, and no other.
        if self.fixed_captcha and hmac.compare_digest(code.strip().encode(), self.fixed_captcha.encode()):
            return True
        return hmac.compare_digest(stored, digest(code.strip().upper()))

    async def login(self, cmd: c.LoginCommand) -> c.Session:
        async with self.store.reading() as directory:
            if not await self._check_captcha(directory, cmd.captcha_id, cmd.captcha_code):
                await _audit(directory, cmd, None, "CAPTCHA_INVALID")
                raise CaptchaInvalid()
            user = await directory.login_user(cmd.username)
            user_id = user.id if user else None
            # Every name, existing or not, is treated alike: the attempt is counted before the password is
            # checked, in one statement, so that however many arrive at once at most MAX_FAILED_ATTEMPTS are
            # checked. A success clears the count; a failure leaves its attempt counted.
            key = name_key(cmd.username)
            if not await count_attempt(directory, key):
                await _audit(directory, cmd, user_id, "LOCKED")
                raise AccountLocked()
            ok = await asyncio.to_thread(passwords.verify, user.password_hash if user else _DUMMY_HASH, cmd.password)
            if user is None or not ok:
                await _audit(directory, cmd, user_id, "BAD_CREDENTIALS")
                raise LoginFailed()
            if user.disabled:  # told only to whoever knows the password
                await _audit(directory, cmd, user_id, "DISABLED")
                raise AccountDisabled()
            return await self.sessions.open(directory, user.id, key, lambda: _audit(directory, cmd, user.id, "SUCCESS"))

    async def verify_session(self, cmd: c.SessionToken) -> c.Session:
        """The session touched (idle timeout) and its user read; the actor signed once and reused while its
        signature has well over a minute to live."""
        async with self.store.reading() as directory:
            live = await directory.touch_session(digest(cmd.token), self.sessions.idle)
        if live is None:
            raise Unauthenticated("登录已失效，请重新登录", code="SESSION_EXPIRED")
        return c.Session(
            token=cmd.token,
            actor=self.sessions.signed(live.actor),
            idle_timeout_seconds=self.sessions.idle_seconds,
            valid_for_seconds=live.valid_for_seconds,
        )

    async def logout(self, cmd: c.SessionToken) -> Empty:
        async with self.store.transaction() as directory:
            ended = await directory.end_session(digest(cmd.token))
            if ended:
                await directory.audit(actor=ended.username, enterprise=ended.credit_code, action="LOGOUT")
                await directory.sessions_ended(ended.user_id, "LOGOUT")
        return Empty()

    async def record_refusal(self, cmd: Refusal) -> Empty:
        """The gateway's refusals (401/403/404) join the audit trail here: the gateway has no database."""
        async with self.store.reading() as directory:
            await directory.audit(
                actor=cmd.who[:200],
                enterprise=cmd.enterprise,
                action=cmd.action[:200],
                target=cmd.target[:500],
                result=cmd.result,
                client=cmd.client[:64],
            )
        return Empty()


async def _audit(directory: Directory, cmd: c.LoginCommand, user_id: uuid.UUID | None, outcome: str) -> None:
    # A name that is no account is kept only as a short digest: it may be a password typed in the wrong field.
    who = cmd.username[:200] if user_id else "unknown:" + name_key(cmd.username).hex()[:12]
    result = audit.SUCCESS if outcome == "SUCCESS" else outcome
    await directory.record_login(
        who=who, user_id=user_id, outcome=outcome, action="LOGIN", result=result, client=cmd.client_ip[:64]
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
    settings: Settings = ctx.settings
    store = PostgresStore(ctx.pool)
    sessions = Sessions(ActorSigner(settings.actor_signing_key), timedelta(minutes=settings.session_idle_minutes))
    svc = Identity(store, sessions, settings.captcha_fixed_code)
    return [
        Endpoint(c.CAPTCHA_CREATE, c.CaptchaRequest, svc.create_captcha),
        Endpoint(c.LOGIN, c.LoginCommand, svc.login),
        Endpoint(c.SESSION_VERIFY, c.SessionToken, svc.verify_session),
        Endpoint(c.LOGOUT, c.SessionToken, svc.logout),
        Endpoint(RECORD_REFUSAL, Refusal, svc.record_refusal),
        *cards.endpoints(store, sessions),
        *accounts.endpoints(store, sessions.idle),
    ]


definition = ServiceDefinition(
    name="identity",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    seed=seed.seed,
    settings=Settings.from_env,
)
