"""The page statement: each session's flow name comes from its own account's flow, on
every page; the evidence's statements are planned for their own values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.evidence.support import all_pages
from tests.graphql_client import ApiClient
from tests.sql_counter import count_statements
from tests.tabs.support import new_tenant, utc_now

NAMES = """
query ($filter: EvidenceFilter, $first: Int!, $after: String) {
  sessionEvidence(period: LAST_7_DAYS, filter: $filter, first: $first, after: $after) {
    totalCount nodes { id matchedFlowId matchedFlowName } pageInfo { endCursor hasNextPage }
  }
}
"""


async def test_each_session_names_its_own_accounts_flow_on_every_page(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Two flows of the account, none, and a flow of another account (its name is not
    this account's to see): pages of two, newest first."""
    tenant = await new_tenant(sessionmaker)
    other = await new_tenant(sessionmaker)
    builder = tenant.builder
    reset = await builder.flow("Reset password", "Email")
    vpn = await builder.flow("VPN setup", "Network")
    foreign = await other.builder.flow("Another account's flow", "Email")
    now = utc_now()
    matched = [reset, None, vpn, foreign, reset]
    ids = [
        await builder.session(now - timedelta(hours=hour + 1), flow_id=flow)
        for hour, flow in enumerate(matched)
    ]
    total, rows = await all_pages(api, tenant.token, NAMES, "sessionEvidence", 2)
    assert total == 5
    assert [(row["id"], row["matchedFlowId"], row["matchedFlowName"]) for row in rows] == [
        (str(ids[0]), str(reset), "Reset password"),
        (str(ids[1]), None, None),
        (str(ids[2]), str(vpn), "VPN setup"),
        (str(ids[3]), str(foreign), None),
        (str(ids[4]), str(reset), "Reset password"),
    ]
    total, rows = await all_pages(
        api, tenant.token, NAMES, "sessionEvidence", 1, filter={"flowId": str(reset)}
    )
    assert total == 2
    assert [(row["id"], row["matchedFlowName"]) for row in rows] == [
        (str(ids[0]), "Reset password"),
        (str(ids[4]), "Reset password"),
    ]


@pytest.mark.parametrize(
    ("field", "table"),
    [
        ("sessionEvidence(filter: {tier: GUIDED}) { totalCount nodes { id } }", "ai_sessions"),
        ("psaActivityEvidence(type: NOTE_POSTED) { totalCount nodes { id } }", "psa_activity_log"),
    ],
)
async def test_evidence_statements_run_with_custom_plans(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], field: str, table: str
) -> None:
    """Between the statement that sets custom plans and the one that puts the mode back:
    the total and the page (a prepared statement's plan for any account reads every row
    of a large account's filter)."""
    tenant = await new_tenant(sessionmaker)
    session = await tenant.builder.session(utc_now() - timedelta(hours=1), tier="guided")
    await tenant.builder.activity(
        "note_posted", utc_now() - timedelta(minutes=30), session_id=session
    )
    with count_statements(api.app) as log:
        data = await tenant.query(api, f"{{ {field} }}")
    assert next(iter(data.values()))["totalCount"] == 1
    statements = log.statements
    begin = [i for i, s in enumerate(statements) if "'force_custom_plan'" in s]
    end = [i for i, s in enumerate(statements) if "set_config('plan_cache_mode', $1" in s]
    assert len(begin) == 1 and len(end) == 1, statements
    reads = [i for i, s in enumerate(statements) if f"FROM {table}" in s]
    assert len(reads) >= 1, statements
    assert all(begin[0] < i < end[0] for i in reads), statements
    assert any("rollup_" in s for s in statements[begin[0] + 1 : end[0]]), statements
