"""Lists are costed by what they will return, and the account budget holds an abuser back.

The scenario: thirty aliases of a 366-day overview compared with the previous period
(21,960 trend points) used to cost 3,150, under the limit, and 80 of them from one team
admin were never RATE_LIMITED while another account's small query slowed down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import parse

from core.settings import Settings
from schema.build import build_schema_for
from schema.limits.budget import BudgetRegistry
from schema.limits.cost import operation_cost
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for
from tests.hardening.support import codes

TREND = "dailyTrend { date sessions resolved escalated mttrMinutes }"
YEAR = 'range: {from: "2025-01-01", to: "2026-01-01"}'  # 366 days
YEAR_OVERVIEW = f"overview({YEAR}, compareTo: PREVIOUS_PERIOD) {{ {TREND} previous {{ {TREND} }} }}"
THIRTY_YEARS = "{ " + " ".join(f"a{i}: {YEAR_OVERVIEW}" for i in range(30)) + " }"
TREND_COST = 1 + 366 * 5


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    schema = build_schema_for(Settings())._schema
    return operation_cost(schema, parse(query).definitions, None, variables)


def test_a_daily_trend_costs_one_point_per_day_of_its_window() -> None:
    assert cost(f"{{ overview {{ {TREND} }} }}") == 1 + 1 + 30 * 5  # default LAST_30_DAYS
    assert cost(f"{{ overview(period: LAST_7_DAYS) {{ {TREND} }} }}") == 1 + 1 + 7 * 5
    assert cost(f"{{ overview({YEAR}) {{ {TREND} }} }}") == 1 + TREND_COST
    assert cost("{ " + YEAR_OVERVIEW + " }") == 1 + TREND_COST + 1 + TREND_COST
    assert cost(THIRTY_YEARS) == 30 * (2 + 2 * TREND_COST)
    psa = "{ psaActivity(period: LAST_90_DAYS) { dailyTrend { date hours } } }"
    assert cost(psa) == 1 + 1 + 90 * 2


def test_the_window_is_read_from_variables_and_their_defaults() -> None:
    query = (
        "query($p: Period, $r: DateRangeInput) "
        "{ psaActivity(period: $p, range: $r) { dailyTrend { date } } }"
    )
    assert cost(query, {"r": {"from": "2026-01-01", "to": "2026-01-10"}}) == 1 + 1 + 10
    assert cost(query, {"p": "LAST_7_DAYS"}) == 1 + 1 + 7
    assert cost(query, {}) == 1 + 1 + 30  # neither sent: the schema's default period
    defaulted = "query($p: Period! = LAST_90_DAYS) { overview(period: $p) { dailyTrend { date } } }"
    assert cost(defaulted, {}) == 1 + 1 + 90
    unreadable = '{ overview(range: {from: "soon", to: "later"}) { dailyTrend { date } } }'
    assert cost(unreadable) == 1 + 1 + 366  # never under: the longest window
    odd = "query($p: Period!) { overview(period: $p) { dailyTrend { date } } }"
    assert cost(odd, {"p": {"$ne": 1}}) == 1 + 1 + 366  # validation refuses it; no crash here
    assert cost(query, {"r": ["2026-01-01"]}) == 1 + 1 + 366


@pytest.fixture
async def slow_budget_api(database_url: str) -> AsyncIterator[ApiClient]:
    """The default burst, hardly refilled while the test runs: what is refused is exact."""
    settings = settings_for_tests(
        database_url, rate_limit_burst_cost=50_000, rate_limit_cost_per_s=1, rate_limited_pause_s=0
    )
    async with running_app(settings) as client:
        yield client


async def test_thirty_year_overviews_are_refused_and_the_abuser_runs_out_of_budget(
    slow_budget_api: ApiClient,
) -> None:
    abuser, other = token_for(uuid.uuid4()), token_for(uuid.uuid4())
    first = await slow_budget_api.execute(THIRTY_YEARS, token=abuser)
    assert codes(first) == ["QUERY_TOO_COMPLEX"]
    assert first["errors"][0]["extensions"]["cost"] == 30 * (2 + 2 * TREND_COST)

    bodies = await asyncio.gather(
        *(slow_budget_api.execute(THIRTY_YEARS, token=abuser) for _ in range(80))
    )
    refusals = [code for body in bodies for code in codes(body)]
    assert set(refusals) <= {"QUERY_TOO_COMPLEX", "RATE_LIMITED"}
    assert len(refusals) == 80 and all(body["data"] is None for body in bodies)
    # Each refused query is charged as the costliest allowed one (5,000): ten fill the bucket.
    assert refusals.count("RATE_LIMITED") >= 80 - 10
    one_year = await slow_budget_api.execute("{ " + YEAR_OVERVIEW + " }", token=abuser)
    assert codes(one_year) == ["RATE_LIMITED"]
    assert one_year["errors"][0]["extensions"]["retryAfter"] > 0

    served = await slow_budget_api.execute("{ overview { sessionCount } }", token=other)
    assert "errors" not in served, served


def test_refused_queries_put_the_account_in_debt_and_it_is_refused_until_drained() -> None:
    now = [0.0]
    budget = BudgetRegistry(capacity=100, rate=10, clock=lambda: now[0])
    assert budget.exhausted("a") is None
    for _ in range(5):
        budget.spend("a", 50)  # five refused queries: 250, capped at one burst of debt
    assert budget.exhausted("a") == 10.1  # 200 - 100 + 1 over, drains 10/s
    assert budget.exhausted("b") is None  # another account is not touched
    now[0] += 10.1
    assert budget.exhausted("a") is None
    assert budget.charge("a", 1) is None  # room for one unit; the rest drains on
