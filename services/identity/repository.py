"""Where identity keeps its enterprises, users, cards, captchas, sessions and login tries: the only code that knows
their tables, and that writes beside them the audit records and the sessions-ended events."""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from shared import audit, outbox, repository
from shared.contracts.common import Actor
from shared.contracts.events import SessionsEnded


@dataclass(frozen=True)
class LoginUser:
    """A user as the password login checks them."""

    id: uuid.UUID
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class SessionUser:
    """The user a live session belongs to, as the password change needs them."""

    id: uuid.UUID
    username: str
    password_hash: str
    credit_code: str | None


@dataclass(frozen=True)
class LiveSession:
    actor: Actor
    valid_for_seconds: float  # until the session's idle timeout or its end, whichever comes first


@dataclass(frozen=True)
class EndedSession:
    user_id: uuid.UUID
    username: str
    credit_code: str | None


@dataclass(frozen=True)
class Card:
    """A registered, unrevoked card and its holder."""

    public_key: bytes
    user_id: uuid.UUID
    username: str
    disabled: bool


@dataclass(frozen=True)
class SpentChallenge:
    card_no: str
    nonce: bytes
    live: bool  # not yet expired when it was spent


class AlreadyExists(Exception):
    """A username, credit code or card number that is taken."""


class Malformed(Exception):
    """A value the database's own check refuses (a card number)."""


class Directory(ABC):
    """identity's records as one connection sees them: each call is a statement of its own unless made inside
    `transaction()`."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The calls made inside stand or fall together."""

    # --- captchas and the lockout count -----------------------------------------------------------------

    @abstractmethod
    async def purge_expired_logins(self) -> None:
        """Drops expired captchas and expired login-failure counts."""

    @abstractmethod
    async def add_captcha(self, captcha_id: uuid.UUID, code_hash: bytes, ttl: timedelta) -> None: ...

    @abstractmethod
    async def spend_captcha(self, captcha_id: uuid.UUID) -> bytes | None:
        """Marks an issued, unspent, unexpired captcha used and returns its code's hash; None for any other."""

    @abstractmethod
    async def count_attempt(self, name_key: bytes, limit: int, lockout: timedelta) -> bool:
        """Counts a try under the name, in one statement; False (and not counted) when `limit` tries are already
        counted within `lockout`."""

    @abstractmethod
    async def clear_attempts(self, name_key: bytes) -> None: ...

    # --- users and sessions -------------------------------------------------------------------------------

    @abstractmethod
    async def login_user(self, username: str) -> LoginUser | None: ...

    @abstractmethod
    async def actor(self, user_id: uuid.UUID) -> Actor: ...

    @abstractmethod
    async def add_session(self, token_hash: bytes, user_id: uuid.UUID, max_age: timedelta) -> None: ...

    @abstractmethod
    async def touch_session(self, token_hash: bytes, idle: timedelta) -> LiveSession | None:
        """The live session of an enabled user, its idle timeout pushed out; None when it is not live."""

    @abstractmethod
    async def session_user(self, token_hash: bytes, idle: timedelta) -> SessionUser | None:
        """The enabled user of a live session, without touching it."""

    @abstractmethod
    async def end_session(self, token_hash: bytes) -> EndedSession | None:
        """Revokes one session; None when it was not live."""

    @abstractmethod
    async def end_sessions(self, user_id: uuid.UUID, reason: str, *, keep: bytes | None = None) -> int:
        """Revokes the user's live sessions (all but `keep`, a token hash) and, when there were any, records the
        sessions-ended event; call inside a transaction."""

    @abstractmethod
    async def sessions_ended(self, user_id: uuid.UUID, reason: str) -> None:
        """Records the event that makes every gateway drop its cached copies of the user's sessions."""

    @abstractmethod
    async def change_password(self, user_id: uuid.UUID, new_hash: str, *, old_hash: str) -> bool:
        """Sets the new hash only over `old_hash`, so of two changes at once one wins; False for the loser."""

    # --- the audit trail ----------------------------------------------------------------------------------

    @abstractmethod
    async def record_login(
        self,
        *,
        who: str,
        user_id: uuid.UUID | None,
        outcome: str,
        action: str,
        result: str,
        client: str,
        target: str = "",
    ) -> None:
        """A login try in the login audit and in the audit trail."""

    @abstractmethod
    async def audit(
        self,
        *,
        actor: str,
        action: str,
        result: str = audit.SUCCESS,
        enterprise: str | None = "",
        target: str = "",
        client: str | None = None,
    ) -> None: ...

    # --- card-medium login ------------------------------------------------------------------------------

    @abstractmethod
    async def add_challenge(self, challenge_id: uuid.UUID, card_no: str, nonce: bytes, ttl: timedelta) -> None:
        """Keeps a new challenge, dropping those expired over an hour ago."""

    @abstractmethod
    async def card(self, card_no: str) -> Card | None: ...

    @abstractmethod
    async def challenged_card(self, challenge_id: uuid.UUID) -> str | None:
        """The card number a challenge was issued for, spent or not."""

    @abstractmethod
    async def spend_challenge(self, challenge_id: uuid.UUID) -> SpentChallenge | None:
        """Marks an unspent challenge used; None when it was spent already (or never issued)."""


class Administration(Directory):
    """What the operators' command (services/identity/admin.py) and the demo seed do besides the handlers."""

    @abstractmethod
    async def add_enterprise(self, credit_code: str, name: str, customs_code: str) -> bool:
        """False when the credit code is taken."""

    @abstractmethod
    async def enterprise_id(self, credit_code: str) -> uuid.UUID | None: ...

    @abstractmethod
    async def user_id(self, username: str) -> uuid.UUID | None: ...

    @abstractmethod
    async def add_user(
        self,
        username: str,
        display_name: str,
        password_hash: str,
        role: str,
        enterprise_id: uuid.UUID | None,
        *,
        password_set_now: bool,
    ) -> None:
        """Raises AlreadyExists for a taken username."""

    @abstractmethod
    async def password_hash(self, user_id: uuid.UUID) -> str: ...

    @abstractmethod
    async def reset_password(self, user_id: uuid.UUID, password_hash: str) -> None: ...

    @abstractmethod
    async def set_disabled(self, user_id: uuid.UUID, disabled: bool) -> None:
        """Disabling keeps the first time it was disabled."""

    @abstractmethod
    async def add_card(self, card_no: str, user_id: uuid.UUID, public_key: bytes) -> None:
        """Raises AlreadyExists for a registered number, Malformed for a number the table refuses."""

    @abstractmethod
    async def add_demo_card(self, card_no: str, public_key: bytes, username: str) -> None:
        """Registers the card for the user unless the number is registered already."""

    @abstractmethod
    async def revoke_card(self, card_no: str) -> uuid.UUID | None:
        """Revokes the card (keeping the first revocation) and returns its holder; None when there is no card."""

    @abstractmethod
    async def sessions_announced(self, wait_seconds: float) -> bool:
        """Waits until the outbox relay has published every sessions-ended event; False if not within the wait."""


# identity's records on one connection (`reading`: each call a statement of its own) or in a transaction.
Store = repository.Store[Directory]


class PostgresStore(repository.PostgresStore[Directory]):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, PostgresDirectory)


ACTOR_COLUMNS = "u.id, u.username, u.display_name, u.role, e.credit_code, e.name AS enterprise_name, e.customs_code"


def _actor(row: asyncpg.Record) -> Actor:
    return Actor(
        user_id=str(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        credit_code=row["credit_code"],
        enterprise_name=row["enterprise_name"],
        customs_code=row["customs_code"],
    )


class PostgresDirectory(Administration):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self.conn.transaction():
            yield

    async def purge_expired_logins(self) -> None:
        await self.conn.execute("DELETE FROM captchas WHERE expires_at < now()")
        await self.conn.execute("DELETE FROM login_failures WHERE expires_at < now()")

    async def add_captcha(self, captcha_id: uuid.UUID, code_hash: bytes, ttl: timedelta) -> None:
        await self.conn.execute(
            "INSERT INTO captchas (id, code_hash, expires_at) VALUES ($1, $2, now() + $3::interval)",
            captcha_id,
            code_hash,
            ttl,
        )

    async def spend_captcha(self, captcha_id: uuid.UUID) -> bytes | None:
        stored = await self.conn.fetchval(
            "UPDATE captchas SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()"
            " RETURNING code_hash",
            captcha_id,
        )
        return None if stored is None else bytes(stored)

    async def count_attempt(self, name_key: bytes, limit: int, lockout: timedelta) -> bool:
        counted = await self.conn.fetchval(
            "INSERT INTO login_failures AS f (name_key, attempts, expires_at) VALUES ($1, 1, now() + $3::interval)"
            " ON CONFLICT (name_key) DO UPDATE SET"
            " attempts = CASE WHEN f.expires_at <= now() THEN 1 ELSE f.attempts + 1 END,"
            " expires_at = now() + $3::interval"
            " WHERE f.expires_at <= now() OR f.attempts < $2"
            " RETURNING attempts",
            name_key,
            limit,
            lockout,
        )
        return counted is not None

    async def clear_attempts(self, name_key: bytes) -> None:
        await self.conn.execute("DELETE FROM login_failures WHERE name_key = $1", name_key)

    async def login_user(self, username: str) -> LoginUser | None:
        row = await self.conn.fetchrow("SELECT id, password_hash, disabled_at FROM users WHERE username = $1", username)
        return None if row is None else LoginUser(row["id"], row["password_hash"], row["disabled_at"] is not None)

    async def actor(self, user_id: uuid.UUID) -> Actor:
        row = await self.conn.fetchrow(
            f"SELECT {ACTOR_COLUMNS} FROM users u LEFT JOIN enterprises e ON e.id = u.enterprise_id WHERE u.id = $1",
            user_id,
        )
        return _actor(row)

    async def add_session(self, token_hash: bytes, user_id: uuid.UUID, max_age: timedelta) -> None:
        await self.conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)",
            token_hash,
            user_id,
            max_age,
        )

    async def touch_session(self, token_hash: bytes, idle: timedelta) -> LiveSession | None:
        # One statement: the session touched (idle timeout) and its user read.
        row = await self.conn.fetchrow(
            "WITH s AS (UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1 AND revoked_at IS NULL"
            " AND expires_at > now() AND last_seen_at > now() - $2::interval"
            " RETURNING user_id, extract(epoch FROM least(expires_at - now(), $2::interval)) AS valid_for)"
            f" SELECT s.valid_for, {ACTOR_COLUMNS} FROM s JOIN users u ON u.id = s.user_id"
            " LEFT JOIN enterprises e ON e.id = u.enterprise_id WHERE u.disabled_at IS NULL",
            token_hash,
            idle,
        )
        return None if row is None else LiveSession(_actor(row), float(row["valid_for"]))

    async def session_user(self, token_hash: bytes, idle: timedelta) -> SessionUser | None:
        row = await self.conn.fetchrow(
            "SELECT u.id, u.username, u.password_hash, e.credit_code"
            " FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN enterprises e ON e.id = u.enterprise_id"
            " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
            " AND s.last_seen_at > now() - $2::interval AND u.disabled_at IS NULL",
            token_hash,
            idle,
        )
        return (
            None if row is None else SessionUser(row["id"], row["username"], row["password_hash"], row["credit_code"])
        )

    async def end_session(self, token_hash: bytes) -> EndedSession | None:
        row = await self.conn.fetchrow(
            "UPDATE sessions s SET revoked_at = now() FROM users u"
            " LEFT JOIN enterprises e ON e.id = u.enterprise_id"
            " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND u.id = s.user_id"
            " RETURNING u.id, u.username, e.credit_code",
            token_hash,
        )
        return None if row is None else EndedSession(row["id"], row["username"], row["credit_code"])

    async def end_sessions(self, user_id: uuid.UUID, reason: str, *, keep: bytes | None = None) -> int:
        ended = await self.conn.fetch(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL"
            " AND ($2::bytea IS NULL OR token_hash <> $2) RETURNING token_hash",
            user_id,
            keep,
        )
        if ended:
            await self.sessions_ended(user_id, reason)
        return len(ended)

    async def sessions_ended(self, user_id: uuid.UUID, reason: str) -> None:
        await outbox.record(self.conn, outbox.new_event(SessionsEnded, user_id=str(user_id), reason=reason))

    async def change_password(self, user_id: uuid.UUID, new_hash: str, *, old_hash: str) -> bool:
        changed = await self.conn.fetchval(
            "UPDATE users SET password_hash = $2, password_changed_at = now()"
            " WHERE id = $1 AND password_hash = $3 RETURNING id",
            user_id,
            new_hash,
            old_hash,
        )
        return changed is not None

    async def record_login(
        self,
        *,
        who: str,
        user_id: uuid.UUID | None,
        outcome: str,
        action: str,
        result: str,
        client: str,
        target: str = "",
    ) -> None:
        await self.conn.execute(
            "INSERT INTO login_audit (username, user_id, outcome, client_ip) VALUES ($1, $2, $3, $4)",
            who,
            user_id,
            outcome,
            client,
        )
        await audit.record(self.conn, actor=who, action=action, result=result, target=target, client=client)

    async def audit(
        self,
        *,
        actor: str,
        action: str,
        result: str = audit.SUCCESS,
        enterprise: str | None = "",
        target: str = "",
        client: str | None = None,
    ) -> None:
        await audit.record(
            self.conn, actor=actor, action=action, result=result, enterprise=enterprise, target=target, client=client
        )

    async def add_challenge(self, challenge_id: uuid.UUID, card_no: str, nonce: bytes, ttl: timedelta) -> None:
        await self.conn.execute("DELETE FROM card_challenges WHERE expires_at < now() - interval '1 hour'")
        await self.conn.execute(
            "INSERT INTO card_challenges (id, card_no, nonce, expires_at) VALUES ($1, $2, $3, now() + $4::interval)",
            challenge_id,
            card_no,
            nonce,
            ttl,
        )

    async def card(self, card_no: str) -> Card | None:
        row = await self.conn.fetchrow(
            "SELECT k.public_key, u.id AS user_id, u.username, u.disabled_at IS NOT NULL AS disabled"
            " FROM cards k JOIN users u ON u.id = k.user_id"
            " WHERE k.card_no = $1 AND k.revoked_at IS NULL",
            card_no,
        )
        return None if row is None else Card(bytes(row["public_key"]), row["user_id"], row["username"], row["disabled"])

    async def challenged_card(self, challenge_id: uuid.UUID) -> str | None:
        return await self.conn.fetchval("SELECT card_no FROM card_challenges WHERE id = $1", challenge_id)

    async def spend_challenge(self, challenge_id: uuid.UUID) -> SpentChallenge | None:
        row = await self.conn.fetchrow(
            "UPDATE card_challenges SET used_at = now() WHERE id = $1 AND used_at IS NULL"
            " RETURNING card_no, nonce, expires_at > now() AS live",
            challenge_id,
        )
        return None if row is None else SpentChallenge(row["card_no"], bytes(row["nonce"]), row["live"])

    async def add_enterprise(self, credit_code: str, name: str, customs_code: str) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO enterprises (id, credit_code, name, customs_code) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (credit_code) DO NOTHING RETURNING id",
            uuid.uuid4(),
            credit_code,
            name,
            customs_code,
        )
        return inserted is not None

    async def enterprise_id(self, credit_code: str) -> uuid.UUID | None:
        return await self.conn.fetchval("SELECT id FROM enterprises WHERE credit_code = $1", credit_code)

    async def user_id(self, username: str) -> uuid.UUID | None:
        return await self.conn.fetchval("SELECT id FROM users WHERE username = $1", username)

    async def add_user(
        self,
        username: str,
        display_name: str,
        password_hash: str,
        role: str,
        enterprise_id: uuid.UUID | None,
        *,
        password_set_now: bool,
    ) -> None:
        try:
            await self.conn.execute(
                "INSERT INTO users (id, username, display_name, password_hash, role, enterprise_id, password_changed_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)",
                uuid.uuid4(),
                username,
                display_name,
                password_hash,
                role,
                enterprise_id,
                password_set_now,
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(username) from None

    async def password_hash(self, user_id: uuid.UUID) -> str:
        return await self.conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)

    async def reset_password(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self.conn.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1", user_id, password_hash
        )

    async def set_disabled(self, user_id: uuid.UUID, disabled: bool) -> None:
        if disabled:
            await self.conn.execute(
                "UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1", user_id
            )
        else:
            await self.conn.execute("UPDATE users SET disabled_at = NULL WHERE id = $1", user_id)

    async def add_card(self, card_no: str, user_id: uuid.UUID, public_key: bytes) -> None:
        try:
            await self.conn.execute(
                "INSERT INTO cards (card_no, user_id, public_key) VALUES ($1, $2, $3)", card_no, user_id, public_key
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(card_no) from None
        except asyncpg.CheckViolationError:
            raise Malformed(card_no) from None

    async def add_demo_card(self, card_no: str, public_key: bytes, username: str) -> None:
        await self.conn.execute(
            "INSERT INTO cards (card_no, user_id, public_key) SELECT $1, id, $2 FROM users WHERE username = $3"
            " ON CONFLICT (card_no) DO NOTHING",
            card_no,
            public_key,
            username,
        )

    async def revoke_card(self, card_no: str) -> uuid.UUID | None:
        return await self.conn.fetchval(
            "UPDATE cards SET revoked_at = coalesce(revoked_at, now()) WHERE card_no = $1 RETURNING user_id", card_no
        )

    async def sessions_announced(self, wait_seconds: float) -> bool:
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL AND event_type = $1)", SessionsEnded.name
        ):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True
