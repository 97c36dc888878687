"""Comparisons cost SQL only when `previous` or `changes` is selected, and batch per window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.features.support import at, today_in
from tests.graphql_client import ApiClient
from tests.sql_counter import count_statements
from tests.tabs.support import Tenant, new_tenant, utc_now

DAY = timedelta(days=1)

PLAIN = {
    "overview": "overview(period: LAST_7_DAYS{args}) {{ sessionCount domains {{ name }} }}",
    "coverage": "coverage(period: LAST_7_DAYS{args}) {{ domains {{ name resolutionRate }} }}",
    "flowQuality": (
        "flowQuality(period: LAST_7_DAYS{args}) {{ flows {{ flow {{ name }} usageCount }} }}"
    ),
    "psaActivity": "psaActivity(period: LAST_7_DAYS{args}) {{ totalHoursLogged }}",
}
# One document per tab: within one request, two independent chains of look-ups (say the
# overview's domains and the flow table) that reach the same loader batch together or
# apart depending on when their own SQL answers, so only a single tab's count is fixed.
COMPARED = {
    "overview": """{
  overview(period: LAST_7_DAYS, compareTo: PREVIOUS_PERIOD) {
    sessionCount previous { sessionCount } changes { resolutionRate { absolute } }
    domains {
      name previous { name sessionCount } changes { resolutionRate { relative } }
      flows { flow { name } previous { usageCount } changes { successRate { absolute } } }
    }
  }
}""",
    "flowQuality": """{
  flowQuality(period: LAST_7_DAYS, compareTo: PREVIOUS_PERIOD) {
    flows {
      flow { name } previous { usageCount successRate } changes { usageCount { absolute } }
    }
  }
}""",
}


async def _tenant(sessionmaker: async_sessionmaker[AsyncSession], domains: int) -> Tenant:
    """`domains` domains with a flow each, and a session per domain in each window."""
    tenant = await new_tenant(sessionmaker)
    b = tenant.builder
    today = today_in("UTC", utc_now())
    for index in range(domains):
        name = f"Domain {index}"
        flow = await b.flow(f"{name} flow", name)
        await b.session(at(today - DAY, "UTC"), domain=name, flow_id=flow, status="resolved")
        await b.session(at(today - 8 * DAY, "UTC"), domain=name, flow_id=flow)
    await b.activity("time_entry_posted", at(today - DAY, "UTC"), hours=1)
    return tenant


async def _statements(api: ApiClient, tenant: Tenant, query: str) -> int:
    with count_statements(api.app) as log:
        await tenant.query(api, query)
    return log.count


async def test_compare_to_alone_runs_no_extra_sql(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await _tenant(sessionmaker, 2)
    for field in PLAIN.values():
        plain = await _statements(api, tenant, "{ " + field.format(args="") + " }")
        compared = field.format(args=", compareTo: PREVIOUS_PERIOD")
        assert await _statements(api, tenant, "{ " + compared + " }") == plain, field


async def test_selected_comparisons_batch_per_window_whatever_the_number_of_rows(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    small, large = await _tenant(sessionmaker, 1), await _tenant(sessionmaker, 5)
    flows = (await large.query(api, COMPARED["flowQuality"]))["flowQuality"]["flows"]
    assert len(flows) == 5
    assert all(flow["previous"] == {"usageCount": 1, "successRate": 0.0} for flow in flows)
    domains = (await large.query(api, COMPARED["overview"]))["overview"]["domains"]
    assert all(d["previous"]["sessionCount"] == 1 for d in domains)

    for query in COMPARED.values():
        small_count = await _statements(api, small, query)
        assert await _statements(api, large, query) == small_count
        without = query.replace(", compareTo: PREVIOUS_PERIOD", "")
        for fragment in (
            "previous { sessionCount } changes { resolutionRate { absolute } }",
            "previous { name sessionCount } changes { resolutionRate { relative } }",
            "previous { usageCount } changes { successRate { absolute } }",
            "previous { usageCount successRate } changes { usageCount { absolute } }",
        ):
            without = without.replace(fragment, "")
        assert await _statements(api, small, without) < small_count
