"""In-memory stand-ins the handler unit tests share."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec

from shared.contracts.common import Actor
from shared.contracts.idempotency import IdempotencyKey
from shared.idempotency import KeyReused
from shared.repository import Keyed, Store

W = TypeVar("W")


class InMemoryKeys(Keyed):
    """Idempotency-Keys as the real store keeps them: (user, key) → (fingerprint, reply once completed); the same
    key with another fingerprint is refused. The fake that mixes this in sets `self.keys` (its transactions copy
    and restore it like the rest of their state)."""

    keys: dict[tuple[str, str], tuple[str, bytes | None]]

    async def recorded(self, actor: Actor, key: IdempotencyKey | None, reply_type: type) -> Any:
        if key is None or (actor.user_id, key.key) not in self.keys:
            return None
        return self._replay(actor, key, reply_type)

    async def claim(self, actor: Actor, key: IdempotencyKey | None, reply_type: type) -> Any:
        if key is None:
            return None
        if (actor.user_id, key.key) not in self.keys:
            self.keys[(actor.user_id, key.key)] = (key.fingerprint, None)
            return None
        return self._replay(actor, key, reply_type)

    async def complete(self, actor: Actor, key: IdempotencyKey | None, reply: Any) -> None:
        if key is not None:
            self.keys[(actor.user_id, key.key)] = (key.fingerprint, msgspec.json.encode(reply))

    def _replay(self, actor: Actor, key: IdempotencyKey, reply_type: type) -> Any:
        fingerprint, reply = self.keys[(actor.user_id, key.key)]
        if fingerprint != key.fingerprint:
            raise KeyReused()
        return msgspec.json.decode(reply, type=reply_type)


class InMemoryStore(Store[W]):
    """One unit of work `W` for every call; a transaction that raises leaves it as it was."""

    def __init__(self, work: W) -> None:
        self.work = work

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[W]:
        before = copy.deepcopy(self.work.__dict__)
        try:
            yield self.work
        except BaseException:
            self.work.__dict__ = before
            raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[W]:
        yield self.work

    def within(self, conn: Any) -> W:
        return self.work
