"""An account's concurrent slots shared by every worker and host: a Redis sorted set.

Each held slot is a member (a random holder id) scored with the moment its lease ends,
on Redis's clock. Taking one is one Lua script: drop the expired leases, and add ours if
fewer than ACCOUNT_MAX_CONCURRENT_REQUESTS remain; giving it back removes the member.
A request that finds every slot taken polls (5 ms, doubling to 50 ms) until one frees or
its wait ends (SlotsBusy), as it waits on the per-process semaphore. A worker that dies
holding slots frees them when their leases end. The request timeout bounds every hold,
so a lease of twice that never ends under a running request; without a request timeout
a hold renews its lease every third of it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any

from service.pipeline.account_slots import AccountSlots, SlotsBusy
from service.shared_limits.link import RedisDown, RedisLink

# KEYS[1]: the account's slots; ARGV: limit, lease (ms), holder. 1 when taken, else 0.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
"""
# KEYS[1]: the account's slots; ARGV: lease (ms), holder. Extends a lease still held.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 1
"""
PREFIX = "flowpilot:slots:"
FIRST_POLL_S = 0.005
LAST_POLL_S = 0.05


class SharedSlots(AccountSlots):
    """Slots in Redis; this process's semaphores (the base class) when Redis fails."""

    def __init__(self, link: RedisLink, limit: int, request_timeout_s: float) -> None:
        super().__init__(limit)
        self._link = link
        self._renews = request_timeout_s <= 0
        lease_s = 30.0 if self._renews else max(5.0, 2 * request_timeout_s)
        self._lease_ms = int(lease_s * 1000)
        self._take = link.script(TAKE)
        self._renew = link.script(RENEW)
        self._background: set[asyncio.Future[None]] = set()

    @asynccontextmanager
    async def hold(self, account: str, wait_s: float | None) -> AsyncIterator[None]:
        key, holder = PREFIX + account, uuid.uuid4().hex
        try:
            taken = await self._taken(key, holder, wait_s)
        except RedisDown:
            async with super().hold(account, wait_s):
                yield
            return
        except asyncio.CancelledError:
            # Cancelled (the request's timeout) while Redis may have taken a slot for us:
            # give it back now rather than at the end of its lease.
            self._later(self._give_back(key, holder))
            raise
        if not taken:
            raise SlotsBusy(account)
        renewing = asyncio.create_task(self._renewing(key, holder)) if self._renews else None
        try:
            yield
        finally:
            if renewing is not None:
                renewing.cancel()
            await self._give_back(key, holder)

    async def _taken(self, key: str, holder: str, wait_s: float | None) -> bool:
        """True once a slot is ours; False when the wait ended first."""
        loop = asyncio.get_running_loop()
        deadline = None if wait_s is None else loop.time() + wait_s
        pause = FIRST_POLL_S
        args = [self.limit, self._lease_ms, holder]
        while True:
            if await self._link.call("slots", self._take([key], args)) == 1:
                return True
            if deadline is not None and loop.time() + pause > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(2 * pause, LAST_POLL_S)

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, referenced until it ends."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _give_back(self, key: str, holder: str) -> None:
        with suppress(RedisDown):  # else the lease ends on its own
            await self._link.call("slots", self._link.client.zrem(key, holder))

    async def _renewing(self, key: str, holder: str) -> None:
        """Extend the lease every third of it while the hold lasts."""
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            with suppress(RedisDown):
                await self._link.call("slots", self._renew([key], [self._lease_ms, holder]))
