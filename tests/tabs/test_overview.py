"""Overview tab: headline numbers, confidence tiers, domain breakdown and the period window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import local_midnight, local_today, new_tenant, utc_now

OVERVIEW = """
query ($period: Period!) {
  overview(period: $period) {
    period sessionCount resolutionRate escalationRate guidedRate mttrMinutes avgRating
    confidenceTiers { guided exploring discovery unknown }
    domains { name sessionCount flowCount }
  }
}
"""


async def test_headline_numbers_follow_the_definitions(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    add = tenant.builder.session
    now = utc_now()
    day = timedelta(days=1)
    started = now - 2 * day
    await add(
        started,
        domain="Email",
        status="resolved",
        tier="guided",
        resolved_at=started + timedelta(minutes=30),
        rating=5,
    )
    await add(
        now - 3 * day,
        domain="email ",
        status="resolved",
        tier="exploring",
        resolved_at=now - 3 * day + timedelta(minutes=90),
        rating=3,
    )
    # Resolved without a resolution time: counts as resolved, not in the MTTR.
    await add(now - 4 * day, domain="Network", status="resolved", tier="discovery")
    await add(now - 5 * day, domain=None, status="escalated", tier="guided", rating=1)
    await add(now - 5 * day, domain="   ", status="active")
    # Only resolved sessions enter the MTTR, even if another carries a resolution time.
    escalated_at = now - 6 * day
    await add(
        escalated_at,
        domain="Network",
        status="escalated",
        resolved_at=escalated_at + timedelta(minutes=500),
    )
    # Never counted: an assistant session, and one that starts tomorrow (local).
    await add(
        now - 2 * day,
        domain="Email",
        status="resolved",
        tier="guided",
        rating=5,
        session_type="assistant",
    )
    tomorrow = local_midnight(local_today(now, "UTC") + day, "UTC")
    await add(tomorrow + timedelta(hours=1), domain="Email", status="resolved", tier="guided")
    # Only in the 90-day period.
    await add(
        now - 40 * day,
        domain="Network",
        status="resolved",
        resolved_at=now - 40 * day + timedelta(minutes=10),
    )

    data = (await tenant.query(api, OVERVIEW, period="LAST_30_DAYS"))["overview"]
    assert data["period"] == "LAST_30_DAYS"
    assert data["sessionCount"] == 6
    assert data["resolutionRate"] == 3 / 6
    assert data["escalationRate"] == 2 / 6
    assert data["guidedRate"] == 2 / 6
    assert data["mttrMinutes"] == pytest.approx((30 + 90) / 2)
    assert data["avgRating"] == pytest.approx((5 + 3 + 1) / 3)
    assert data["confidenceTiers"] == {"guided": 2, "exploring": 1, "discovery": 1, "unknown": 2}
    # "Email" and "email" tie as spellings: the smallest by code point wins; the two
    # domains tie at 2 sessions and go by name.
    assert data["domains"] == [
        {"name": "Email", "sessionCount": 2, "flowCount": 0},
        {"name": "Network", "sessionCount": 2, "flowCount": 0},
    ]

    data = (await tenant.query(api, OVERVIEW, period="LAST_90_DAYS"))["overview"]
    assert data["sessionCount"] == 7
    assert data["resolutionRate"] == 4 / 7
    assert data["mttrMinutes"] == pytest.approx((30 + 90 + 10) / 3)
    assert data["confidenceTiers"]["unknown"] == 3
    assert data["domains"] == [
        {"name": "Network", "sessionCount": 3, "flowCount": 0},
        {"name": "Email", "sessionCount": 2, "flowCount": 0},
    ]


async def test_default_period_is_thirty_days(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    now = utc_now()
    await tenant.builder.session(now - timedelta(days=20))
    await tenant.builder.session(now - timedelta(days=35))
    data = await tenant.query(api, "{ overview { period sessionCount } }")
    assert data["overview"] == {"period": "LAST_30_DAYS", "sessionCount": 1}


async def test_no_data_gives_zeros_nulls_and_empty_lists(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    data = (await tenant.query(api, OVERVIEW, period="LAST_7_DAYS"))["overview"]
    assert data == {
        "period": "LAST_7_DAYS",
        "sessionCount": 0,
        "resolutionRate": None,
        "escalationRate": None,
        "guidedRate": None,
        "mttrMinutes": None,
        "avgRating": None,
        "confidenceTiers": {"guided": 0, "exploring": 0, "discovery": 0, "unknown": 0},
        "domains": [],
    }


async def test_domains_need_a_session_and_tie_by_code_point_name(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    now = utc_now()
    await b.flow("VPN setup", "VPN")  # a domain with flows and no sessions: not listed
    await b.flow("Printer jam", "Printers")
    for domain in ("alpha", "Zeta", "printers", "PRINTERS"):
        await b.session(now - timedelta(days=1), domain=domain)
    data = (await tenant.query(api, OVERVIEW, period="LAST_7_DAYS"))["overview"]
    assert data["domains"] == [
        {"name": "Printers", "sessionCount": 2, "flowCount": 1},
        {"name": "Zeta", "sessionCount": 1, "flowCount": 0},
        {"name": "alpha", "sessionCount": 1, "flowCount": 0},
    ]


async def test_window_starts_and_ends_at_local_midnight(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    zone = "America/New_York"
    tenant = await new_tenant(sessionmaker, timezone=zone)
    now = utc_now()
    today = local_today(now, zone)
    start = local_midnight(today - timedelta(days=6), zone)
    end = local_midnight(today + timedelta(days=1), zone)
    tick = timedelta(microseconds=1)
    add = tenant.builder.session
    await add(start, status="resolved")  # in
    await add(start - tick, status="escalated")  # out
    await add(end - tick, status="resolved")  # in: the last instant of today
    await add(end, status="escalated")  # out: tomorrow
    data = (await tenant.query(api, OVERVIEW, period="LAST_7_DAYS"))["overview"]
    assert data["sessionCount"] == 2
    assert data["resolutionRate"] == 1.0
    assert data["escalationRate"] == 0.0


async def test_ninety_day_window_starts_at_local_midnight_across_dst(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The start is local midnight in the offset of that day, not of today."""
    now = utc_now()
    zones = ("America/New_York", "Australia/Sydney", "America/Santiago", "Europe/London")

    def spans_dst(zone: str) -> bool:
        first = local_midnight(local_today(now, zone) - timedelta(days=89), zone)
        return first.utcoffset() != now.astimezone(first.tzinfo).utcoffset()

    zone = next((z for z in zones if spans_dst(z)), zones[0])
    tenant = await new_tenant(sessionmaker, timezone=zone)
    start = local_midnight(local_today(now, zone) - timedelta(days=89), zone)
    tick = timedelta(microseconds=1)
    await tenant.builder.session(start, status="resolved")
    await tenant.builder.session(start - tick, status="escalated")
    # Midnight in today's offset would be an hour off: both sides must stay as above.
    await tenant.builder.session(start + timedelta(minutes=59), status="resolved")
    await tenant.builder.session(start - timedelta(minutes=59), status="escalated")
    data = (await tenant.query(api, OVERVIEW, period="LAST_90_DAYS"))["overview"]
    assert (data["sessionCount"], data["escalationRate"]) == (2, 0.0)
