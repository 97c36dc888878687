"""GraphiQL in a real browser with no internet: it loads from the service and runs a tab."""

from __future__ import annotations

from tests.clients.browser import require_chromium
from tests.clients.live_server import live_server
from tests.clients.node_project import require_node, run_node_tests
from tests.graphql_client import settings_for_tests


async def test_graphiql_runs_a_tab_offline(demo_database_url: str) -> None:
    node = require_node()
    chromium = require_chromium()
    # Demo mode: the page's tabs carry the demo team admin's header, as `serve` gives them.
    settings = settings_for_tests(demo_database_url, demo=True, rate_limit_cost_per_s=0)
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "graphiql-offline.test.mjs",
            {"FLOWPILOT_API_URL": f"{base_url}/graphql", "FLOWPILOT_CHROMIUM": chromium},
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 1" in output and "ℹ fail 0" in output, output
