"""An account's cost budget shared by every worker and host: one leaky bucket in Redis.

The same bucket as schema/limits/budget.py (fills by each query's cost, drains at
RATE_LIMIT_COST_PER_S, holds RATE_LIMIT_BURST_COST; a refused query's cost still spent,
up to one more burst of debt), computed in one Lua script so that concurrent requests
on any host see each other's charges. Time is Redis's clock (TIME), so hosts whose
clocks differ drain the bucket alike. The key expires once the bucket would be empty.
"""

from __future__ import annotations

from schema.limits.budget import BudgetRegistry
from service.shared_limits.link import RedisDown, RedisLink

# KEYS[1]: the bucket; ARGV: mode (charge, spend, exhausted), cost, capacity, rate.
# Returns the overflow (cost units above capacity) as text, or "-1" when the query may run.
BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local mode = ARGV[1]
local cost = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'level', 'updated')
local level = tonumber(state[1]) or 0
local updated = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - updated) * rate)
local overflow = -1
if mode == 'exhausted' then
  if level >= capacity then overflow = level - capacity + 1 end
  return tostring(overflow)
end
if mode == 'charge' then
  if level + cost <= capacity then level = level + cost else overflow = level + cost - capacity end
else
  level = math.min(2 * capacity, level + cost)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(level / rate * 1000) + 1000)
return tostring(overflow)
"""
PREFIX = "flowpilot:budget:"


class SharedBudget(BudgetRegistry):
    """The budget in Redis; this process's buckets (the base class) when Redis fails."""

    def __init__(self, link: RedisLink, capacity: float, rate: float) -> None:
        super().__init__(capacity, rate)
        self._link = link
        self._bucket = link.script(BUCKET)

    async def _ask(self, mode: str, key: str, cost: float) -> float | None:
        args = [mode, repr(float(cost)), repr(self.capacity), repr(self.rate)]
        reply = await self._link.call("budget", self._bucket([PREFIX + key], args))
        overflow = float(reply)
        return None if overflow < 0 else self.wait_for(overflow)

    async def acharge(self, key: str, cost: float) -> float | None:
        try:
            return await self._ask("charge", key, cost)
        except RedisDown:
            return self.charge(key, cost)

    async def aspend(self, key: str, cost: float) -> None:
        try:
            await self._ask("spend", key, cost)
        except RedisDown:
            self.spend(key, cost)

    async def aexhausted(self, key: str) -> float | None:
        try:
            return await self._ask("exhausted", key, 0.0)
        except RedisDown:
            return self.exhausted(key)
