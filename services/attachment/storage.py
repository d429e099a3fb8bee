"""S3 as the attachment service uses it: bounded timeouts, outages told apart from other failures and answered
with 503, and a cheap periodic probe that the readiness check reads and that lets the service recover by itself."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from urllib3.util import Retry, Timeout

from shared.errors import Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

UP_INTERVAL_SECONDS = 3.0  # how often a healthy S3 is probed
DOWN_INTERVAL_SECONDS = 1.0  # how often an S3 that did not answer is probed again


class StorageUnavailable(Unavailable):
    message = "文件存储暂时不可用，请稍后重试"


def http(connect: float = 3.0, read: float = 10.0, *, retries: bool = True) -> urllib3.PoolManager:
    """The MinIO client's HTTP pool with timeouts a caller can wait for (the library's default is 5 minutes).
    With retries: two more tries on a refused connection or a 5xx, one on a read error (a stale connection)."""
    return urllib3.PoolManager(
        timeout=Timeout(connect=connect, read=read),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=Retry(total=3, connect=2, read=1, status=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504])
        if retries
        else False,
    )


def is_outage(exc: BaseException) -> bool:
    """S3 did not answer, or answered that it cannot serve (5xx): not the request's fault, worth a retry later."""
    if isinstance(exc, S3Error):
        return exc.response is not None and exc.response.status >= 500
    if isinstance(exc, ServerError):
        return exc.status_code >= 500
    return isinstance(exc, (InvalidResponseError, urllib3.exceptions.HTTPError, OSError, TimeoutError))


class Objects(ABC):
    """The bucket of files as the service uses it (S3's is `Storage`; the unit tests keep one in memory). Every call
    but `remove_quietly` raises `StorageUnavailable` when the bucket cannot be reached."""

    @abstractmethod
    async def put(self, key: str, content: bytes, *, content_type: str, sha256: str) -> None: ...

    @abstractmethod
    async def read(self, key: str) -> bytes | None:
        """The object's bytes; None when there is no such object."""

    @abstractmethod
    async def listing(self) -> dict[str, datetime]:
        """Every object's key, with when it was written."""

    @abstractmethod
    async def remove(self, key: str) -> None: ...

    @abstractmethod
    async def remove_quietly(self, key: str) -> None:
        """Best effort: an object left behind is an orphan, which the reconciler sweeps."""


class Storage(Objects):
    """Calls to S3 go through `call`: refused at once while the probe says S3 is down, and an outage met on the
    way becomes `StorageUnavailable` (and wakes the probe). `watch` is the probe loop."""

    def __init__(self, client: Minio, *, probe: Minio, bucket: str) -> None:
        self.client = client
        self.probe = probe
        self.bucket = bucket
        self.available = True
        self._wake = asyncio.Event()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.available:
            raise StorageUnavailable()
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("S3 call failed", extra={"fields": {"call": getattr(fn, "__name__", "?"), "error": _name(exc)}})
            self._wake.set()
            raise StorageUnavailable() from None

    async def put(self, key: str, content: bytes, *, content_type: str, sha256: str) -> None:
        await self.call(
            self.client.put_object,
            self.bucket,
            key,
            io.BytesIO(content),
            len(content),
            content_type=content_type,
            metadata={"sha256": sha256},
        )

    async def read(self, key: str) -> bytes | None:
        return await self.call(self._read, key)

    def _read(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def listing(self) -> dict[str, datetime]:
        return await self.call(self._list_objects)

    def _list_objects(self) -> dict[str, datetime]:
        return {o.object_name: o.last_modified for o in self.client.list_objects(self.bucket, recursive=True)}

    async def remove(self, key: str) -> None:
        await self.call(self.client.remove_object, self.bucket, key)

    async def remove_quietly(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.client.remove_object, self.bucket, key)
        except Exception as exc:
            log.warning("object not removed; left to the reconciler", extra={"fields": {"error": _name(exc)}})

    async def check(self) -> bool:
        """One probe: the bucket answers (short timeouts, no retries)."""
        try:
            return bool(await asyncio.wait_for(asyncio.to_thread(self.probe.bucket_exists, self.bucket), 5))
        except Exception as exc:
            log.debug("S3 probe failed", extra={"fields": {"error": _name(exc)}})
            return False

    async def watch(self) -> None:
        while True:
            ok = await self.check()
            if ok != self.available:
                if ok:
                    log.info("S3 answers again")
                else:
                    log.error("S3 does not answer; uploads and downloads are refused until it does")
            self.available = ok
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), UP_INTERVAL_SECONDS if ok else DOWN_INTERVAL_SECONDS)
            except TimeoutError:
                pass


def _name(exc: BaseException) -> str:
    return type(exc).__name__
