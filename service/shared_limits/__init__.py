"""An account's cost budget and concurrent slots, shared through Redis when REDIS_URL is
set (and ACCOUNT_LIMITS_SHARED is not off), else kept in each worker process.

With N workers on M hosts, per-process limits let an account spend N×M its budget and
run N×M its slots at once; shared, it gets what the settings say wherever its requests
land. A Redis that fails does not fail requests: the limits fall back to the worker's
own (counted in flowpilot_account_limits_fallback_total, logged once).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from schema.limits import account_budget
from schema.limits.budget import BudgetRegistry
from service.pipeline.account_slots import AccountSlots
from service.shared_limits.budget import SharedBudget
from service.shared_limits.link import RedisLink
from service.shared_limits.slots import SharedSlots


@dataclass
class AccountLimits:
    """The budget (None when RATE_LIMIT_COST_PER_S is 0) and the slots of one process."""

    budget: BudgetRegistry | None
    slots: AccountSlots
    link: RedisLink | None = None

    @property
    def shared(self) -> bool:
        return self.link is not None

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()


def account_limits(settings: Settings) -> AccountLimits:
    """The limits `settings` ask for: in Redis when configured, else per process."""
    if not (settings.redis_url and settings.shared_account_limits):
        slots = AccountSlots(settings.account_max_concurrent_requests)
        return AccountLimits(account_budget(settings), slots)
    link = RedisLink(settings.redis_url, settings.shared_limits_redis_timeout_s)
    budget = None
    if settings.rate_limit_cost_per_s > 0:
        budget = SharedBudget(link, settings.rate_limit_burst_cost, settings.rate_limit_cost_per_s)
    slots = SharedSlots(link, settings.account_max_concurrent_requests, settings.request_timeout_s)
    return AccountLimits(budget, slots, link)
