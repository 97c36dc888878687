"""A stock Apollo Client (default InMemoryCache) reads back every tab as the network gave it."""

from __future__ import annotations

from datetime import UTC, datetime

from core.metrics.window import local_today
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TIMEZONE
from queries import QUERIES_DIR
from tests.clients.live_server import live_server
from tests.clients.node_project import require_node, run_node_tests
from tests.graphql_client import settings_for_tests, token_for


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
