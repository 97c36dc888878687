"""Query limits: depth, aliases, tokens, cost (refused before any SQL), account budget."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import parse
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from queries import tab_query
from schema.build import build_schema_for
from schema.limits.budget import BudgetRegistry
from schema.limits.cost import operation_cost
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for
from tests.hardening.support import codes, tenant_with_data


@contextmanager
def counted_statements(client: ApiClient) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    engine = client.app.state.database.read_engine.sync_engine
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _nested(depth: int) -> str:
    # coverage > domains > flows > domain > flows > domain ... alternating
    inner = "name"
    for level in range(depth):
        inner = f"flows {{ domain {{ {inner} }} }}" if level % 2 == 0 else inner
    return f"{{ coverage {{ domains {{ {inner} }} }} }}"


async def test_tab_queries_report_their_cost(role_api: ApiClient) -> None:
    body = await role_api.execute(tab_query("overview"), token=token_for(uuid.uuid4()))
    # 1 overview + 4 (period from to asOf)
    # + 4 (timeZone lastDayInProgress dataStartsOn shareBeforeData)
    # + previousWindow (1 + 3: from to shareBeforeData) = 4
    # + 8 metrics (sessions, resolved, escalated, four rates, rating)
    # + changes (1 + 8 x (1 + 3: previous absolute relative)) = 33
    # + confidenceTiers (1 + 4) = 5
    # + dailyTrend (1 + 30 (the days of the default LAST_30_DAYS window) x 5) = 151
    # + domains (1 + 25 x 6) = 151
    # = 1 + 4 + 4 + 4 + 8 + 33 + 5 + 151 + 151 = 361
    assert body["extensions"]["cost"] == 361


def test_cost_weights_lists_by_first_and_expected_size() -> None:
    schema = build_schema_for(Settings())._schema
    doc = parse(
        "query($n: Int) { flowQuality { flows(first: $n) { flow { id name } } totalFlows } }"
    )
    # Each FlowPerformance item: flow (1) + id + name = 3.
    assert operation_cost(schema, doc.definitions, None, {"n": 7}) == 1 + 1 + 7 * 3 + 1
    assert operation_cost(schema, doc.definitions, None, {}) == 1 + 1 + 100 * 3 + 1
    trend = parse("{ psaActivity { dailyTrend { date hours } } }")
    assert operation_cost(schema, trend.definitions, None, None) == 1 + 1 + 30 * 2  # 30 days


async def test_huge_first_is_too_complex_and_runs_no_sql(role_api: ApiClient) -> None:
    query = "{ flowQuality { flows(first: 2000000000) { flow { id name } qualityScore } } }"
    with counted_statements(role_api) as statements:
        body = await role_api.execute(query, token=token_for(uuid.uuid4()))
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["data"] is None
    assert statements == []


async def test_depth_alias_and_token_limits(role_api: ApiClient) -> None:
    token = token_for(uuid.uuid4())
    deep = await role_api.execute(_nested(14), token=token)
    assert set(codes(deep)) == {"QUERY_TOO_COMPLEX"}
    aliases = " ".join(f"a{i}: overview {{ sessionCount }}" for i in range(31))
    assert codes(await role_api.execute(f"{{ {aliases} }}", token=token)) == ["QUERY_TOO_COMPLEX"]
    tokens = "{ overview { " + "sessionCount " * 2100 + "} }"
    assert codes(await role_api.execute(tokens, token=token)) == ["QUERY_TOO_COMPLEX"]


async def test_introspection_off_and_no_field_suggestions(role_api: ApiClient) -> None:
    token = token_for(uuid.uuid4())
    body = await role_api.execute("{ __schema { types { name } } }", token=token)
    assert set(codes(body)) == {"INTROSPECTION_DISABLED"}
    typo = await role_api.execute("{ overveiw { sessionCount } }", token=token)
    assert codes(typo) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert "overview" not in typo["errors"][0]["message"]


async def test_no_suggestions_for_enum_values_types_or_arguments(role_api: ApiClient) -> None:
    token = token_for(uuid.uuid4())
    variable = await role_api.post(
        "query($p: Period) { overview(period: $p) { sessionCount } }",
        {"p": "LAST_3_DAYS"},
        token=token,
    )
    literal = await role_api.execute(
        "{ overview(period: LAST_3_DAYS) { sessionCount } }", token=token
    )
    unknown_type = await role_api.execute(
        "query($p: Periodd) { overview(period: $p) { sessionCount } }", token=token
    )
    argument = await role_api.execute(
        "{ overview(perod: LAST_7_DAYS) { sessionCount } }", token=token
    )
    messages = [
        body["errors"][0]["message"] for body in (variable.json(), literal, unknown_type, argument)
    ]
    assert messages == [
        "Variable '$p' has invalid value: Value 'LAST_3_DAYS' does not exist in 'Period' enum.",
        "Value 'LAST_3_DAYS' does not exist in 'Period' enum.",
        "Unknown type 'Periodd'.",
        "Unknown argument 'perod' on field 'Query.overview'.",
    ]
    assert codes(variable.json()) == ["BAD_USER_INPUT"]


async def test_introspection_on_when_enabled(api: ApiClient) -> None:
    body = await api.execute("{ __schema { queryType { name } } }", token=token_for(uuid.uuid4()))
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


def test_leaky_bucket_fills_drains_and_says_when_to_retry() -> None:
    now = [100.0]
    budget = BudgetRegistry(capacity=100, rate=10, clock=lambda: now[0])
    assert budget.charge("a", 60) is None
    assert budget.charge("a", 40) is None
    assert budget.charge("a", 30) == 3.0  # 30 over, drains 10/s
    assert budget.charge("b", 100) is None  # another account has its own bucket
    now[0] += 2.0  # 20 drained
    assert budget.charge("a", 30) == 1.0
    now[0] += 1.0
    assert budget.charge("a", 30) is None


async def test_budget_refuses_with_retry_after_per_account(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await tenant_with_data(sessionmaker, "budget-1")
    second = await tenant_with_data(sessionmaker, "budget-2")
    settings = settings_for_tests(
        database_url, rate_limit_burst_cost=1200, rate_limit_cost_per_s=0.5
    )
    # cost 1088: 1 coverage + 4 (period from to asOf)
    # + 4 (timeZone lastDayInProgress dataStartsOn shareBeforeData) + 2 counts
    # + domains (1 + 25 x (12 scalars + flows(first: 5) (1 + 5 x (flow (1 + 2) + usageCount))))
    #   = 1 + 25 x (12 + 21) = 826
    # + knowledgeGaps (1 + 25 x (3 + 3 rates + 4 tiers)) = 251
    # = 1 + 4 + 4 + 2 + 826 + 251 = 1088
    query = tab_query("coverage")
    async with running_app(settings) as client:
        ok = await client.execute(query, token=token_for(first.account_id))
        refused = await client.execute(query, token=token_for(first.account_id))
        other = await client.execute(query, token=token_for(second.account_id))
    assert "errors" not in ok and ok["data"]["coverage"]["domains"][0]["name"]
    assert codes(refused) == ["RATE_LIMITED"]
    retry_after = refused["errors"][0]["extensions"]["retryAfter"]
    assert 1928 <= retry_after <= 1952  # (1088 + 1088 - 1200) / 0.5, less what drained
    assert "errors" not in other
