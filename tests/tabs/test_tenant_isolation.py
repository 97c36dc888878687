"""Two accounts with the same domain and flow names: each token sees only its own numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient, token_for
from tests.tabs.support import Tenant, new_tenant, utc_now

DAY = timedelta(days=1)
ALL_TABS = """
query {
  overview(period: LAST_90_DAYS) {
    asOf sessionCount resolutionRate avgRating
    confidenceTiers { guided exploring discovery unknown }
    domains { name sessionCount flowCount flows { flow { id } } }
  }
  coverage(period: LAST_90_DAYS) {
    asOf unmappedSessionCount totalDomains
    domains { name sessionCount flowCount resolutionRate flows { flow { id } usageCount } }
    knowledgeGaps { name }
  }
  flowQuality(period: LAST_90_DAYS) {
    asOf totalFlows
    flows {
      flow { id name totalUsageCount } usageCount successRate domain { name sessionCount }
    }
    topPerformers { flow { id } } needsAttention { flow { id } }
  }
  psaActivity(period: LAST_90_DAYS) {
    asOf totalTimeEntries totalHoursLogged avgHoursPerSession
    pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
    dailyTrend { entries hours }
  }
}
"""
FLOW = "query ($id: ID!) { flow(id: $id, period: LAST_90_DAYS) { flow { id } usageCount } }"


async def _populate(tenant: Tenant, sessions: int, hours: float) -> uuid.UUID:
    """`sessions` resolved sessions in domain "Email" on flow "Email basics", one time entry."""
    b = tenant.builder
    now = utc_now()
    flow = await b.flow("Email basics", "Email", usage_count=sessions, last_matched_at=now)
    first = None
    for _ in range(sessions):
        session = await b.session(
            now - 2 * DAY,
            domain="email",
            status="resolved",
            tier="guided",
            flow_id=flow,
            rating=4,
            ticket="42",
        )
        first = first or session
    await b.session(now - 2 * DAY, domain=None)
    await b.activity("note_posted", now - DAY, session_id=first, ticket="42")
    await b.activity("time_entry_posted", now - DAY, session_id=first, ticket="42", hours=hours)
    return flow


async def test_every_root_field_sees_only_the_callers_account(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    one = await new_tenant(sessionmaker)
    two = await new_tenant(sessionmaker, timezone="Europe/Berlin")
    flow_one = await _populate(one, sessions=2, hours=1.0)
    flow_two = await _populate(two, sessions=5, hours=7.0)

    for tenant, flow, own, hours in ((one, flow_one, 2, 1.0), (two, flow_two, 5, 7.0)):
        before = datetime.now(UTC)
        data = await tenant.query(api, ALL_TABS)
        after = datetime.now(UTC)
        # One request, one instant: every tab of the response is as of the same now.
        instants = {tab.pop("asOf") for tab in data.values()}
        assert len(instants) == 1
        assert before <= datetime.fromisoformat(instants.pop()) <= after
        overview, coverage = data["overview"], data["coverage"]
        quality, psa = data["flowQuality"], data["psaActivity"]
        assert overview["sessionCount"] == own + 1
        assert overview["confidenceTiers"]["guided"] == own
        assert overview["domains"] == [
            {
                "name": "Email",
                "sessionCount": own,
                "flowCount": 1,
                "flows": [{"flow": {"id": str(flow)}}],
            }
        ]
        assert coverage["unmappedSessionCount"] == 1
        assert coverage["totalDomains"] == 1
        assert coverage["domains"] == [
            {
                "name": "Email",
                "sessionCount": own,
                "flowCount": 1,
                "resolutionRate": 1.0,
                "flows": [{"flow": {"id": str(flow)}, "usageCount": own}],
            }
        ]
        assert coverage["knowledgeGaps"] == []
        assert quality["totalFlows"] == 1
        assert quality["flows"] == [
            {
                "flow": {"id": str(flow), "name": "Email basics", "totalUsageCount": own},
                "usageCount": own,
                "successRate": 1.0,
                "domain": {"name": "Email", "sessionCount": own},
            }
        ]
        assert quality["topPerformers"] == [{"flow": {"id": str(flow)}}]
        assert quality["needsAttention"] == []
        assert psa["totalTimeEntries"] == 1
        assert psa["totalHoursLogged"] == hours
        assert psa["avgHoursPerSession"] == hours
        assert psa["pushFunnel"] == {
            "totalSessions": own + 1,
            "linkedToTicket": own,
            "docPushed": 1,
            "timeEntryLogged": 1,
        }
        assert sum(point["hours"] for point in psa["dailyTrend"]) == hours

    # One account's flow id, asked for with the other's token, is null.
    assert await one.query(api, FLOW, id=str(flow_two)) == {"flow": None}
    assert await two.query(api, FLOW, id=str(flow_one)) == {"flow": None}
    mine: dict[str, Any] = await one.query(api, FLOW, id=str(flow_one))
    assert mine == {"flow": {"flow": {"id": str(flow_one)}, "usageCount": 2}}


async def test_a_token_for_an_unknown_account_sees_nothing(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other = await new_tenant(sessionmaker)
    flow = await _populate(other, sessions=3, hours=2.0)
    token = token_for(uuid.uuid4(), "admin")
    data = await api.data(ALL_TABS, token=token)
    assert data["overview"]["sessionCount"] == 0
    assert data["coverage"]["domains"] == []
    assert data["flowQuality"]["flows"] == []
    assert data["psaActivity"]["totalTimeEntries"] == 0
    assert data["psaActivity"]["pushFunnel"]["totalSessions"] == 0
    assert await api.data(FLOW, {"id": str(flow)}, token=token) == {"flow": None}
