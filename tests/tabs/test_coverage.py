"""Coverage tab: the merged domain set, names, tiers at their thresholds and knowledge gaps."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import Tenant, new_tenant, utc_now

COVERAGE = """
query ($period: Period!) {
  coverage(period: $period) {
    period unmappedSessionCount totalDomains
    domains {
      name flowCount sessionCount resolutionRate escalationRate guidedRate
      avgResolutionMinutes flowCountTier resolutionTier escalationTier guidedTier
      suggestCreateFlow flows { flow { id name } }
    }
    knowledgeGaps { name }
  }
}
"""


async def _heatmap_fixture(tenant: Tenant) -> dict[str, Any]:
    """Seven domains whose numbers sit on the tier thresholds; see each comment."""
    b = tenant.builder
    now = utc_now()
    at = now - timedelta(days=2)
    ids: dict[str, Any] = {}

    # "email": flows spelled "email" and " Email " (a draft counts); the archived
    # "EMAIL" would be the smallest spelling if it wrongly counted.
    ids["email basics"] = await b.flow("Email basics", "email")
    ids["email draft"] = await b.flow("Email draft", " Email ", status="draft")
    await b.flow("Email archived", "EMAIL", status="archived")
    # 3 of 4 resolved (0.75: WARNING), 1 of 4 escalated (0.25: WARNING), 2 of 4 guided (WARNING).
    await b.session(
        at, domain="EMAIL", status="resolved", tier="guided", resolved_at=at + timedelta(minutes=10)
    )
    await b.session(
        at, domain="email", status="resolved", tier="guided", resolved_at=at + timedelta(minutes=20)
    )
    await b.session(at, domain="\tEmail  ", status="resolved", tier="exploring")
    await b.session(at, domain="e-mail", status="escalated")  # another domain, see below

    # "network security": no flows; spellings differ in case and inner white space.
    # "Network  Security" and "network\tsecurity" tie at 2: the smallest by code point wins.
    for spelling, status, tier in (
        ("Network  Security", "resolved", "guided"),
        ("Network  Security", "resolved", "guided"),
        ("network\tsecurity", "active", "guided"),
        ("network\tsecurity", "abandoned", "exploring"),
        (" NETWORK SECURITY ", "paused", None),
    ):
        await b.session(at, domain=spelling, status=status, tier=tier)
    # 2/5 resolved (CRITICAL), 0/5 escalated (GOOD), 3/5 guided (0.60: WARNING), no flow.

    # "printers": exactly 5 flows (GOOD); two share a name and order by id.
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    ids["printers"] = [
        await b.flow("Toner", "Printers", flow_id=high),
        await b.flow("Toner", "printers", flow_id=low),
        await b.flow("Jam", "printers "),
        await b.flow("Driver", "Printers"),
        await b.flow("Spooler", "Printers"),
    ]
    # 10 sessions: 5 resolved (0.50: WARNING), 1 escalated (0.10: WARNING), 3 guided (0.30).
    statuses = ["resolved"] * 5 + ["escalated"] + ["active"] * 4
    tiers = ["guided"] * 3 + ["discovery"] * 7
    for status, tier in zip(statuses, tiers, strict=True):
        await b.session(at, domain="Printers", status=status, tier=tier)

    # "backup": one flow, one perfect session (all rate tiers GOOD).
    ids["backup"] = await b.flow("Backup restore", "Backup")
    await b.session(
        at,
        domain="backup",
        status="resolved",
        tier="guided",
        resolved_at=at + timedelta(minutes=45),
    )
    # Flows and no sessions: null rates and tiers, no suggestion.
    ids["vpn"] = await b.flow("VPN setup", "VPN")
    # Session-only domains tied at one session: "Zeta" sorts before "alpha".
    await b.session(at, domain="alpha", status="resolved", tier="guided")
    await b.session(at, domain="Zeta", status="resolved", tier="guided")

    # Unmapped: no domain, empty, blank with spaces and tabs.
    for blank in (None, "", "   ", "\t \n"):
        await b.session(at, domain=blank, status="resolved")
    # Never part of the domain set: assistant sessions, archived-only categories,
    # sessions outside the period (they show in the 90-day period only).
    await b.session(at, domain="Ghost", session_type="assistant")
    await b.session(at, domain=None, session_type="assistant")
    await b.flow("Legacy", "Legacy", status="archived")
    await b.session(now - timedelta(days=40), domain="Old times")
    return ids


def _domain(
    name: str,
    flow_count: int,
    sessions: int,
    rates: tuple[Any, Any, Any],
    minutes: Any,
    tiers: tuple[Any, Any, Any, Any],
    suggest: bool,
    flows: list[Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "flowCount": flow_count,
        "sessionCount": sessions,
        "resolutionRate": rates[0],
        "escalationRate": rates[1],
        "guidedRate": rates[2],
        "avgResolutionMinutes": minutes,
        "flowCountTier": tiers[0],
        "resolutionTier": tiers[1],
        "escalationTier": tiers[2],
        "guidedTier": tiers[3],
        "suggestCreateFlow": suggest,
        "flows": flows,
    }


async def test_heatmap_merges_spellings_and_tiers_at_thresholds(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    ids = await _heatmap_fixture(tenant)
    data = (await tenant.query(api, COVERAGE, period="LAST_30_DAYS"))["coverage"]

    p = ids["printers"]
    w, g, c = "WARNING", "GOOD", "CRITICAL"
    expected = [
        _domain(
            "Printers",
            5,
            10,
            (5 / 10, 1 / 10, 3 / 10),
            None,
            (g, w, w, w),
            False,
            [
                {"flow": {"id": str(p[3]), "name": "Driver"}},
                {"flow": {"id": str(p[2]), "name": "Jam"}},
                {"flow": {"id": str(p[4]), "name": "Spooler"}},
                {"flow": {"id": str(p[1]), "name": "Toner"}},  # the smaller id first
                {"flow": {"id": str(p[0]), "name": "Toner"}},
            ],
        ),
        _domain("Network  Security", 0, 5, (2 / 5, 0.0, 3 / 5), None, (c, c, g, w), True, []),
        _domain(
            "Email",
            2,
            3,
            (3 / 3, 0.0, 2 / 3),
            15.0,
            (w, g, g, g),
            False,
            [
                {"flow": {"id": str(ids["email basics"]), "name": "Email basics"}},
                {"flow": {"id": str(ids["email draft"]), "name": "Email draft"}},
            ],
        ),
        _domain(
            "Backup",
            1,
            1,
            (1.0, 0.0, 1.0),
            45.0,
            (w, g, g, g),
            False,
            [
                {"flow": {"id": str(ids["backup"]), "name": "Backup restore"}},
            ],
        ),
        _domain("Zeta", 0, 1, (1.0, 0.0, 1.0), None, (c, g, g, g), True, []),
        _domain("alpha", 0, 1, (1.0, 0.0, 1.0), None, (c, g, g, g), True, []),
        _domain("e-mail", 0, 1, (0.0, 1.0, 0.0), None, (c, c, c, c), True, []),
        _domain(
            "VPN",
            1,
            0,
            (None, None, None),
            None,
            (w, None, None, None),
            False,
            [
                {"flow": {"id": str(ids["vpn"]), "name": "VPN setup"}},
            ],
        ),
    ]
    assert [d["name"] for d in data["domains"]] == [d["name"] for d in expected]
    for got, want in zip(data["domains"], expected, strict=True):
        assert got.pop("flows") == want.pop("flows"), want["name"]
        assert got == pytest.approx(want), want["name"]
    assert data["unmappedSessionCount"] == 4
    assert data["totalDomains"] == 8
    assert data["knowledgeGaps"] == [
        {"name": "Network  Security"},
        {"name": "Zeta"},
        {"name": "alpha"},
        {"name": "e-mail"},
    ]

    data = (await tenant.query(api, COVERAGE, period="LAST_90_DAYS"))["coverage"]
    assert data["totalDomains"] == 9
    assert {"name": "Old times"} in data["knowledgeGaps"]


async def test_email_domain_at_the_resolution_and_escalation_thresholds(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """3 of 4 resolved is WARNING (not GOOD); 1 of 4 escalated is WARNING (not CRITICAL)."""
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    at = utc_now() - timedelta(days=3)
    await b.flow("Mail", "Mail")
    for status in ("resolved", "resolved", "resolved", "escalated"):
        await b.session(at, domain="mail", status=status, tier="guided")
    domains = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]["domains"]
    assert len(domains) == 1
    mail = domains[0]
    assert (mail["resolutionRate"], mail["resolutionTier"]) == (0.75, "WARNING")
    assert (mail["escalationRate"], mail["escalationTier"]) == (0.25, "WARNING")
    assert (mail["guidedTier"], mail["flowCountTier"], mail["suggestCreateFlow"]) == (
        "GOOD",
        "WARNING",
        False,
    )


async def test_just_past_each_threshold_is_the_next_tier(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """4/5 resolved is GOOD; 2/7 escalated is CRITICAL; 1/4 guided is CRITICAL; 4 flows WARNING."""
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    at = utc_now() - timedelta(days=3)
    for index in range(4):
        await b.flow(f"Flow {index}", "A")
    for status in ("resolved",) * 4 + ("active",):
        await b.session(at, domain="A", status=status)
    for status in ("escalated",) * 2 + ("active",) * 5:
        await b.session(at, domain="B", status=status)
    for tier in ("guided", None, "exploring", "discovery"):
        await b.session(at, domain="C", tier=tier)
    domains = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]["domains"]
    by_name = {d["name"]: d for d in domains}
    assert [d["name"] for d in domains] == ["B", "A", "C"]
    assert by_name["A"]["resolutionTier"] == "GOOD"
    assert by_name["A"]["flowCountTier"] == "WARNING"
    assert by_name["B"]["escalationTier"] == "CRITICAL"
    assert by_name["C"]["guidedTier"] == "CRITICAL"
    assert by_name["C"]["guidedRate"] == 1 / 4


async def test_domain_name_prefers_flow_spelling_over_more_frequent_sessions(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    at = utc_now() - timedelta(days=1)
    await b.flow("Outlook", "m365 ")
    for _ in range(3):
        await b.session(at, domain="M365")
    data = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]
    assert [(d["name"], d["sessionCount"], d["flowCount"]) for d in data["domains"]] == [
        ("m365", 3, 1)
    ]


async def test_flow_category_is_trimmed_of_tabs_and_newlines_in_the_name(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """'Trimmed' is white space in general, like the key: a tab is no part of a name."""
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    at = utc_now() - timedelta(days=1)
    await b.flow("Wifi", "\tWireless\n")
    await b.session(at, domain="\t Remote  Access\n")
    await b.session(at, domain="Remote Access")
    await b.session(at, domain="\tremote access")
    data = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]
    # Session spellings trimmed: "Remote  Access", "Remote Access", "remote access", one
    # each: the smallest by code point ("  " sorts before " A").
    assert [d["name"] for d in data["domains"]] == ["Remote  Access", "Wireless"]


async def test_a_domain_whose_flows_are_all_archived_takes_the_session_spelling(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    await b.flow("Old flow", "Legacy", status="archived")
    await b.session(utc_now() - timedelta(days=1), domain="legacy")
    data = (await tenant.query(api, COVERAGE, period="LAST_7_DAYS"))["coverage"]
    got = [(d["name"], d["flowCount"], d["flows"], d["flowCountTier"]) for d in data["domains"]]
    assert got == [("legacy", 0, [], "CRITICAL")]
    assert data["knowledgeGaps"] == [{"name": "legacy"}]


async def test_no_data_gives_an_empty_heatmap(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    data = (await tenant.query(api, COVERAGE, period="LAST_90_DAYS"))["coverage"]
    assert data == {
        "period": "LAST_90_DAYS",
        "unmappedSessionCount": 0,
        "totalDomains": 0,
        "domains": [],
        "knowledgeGaps": [],
    }
