"""For every count of every tab, in every window: the evidence's totalCount is the count,
and its rows are exactly the rows the reference scan counts.

A random account (a DST zone, sessions at and around local midnights, spelling variants,
blank domains, assistant sessions, pushes of any date) is read through the API; each
count's filter is paged through and its ids compared with the reference scan's facts
(tests/reference_scan.py), whose own totals are held to the reference statements.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.keys import domain_key
from core.metrics.window import Window, local_today
from persistence.tenancy import account_transaction
from tests import reference_scan as reference
from tests.evidence.support import (
    ACTIVITY_PAGE,
    SESSION_PAGE,
    ZONE,
    RandomAccount,
    all_pages,
    random_account,
)
from tests.graphql_client import ApiClient
from tests.tabs.support import utc_now

TABS = """
query ($period: Period, $range: DateRangeInput) {
  overview(period: $period, range: $range) {
    from to sessionCount
    confidenceTiers { guided exploring discovery unknown }
    domains { name sessionCount resolutionRate escalationRate guidedRate }
    dailyTrend { date sessions resolved escalated }
  }
  coverage(period: $period, range: $range) {
    unmappedSessionCount domains { name sessionCount }
  }
  flowQuality(period: $period, range: $range) {
    flows { usageCount successRate flow { id } }
  }
  psaActivity(period: $period, range: $range) {
    totalTimeEntries
    activityCounts { type count }
    dailyTrend { date entries }
    pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
  }
}
"""
Fact = dict[str, Any]
TIER_NAMES = {"GUIDED": "guided", "EXPLORING": "exploring", "DISCOVERY": "discovery"}


def _matches(fact: Fact, given: dict[str, Any]) -> bool:
    """Whether a reference fact row is counted under `given` (an EvidenceFilter)."""
    checks: list[Callable[[], bool]] = []
    if "domain" in given:
        checks.append(lambda: fact["key"] == domain_key(given["domain"]))
    if given.get("unmapped"):
        checks.append(lambda: fact["key"] is None)
    if "flowId" in given:
        checks.append(lambda: str(fact["matched_flow_id"]) == given["flowId"])
    if "outcome" in given:
        checks.append(lambda: fact["status"] == given["outcome"].lower())
    if "tier" in given:
        tier = given["tier"]
        checks.append(
            lambda: (
                fact["confidence_tier"] not in TIER_NAMES.values()
                if tier == "UNKNOWN"
                else fact["confidence_tier"] == TIER_NAMES[tier]
            )
        )
    if "funnelStep" in given:
        step = given["funnelStep"]
        checks.append(
            lambda: (
                fact["linked"]
                and (step == "LINKED_TO_TICKET" or fact["has_note"])
                and (step != "TIME_ENTRY_LOGGED" or fact["has_time"])
            )
        )
    if "day" in given:
        checks.append(lambda: fact["day"].isoformat() == given["day"])
    return all(check() for check in checks)


def _rate_count(rate: float | None, total: int) -> int:
    return 0 if rate is None else round(rate * total)


def session_counts(tabs: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """Every session count the tabs show, each with the evidence filter that opens it."""
    overview, coverage = tabs["overview"], tabs["coverage"]
    counts: list[tuple[dict[str, Any], int]] = [({}, overview["sessionCount"])]
    for tier, count in overview["confidenceTiers"].items():
        counts.append(({"tier": tier.upper()}, count))
    for domain in overview["domains"]:
        name, sessions = domain["name"], domain["sessionCount"]
        counts.append(({"domain": name}, sessions))
        resolved = _rate_count(domain["resolutionRate"], sessions)
        counts.append(({"domain": name, "outcome": "RESOLVED"}, resolved))
        counts.append(
            (
                {"domain": name, "outcome": "ESCALATED"},
                _rate_count(domain["escalationRate"], sessions),
            )
        )
        counts.append(
            ({"domain": name, "tier": "GUIDED"}, _rate_count(domain["guidedRate"], sessions))
        )
    for domain in coverage["domains"]:
        counts.append(({"domain": domain["name"]}, domain["sessionCount"]))
    counts.append(({"unmapped": True}, coverage["unmappedSessionCount"]))
    for flow in tabs["flowQuality"]["flows"]:
        usage = flow["usageCount"]
        counts.append(({"flowId": flow["flow"]["id"]}, usage))
        counts.append(
            (
                {"flowId": flow["flow"]["id"], "outcome": "RESOLVED"},
                _rate_count(flow["successRate"], usage),
            )
        )
    for point in overview["dailyTrend"]:
        day = point["date"]
        counts.append(({"day": day}, point["sessions"]))
        counts.append(({"day": day, "outcome": "RESOLVED"}, point["resolved"]))
        counts.append(({"day": day, "outcome": "ESCALATED"}, point["escalated"]))
    funnel = tabs["psaActivity"]["pushFunnel"]
    counts.append(({"funnelStep": "LINKED_TO_TICKET"}, funnel["linkedToTicket"]))
    counts.append(({"funnelStep": "DOC_PUSHED"}, funnel["docPushed"]))
    counts.append(({"funnelStep": "TIME_ENTRY_LOGGED"}, funnel["timeEntryLogged"]))
    return counts


def activity_counts(tabs: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    psa = tabs["psaActivity"]
    counts: list[tuple[dict[str, Any], int]] = [
        ({"type": "TIME_ENTRY_POSTED"}, psa["totalTimeEntries"])
    ]
    counts.extend(({"type": item["type"]}, item["count"]) for item in psa["activityCounts"])
    counts.extend(
        ({"type": "TIME_ENTRY_POSTED", "day": point["date"]}, point["entries"])
        for point in psa["dailyTrend"]
    )
    return counts


@pytest.fixture
async def account(sessionmaker: async_sessionmaker[AsyncSession]) -> RandomAccount:
    now = utc_now()
    account = await random_account(sessionmaker, seed=27, now=now)
    # Another account's rows with the same spellings and days never show up.
    await random_account(sessionmaker, seed=28, now=now, sessions=60)
    return account


def _windows(now: datetime) -> list[dict[str, Any]]:
    today = local_today(now, ZONE)
    custom = {"from": (today - timedelta(days=40)).isoformat(), "to": today.isoformat()}
    return [
        {"period": "LAST_7_DAYS"},
        {"period": "LAST_30_DAYS"},
        {"period": "LAST_90_DAYS"},
        {"range": custom},
        {
            "range": {
                "from": (today - timedelta(days=60)).isoformat(),
                "to": (today - timedelta(days=60)).isoformat(),
            }
        },
    ]


async def test_every_count_of_every_tab_opens_exactly_its_rows(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], account: RandomAccount
) -> None:
    tenant = account.tenant
    checked = 0
    for variables in _windows(utc_now()):
        tabs = await tenant.query(api, TABS, **variables)
        first_day = date.fromisoformat(tabs["overview"]["from"])
        last_day = date.fromisoformat(tabs["overview"]["to"])
        window = Window(first_day, last_day, ZONE, utc_now())
        async with account_transaction(sessionmaker, tenant.account_id) as session:
            facts = await reference.session_facts(session, tenant.account_id, window)
            activities = await reference.activity_facts(session, tenant.account_id, window)
            totals = await reference.session_totals(session, tenant.account_id, window)
        # The facts are the reference's own rows: they count what its statements count.
        assert len(facts) == totals.sessions == tabs["overview"]["sessionCount"]
        for given, count in session_counts(tabs):
            expected = sorted(str(fact["id"]) for fact in facts if _matches(fact, given))
            total, rows = await all_pages(
                api, tenant.token, SESSION_PAGE, "sessionEvidence", 40, filter=given, **variables
            )
            ids = [row["id"] for row in rows]
            assert total == count == len(expected), (variables, given)
            assert sorted(ids) == expected, (variables, given)
            assert len(set(ids)) == len(ids)
            starts = [datetime.fromisoformat(row["startedAt"]) for row in rows]
            assert starts == sorted(starts, reverse=True)
            checked += 1
        for given, count in activity_counts(tabs):
            expected = sorted(
                str(fact["id"])
                for fact in activities
                if fact["activity_type"] == given["type"].lower()
                and ("day" not in given or fact["day"].isoformat() == given["day"])
            )
            total, rows = await all_pages(
                api, tenant.token, ACTIVITY_PAGE, "psaActivityEvidence", 40, **given, **variables
            )
            assert total == count == len(expected), (variables, given)
            assert sorted(row["id"] for row in rows) == expected, (variables, given)
            checked += 1
        every_kind = sorted(str(fact["id"]) for fact in activities)
        total, rows = await all_pages(
            api, tenant.token, ACTIVITY_PAGE, "psaActivityEvidence", 40, **variables
        )
        assert total == len(every_kind)
        assert sorted(row["id"] for row in rows) == every_kind
    assert checked > 500


async def test_small_pages_neither_repeat_nor_skip(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], account: RandomAccount
) -> None:
    """Pages of 3 end in the same list as one page of 150 (ties of startedAt included)."""
    tenant = account.tenant
    whole_total, whole = await all_pages(
        api, tenant.token, SESSION_PAGE, "sessionEvidence", 150, period="LAST_90_DAYS"
    )
    total, paged = await all_pages(
        api, tenant.token, SESSION_PAGE, "sessionEvidence", 3, period="LAST_90_DAYS"
    )
    assert total == whole_total
    assert [row["id"] for row in paged] == [row["id"] for row in whole]


async def test_combinations_no_tab_counts_are_counted_from_the_sessions(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], account: RandomAccount
) -> None:
    """Filters no rollup counts (a flow's escalated sessions, a domain's pushed sessions of
    a day...) still list and count exactly the reference's rows."""
    tenant = account.tenant
    today = local_today(utc_now(), ZONE)
    window = Window(today - timedelta(days=89), today, ZONE, utc_now())
    async with account_transaction(sessionmaker, tenant.account_id) as session:
        facts = await reference.session_facts(session, tenant.account_id, window)
    busiest_day = max(
        {fact["day"] for fact in facts}, key=lambda day: sum(f["day"] == day for f in facts)
    )
    combinations: list[dict[str, Any]] = [
        {"flowId": str(account.flow_ids[0]), "outcome": "ESCALATED"},
        {"flowId": str(account.flow_ids[1]), "tier": "UNKNOWN"},
        {"flowId": str(account.flow_ids[2]), "funnelStep": "LINKED_TO_TICKET"},
        {"domain": "EMAIL", "funnelStep": "DOC_PUSHED"},
        {"domain": "network", "outcome": "RESOLVED", "tier": "GUIDED"},
        {"unmapped": True, "tier": "UNKNOWN", "outcome": "ESCALATED"},
        {"day": busiest_day.isoformat(), "tier": "EXPLORING", "funnelStep": "LINKED_TO_TICKET"},
        {"domain": "vpn", "flowId": str(account.flow_ids[2])},
    ]
    nonempty = 0
    for given in combinations:
        expected = sorted(str(fact["id"]) for fact in facts if _matches(fact, given))
        total, rows = await all_pages(
            api, tenant.token, SESSION_PAGE, "sessionEvidence", 7, filter=given,
            period="LAST_90_DAYS",
        )  # fmt: skip
        assert total == len(expected), given
        assert sorted(row["id"] for row in rows) == expected, given
        nonempty += bool(expected)
    assert nonempty >= 6  # the fixture really has rows for most of them
