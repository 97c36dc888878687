"""graphql-http's GraphQL-over-HTTP audit against the live service: no error, no warning."""

from __future__ import annotations

from persistence.operations.demo_seed import DEMO_ACCOUNT_ID
from tests.clients.live_server import live_server
from tests.clients.node_project import require_node, run_node_tests
from tests.graphql_client import settings_for_tests, token_for


async def test_graphql_http_audit_passes(demo_database_url: str) -> None:
    node = require_node()
    settings = settings_for_tests(demo_database_url, rate_limit_cost_per_s=0)
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "graphql-http-audit.test.mjs",
            {
                "FLOWPILOT_API_URL": f"{base_url}/graphql",
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
            },
        )
    print(output)
    assert code == 0, output
    assert ", 0 errors, 0 warnings," in output, output
