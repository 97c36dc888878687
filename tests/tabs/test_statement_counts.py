"""Statement counts per tab query do not grow with the number of domains or flows (no N+1)."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.models import AiSession, PsaActivityLog, Tree
from persistence.tenancy import account_transaction
from queries import TAB_DOCUMENTS, tab_query
from tests.graphql_client import ApiClient, running_app, settings_for_tests
from tests.sql_counter import StatementLog, count_statements
from tests.tabs.support import Tenant, new_tenant, utc_now

QUERIES = {
    "overview": """{ overview(period: LAST_30_DAYS) {
        sessionCount resolutionRate escalationRate guidedRate mttrMinutes avgRating
        confidenceTiers { guided exploring discovery unknown }
        domains { name flowCount sessionCount resolutionRate escalationRate guidedRate
                  avgResolutionMinutes resolutionTier suggestCreateFlow
                  flows { flow { id name } } } } }""",
    "coverage": """{ coverage(period: LAST_30_DAYS) {
        unmappedSessionCount totalDomains
        domains { name flowCount sessionCount resolutionRate escalationRate guidedRate
                  avgResolutionMinutes flowCountTier resolutionTier escalationTier guidedTier
                  suggestCreateFlow flows { flow { id name } usageCount qualityScore } }
        knowledgeGaps { name sessionCount } } }""",
    "flowQuality": """{ flowQuality(period: LAST_30_DAYS, sort: SUCCESS_RATE, direction: ASC) {
        totalFlows
        flows { flow { id name category totalUsageCount lastMatchedAt }
                usageCount successRate guidedRate avgConfidence recencyScore qualityScore
                needsAttention attentionReasons
                domain { name sessionCount resolutionRate flowCount } }
        topPerformers { flow { id } qualityScore } bottomPerformers { flow { id } }
        needsAttention { flow { id } } } }""",
    "psaActivity": """{ psaActivity(period: LAST_30_DAYS) {
        totalTimeEntries totalHoursLogged avgHoursPerSession activityCounts { type count }
        pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
        dailyTrend { date entries hours } } }""",
}
# Exactly what each tab document costs: the statement that binds the account (and reads
# its time zone), then one statement per batch; each document also asks how comparable its
# window is, which reads the account's first data day (one index probe, "first day").
TAB_STATEMENTS = {
    "overview": 5,  # binding, totals, domain set (with its domains' counts), trend, first day
    "coverage": 4,  # binding, domain set (with counts), flow previews (with statistics), first day
    "flow-quality": 3,  # binding, every ranked list of the window in one statement, first day
    "psa": 5,  # binding, totals, push funnel, daily trend, first day
}
DOMAINS_ONLY = "{ coverage { domains { name flowCount } } }"
DOMAINS_WITH_RATE = "{ coverage { domains { name flowCount resolutionRate } } }"
TOTALS_ONLY = "{ overview { sessionCount } }"
TOTALS_WITH_TREND = "{ overview { sessionCount dailyTrend { sessions } } }"
FLOWS_ONLY = "{ coverage { domains { name flows { flow { id } } } } }"
FLOWS_WITH_USAGE = "{ coverage { domains { name flows { flow { id } usageCount } } } }"


async def _account(sessionmaker: async_sessionmaker[AsyncSession], domains: int) -> Tenant:
    """`domains` domains, each with two flows and a session matched to the first flow.

    Rows go in with one multi-row INSERT per table, so the 60-domain account is quick.
    """
    tenant = await new_tenant(sessionmaker)
    account = tenant.account_id
    now = utc_now()
    day = now - timedelta(days=1)
    flows: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    for index in range(domains):
        name = f"Domain {index:02d}"
        first, session = uuid.uuid4(), uuid.uuid4()
        flows.append(
            {
                "id": first,
                "account_id": account,
                "name": f"{name} A",
                "category": name,
                "last_matched_at": now - timedelta(days=index),
            }
        )
        flows.append(
            {
                "id": uuid.uuid4(),
                "account_id": account,
                "name": f"{name} B",
                "category": name,
                "last_matched_at": None,
            }
        )
        sessions.append(
            {
                "id": session,
                "account_id": account,
                "problem_domain": name,
                "status": "resolved",
                "matched_flow_id": first,
                "started_at": day,
                "psa_ticket_id": str(index),
            }
        )
        activities.append(
            {
                "id": uuid.uuid4(),
                "account_id": account,
                "session_id": session,
                "activity_type": "time_entry_posted",
                "hours_logged": 1.0,
                "psa_ticket_id": str(index),
                "external_id": uuid.uuid4().hex,
                "created_at": day,
            }
        )
    async with account_transaction(sessionmaker, account) as session_:
        for model, rows in ((Tree, flows), (AiSession, sessions), (PsaActivityLog, activities)):
            await session_.execute(insert(model), rows)
    return tenant


@pytest.fixture(scope="module")
async def accounts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Tenant, Tenant]:
    return await _account(sessionmaker, 3), await _account(sessionmaker, 60)


async def _statements(api: ApiClient, tenant: Tenant, query: str) -> int:
    with count_statements(api.app) as log:
        await tenant.query(api, query)
    # Every read of a request shares one snapshot: the account is bound once, then one
    # statement per batch.
    assert log.transactions == 1, log.statements
    return log.count


@pytest.mark.parametrize("tab", list(QUERIES))
async def test_statement_count_does_not_grow_with_domains(
    api: ApiClient, accounts: tuple[Tenant, Tenant], tab: str
) -> None:
    small, large = accounts
    data = await large.query(api, QUERIES[tab])
    assert data  # the query itself is valid and answers
    few = await _statements(api, small, QUERIES[tab])
    many = await _statements(api, large, QUERIES[tab])
    print(f"{tab}: {few} statements with 3 domains, {many} with 60")
    assert few == many


async def _logged(api: ApiClient, tenant: Tenant, query: str) -> StatementLog:
    with count_statements(api.app) as log:
        await tenant.query(api, query)
    return log


async def test_one_more_field_costs_one_more_batched_query(
    api: ApiClient, accounts: tuple[Tenant, Tenant]
) -> None:
    for tenant in accounts:
        without = await _logged(api, tenant, TOTALS_ONLY)
        with_trend = await _logged(api, tenant, TOTALS_WITH_TREND)
        assert len(with_trend.queries) == len(without.queries) + 1
        assert with_trend.count > without.count


@pytest.mark.parametrize(
    ("plain", "more"), [(DOMAINS_ONLY, DOMAINS_WITH_RATE), (FLOWS_ONLY, FLOWS_WITH_USAGE)]
)
async def test_figures_read_with_their_rows_cost_no_statement(
    api: ApiClient, accounts: tuple[Tenant, Tenant], plain: str, more: str
) -> None:
    """A domain's rates come with the domain set, a previewed flow's usage with the
    preview."""
    for tenant in accounts:
        without = await _logged(api, tenant, plain)
        assert (await _logged(api, tenant, more)).count == without.count


@pytest.mark.parametrize("tab", sorted(TAB_DOCUMENTS))
async def test_tab_documents_cost_the_same_statements_at_3_and_60_domains(
    api: ApiClient, accounts: tuple[Tenant, Tenant], tab: str
) -> None:
    small, large = accounts
    few = await _statements(api, small, tab_query(tab))
    many = await _statements(api, large, tab_query(tab))
    print(f"queries/{tab}: {few} statements with 3 domains, {many} with 60")
    assert few == many == TAB_STATEMENTS[tab]


async def test_statements_of_background_tasks_are_not_counted(api: ApiClient) -> None:
    """Like the app's outbox recovery timer: a task started outside the measured context."""

    async def background_query() -> None:
        async with api.app.state.database.primary_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    with count_statements(api.app) as log:
        await asyncio.get_running_loop().create_task(
            background_query(), context=contextvars.Context()
        )
        async with api.app.state.database.primary_engine.connect() as connection:
            await connection.execute(text("SELECT 2"))
    assert log.statements == ["SELECT 2"]


async def test_the_four_tab_documents_in_one_request_cost_fixed_statements(
    database_url: str, accounts: tuple[Tenant, Tenant]
) -> None:
    """Every tab's look-up chains in one request, five times over, at 3 and 60 domains: the
    batches take turns on the request's one connection, so how keys group into batches
    does not depend on when each statement answers. (The four together cost more than one
    query may, so this app lifts the cost limit and the budget.)"""
    combined = "\n".join(
        f"{name}: {QUERIES[name].strip().removeprefix('{').removesuffix('}')}" for name in QUERIES
    )
    document = "{ " + combined + " }"
    settings = settings_for_tests(database_url, max_query_cost=100_000, rate_limit_cost_per_s=0)
    async with running_app(settings) as api:
        counts = [await _statements(api, tenant, document) for tenant in accounts for _ in range(5)]
    print(f"all four tabs in one request: {counts}")
    assert len(set(counts)) == 1
