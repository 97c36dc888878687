"""A request's loaders let go of what they read once the request is answered.

graphql-core's execution context and the request context refer to each other, so only the
cycle collector frees them. The rows and futures the loaders cached must not wait for it:
they would survive into the oldest generation and make its collections long.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.rows import FlowPeriodStats, FlowRow
from tests.graphql_client import ApiClient
from tests.tabs.support import new_tenant, utc_now

T = TypeVar("T")
COVERAGE = """
query { coverage(period: LAST_7_DAYS) { domains { name flows { flow { id } usageCount } } } }
"""


@pytest.fixture
def cycle_collector_off() -> Iterator[None]:
    """Only reference counting frees objects while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _alive(kind: type[T]) -> dict[int, T]:
    """Every live `kind` the cycle collector tracks, by identity."""
    return {id(thing): thing for thing in gc.get_objects() if type(thing) is kind}


async def test_the_rows_a_request_read_are_freed_without_the_cycle_collector(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], cycle_collector_off: None
) -> None:
    tenant = await new_tenant(sessionmaker)
    flows = {await tenant.builder.flow(f"Printer fix {n}", "Printing") for n in range(3)}
    await tenant.builder.session(utc_now() - timedelta(hours=2), domain="printing")
    stats_before = _alive(FlowPeriodStats)

    data = await tenant.query(api, COVERAGE)

    (domain,) = data["coverage"]["domains"]
    assert {str(flow) for flow in flows} == {row["flow"]["id"] for row in domain["flows"]}
    # The request built a FlowRow and FlowPeriodStats per flow; none of them is left.
    assert [row for row in _alive(FlowRow).values() if row.id in flows] == []
    assert _alive(FlowPeriodStats).keys() <= stats_before.keys()
