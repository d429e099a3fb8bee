"""What every service's repository shares: binding an Idempotency-Key to the command it started, as part of the
command's own unit of work, and the store that opens a unit of work on a connection of the pool."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

import asyncpg

from shared import idempotency
from shared.contracts.common import Actor, Contract
from shared.contracts.idempotency import IdempotencyKey

R = TypeVar("R")
W = TypeVar("W")


class Keyed(ABC):
    """An Idempotency-Key's binding to the command it started (see shared/idempotency.py)."""

    @abstractmethod
    async def recorded(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        """The reply of the key's first try, when it committed."""

    @abstractmethod
    async def claim(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        """First in a command's transaction: binds the key to it, or returns the reply of the try that has it."""

    @abstractmethod
    async def complete(self, actor: Actor, key: IdempotencyKey | None, reply: Contract) -> None:
        """Keeps the command's reply with its key, in the transaction that claimed it."""


class PostgresKeyed(Keyed):
    """A unit of work on one connection, with its keys kept in the service's own database."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.keys = idempotency.Keys(conn)

    async def recorded(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        return await self.keys.recorded(actor, key, reply_type)

    async def claim(self, actor: Actor, key: IdempotencyKey | None, reply_type: type[R]) -> R | None:
        return await self.keys.claim(actor, key, reply_type)

    async def complete(self, actor: Actor, key: IdempotencyKey | None, reply: Contract) -> None:
        await self.keys.complete(actor, key, reply)


class Store(ABC, Generic[W]):
    """Opens a service's unit of work `W`: in a transaction of its own, for reading, or in the caller's transaction
    (an event consumer's, whose inbox record commits with the effect)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[W]: ...

    @abstractmethod
    def reading(self) -> AbstractAsyncContextManager[W]: ...

    @abstractmethod
    def within(self, conn: Any) -> W: ...


class PostgresStore(Store[W]):
    def __init__(self, pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], W]) -> None:
        self.pool = pool
        self.work = work

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[W]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield self.work(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[W]:
        async with self.pool.acquire() as conn:
            yield self.work(conn)

    def within(self, conn: asyncpg.Connection) -> W:
        return self.work(conn)
