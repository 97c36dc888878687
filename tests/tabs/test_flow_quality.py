"""Flow Quality tab: period statistics, scores, attention reasons, orderings and lists."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import Tenant, new_tenant, utc_now

FLOWS = """
query ($period: Period!, $sort: FlowSort!, $direction: SortDirection!) {
  flowQuality(period: $period, sort: $sort, direction: $direction) {
    period totalFlows
    flows {
      flow { id name category totalUsageCount lastMatchedAt }
      usageCount successRate guidedRate avgConfidence
      recencyScore qualityScore needsAttention attentionReasons
      domain { name }
    }
    topPerformers { flow { name } } bottomPerformers { flow { name } }
    needsAttention { flow { name } }
  }
}
"""
ORDER = """
query ($sort: FlowSort!, $direction: SortDirection!) {
  flowQuality(period: LAST_7_DAYS, sort: $sort, direction: $direction) {
    flows { flow { id } }
    topPerformers { flow { id } } bottomPerformers { flow { id } } needsAttention { flow { id } }
  }
}
"""
DAY = timedelta(days=1)
# The request's clock runs a little after the test's: scores are compared loosely.
TOLERANCE = 1e-4


async def test_flow_statistics_scores_and_reasons(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    now = utc_now()
    at = now - 2 * DAY
    alpha = await b.flow("Alpha", "Email", usage_count=17, last_matched_at=now - 9 * DAY)
    # 4 sessions: 3 resolved, 2 guided, confidences 0.9, 0.7, none, 0.5.
    for status, tier, confidence in (
        ("resolved", "guided", 0.9),
        ("resolved", "guided", 0.7),
        ("resolved", "exploring", None),
        ("escalated", None, 0.5),
    ):
        await b.session(
            at, domain="email", status=status, tier=tier, flow_id=alpha, confidence=confidence
        )
    await b.session(
        at,
        status="resolved",
        tier="guided",
        flow_id=alpha,
        confidence=0.1,
        session_type="assistant",
    )
    await b.session(now - 40 * DAY, status="escalated", flow_id=alpha)  # not in 30 days
    # Low success and stale at exactly 30 days.
    beta = await b.flow("Beta", None, usage_count=2, last_matched_at=now - 30 * DAY)
    await b.session(at, status="escalated", tier="guided", flow_id=beta)
    await b.session(at, status="abandoned", flow_id=beta)
    # Never matched, no sessions in the period.
    gamma = await b.flow("Gamma", "Network")
    # A draft counts; last matched just under 30 days ago is not stale.
    delta_matched = now - 29 * DAY - timedelta(hours=23)
    delta = await b.flow(
        "Delta", "network", status="draft", usage_count=1, last_matched_at=delta_matched
    )
    await b.session(at, status="resolved", tier="guided", flow_id=delta, confidence=0.8)
    # Last matched 100 days ago: recency clamps to 0; last match in the future clamps to 1.
    zeta = await b.flow("Zeta", "Backup", usage_count=5, last_matched_at=now - 100 * DAY)
    await b.session(at, status="resolved", flow_id=zeta)
    eta = await b.flow("Eta", "Backup", usage_count=1, last_matched_at=now + DAY)
    # Archived flows are not listed, whatever their sessions.
    archived = await b.flow("Epsilon", "Email", status="archived", last_matched_at=now)
    await b.session(at, status="resolved", tier="guided", flow_id=archived)

    data = await tenant.query(api, FLOWS, period="LAST_30_DAYS", sort="QUALITY", direction="DESC")
    quality = data["flowQuality"]
    assert quality["period"] == "LAST_30_DAYS"
    assert quality["totalFlows"] == 6
    flows = {flow["flow"]["name"]: flow for flow in quality["flows"]}
    assert set(flows) == {"Alpha", "Beta", "Gamma", "Delta", "Zeta", "Eta"}

    def check(name: str, expected: dict[str, Any], recency: float) -> None:
        got = dict(flows[name])
        assert got.pop("recencyScore") == pytest.approx(recency, abs=TOLERANCE), name
        success = expected["successRate"] or 0.0
        guided = expected["guidedRate"] or 0.0
        score = 0.5 * success + 0.3 * guided + 0.2 * recency
        assert got.pop("qualityScore") == pytest.approx(score, abs=TOLERANCE), name
        expected = dict(expected)
        assert got.pop("avgConfidence") == pytest.approx(expected.pop("avgConfidence")), name
        assert got == expected, name

    check(
        "Alpha",
        {
            "flow": {
                "id": str(alpha),
                "name": "Alpha",
                "category": "Email",
                "totalUsageCount": 17,
                "lastMatchedAt": (now - 9 * DAY).isoformat(),
            },
            "usageCount": 4,
            "successRate": 3 / 4,
            "guidedRate": 2 / 4,
            "avgConfidence": (0.9 + 0.7 + 0.5) / 3,
            "needsAttention": False,
            "attentionReasons": [],
            "domain": {"name": "Email"},
        },
        1 - 9 / 90,
    )
    check(
        "Beta",
        {
            "flow": {
                "id": str(beta),
                "name": "Beta",
                "category": None,
                "totalUsageCount": 2,
                "lastMatchedAt": (now - 30 * DAY).isoformat(),
            },
            "usageCount": 2,
            "successRate": 0.0,
            "guidedRate": 1 / 2,
            "avgConfidence": None,
            "needsAttention": True,
            "attentionReasons": ["LOW_SUCCESS_RATE", "STALE"],
            "domain": None,
        },
        1 - 30 / 90,
    )
    check(
        "Gamma",
        {
            "flow": {
                "id": str(gamma),
                "name": "Gamma",
                "category": "Network",
                "totalUsageCount": 0,
                "lastMatchedAt": None,
            },
            "usageCount": 0,
            "successRate": None,
            "guidedRate": None,
            "avgConfidence": None,
            "needsAttention": True,
            "attentionReasons": ["STALE"],
            "domain": {"name": "Network"},
        },
        0.0,
    )
    check(
        "Delta",
        {
            "flow": {
                "id": str(delta),
                "name": "Delta",
                "category": "network",
                "totalUsageCount": 1,
                "lastMatchedAt": delta_matched.isoformat(),
            },
            "usageCount": 1,
            "successRate": 1.0,
            "guidedRate": 1.0,
            "avgConfidence": 0.8,
            "needsAttention": False,
            "attentionReasons": [],
            "domain": {"name": "Network"},
        },
        1 - (29 + 23 / 24) / 90,
    )
    check(
        "Zeta",
        {
            "flow": {
                "id": str(zeta),
                "name": "Zeta",
                "category": "Backup",
                "totalUsageCount": 5,
                "lastMatchedAt": (now - 100 * DAY).isoformat(),
            },
            "usageCount": 1,
            "successRate": 1.0,
            "guidedRate": 0.0,
            "avgConfidence": None,
            "needsAttention": True,
            "attentionReasons": ["STALE"],
            "domain": {"name": "Backup"},
        },
        0.0,
    )
    check(
        "Eta",
        {
            "flow": {
                "id": str(eta),
                "name": "Eta",
                "category": "Backup",
                "totalUsageCount": 1,
                "lastMatchedAt": (now + DAY).isoformat(),
            },
            "usageCount": 0,
            "successRate": None,
            "guidedRate": None,
            "avgConfidence": None,
            "needsAttention": False,
            "attentionReasons": [],
            "domain": {"name": "Backup"},
        },
        1.0,
    )

    # Quality by hand: Delta 0.5+0.3+0.2*0.667=0.933, Alpha 0.375+0.15+0.18=0.705,
    # Zeta 0.5, Beta 0.15+0.0667=0.217, Eta 0.2, Gamma 0.
    assert [f["flow"]["name"] for f in quality["flows"]] == [
        "Delta",
        "Alpha",
        "Zeta",
        "Beta",
        "Eta",
        "Gamma",
    ]
    assert [f["flow"]["name"] for f in quality["topPerformers"]] == [
        "Delta",
        "Alpha",
        "Zeta",
        "Beta",
    ]
    assert [f["flow"]["name"] for f in quality["bottomPerformers"]] == [
        "Beta",
        "Zeta",
        "Alpha",
        "Delta",
    ]
    assert [f["flow"]["name"] for f in quality["needsAttention"]] == ["Gamma", "Beta", "Zeta"]

    # The flow itself is the same in any window; its figures are the window's.
    data = await tenant.query(api, FLOWS, period="LAST_90_DAYS", sort="QUALITY", direction="DESC")
    wider = {flow["flow"]["name"]: flow for flow in data["flowQuality"]["flows"]}
    assert {name: flow["flow"] for name, flow in wider.items()} == {
        name: flow["flow"] for name, flow in flows.items()
    }
    assert wider["Alpha"]["usageCount"] == 5  # the escalated session 40 days ago joins
    assert wider["Alpha"]["successRate"] == 3 / 5


async def _ranking_fixture(tenant: Tenant) -> dict[str, uuid.UUID]:
    """Flows never matched (recency 0, quality = 0.5 × success) with many ties."""
    b = tenant.builder
    at = utc_now() - 2 * DAY
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    ids = {
        "Same-high": await b.flow("Same", "X", flow_id=high),
        "Same-low": await b.flow("Same", "X", flow_id=low),
    }
    plan = {
        "Same-low": ["resolved"],  # success 1.0, usage 1
        "Same-high": ["resolved"],  # success 1.0, usage 1
        "m2": ["resolved"],  # success 1.0, usage 1
        "m1": ["resolved", "escalated"],  # success 0.5, usage 2
        "m3": ["escalated"],  # success 0.0, usage 1
        "m4": ["active"],  # success 0.0, usage 1
        "n1": [],  # success null
        "n2": [],  # success null
    }
    for name, statuses in plan.items():
        if name not in ids:
            ids[name] = await b.flow(name, "X")
        for status in statuses:
            await b.session(at, status=status, flow_id=ids[name])
    return ids


ORDERS = {
    ("SUCCESS_RATE", "DESC"): ["Same-low", "Same-high", "m2", "m1", "m3", "m4", "n1", "n2"],
    ("SUCCESS_RATE", "ASC"): ["m3", "m4", "m1", "Same-low", "Same-high", "m2", "n1", "n2"],
    ("USAGE", "DESC"): ["m1", "Same-low", "Same-high", "m2", "m3", "m4", "n1", "n2"],
    ("USAGE", "ASC"): ["n1", "n2", "Same-low", "Same-high", "m2", "m3", "m4", "m1"],
    ("QUALITY", "DESC"): ["Same-low", "Same-high", "m2", "m1", "m3", "m4", "n1", "n2"],
    ("QUALITY", "ASC"): ["m3", "m4", "n1", "n2", "m1", "Same-low", "Same-high", "m2"],
}


async def test_every_order_breaks_ties_by_name_then_id_and_puts_nulls_last(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    ids = await _ranking_fixture(tenant)
    names = {str(flow_id): name for name, flow_id in ids.items()}
    for (sort, direction), expected in ORDERS.items():
        data = (await tenant.query(api, ORDER, sort=sort, direction=direction))["flowQuality"]
        got = [names[flow["flow"]["id"]] for flow in data["flows"]]
        assert got == expected, (sort, direction)
        # The lists below do not depend on the requested order.
        assert [names[f["flow"]["id"]] for f in data["topPerformers"]] == [
            "Same-low",
            "Same-high",
            "m2",
            "m1",
            "m3",
        ]
        assert [names[f["flow"]["id"]] for f in data["bottomPerformers"]] == [
            "m3",
            "m4",
            "m1",
            "Same-low",
            "Same-high",
        ]
        # Never matched: every flow is STALE.
        assert [names[f["flow"]["id"]] for f in data["needsAttention"]] == ORDERS["QUALITY", "ASC"]


async def test_default_order_is_quality_desc_and_paging_slices_it(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    ids = await _ranking_fixture(tenant)
    names = {str(flow_id): name for name, flow_id in ids.items()}
    data = await tenant.query(
        api,
        "{ flowQuality { period totalFlows flows { flow { id } } "
        "page: flows(first: 3, offset: 2) { flow { id } } "
        "tail: flows(offset: 7) { flow { id } } none: flows(first: 0) { flow { id } } } }",
    )
    quality = data["flowQuality"]
    expected = ORDERS["QUALITY", "DESC"]
    assert quality["period"] == "LAST_30_DAYS"
    assert quality["totalFlows"] == 8
    assert [names[f["flow"]["id"]] for f in quality["flows"]] == expected
    assert [names[f["flow"]["id"]] for f in quality["page"]] == expected[2:5]
    assert [names[f["flow"]["id"]] for f in quality["tail"]] == expected[7:]
    assert quality["none"] == []


async def test_negative_paging_is_a_user_error(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    body = await api.execute(
        "{ flowQuality { flows(first: -1) { flow { id } } } }", token=tenant.token
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_no_flows_gives_empty_lists(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    await tenant.builder.session(utc_now() - DAY, status="resolved")  # matched to nothing
    data = await tenant.query(api, FLOWS, period="LAST_7_DAYS", sort="USAGE", direction="ASC")
    assert data["flowQuality"] == {
        "period": "LAST_7_DAYS",
        "totalFlows": 0,
        "flows": [],
        "topPerformers": [],
        "bottomPerformers": [],
        "needsAttention": [],
    }
