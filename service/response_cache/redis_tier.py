"""The shared tier: one Redis for every worker and host (REDIS_URL).

A slow or absent Redis must never fail or stall a request: every call has a short
timeout, and after a failure the tier is skipped for `retry_after_s` so requests do not
each wait out a timeout. Entries expire in Redis after the cache's maximum age.

Redis is not trusted with the answers' integrity: values are sealed (seal.py), and one
that does not open under its key raises ForgedEntry (a miss, counted, never served).
The URL may be `rediss://` (TLS) and carry a user and password (AUTH).
"""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis
from redis.exceptions import RedisError

from service.response_cache.entry import Entry, TierUnavailable
from service.response_cache.seal import EntrySeal

logger = logging.getLogger(__name__)


class RedisTier:
    name = "redis"

    def __init__(
        self, url: str, timeout_s: float, seal: EntrySeal, retry_after_s: float = 1.0
    ) -> None:
        self._seal = seal
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    def _check(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise TierUnavailable("redis unavailable (backing off)")

    def _failed(self, error: Exception) -> TierUnavailable:
        if not self._down_until:
            logger.warning("response cache: redis unavailable (%s); serving uncached", error)
        self._down_until = time.monotonic() + self._retry_after_s
        return TierUnavailable(f"redis unavailable: {type(error).__name__}")

    def _recovered(self) -> None:
        if self._down_until:
            logger.warning("response cache: redis answers again")
            self._down_until = 0.0

    async def get(self, key: str) -> Entry | None:
        self._check()
        try:
            raw = await self._client.get(key)
        except (RedisError, OSError, TimeoutError) as error:
            raise self._failed(error) from error
        self._recovered()
        if raw is None:
            return None
        return self._seal.open(key, raw if isinstance(raw, bytes) else raw.encode())

    async def set(self, key: str, entry: Entry, ttl_s: float) -> None:
        self._check()
        try:
            await self._client.set(key, self._seal.seal(key, entry), px=max(1, int(ttl_s * 1000)))
        except (RedisError, OSError, TimeoutError) as error:
            raise self._failed(error) from error
        self._recovered()

    async def close(self) -> None:
        await self._client.aclose()
