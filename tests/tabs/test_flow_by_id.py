"""flow(id:): one flow of the caller's account with its period numbers and its domain."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.graphql_client import ApiClient
from tests.tabs.support import new_tenant, utc_now

FLOW = """
query ($id: ID!, $period: Period!) {
  flow(id: $id, period: $period) {
    flow { id name category totalUsageCount lastMatchedAt }
    usageCount successRate guidedRate avgConfidence
    recencyScore qualityScore needsAttention attentionReasons
    domain { name flowCount sessionCount resolutionRate flows { flow { name } usageCount } }
  }
}
"""
DAY = timedelta(days=1)


async def test_flow_by_id_has_period_numbers_and_its_domain(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    now = utc_now()
    matched = now - 45 * DAY
    flow = await b.flow("Reset MFA", " Identity ", usage_count=9, last_matched_at=matched)
    await b.flow("Unlock account", "identity")
    await b.session(
        now - 2 * DAY,
        domain="IDENTITY",
        status="resolved",
        tier="guided",
        flow_id=flow,
        confidence=0.6,
    )
    await b.session(
        now - 50 * DAY, domain="identity", status="escalated", flow_id=flow, confidence=0.2
    )
    await b.session(now - 3 * DAY, domain="identity", status="escalated")

    data = await tenant.query(api, FLOW, id=str(flow), period="LAST_30_DAYS")
    got = data["flow"]
    assert got.pop("recencyScore") == pytest.approx(1 - 45 / 90, abs=1e-4)
    assert got.pop("qualityScore") == pytest.approx(0.5 + 0.3 + 0.2 * (1 - 45 / 90), abs=1e-4)
    itself = {
        "id": str(flow),
        "name": "Reset MFA",
        "category": " Identity ",
        "totalUsageCount": 9,
        "lastMatchedAt": matched.isoformat(),
    }
    assert got == {
        "flow": itself,
        "usageCount": 1,
        "successRate": 1.0,
        "guidedRate": 1.0,
        "avgConfidence": 0.6,
        "needsAttention": True,
        "attentionReasons": ["STALE"],
        "domain": {
            "name": "Identity",
            "flowCount": 2,
            "sessionCount": 2,
            "resolutionRate": 1 / 2,
            # The domain's flows with their figures in the same window.
            "flows": [
                {"flow": {"name": "Reset MFA"}, "usageCount": 1},
                {"flow": {"name": "Unlock account"}, "usageCount": 0},
            ],
        },
    }

    data = await tenant.query(api, FLOW, id=str(flow), period="LAST_90_DAYS")
    got = data["flow"]
    assert (got["usageCount"], got["successRate"]) == (2, 1 / 2)
    assert got["avgConfidence"] == pytest.approx((0.6 + 0.2) / 2)
    assert got["attentionReasons"] == ["STALE"]  # 1/2 is not below one half
    assert got["domain"]["sessionCount"] == 3
    assert [f["usageCount"] for f in got["domain"]["flows"]] == [2, 0]
    assert got["flow"] == itself  # the flow itself (lifetime counters) is the same in any window


async def test_flow_without_category_has_no_domain_and_defaults_to_thirty_days(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    now = utc_now()
    flow = await tenant.builder.flow("Loose", "   ", last_matched_at=now - DAY)
    await tenant.builder.session(now - 20 * DAY, status="escalated", flow_id=flow)
    await tenant.builder.session(now - 40 * DAY, status="resolved", flow_id=flow)
    query = "query ($id: ID!) { flow(id: $id) { usageCount attentionReasons domain { name } } }"
    data = await tenant.query(api, query, id=str(flow))
    assert data["flow"] == {
        "usageCount": 1,
        "attentionReasons": ["LOW_SUCCESS_RATE"],
        "domain": None,
    }


async def test_archived_and_unknown_flows_are_null(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    archived = await tenant.builder.flow("Old", "Email", status="archived")
    for flow_id in (archived, uuid.uuid4()):
        data = await tenant.query(api, FLOW, id=str(flow_id), period="LAST_7_DAYS")
        assert data == {"flow": None}


async def test_an_id_that_is_not_a_uuid_is_a_user_error(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await new_tenant(sessionmaker)
    body = await api.execute('{ flow(id: "not-a-uuid") { flow { id } } }', token=tenant.token)
    assert body["data"] == {"flow": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


PREVIEW_SCORES = """
query ($period: Period!) {
  coverage(period: $period) {
    domains {
      name
      plain: flows { flow { name } usageCount }
      scored: flows(first: 5) { flow { name } successRate ...Scores }
    }
  }
}
fragment Scores on FlowPerformance { recencyScore qualityScore needsAttention attentionReasons }
"""


async def test_a_domains_flow_previews_are_scored_when_a_fragment_asks(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Previews that select no score skip scoring; the scores asked for (here through a
    fragment, beside an unscored selection of the same list) are the flow's own."""
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    now = utc_now()
    recent = await b.flow("Printer jam", "Printers", last_matched_at=now - 9 * DAY)
    await b.flow("Toner", "printers")  # never matched: stale, recency 0
    await b.session(now - 2 * DAY, domain="printers", status="resolved", flow_id=recent)
    await b.session(now - 3 * DAY, domain="printers", status="escalated", flow_id=recent)
    await b.session(now - 4 * DAY, domain="printers", status="escalated", tier="guided",
                    flow_id=recent)  # fmt: skip

    (domain,) = (await tenant.query(api, PREVIEW_SCORES, period="LAST_7_DAYS"))["coverage"][
        "domains"
    ]
    assert domain["plain"] == [
        {"flow": {"name": "Printer jam"}, "usageCount": 3},
        {"flow": {"name": "Toner"}, "usageCount": 0},
    ]
    jam, toner = domain["scored"]
    # 1 of 3 resolved, 1 of 3 guided, matched 9 days ago: recency 1 - 9/90.
    assert jam.pop("recencyScore") == pytest.approx(1 - 9 / 90, abs=1e-4)
    assert jam.pop("qualityScore") == pytest.approx(
        0.5 / 3 + 0.3 / 3 + 0.2 * (1 - 9 / 90), abs=1e-4
    )
    assert jam == {
        "flow": {"name": "Printer jam"},
        "successRate": 1 / 3,
        "needsAttention": True,
        "attentionReasons": ["LOW_SUCCESS_RATE"],
    }
    assert toner == {
        "flow": {"name": "Toner"},
        "successRate": None,
        "recencyScore": 0.0,
        "qualityScore": 0.0,
        "needsAttention": True,
        "attentionReasons": ["STALE"],
    }
