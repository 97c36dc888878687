"""An account's budget and slots shared by two app instances (two workers or hosts)
through a real redis-server, the same arithmetic as the per-process bucket, and the
fallback to per-process limits when Redis stops (counted, logged once)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from schema.limits.budget import BudgetRegistry
from service.shared_limits.budget import SharedBudget
from service.shared_limits.link import FALLBACKS, RedisLink
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

OVERVIEW = tab_query("overview")
# The default period (LAST_30_DAYS): cost 343, as tests/hardening/test_limits.py adds it up.
OVERVIEW_COST = 343
Redis = tuple[str, subprocess.Popen[bytes]]


@asynccontextmanager
async def _two_apps(
    database_url: str, redis_url: str, *, shared: bool, **settings: Any
) -> AsyncIterator[list[ApiClient]]:
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            config = settings_for_tests(
                database_url, redis_url=redis_url, shared_account_limits=shared,
                rate_limited_pause_s=0, **settings,
            )  # fmt: skip
            clients.append(await stack.enter_async_context(running_app(config)))
        yield clients


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def _codes(apps: list[ApiClient], order: list[int], token: str) -> list[str | None]:
    return [_code(await apps[i].execute(OVERVIEW, token=token)) for i in order]


@pytest.fixture
async def token(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    return token_for((await AccountBuilder.create(sessionmaker)).account_id)


# Two and a half Overviews per burst, regained at 0.01 cost units a second (none in a test).
BUDGET = {"rate_limit_burst_cost": 2.5 * OVERVIEW_COST, "rate_limit_cost_per_s": 0.01}


async def test_two_instances_spend_one_budget(
    database_url: str, own_redis: Redis, token: str
) -> None:
    url, _ = own_redis
    async with _two_apps(database_url, url, shared=True, **BUDGET) as apps:
        # Two Overviews fit in the burst, wherever they land; the third is refused.
        codes = await _codes(apps, [0, 1, 0, 1], token)
        assert codes == [None, None, "RATE_LIMITED", "RATE_LIMITED"]


async def test_per_process_budgets_let_each_instance_spend_its_own(
    database_url: str, own_redis: Redis, token: str
) -> None:
    url, _ = own_redis
    async with _two_apps(database_url, url, shared=False, **BUDGET) as apps:
        codes = await _codes(apps, [0, 1, 0, 1, 0], token)
        assert codes == [None, None, None, None, "RATE_LIMITED"]


def _view(api: ApiClient) -> Any:
    routes: list[Any] = list(api.app.routes)
    return next(route.app for route in routes if getattr(route, "path", None) == "/graphql")


async def test_two_instances_share_the_account_slots(
    database_url: str, own_redis: Redis, token: str
) -> None:
    url, _ = own_redis
    account = str(uuid.UUID(_claim(token, "account_id")))
    one_slot = {"account_max_concurrent_requests": 1, "request_timeout_s": 0.4}
    for shared, held_elsewhere in ((True, "RATE_LIMITED"), (False, None)):
        async with _two_apps(database_url, url, shared=shared, **one_slot) as (one, two):
            async with _view(one).account_slots.hold(account, 1.0):
                body = await two.execute(OVERVIEW, token=token)
                assert _code(body) == held_elsewhere
                if shared:
                    assert body["errors"][0]["message"] == (
                        "too many requests of this account at once; retry in 1 s"
                    )
            assert _code(await two.execute(OVERVIEW, token=token)) is None


def _claim(token: str, name: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})[name])


async def test_the_lua_bucket_counts_as_the_process_bucket(own_redis: Redis) -> None:
    url, _ = own_redis
    link = RedisLink(url, timeout_s=1.0)
    shared, local = SharedBudget(link, 100.0, 0.01), BudgetRegistry(100.0, 0.01)
    try:
        for budget in (shared, local):
            assert await budget.acharge("a", 40) is None
            assert await budget.acharge("a", 50) is None
            # 10 units over: 10 / 0.01 = 1000 s, less what drained since (ms), up to 10 ms.
            assert 999.9 <= (await budget.acharge("a", 20) or 0) <= 1000.0
            assert await budget.aexhausted("a") is None  # 90 < 100
            await budget.aspend("a", 500)  # a refused query's cost: capped at 2 x 100
            # (200 - 100 + 1) / 0.01 = 10100 s
            assert 10099.9 <= (await budget.aexhausted("a") or 0) <= 10100.0
            assert await budget.aexhausted("b") is None
        ttl = await link.client.pttl("flowpilot:budget:a")
        assert 200 / 0.01 * 1000 < ttl <= 200 / 0.01 * 1000 + 1000  # empty, then forgotten
    finally:
        await link.close()


def _fallbacks(limit: str) -> float:
    return float(FALLBACKS.labels(limit=limit)._value.get())


async def test_a_stopped_redis_falls_back_to_per_process_limits(
    database_url: str, own_redis: Redis, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, process = own_redis
    budget_before, slots_before = _fallbacks("budget"), _fallbacks("slots")
    async with _two_apps(database_url, url, shared=True, **BUDGET) as apps:
        assert await _codes(apps, [0], token) == [None]  # one Overview spent in Redis
        process.kill()
        process.wait()
        await asyncio.sleep(0.1)
        with caplog.at_level(logging.WARNING, logger="flowpilot.limits"):
            # Each instance now has its own (fresh) bucket of two and a half Overviews.
            codes = await _codes(apps, [0, 1, 0, 1, 0], token)
        assert codes == [None, None, None, None, "RATE_LIMITED"]
    outages = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(outages) == 2  # once per instance, not once per request
    # Every request asked for a slot and the budget at least once, all served by the fallback.
    assert _fallbacks("slots") - slots_before >= 5
    assert _fallbacks("budget") - budget_before >= 5
