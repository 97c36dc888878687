"""PSA tab: time entries and hours, the daily trend in local days, and the push funnel."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import local_midnight, local_today, new_tenant, utc_now

PSA = """
query ($period: Period!) {
  psaActivity(period: $period) {
    period totalTimeEntries totalHoursLogged avgHoursPerSession
    activityCounts { type count }
    pushFunnel {
      totalSessions linkedToTicket docPushed timeEntryLogged
      linkedRate docPushedRate timeEntryRate
    }
    dailyTrend { date entries hours }
  }
}
"""
DAY = timedelta(days=1)


async def test_totals_and_daily_trend_in_local_days(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    zone = "America/New_York"
    tenant = await new_tenant(sessionmaker, timezone=zone)
    b = tenant.builder
    now = utc_now()
    today = local_today(now, zone)

    def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today - days_ago * DAY, time(hour, minute), tzinfo=ZoneInfo(zone))

    start = local_midnight(today - 6 * DAY, zone)
    s1 = await b.session(now - 5 * DAY, ticket="100")
    s2 = await b.session(now - 5 * DAY, ticket="200")
    s3 = await b.session(now - 6 * DAY, ticket="300")
    entry = "time_entry_posted"
    # 23:30 local is already the next day in UTC: it belongs to the local day.
    await b.activity(entry, local(1, 23, 30), session_id=s1, hours=1.5)
    await b.activity(entry, local(2, 0, 15), session_id=s1, hours=None)  # 0 hours
    await b.activity(entry, local(3, 10), session_id=None, hours=0.25)  # no session
    await b.activity(entry, local(3, 11), session_id=s2, hours=2.0)
    await b.activity(entry, start, session_id=s3, hours=0.5)  # first instant: in
    await b.activity(entry, start - timedelta(microseconds=1), session_id=s3, hours=8.0)  # out
    await b.activity("note_posted", local(1, 9), session_id=s1)
    await b.activity("note_posted", local(8, 9), session_id=s1)  # out of the 7 days
    await b.activity("status_updated", local(2, 9), session_id=s2)

    data = (await tenant.query(api, PSA, period="LAST_7_DAYS"))["psaActivity"]
    assert data["period"] == "LAST_7_DAYS"
    assert data["totalTimeEntries"] == 5
    assert data["totalHoursLogged"] == 1.5 + 0.25 + 2.0 + 0.5
    # Null hours count as 0; the entry without a session is not in the denominator.
    assert data["avgHoursPerSession"] == pytest.approx((1.5 + 0.25 + 2.0 + 0.5) / 3)
    assert data["activityCounts"] == [
        {"type": "TIME_ENTRY_POSTED", "count": 5},
        {"type": "NOTE_POSTED", "count": 1},
        {"type": "STATUS_UPDATED", "count": 1},
    ]
    by_day = {6: (1, 0.5), 3: (2, 2.25), 2: (1, 0.0), 1: (1, 1.5)}
    expected = [
        {
            "date": (today - ago * DAY).isoformat(),
            "entries": by_day.get(ago, (0, 0.0))[0],
            "hours": by_day.get(ago, (0, 0.0))[1],
        }
        for ago in range(6, -1, -1)
    ]
    assert data["dailyTrend"] == expected
    assert sum(p["entries"] for p in data["dailyTrend"]) == data["totalTimeEntries"]
    assert sum(p["hours"] for p in data["dailyTrend"]) == data["totalHoursLogged"]

    data = (await tenant.query(api, PSA, period="LAST_30_DAYS"))["psaActivity"]
    assert data["totalTimeEntries"] == 6
    assert data["totalHoursLogged"] == 1.5 + 0.25 + 2.0 + 0.5 + 8.0
    assert data["avgHoursPerSession"] == pytest.approx((1.5 + 0.25 + 2.0 + 0.5 + 8.0) / 3)
    assert len(data["dailyTrend"]) == 30
    assert data["dailyTrend"][0]["date"] == (today - 29 * DAY).isoformat()
    assert data["dailyTrend"][-1]["date"] == today.isoformat()


async def test_trend_points_sum_to_the_totals_with_decimal_hours(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    now = utc_now()
    session = await tenant.builder.session(now - 3 * DAY)
    for days_ago, hours in ((1, 0.1), (2, 0.2), (3, 0.7), (3, 1.1)):
        await tenant.builder.activity(
            "time_entry_posted", now - days_ago * DAY, session_id=session, hours=hours
        )
    data = (await tenant.query(api, PSA, period="LAST_7_DAYS"))["psaActivity"]
    assert data["totalHoursLogged"] == pytest.approx(2.1)
    assert data["avgHoursPerSession"] == pytest.approx(2.1)
    assert sum(p["hours"] for p in data["dailyTrend"]) == pytest.approx(
        data["totalHoursLogged"], abs=1e-9
    )


async def test_time_entries_without_sessions_leave_the_average_null(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await tenant.builder.activity("time_entry_posted", utc_now() - DAY, hours=3.0)
    data = (await tenant.query(api, PSA, period="LAST_7_DAYS"))["psaActivity"]
    assert (data["totalTimeEntries"], data["totalHoursLogged"]) == (1, 3.0)
    assert data["avgHoursPerSession"] is None


async def test_push_funnel_is_a_cohort_of_the_period_sessions(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    now = utc_now()
    at = now - 5 * DAY
    long_ago = now - 60 * DAY  # activities of any date count
    note, entry = "note_posted", "time_entry_posted"

    full = await b.session(at, ticket="T1")
    await b.activity(note, long_ago, session_id=full, ticket="T1")
    await b.activity(entry, now - DAY, session_id=full, ticket="T1", hours=1.0)
    await b.activity(entry, now - 2 * DAY, session_id=full, ticket="T1", hours=1.0)
    note_only = await b.session(at, ticket="T2")
    await b.activity(note, now - DAY, session_id=note_only, ticket="T2")
    time_only = await b.session(at, ticket="T3")  # a time entry without a note
    await b.activity(entry, now - DAY, session_id=time_only, ticket="T3", hours=1.0)
    await b.session(at, ticket="T4")  # linked, nothing pushed
    status_only = await b.session(at, ticket="T5")
    await b.activity("status_updated", now - DAY, session_id=status_only, ticket="T5")
    # Not linked: empty, blank, none — pushes against them do not count.
    empty = await b.session(at, ticket="")
    await b.activity(note, now - DAY, session_id=empty, ticket="X")
    await b.activity(entry, now - DAY, session_id=empty, ticket="X", hours=1.0)
    await b.session(at, ticket="   ")
    await b.session(at, ticket=None)
    # Outside the cohort: an older session, an assistant session, one starting tomorrow.
    old = await b.session(now - 40 * DAY, ticket="T9")
    await b.activity(note, now - DAY, session_id=old, ticket="T9")
    assistant = await b.session(at, ticket="T10", session_type="assistant")
    await b.activity(note, now - DAY, session_id=assistant, ticket="T10")
    tomorrow = local_midnight(local_today(now, "UTC") + DAY, "UTC")
    await b.session(tomorrow + timedelta(hours=2), ticket="T11")

    data = (await tenant.query(api, PSA, period="LAST_30_DAYS"))["psaActivity"]
    assert data["pushFunnel"] == {
        "totalSessions": 8,
        "linkedToTicket": 5,
        "docPushed": 2,
        "timeEntryLogged": 1,
        "linkedRate": 5 / 8,
        "docPushedRate": 2 / 5,
        "timeEntryRate": 1 / 2,
    }
    # Totals are about activities in the period, whatever their session.
    assert data["totalTimeEntries"] == 4
    assert data["totalHoursLogged"] == 4.0
    assert data["avgHoursPerSession"] == 4.0 / 3  # full, time_only, empty
    counts = {c["type"]: c["count"] for c in data["activityCounts"]}
    assert counts == {"TIME_ENTRY_POSTED": 4, "NOTE_POSTED": 4, "STATUS_UPDATED": 1}

    data = (await tenant.query(api, PSA, period="LAST_90_DAYS"))["psaActivity"]
    assert data["pushFunnel"]["totalSessions"] == 9
    assert data["pushFunnel"]["docPushed"] == 3


async def test_no_data_gives_zeros_and_a_trend_of_zero_days(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    zone = "Asia/Kolkata"
    tenant = await new_tenant(sessionmaker, timezone=zone)
    today = local_today(utc_now(), zone)
    data = (await tenant.query(api, PSA, period="LAST_90_DAYS"))["psaActivity"]
    assert data == {
        "period": "LAST_90_DAYS",
        "totalTimeEntries": 0,
        "totalHoursLogged": 0.0,
        "avgHoursPerSession": None,
        "activityCounts": [
            {"type": "TIME_ENTRY_POSTED", "count": 0},
            {"type": "NOTE_POSTED", "count": 0},
            {"type": "STATUS_UPDATED", "count": 0},
        ],
        "pushFunnel": {
            "totalSessions": 0,
            "linkedToTicket": 0,
            "docPushed": 0,
            "timeEntryLogged": 0,
            "linkedRate": None,
            "docPushedRate": None,
            "timeEntryRate": None,
        },
        "dailyTrend": [
            {"date": (today - ago * DAY).isoformat(), "entries": 0, "hours": 0.0}
            for ago in range(89, -1, -1)
        ],
    }
