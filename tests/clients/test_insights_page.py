"""The insights page in a real browser, on a live server with the demo data in safelist mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.auth import issue_token
from core.metrics.window import local_today
from core.settings import Settings
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TIMEZONE
from tests.clients.browser import require_chromium
from tests.clients.live_server import live_server
from tests.clients.node_project import require_node, run_node_tests
from tests.graphql_client import TEST_JWT_SECRET, settings_for_tests, token_for


def expired_token() -> str:
    settings = Settings(jwt_secret=TEST_JWT_SECRET)
    return issue_token(
        settings, account_id=DEMO_ACCOUNT_ID, role="team_admin", lifetime=timedelta(hours=-1)
    )


async def test_the_insights_page_shows_what_the_api_returns(demo_database_url: str) -> None:
    node = require_node()
    chromium = require_chromium()
    settings = settings_for_tests(
        demo_database_url, rate_limit_cost_per_s=0, persisted_queries_safelist=True
    )
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "insights-page.test.mjs",
            {
                "FLOWPILOT_BASE_URL": base_url,
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
                "FLOWPILOT_EXPIRED_TOKEN": expired_token(),
                "FLOWPILOT_TODAY": local_today(datetime.now(UTC), DEMO_TIMEZONE).isoformat(),
                "FLOWPILOT_CHROMIUM": chromium,
            },
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 6" in output and "ℹ fail 0" in output, output


EDITOR_URL = "https://flowpilot.example/flows/{flowId}/edit"
CREATE_URL = "https://flowpilot.example/flows/new?category={domain}"


async def test_the_page_answers_a_team_leads_four_questions(demo_database_url: str) -> None:
    """(a)-(d) from the DOM, the phone layout, a partial comparison, recovery, axe-core."""
    node = require_node()
    chromium = require_chromium()
    settings = settings_for_tests(
        demo_database_url,
        rate_limit_cost_per_s=0,
        persisted_queries_safelist=True,
        insights_flow_editor_url=EDITOR_URL,
        insights_create_flow_url=CREATE_URL,
    )
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "insights-questions.test.mjs",
            {
                "FLOWPILOT_BASE_URL": base_url,
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
                "FLOWPILOT_TODAY": local_today(datetime.now(UTC), DEMO_TIMEZONE).isoformat(),
                "FLOWPILOT_FLOW_EDITOR_URL": EDITOR_URL,
                "FLOWPILOT_CREATE_FLOW_URL": CREATE_URL,
                "FLOWPILOT_CHROMIUM": chromium,
            },
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 9" in output and "ℹ fail 0" in output, output


async def test_every_count_opens_the_rows_it_counts(own_demo_database_url: str) -> None:
    """Each tab's counts open their sessions or pushes: totals, rows, paging, keyboard, CSV;
    then a knowledge gap merged into the domain it spells, and undone (its own database)."""
    node = require_node()
    chromium = require_chromium()
    settings = settings_for_tests(
        own_demo_database_url, rate_limit_cost_per_s=0, persisted_queries_safelist=True
    )
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "insights-evidence.test.mjs",
            {
                "FLOWPILOT_BASE_URL": base_url,
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
                "FLOWPILOT_ADMIN_TOKEN": token_for(DEMO_ACCOUNT_ID, role="admin"),
                "FLOWPILOT_CHROMIUM": chromium,
            },
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 9" in output and "ℹ fail 0" in output, output


async def test_in_the_demo_the_page_needs_no_token(demo_database_url: str) -> None:
    node = require_node()
    chromium = require_chromium()
    settings = settings_for_tests(demo_database_url, rate_limit_cost_per_s=0, demo=True)
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "insights-demo.test.mjs",
            {"FLOWPILOT_BASE_URL": base_url, "FLOWPILOT_CHROMIUM": chromium},
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 2" in output and "ℹ fail 0" in output, output


async def test_the_page_requests_persisted_queries_and_reads_refusals() -> None:
    """The page's request logic against scripted answers (no server, no browser)."""
    code, output = await run_node_tests(require_node(), "insights-api.test.mjs", {})
    print(output)
    assert code == 0, output
    assert "ℹ pass 4" in output and "ℹ fail 0" in output, output
