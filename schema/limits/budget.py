"""Per-account leaky buckets of query cost, so one tenant cannot starve the others.

Each account's bucket fills by the cost of every query it runs and drains at
`rate` cost units per second; a query that would overflow `capacity` is refused
with the seconds to wait. State lives in the worker process (each worker enforces
the budget on its own share of traffic); with Redis, service/shared_limits keeps one
bucket per account for every worker and host, with this registry as its fallback.

Requests use the `a`-prefixed coroutines, which a shared budget overrides; the plain
methods are this process's buckets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    level: float
    updated: float


class BudgetRegistry:
    """Buckets by key (an account id), created on first use; thread-safe."""

    def __init__(
        self,
        capacity: float,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError("budget capacity and rate must be positive")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _drained(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_drained(now)
            bucket = self._buckets[key] = _Bucket(0.0, now)
        bucket.level = max(0.0, bucket.level - (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def wait_for(self, overflow: float) -> float:
        """Seconds until `overflow` cost units have drained, rounded up to 10 ms."""
        return self._wait(overflow)

    def _wait(self, overflow: float) -> float:
        return math.ceil(overflow / self.rate * 100) / 100

    def charge(self, key: str, cost: float) -> float | None:
        """Add `cost` to the bucket of `key`; None when accepted, else seconds to wait."""
        with self._lock:
            bucket = self._drained(key, self._clock())
            if bucket.level + cost <= self.capacity:
                bucket.level += cost
                return None
            return self._wait(bucket.level + cost - self.capacity)

    def spend(self, key: str, cost: float) -> None:
        """Add `cost` whatever the level, refusing nothing: what a refused query still costs
        its account, so sending refused queries is no free way to load us. The level may go
        over capacity, by at most one more burst: a debt to drain before the next query."""
        with self._lock:
            bucket = self._drained(key, self._clock())
            bucket.level = min(2 * self.capacity, bucket.level + cost)

    def exhausted(self, key: str) -> float | None:
        """Seconds until the bucket of `key` takes any query again, or None when it may:
        checked before the query is even parsed."""
        with self._lock:
            bucket = self._drained(key, self._clock())
            if bucket.level < self.capacity:
                return None
            return self._wait(bucket.level - self.capacity + 1)

    async def acharge(self, key: str, cost: float) -> float | None:
        """`charge`, for the requests (a shared budget asks Redis)."""
        return self.charge(key, cost)

    async def aspend(self, key: str, cost: float) -> None:
        """`spend`, for the requests (a shared budget asks Redis)."""
        self.spend(key, cost)

    async def aexhausted(self, key: str) -> float | None:
        """`exhausted`, for the requests (a shared budget asks Redis)."""
        return self.exhausted(key)

    def _forget_drained(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.level - (now - bucket.updated) * self.rate <= 0:
                del self._buckets[key]
