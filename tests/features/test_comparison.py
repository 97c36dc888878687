"""compareTo: PREVIOUS_PERIOD — `previous` and `changes` of Overview, Domain, Flow and PSA.

The previous window is exactly the N local days before the window; each expected value
below is worked out by hand from the rows the test inserts.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.features.support import at, today_in
from tests.graphql_client import ApiClient
from tests.tabs.support import new_tenant, utc_now

DAY = timedelta(days=1)
CHANGE = "{ current previous absolute relative }"

OVERVIEW = f"""
query ($compare: ComparisonPeriod) {{
  overview(period: LAST_7_DAYS, compareTo: $compare) {{
    from to sessionCount
    previous {{
      period from to sessionCount resolutionRate mttrMinutes avgRating previous {{ to }}
    }}
    changes {{
      sessionCount {CHANGE} resolutionRate {CHANGE} escalationRate {CHANGE}
      guidedRate {CHANGE} mttrMinutes {CHANGE} avgRating {CHANGE}
    }}
    domains {{
      name sessionCount
      previous {{ name sessionCount resolutionRate flowCount }}
      changes {{ sessionCount {CHANGE} resolutionRate {CHANGE} avgResolutionMinutes {CHANGE} }}
    }}
  }}
}}
"""


def change(current: float | None, previous: float | None) -> dict[str, object]:
    """The expected MetricChange, with approx for floats."""
    absolute = None if current is None or previous is None else current - previous
    relative = None if absolute is None or not previous else absolute / previous
    return {
        key: (None if value is None else pytest.approx(value))
        for key, value in {
            "current": current,
            "previous": previous,
            "absolute": absolute,
            "relative": relative,
        }.items()
    }


async def test_overview_and_domains_compare_with_the_preceding_seven_days(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    zone = "Asia/Kolkata"
    tenant = await new_tenant(sessionmaker, timezone=zone)
    add = tenant.builder.session
    today = today_in(zone, utc_now())
    first = today - 6 * DAY  # the window is first..today, the previous one first-7..first-1

    # Current window: 4 sessions.
    start = at(first, zone, 0)  # the window's first instant
    await add(
        start,
        domain="Email",
        status="resolved",
        tier="guided",
        resolved_at=start + timedelta(minutes=30),
        rating=4,
    )
    await add(
        at(today - DAY, zone),
        domain="Email",
        status="resolved",
        tier="guided",
        resolved_at=at(today - DAY, zone) + timedelta(minutes=60),
        rating=2,
    )
    await add(at(today - 2 * DAY, zone), domain="Network", status="resolved", tier="exploring")
    await add(at(today - 3 * DAY, zone), domain="Network", status="escalated")
    # Previous window: 2 sessions, one a second before the current window starts.
    await add(
        start - timedelta(seconds=1),
        domain="email",
        status="resolved",
        resolved_at=start + timedelta(minutes=19, seconds=59),
    )
    await add(at(first - 7 * DAY, zone, 0), domain="PRINTERS", status="active", tier="guided")
    # Neither window: a second before the previous one starts.
    await add(
        at(first - 7 * DAY, zone, 0) - timedelta(seconds=1),
        domain="Email",
        status="resolved",
        resolved_at=at(first - 7 * DAY, zone, 1),
    )

    plain = (await tenant.query(api, OVERVIEW))["overview"]
    assert plain["previous"] is None and plain["changes"] is None
    assert all(d["previous"] is None and d["changes"] is None for d in plain["domains"])

    data = (await tenant.query(api, OVERVIEW, compare="PREVIOUS_PERIOD"))["overview"]
    assert (data["from"], data["to"]) == (first.isoformat(), today.isoformat())
    previous = data["previous"]
    assert previous["period"] == "LAST_7_DAYS"
    assert previous["from"] == (first - 7 * DAY).isoformat()
    assert previous["to"] == (first - DAY).isoformat()
    assert previous["previous"] is None  # one level of comparison only
    assert previous["sessionCount"] == 2
    assert previous["resolutionRate"] == 1 / 2
    assert previous["mttrMinutes"] == pytest.approx(20)
    assert previous["avgRating"] is None

    changes = data["changes"]
    assert changes["sessionCount"] == change(4, 2)
    assert changes["resolutionRate"] == change(3 / 4, 1 / 2)  # +0.25, relative +50%
    assert changes["escalationRate"] == change(1 / 4, 0)  # relative null: previous is 0
    assert changes["escalationRate"]["relative"] is None
    assert changes["guidedRate"] == change(2 / 4, 1 / 2)
    assert changes["guidedRate"]["absolute"] == 0
    assert changes["mttrMinutes"] == change(45, 20)
    assert changes["avgRating"] == change(3, None)
    assert changes["avgRating"]["absolute"] is None

    domains = {d["name"]: d for d in data["domains"]}
    assert set(domains) == {"Email", "Network"}  # PRINTERS had sessions only before
    email = domains["Email"]
    assert email["previous"] == {
        "name": "email",
        "sessionCount": 1,
        "resolutionRate": 1.0,
        "flowCount": 0,
    }
    assert email["changes"]["sessionCount"] == change(2, 1)
    assert email["changes"]["resolutionRate"] == change(1, 1)
    assert email["changes"]["avgResolutionMinutes"] == change(45, 20)
    network = domains["Network"]
    # Absent from the previous window: the same key with zero counts and null rates.
    assert network["previous"] == {
        "name": "Network",
        "sessionCount": 0,
        "resolutionRate": None,
        "flowCount": 0,
    }
    assert network["changes"]["sessionCount"] == change(2, 0)
    assert network["changes"]["sessionCount"]["relative"] is None
    assert network["changes"]["resolutionRate"] == change(1 / 2, None)


COVERAGE = """
query {
  coverage(period: LAST_7_DAYS, compareTo: PREVIOUS_PERIOD) {
    domains { name sessionCount flowCount previous { name sessionCount flowCount } }
  }
}
"""


async def test_coverage_domains_carry_their_previous_window(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await tenant.builder.flow("Printer queue", "Printing")
    today = today_in("UTC", utc_now())
    await tenant.builder.session(at(today - 10 * DAY, "UTC"), domain="printing")
    await tenant.builder.session(at(today - 9 * DAY, "UTC"), domain="printing")

    domains = (await tenant.query(api, COVERAGE))["coverage"]["domains"]
    # A domain with a flow is in both windows' sets, with its flow's spelling.
    assert domains == [
        {
            "name": "Printing",
            "sessionCount": 0,
            "flowCount": 1,
            "previous": {"name": "Printing", "sessionCount": 2, "flowCount": 1},
        }
    ]


FLOW = f"""
query ($id: ID!) {{
  flow(id: $id, period: LAST_7_DAYS, compareTo: PREVIOUS_PERIOD) {{
    flow {{ id name totalUsageCount }}
    usageCount
    previous {{
      flow {{ id name totalUsageCount }}
      usageCount successRate avgConfidence changes {{ usageCount {CHANGE} }}
    }}
    changes {{
      usageCount {CHANGE} successRate {CHANGE} guidedRate {CHANGE}
      avgConfidence {CHANGE} qualityScore {CHANGE}
    }}
    domain {{ previous {{ sessionCount }} }}
  }}
}}
"""
FLOW_QUALITY = f"""
query {{
  flowQuality(period: LAST_7_DAYS, compareTo: PREVIOUS_PERIOD) {{
    flows {{
      flow {{ name }} usageCount previous {{ usageCount }} changes {{ successRate {CHANGE} }}
    }}
  }}
}}
"""


async def test_flow_compares_its_period_statistics(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    today = today_in("UTC", utc_now())
    # never matched: recencyScore 0; lifetime counter 7, whatever the window
    flow = await b.flow("Reset MFA", "Identity", usage_count=7)
    await b.session(
        at(today - DAY, "UTC"),
        domain="Identity",
        flow_id=flow,
        status="resolved",
        tier="guided",
        confidence=0.9,
    )
    await b.session(
        at(today - 2 * DAY, "UTC"),
        domain="Identity",
        flow_id=flow,
        status="escalated",
        confidence=0.7,
    )
    await b.session(
        at(today - 8 * DAY, "UTC"),
        domain="Identity",
        flow_id=flow,
        status="resolved",
        confidence=0.5,
    )

    data = (await tenant.query(api, FLOW, id=str(flow)))["flow"]
    itself = {"id": str(flow), "name": "Reset MFA", "totalUsageCount": 7}
    assert data["flow"] == itself
    assert data["usageCount"] == 2
    previous = data["previous"]
    assert previous["flow"] == itself  # the flow itself is the same in every window
    assert previous["usageCount"] == 1
    assert previous["successRate"] == 1.0
    assert previous["avgConfidence"] == pytest.approx(0.5)
    assert previous["changes"] is None
    changes = data["changes"]
    assert changes["usageCount"] == change(2, 1)
    assert changes["successRate"] == change(1 / 2, 1)  # -0.5, relative -50%
    assert changes["guidedRate"] == change(1 / 2, 0)
    assert changes["guidedRate"]["relative"] is None
    assert changes["avgConfidence"] == change(0.8, 0.5)
    # 0.5 × 1/2 + 0.3 × 1/2 = 0.4 now; 0.5 × 1 + 0.3 × 0 = 0.5 before.
    assert changes["qualityScore"] == change(0.4, 0.5)
    assert data["domain"]["previous"] == {"sessionCount": 1}

    flows = (await tenant.query(api, FLOW_QUALITY))["flowQuality"]["flows"]
    assert flows == [
        {
            "flow": {"name": "Reset MFA"},
            "usageCount": 2,
            "previous": {"usageCount": 1},
            "changes": {"successRate": change(1 / 2, 1)},
        }
    ]


PSA = f"""
query ($compare: ComparisonPeriod) {{
  psaActivity(period: LAST_7_DAYS, compareTo: $compare) {{
    totalHoursLogged
    previous {{ from to totalTimeEntries totalHoursLogged dailyTrend {{ date hours }} }}
    changes {{
      totalTimeEntries {CHANGE} totalHoursLogged {CHANGE} avgHoursPerSession {CHANGE}
      funnelSessions {CHANGE} linkedRate {CHANGE} docPushedRate {CHANGE}
    }}
  }}
}}
"""


async def test_psa_activity_compares_time_entries_and_the_funnel(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    today = today_in("UTC", utc_now())
    now_session = await b.session(at(today - DAY, "UTC"), ticket="T-1")
    await b.session(at(today - DAY, "UTC"))
    before_session = await b.session(at(today - 9 * DAY, "UTC"), ticket="T-2")
    await b.activity("time_entry_posted", at(today - DAY, "UTC"), session_id=now_session, hours=1.5)
    await b.activity("time_entry_posted", at(today, "UTC", 0), session_id=now_session, hours=0.5)
    await b.activity("note_posted", at(today - DAY, "UTC"), session_id=now_session)
    await b.activity(
        "time_entry_posted", at(today - 9 * DAY, "UTC"), session_id=before_session, hours=3.0
    )

    plain = (await tenant.query(api, PSA))["psaActivity"]
    assert plain["previous"] is None and plain["changes"] is None

    data = (await tenant.query(api, PSA, compare="PREVIOUS_PERIOD"))["psaActivity"]
    previous = data["previous"]
    assert (previous["totalTimeEntries"], previous["totalHoursLogged"]) == (1, 3.0)
    # The previous window's own daily trend: 7 days, summing to its total.
    days = [point["date"] for point in previous["dailyTrend"]]
    assert days[0] == (today - 13 * DAY).isoformat() and days[-1] == (today - 7 * DAY).isoformat()
    assert len(days) == 7
    assert sum(point["hours"] for point in previous["dailyTrend"]) == 3.0
    changes = data["changes"]
    assert changes["totalTimeEntries"] == change(2, 1)
    assert changes["totalHoursLogged"] == change(2.0, 3.0)  # relative -1/3
    assert changes["avgHoursPerSession"] == change(2.0, 3.0)
    assert changes["funnelSessions"] == change(2, 1)
    assert changes["linkedRate"] == change(1 / 2, 1)
    # Linked sessions with a note: 1 of 1 now, 0 of 1 before.
    assert changes["docPushedRate"] == change(1, 0)
    assert changes["docPushedRate"]["relative"] is None
