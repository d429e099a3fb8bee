"""A sliding-window limit per client address and in all, kept in the process's memory.

Each identity replica limits its own work (what the limit protects is its CPU), so with n replicas an address
may get up to n times the per-address limit. Only served requests are counted: a refused one costs nothing and
does not push the wait further out.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable


def client_bucket(address: str) -> str:
    """The bucket an address counts in: IPv4 as is; IPv6 by its /64, which one subscriber usually holds whole."""
    text = address.strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SlidingWindowLimit:
    def __init__(
        self,
        per_address: int,
        overall: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.overall = overall
        self.window = window_seconds
        self._clock = clock
        self._all: deque[float] = deque()
        self._by_address: dict[str, deque[float]] = {}

    def take(self, address: str) -> int:
        """0 when the request may go ahead (and it is counted); else the seconds to wait before trying again.

        An empty address is counted only in the overall limit.
        """
        now = self._clock()
        horizon = now - self.window
        _forget(self._all, horizon)
        waits = []
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window - now)
        bucket = client_bucket(address) if address else ""
        mine = self._by_address.get(bucket) if bucket else None
        if mine is not None:
            _forget(mine, horizon)
            if len(mine) >= self.per_address:
                waits.append(mine[0] + self.window - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._all.append(now)
        if bucket:
            self._by_address.setdefault(bucket, deque()).append(now)
            if len(self._by_address) > 2 * self.overall:
                self._prune(horizon)
        return 0

    def _prune(self, horizon: float) -> None:
        # Only served requests are tracked, so at most `overall` addresses are live; the rest are stale.
        for key in [k for k, times in self._by_address.items() if not times or times[-1] <= horizon]:
            del self._by_address[key]


def _forget(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()
