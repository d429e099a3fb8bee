"""Verified sessions, cached for a few seconds so a request does not ask identity every time.

Still effective at once: logout, a password change or reset, a disabled account and a revoked card each end
sessions in identity, whose `identity.sessions.ended.v1` event drops that user's entries here as it arrives
(a logout through this gateway drops its own entry before answering). An entry never outlives the session's
idle or absolute end, nor its signed actor; after a NATS reconnect, when an event may have been missed, the
whole cache is dropped. Concurrent misses for one token share one call to identity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client

from shared.contracts import identity
from shared.contracts.events import SessionsEnded

log = logging.getLogger(__name__)

# A signed actor is refreshed by identity two minutes before it expires; never serve one closer than this.
ACTOR_MARGIN_SECONDS = 60
MAX_ENTRIES = 50_000


class SessionCache:
    def __init__(self, ttl_seconds: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._now = monotonic
        self._entries: dict[str, tuple[float, identity.Session]] = {}
        self._tokens_of: dict[str, set[str]] = {}
        self._inflight: dict[str, asyncio.Future[identity.Session]] = {}

    async def get(self, token: str, verify: Callable[[str], Awaitable[identity.Session]]) -> identity.Session:
        if self.ttl <= 0:
            return await verify(token)
        entry = self._entries.get(token)
        if entry is not None:
            if entry[0] > self._now():
                return entry[1]
            self._drop(token)
        pending = self._inflight.get(token)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[identity.Session] = asyncio.get_running_loop().create_future()
        self._inflight[token] = future
        try:
            session = await verify(token)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(session)
            self._put(token, session)
            return session
        finally:
            del self._inflight[token]

    def _put(self, token: str, session: identity.Session) -> None:
        lifetime = min(
            self.ttl, session.valid_for_seconds, session.actor.expires_at - time.time() - ACTOR_MARGIN_SECONDS
        )
        if lifetime <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._drop(next(iter(self._entries)))
        self._entries[token] = (self._now() + lifetime, session)
        self._tokens_of.setdefault(session.actor.user_id, set()).add(token)

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is not None:
            tokens = self._tokens_of.get(entry[1].actor.user_id)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._tokens_of[entry[1].actor.user_id]

    def drop_token(self, token: str) -> None:
        self._drop(token)

    def drop_user(self, user_id: str) -> None:
        for token in self._tokens_of.pop(user_id, set()):
            self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()
        self._tokens_of.clear()

    def __len__(self) -> int:
        return len(self._entries)

    async def listen(self, nc: Client) -> None:
        """Drop a user's entries when identity says their sessions ended (core NATS: every gateway hears it)."""

        async def on_ended(msg) -> None:
            try:
                event = msgspec.json.decode(msg.data, type=SessionsEnded)
            except msgspec.DecodeError:
                log.warning("undecodable sessions-ended event dropped; clearing the session cache")
                self.clear()
                return
            self.drop_user(event.user_id)

        await nc.subscribe(SessionsEnded.subject(), cb=on_ended)
