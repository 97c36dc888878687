"""range: custom local days instead of a period — validation, time zones, trends, comparisons."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.features.support import at, error_of, today_in
from tests.graphql_client import ApiClient
from tests.tabs.support import new_tenant, utc_now

DAY = timedelta(days=1)
NEW_YORK = "America/New_York"

OVERVIEW = """
query ($range: DateRangeInput) {
  overview(range: $range) { period from to sessionCount }
}
"""


def span(first: date, last: date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": last.isoformat()}


@pytest.mark.parametrize(
    ("offsets", "reason"),
    [
        ((-3, -5), "range.from must not be after range.to"),
        ((-366, 0), "range covers 367 days; at most 366 are allowed"),
        ((0, 1), "range.to must not be after today"),
    ],
)
async def test_invalid_ranges_are_bad_user_input_with_the_reason(
    api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    offsets: tuple[int, int],
    reason: str,
) -> None:
    tenant = await new_tenant(sessionmaker)
    today = today_in("UTC", utc_now())
    first, last = (today + offset * DAY for offset in offsets)
    error = await error_of(api, tenant.token, OVERVIEW, range=span(first, last))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "range"
    assert error["message"].startswith(reason)


async def test_a_range_before_1970_is_refused(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    error = await error_of(
        api, tenant.token, OVERVIEW, range=span(date(1969, 12, 31), date(1970, 1, 5))
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "range.from must not be before 1970-01-01"


async def test_366_days_ending_today_are_accepted(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    today = today_in("UTC", utc_now())
    await tenant.builder.session(at(today - 365 * DAY, "UTC", 0))  # the first instant
    await tenant.builder.session(at(today - 365 * DAY, "UTC", 0) - timedelta(seconds=1))
    data = (await tenant.query(api, OVERVIEW, range=span(today - 365 * DAY, today)))["overview"]
    # `period` echoes the argument (its default); from/to say what is covered.
    assert data == {
        "period": "LAST_30_DAYS",
        "from": (today - 365 * DAY).isoformat(),
        "to": today.isoformat(),
        "sessionCount": 1,
    }


async def test_today_is_the_account_s_local_today(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """UTC+14 is a day ahead of UTC for most of the day: its today is allowed, not tomorrow."""
    zone = "Pacific/Kiritimati"
    tenant = await new_tenant(sessionmaker, timezone=zone)
    today = today_in(zone, utc_now())
    data = (await tenant.query(api, OVERVIEW, range=span(today, today)))["overview"]
    assert data["to"] == today.isoformat()
    error = await error_of(api, tenant.token, OVERVIEW, range=span(today, today + DAY))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        f"range.to must not be after today ({today.isoformat()} in Pacific/Kiritimati)"
    )


BOTH_LITERAL = """
query ($range: DateRangeInput) { psaActivity(period: LAST_7_DAYS, range: $range) { from } }
"""
BOTH_VARIABLES = """
query ($period: Period, $range: DateRangeInput) {
  flowQuality(period: $period, range: $range) { from to }
}
"""


async def test_period_and_range_together_are_refused(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    today = today_in("UTC", utc_now())
    week = span(today - 6 * DAY, today)
    for query, variables in (
        (BOTH_LITERAL, {"range": week}),
        (BOTH_VARIABLES, {"range": week, "period": "LAST_7_DAYS"}),
    ):
        error = await error_of(api, tenant.token, query, **variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == "give either period or range, not both"
    # One document serves both when the unused variable is simply not sent.
    by_range = await tenant.query(api, BOTH_VARIABLES, range=span(today - 2 * DAY, today))
    assert by_range["flowQuality"] == {
        "from": (today - 2 * DAY).isoformat(),
        "to": today.isoformat(),
    }
    by_period = await tenant.query(api, BOTH_VARIABLES, period="LAST_7_DAYS")
    assert by_period["flowQuality"]["from"] == (today - 6 * DAY).isoformat()


RANGE_TABS = """
query ($range: DateRangeInput!) {
  overview(range: $range, compareTo: PREVIOUS_PERIOD) {
    from to sessionCount
    dailyTrend { date sessions }
    previous { from to sessionCount }
    changes { sessionCount { absolute relative } }
  }
  coverage(range: $range) { from to unmappedSessionCount }
  flowQuality(range: $range) { from to flows { flow { name } usageCount } }
  psaActivity(range: $range) { from to totalTimeEntries dailyTrend { date entries } }
}
"""


def new_york(
    day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11
) -> datetime:
    """A wall-clock time of 2024 in New York (fold 0: the first of a repeated hour)."""
    return datetime(2024, month, day, hour, minute, second, tzinfo=ZoneInfo(NEW_YORK))


async def test_a_range_in_new_york_across_the_end_of_daylight_saving(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """2024-11-01..05 in New York: 5 local days, one of them 25 hours long (DST ends on the 3rd)."""
    tenant = await new_tenant(sessionmaker, timezone=NEW_YORK)
    b = tenant.builder
    flow = await b.flow("VPN", "Network")
    inside = [
        new_york(1, 0, 0, 0),  # the first instant
        new_york(3, 1, 30),  # 01:30 EDT, the first of the two 01:30s
        new_york(3, 23, 30),  # in the 25th hour of the 3rd
        new_york(5, 23, 59, 59),
    ]
    for started in inside:
        await b.session(started, flow_id=flow)
    await b.session(new_york(31, 23, 59, 59, month=10))  # the previous window's last second
    await b.session(new_york(6, 0, 0, 0))  # after the range
    await b.activity("time_entry_posted", new_york(3, 23, 59), hours=1)

    data = await tenant.query(api, RANGE_TABS, range=span(date(2024, 11, 1), date(2024, 11, 5)))
    for tab in ("overview", "coverage", "flowQuality", "psaActivity"):
        assert (data[tab]["from"], data[tab]["to"]) == ("2024-11-01", "2024-11-05")
    overview = data["overview"]
    assert overview["sessionCount"] == 4
    assert overview["dailyTrend"] == [
        {"date": "2024-11-01", "sessions": 1},
        {"date": "2024-11-02", "sessions": 0},
        {"date": "2024-11-03", "sessions": 2},
        {"date": "2024-11-04", "sessions": 0},
        {"date": "2024-11-05", "sessions": 1},
    ]
    assert overview["previous"] == {"from": "2024-10-27", "to": "2024-10-31", "sessionCount": 1}
    assert overview["changes"] == {"sessionCount": {"absolute": 3.0, "relative": 3.0}}
    assert data["coverage"]["unmappedSessionCount"] == 4
    assert data["flowQuality"]["flows"] == [{"flow": {"name": "VPN"}, "usageCount": 4}]
    psa = data["psaActivity"]
    assert psa["totalTimeEntries"] == 1
    assert [point["entries"] for point in psa["dailyTrend"]] == [0, 0, 1, 0, 0]
    assert psa["dailyTrend"][0]["date"] == "2024-11-01"


FLOW = """
query ($id: ID!, $range: DateRangeInput) {
  flow(id: $id, range: $range, compareTo: PREVIOUS_PERIOD) {
    flow { id name } usageCount previous { flow { id } usageCount }
  }
}
"""


async def test_flow_by_id_follows_the_range(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    flow = await b.flow("Printer jam", "Printing")
    await b.session(at(date(2024, 3, 10), "UTC"), flow_id=flow)
    await b.session(at(date(2024, 3, 11), "UTC"), flow_id=flow)
    await b.session(at(date(2024, 3, 9), "UTC"), flow_id=flow)  # previous window (1 day)
    data = await tenant.query(
        api, FLOW, id=str(flow), range=span(date(2024, 3, 10), date(2024, 3, 11))
    )
    # Two days: previous window is 2024-03-08..09.
    assert data["flow"] == {
        "flow": {"id": str(flow), "name": "Printer jam"},
        "usageCount": 2,
        "previous": {"flow": {"id": str(flow)}, "usageCount": 1},
    }
