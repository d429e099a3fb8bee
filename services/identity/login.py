"""What the password login, the card login and the password change share: the lockout count per name, the
refusals they answer with, and the session a successful login opens."""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import msgspec

from services.identity.repository import Directory
from shared.actor_token import ActorSigner
from shared.contracts import identity as c
from shared.contracts.common import Actor
from shared.errors import ServiceError

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_MAX_AGE = timedelta(hours=12)
# A signed actor lives actor_token.TTL_SECONDS; it is reused until this close to its expiry, then signed anew.
RESIGN_BEFORE_SECONDS = 120
MAX_CACHED_SIGNATURES = 50_000


class AccountLocked(ServiceError):
    status, code, message = 423, "ACCOUNT_LOCKED", "登录失败次数过多，账号已锁定，请15分钟后再试"


class AccountDisabled(ServiceError):
    status, code, message = 403, "ACCOUNT_DISABLED", "账号已停用，请联系管理员"


def digest(value: str) -> bytes:
    """How tokens and captcha codes are kept: never in the clear."""
    return hashlib.sha256(value.encode()).digest()


def name_key(username: str) -> bytes:
    """Failures are counted per submitted name as normalised, so other spellings of a name share its count."""
    return digest(unicodedata.normalize("NFKC", username).strip().casefold())


async def count_attempt(directory: Directory, key: bytes) -> bool:
    """Counts a login try under its name before anything is checked; False when the name is locked. One
    statement, so however many tries arrive at once at most MAX_FAILED_ATTEMPTS get through."""
    return await directory.count_attempt(key, MAX_FAILED_ATTEMPTS, LOCKOUT)


class Sessions:
    """Opens sessions and signs the actor each carries, reusing a signature while it has well over a minute to live."""

    def __init__(self, signer: ActorSigner, idle: timedelta) -> None:
        self.signer = signer
        self.idle = idle
        self._signatures: dict[str, Actor] = {}  # user id -> the actor last signed for them

    async def open(
        self,
        directory: Directory,
        user_id: uuid.UUID,
        key: bytes,
        audit_success: Callable[[], Awaitable[None]],
    ) -> c.Session:
        """A successful login of either kind: the name's count cleared, a session, its audit record, together."""
        token = secrets.token_urlsafe(32)
        async with directory.transaction():
            await directory.clear_attempts(key)
            await directory.add_session(digest(token), user_id, SESSION_MAX_AGE)
            await audit_success()
        actor = await directory.actor(user_id)
        return c.Session(token=token, actor=self.signed(actor), idle_timeout_seconds=self.idle_seconds)

    @property
    def idle_seconds(self) -> int:
        return int(self.idle.total_seconds())

    def signed(self, actor: Actor) -> Actor:
        cached = self._signatures.get(actor.user_id)
        if cached and cached.expires_at - time.time() > RESIGN_BEFORE_SECONDS:
            if msgspec.structs.replace(cached, expires_at=0, signature="") == actor:
                return cached
        if len(self._signatures) >= MAX_CACHED_SIGNATURES:
            self._signatures.clear()
        signed = self._signatures[actor.user_id] = self.signer.sign(actor)
        return signed
