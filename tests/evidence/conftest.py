"""The evidence tests page through whole lists: an app without the per-account budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.graphql_client import ApiClient, running_app, settings_for_tests


@pytest.fixture(scope="module")
async def api(database_url: str) -> AsyncIterator[ApiClient]:
    settings = settings_for_tests(database_url, rate_limit_cost_per_s=0)
    async with running_app(settings) as client:
        yield client
