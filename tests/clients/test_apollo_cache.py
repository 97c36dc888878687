"""A stock Apollo Client (default InMemoryCache) reads back every tab as the network gave it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from persistence.analytics.window import local_today
from persistence.demo_seed import DEMO_ACCOUNT_ID, DEMO_TIMEZONE, seed_demo
from persistence.engine import create_engine
from persistence.migrate import upgrade_engine
from queries import QUERIES_DIR
from tests.clients.live_server import live_server
from tests.clients.node_project import require_node, run_node_tests
from tests.conftest import create_database, drop_database
from tests.graphql_client import settings_for_tests, token_for


@pytest.fixture(scope="module")
async def demo_database_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own with the demo account (the demo's fixed ids)."""
    url = await create_database(server_url, prefix="fp_clients")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
        await seed_demo(engine)
    finally:
        await engine.dispose()
    yield url
    await drop_database(url)


async def test_apollo_cache_gives_back_what_the_network_gave(demo_database_url: str) -> None:
    node = require_node()
    settings = settings_for_tests(demo_database_url, rate_limit_cost_per_s=0)
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "apollo-cache.test.mjs",
            {
                "FLOWPILOT_API_URL": f"{base_url}/graphql",
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
                "FLOWPILOT_QUERIES_DIR": str(QUERIES_DIR),
                "FLOWPILOT_TODAY": local_today(datetime.now(UTC), DEMO_TIMEZONE).isoformat(),
            },
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 6" in output and "ℹ fail 0" in output, output
