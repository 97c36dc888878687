"""Overview.dailyTrend: one point per local day, zero days included, adding up to the totals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.features.support import at, today_in
from tests.graphql_client import ApiClient
from tests.tabs.support import new_tenant, utc_now

DAY = timedelta(days=1)
ZONE = "Asia/Kolkata"  # UTC+05:30: local days do not line up with UTC days

QUERY = """
query {
  overview(period: LAST_7_DAYS) {
    sessionCount resolutionRate escalationRate mttrMinutes
    dailyTrend { date sessions resolved escalated mttrMinutes }
  }
}
"""


async def test_daily_trend_has_every_local_day_and_sums_to_the_totals(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker, timezone=ZONE)
    add = tenant.builder.session
    today = today_in(ZONE, utc_now())
    first = today - 6 * DAY

    def minutes(value: float) -> timedelta:
        return timedelta(minutes=value)

    # The first local day: a session at its first instant, resolved in 10 minutes.
    start = at(first, ZONE, 0)
    await add(start, status="resolved", resolved_at=start + minutes(10))
    # Two days later: 23:59 local (18:29 UTC), resolved in 20; escalated; resolved without time.
    late = at(first + 2 * DAY, ZONE, 23 + 59 / 60)
    await add(late, status="resolved", resolved_at=late + minutes(20))
    await add(at(first + 2 * DAY, ZONE), status="escalated")
    await add(at(first + 2 * DAY, ZONE, 1), status="resolved")
    # Yesterday: one active session.
    await add(at(today - DAY, ZONE), status="active")
    # Outside: the last second before the window, and an assistant session.
    await add(start - timedelta(seconds=1), status="resolved", resolved_at=start)
    await add(at(today - DAY, ZONE), status="resolved", session_type="assistant")

    data = (await tenant.query(api, QUERY))["overview"]
    trend = data["dailyTrend"]
    assert [point["date"] for point in trend] == [
        (first + offset * DAY).isoformat() for offset in range(7)
    ]
    by_offset = {offset: trend[offset] for offset in range(7)}
    assert by_offset[0] == {
        "date": first.isoformat(),
        "sessions": 1,
        "resolved": 1,
        "escalated": 0,
        "mttrMinutes": pytest.approx(10),
    }
    assert by_offset[2] == {
        "date": (first + 2 * DAY).isoformat(),
        "sessions": 3,
        "resolved": 2,
        "escalated": 1,
        "mttrMinutes": pytest.approx(20),
    }
    assert by_offset[5] == {
        "date": (today - DAY).isoformat(),
        "sessions": 1,
        "resolved": 0,
        "escalated": 0,
        "mttrMinutes": None,
    }
    for offset in (1, 3, 4, 6):
        assert by_offset[offset]["sessions"] == 0
        assert by_offset[offset]["mttrMinutes"] is None

    assert data["sessionCount"] == 5 == sum(point["sessions"] for point in trend)
    assert data["resolutionRate"] * 5 == 3 == sum(point["resolved"] for point in trend)
    assert data["escalationRate"] * 5 == 1 == sum(point["escalated"] for point in trend)
    assert data["mttrMinutes"] == pytest.approx((10 + 20) / 2)
