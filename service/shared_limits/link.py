"""The shared limits' Redis connection, and what happens when Redis fails.

A limit must never fail or stall a request because Redis does: every call has a short
timeout (ACCOUNT_LIMITS_REDIS_TIMEOUT_S), and after a failure the limits are kept in
the process for `retry_after_s` (as without Redis), so requests do not each wait out a
timeout. Each request served by the fallback is counted; the outage is logged once,
and so is the recovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from prometheus_client import Counter
from redis.exceptions import NoScriptError, RedisError

logger = logging.getLogger("flowpilot.limits")
T = TypeVar("T")

FALLBACKS = Counter(
    "flowpilot_account_limits_fallback",
    "Account limit checks made in the worker because Redis failed or was backing off.",
    ["limit"],
)


class RedisDown(Exception):
    """Redis failed (or is being given time to recover): use the per-process limits."""


class RedisLink:
    """One asyncio Redis client per process, with Lua scripts run by their digest."""

    def __init__(self, url: str, timeout_s: float, retry_after_s: float = 1.0) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    def script(self, source: str) -> Callable[[list[str], list[Any]], Awaitable[Any]]:
        """A Lua script run with EVALSHA (EVAL once, when Redis does not know it yet)."""
        digest: str | None = None

        async def run(keys: list[str], args: list[Any]) -> Any:
            nonlocal digest
            if digest is not None:
                try:
                    return await self.client.evalsha(digest, len(keys), *keys, *args)
                except NoScriptError:
                    pass  # Redis restarted (or SCRIPT FLUSH): load it again
            digest = await self.client.script_load(source)
            return await self.client.evalsha(digest, len(keys), *keys, *args)

        return run

    async def call(self, limit: str, operation: Awaitable[T]) -> T:
        """`operation`'s result; RedisDown (counted under `limit`) when Redis fails."""
        if self._down_until and time.monotonic() < self._down_until:
            _close(operation)
            FALLBACKS.labels(limit=limit).inc()
            raise RedisDown
        try:
            result = await operation
        except (RedisError, OSError, TimeoutError) as error:
            if not self._down_until:
                logger.warning(
                    "account limits: redis unavailable (%s); limits are per worker until it "
                    "answers",
                    type(error).__name__,
                )
            self._down_until = time.monotonic() + self._retry_after_s
            FALLBACKS.labels(limit=limit).inc()
            raise RedisDown from error
        if self._down_until:
            logger.warning("account limits: redis answers again; limits are shared")
            self._down_until = 0.0
        return result

    async def close(self) -> None:
        await self.client.aclose()


def _close(operation: Awaitable[Any]) -> None:
    close = getattr(operation, "close", None)
    if close is not None:
        close()  # a coroutine never awaited: no "was never awaited" warning
