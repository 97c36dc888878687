"""The tabs say how comparable their windows are: the account's first data day, the share
of each window before it, whether the last day is in progress; and the Overview's exact
resolved and escalated counts, the flows' status and the small-sample threshold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import local_midnight, local_today, new_tenant, utc_now

ZONE = "America/New_York"
WINDOW_FIELDS = """
  from to timeZone lastDayInProgress dataStartsOn shareBeforeData
  previousWindow { from to shareBeforeData }
"""
OVERVIEW = f"""
query ($period: Period, $range: DateRangeInput, $compareTo: ComparisonPeriod) {{
  overview(period: $period, range: $range, compareTo: $compareTo) {{
    {WINDOW_FIELDS}
    sessionCount resolvedCount escalatedCount
    changes {{ resolvedCount {{ previous absolute }} escalatedCount {{ previous absolute }} }}
  }}
}}
"""
PSA = f"""
query ($range: DateRangeInput, $compareTo: ComparisonPeriod) {{
  psaActivity(range: $range, compareTo: $compareTo) {{ {WINDOW_FIELDS} }}
}}
"""
COVERAGE = """
query ($period: Period) {
  coverage(period: $period) { timeZone lastDayInProgress dataStartsOn shareBeforeData
    previousWindow { from } }
}
"""


async def test_windows_before_the_first_data_day_say_so(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker, timezone=ZONE)
    add = tenant.builder.session
    today = local_today(utc_now(), ZONE)
    first = today - timedelta(days=40)
    day = timedelta(days=1)
    # 23:30 in New York is the next day in UTC: the first data day is the local one.
    await add(local_midnight(first, ZONE) + timedelta(hours=23, minutes=30), status="resolved")
    # Earlier, but not FlowPilot data: an assistant session.
    await add(local_midnight(first - 3 * day, ZONE) + timedelta(hours=9), session_type="assistant")
    await add(local_midnight(first + 2 * day, ZONE) + timedelta(hours=9), status="escalated")
    await add(local_midnight(first + 3 * day, ZONE) + timedelta(hours=9), status="resolved")
    await add(local_midnight(first - 30 * day, ZONE), session_type="assistant")

    def iso(offset: int) -> str:
        return (first + timedelta(days=offset)).isoformat()

    # Ten days, five of them before the data; the ten before that, all before it.
    straddling = {"from": iso(-5), "to": iso(4)}
    data = (await tenant.query(api, OVERVIEW, range=straddling, compareTo="PREVIOUS_PERIOD"))[
        "overview"
    ]
    assert data["timeZone"] == ZONE
    assert data["dataStartsOn"] == first.isoformat()
    assert data["shareBeforeData"] == 0.5
    assert data["lastDayInProgress"] is False
    assert data["previousWindow"] == {"from": iso(-15), "to": iso(-6), "shareBeforeData": 1.0}
    assert (data["sessionCount"], data["resolvedCount"], data["escalatedCount"]) == (3, 2, 1)
    assert data["changes"] == {
        "resolvedCount": {"previous": 0.0, "absolute": 2.0},
        "escalatedCount": {"previous": 0.0, "absolute": 1.0},
    }

    # Boundaries: a window starting on the first data day is all data, and its previous
    # window ends the day before it, so all of that one precedes the data.
    from_first = {"from": iso(0), "to": iso(3)}
    data = (await tenant.query(api, PSA, range=from_first, compareTo="PREVIOUS_PERIOD"))[
        "psaActivity"
    ]
    assert (data["shareBeforeData"], data["dataStartsOn"]) == (0.0, first.isoformat())
    assert data["previousWindow"] == {"from": iso(-4), "to": iso(-1), "shareBeforeData": 1.0}
    # The previous window of a window from day 2 holds one day of data in four.
    data = (
        await tenant.query(
            api, PSA, range={"from": iso(3), "to": iso(6)}, compareTo="PREVIOUS_PERIOD"
        )
    )["psaActivity"]
    assert data["previousWindow"] == {"from": iso(-1), "to": iso(2), "shareBeforeData": 0.25}
    # Without compareTo there is no previous window.
    data = (await tenant.query(api, PSA, range=from_first))["psaActivity"]
    assert data["previousWindow"] is None

    # A period ends today: in progress. LAST_90_DAYS starts 89 days back, 49 before the data.
    data = (await tenant.query(api, OVERVIEW, period="LAST_90_DAYS"))["overview"]
    assert data["to"] == today.isoformat()
    assert data["lastDayInProgress"] is True
    assert data["shareBeforeData"] == 49 / 90
    assert data["previousWindow"] is None
    data = (await tenant.query(api, OVERVIEW, period="LAST_30_DAYS", compareTo="PREVIOUS_PERIOD"))[
        "overview"
    ]
    # Today-59 .. today-30: today-59 .. today-41 precede the data, 19 of the 30 days.
    assert data["previousWindow"]["shareBeforeData"] == 19 / 30
    assert data["shareBeforeData"] == 0.0
    # A range ending yesterday is complete.
    yesterday = (today - day).isoformat()
    data = (await tenant.query(api, OVERVIEW, range={"from": yesterday, "to": yesterday}))[
        "overview"
    ]
    assert data["lastDayInProgress"] is False


async def test_an_account_without_sessions_has_no_first_data_day(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker, timezone="Asia/Tokyo")
    await tenant.builder.session(utc_now() - timedelta(days=2), session_type="assistant")
    data = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]
    assert data == {
        "timeZone": "Asia/Tokyo",
        "lastDayInProgress": True,
        "dataStartsOn": None,
        "shareBeforeData": 1.0,
        "previousWindow": None,
    }


FLOW_QUALITY = """
query { flowQuality(period: LAST_30_DAYS) { smallSampleUsage
  flows { flow { name status lastMatchedAt } usageCount } } }
"""


async def test_flows_say_whether_they_are_drafts(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await tenant.builder.flow("Printer setup", "Printing", status="draft")
    await tenant.builder.flow("VPN reset", "Network")
    await tenant.builder.flow("Old flow", "Network", status="archived")
    data = (await tenant.query(api, FLOW_QUALITY))["flowQuality"]
    assert data["smallSampleUsage"] == 10
    assert sorted((row["flow"]["name"], row["flow"]["status"]) for row in data["flows"]) == [
        ("Printer setup", "DRAFT"),
        ("VPN reset", "PUBLISHED"),
    ]
