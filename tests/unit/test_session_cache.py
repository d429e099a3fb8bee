"""The gateway's cache of verified sessions: reuse for seconds, never beyond the session or its signed actor,
one call to identity for concurrent misses, dropped per user when their sessions end."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.sessions import ACTOR_MARGIN_SECONDS, SessionCache
from shared.contracts.common import Actor
from shared.contracts.identity import Session
from shared.errors import Unauthenticated


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def session(token: str, user: str = "u1", valid_for: float = 1800.0, actor_ttl: float = 300.0) -> Session:
    actor = Actor(user_id=user, username=user, display_name=user, role="ENTERPRISE",
                  expires_at=int(time.time() + actor_ttl), signature="sig")  # fmt: skip
    return Session(token=token, actor=actor, idle_timeout_seconds=1800, valid_for_seconds=valid_for)


class Identity:
    """Stands in for identity's verify endpoint, counting the calls; `ended` tokens are refused."""

    def __init__(self, **overrides) -> None:
        self.calls = 0
        self.ended: set[str] = set()
        self.overrides = overrides

    async def verify(self, token: str) -> Session:
        self.calls += 1
        await asyncio.sleep(0)
        if token in self.ended:
            raise Unauthenticated("登录已失效，请重新登录", code="SESSION_EXPIRED")
        return session(token, user=token.split(":")[0], **self.overrides)


def run(coro):
    return asyncio.run(coro)


def test_a_session_is_reused_until_the_ttl_then_asked_again() -> None:
    clock, identity = Clock(), Identity()
    cache = SessionCache(5, monotonic=clock)

    async def scenario() -> None:
        for _ in range(3):
            assert (await cache.get("u1:a", identity.verify)).actor.user_id == "u1"
        assert identity.calls == 1
        clock.now += 5.01
        await cache.get("u1:a", identity.verify)
        assert identity.calls == 2

    run(scenario())


def test_never_cached_beyond_the_session_or_its_signed_actor() -> None:
    clock = Clock()
    short_session = Identity(valid_for=2.0)
    cache = SessionCache(5, monotonic=clock)

    async def scenario() -> None:
        await cache.get("u1:a", short_session.verify)
        clock.now += 2.5  # the idle timeout ends first
        await cache.get("u1:a", short_session.verify)
        assert short_session.calls == 2

        near_expiry = Identity(actor_ttl=ACTOR_MARGIN_SECONDS - 1)  # the signed actor is about to expire
        await cache.get("u2:b", near_expiry.verify)
        await cache.get("u2:b", near_expiry.verify)
        assert near_expiry.calls == 2

    run(scenario())


def test_ended_sessions_are_dropped_per_user_and_refusals_are_not_cached() -> None:
    clock, identity = Clock(), Identity()
    cache = SessionCache(60, monotonic=clock)

    async def scenario() -> None:
        await cache.get("u1:a", identity.verify)
        await cache.get("u1:b", identity.verify)
        await cache.get("u2:c", identity.verify)
        identity.ended |= {"u1:a", "u1:b"}
        cache.drop_user("u1")
        for token in ("u1:a", "u1:b"):
            with pytest.raises(Unauthenticated):
                await cache.get(token, identity.verify)
        with pytest.raises(Unauthenticated):  # asked again: a refusal is not remembered
            await cache.get("u1:a", identity.verify)
        assert identity.calls == 6
        await cache.get("u2:c", identity.verify)  # another user's session stays cached
        assert identity.calls == 6 and len(cache) == 1

    run(scenario())


def test_concurrent_misses_for_one_token_ask_identity_once() -> None:
    identity = Identity()
    cache = SessionCache(5, monotonic=Clock())

    async def scenario() -> None:
        results = await asyncio.gather(*(cache.get("u1:a", identity.verify) for _ in range(20)))
        assert {r.token for r in results} == {"u1:a"} and identity.calls == 1

    run(scenario())


def test_zero_seconds_asks_every_time() -> None:
    identity = Identity()
    cache = SessionCache(0, monotonic=Clock())

    async def scenario() -> None:
        for _ in range(3):
            await cache.get("u1:a", identity.verify)
        assert identity.calls == 3 and len(cache) == 0

    run(scenario())
