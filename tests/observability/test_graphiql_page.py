"""The developer GraphiQL page: four tab queries as tabs; the demo header only in demo mode."""

from __future__ import annotations

import json
import re
from typing import Any

from core.auth import verify_token
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from queries import TAB_DOCUMENTS, tab_query
from tests.graphql_client import ApiClient, running_app, settings_for_tests


def page_config(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="graphiql-config">(.*?)</script>', html)
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


async def test_page_opens_with_the_four_tab_queries_and_no_token(api: ApiClient) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    config = page_config(response.text)
    assert [tab["query"] for tab in config["tabs"]] == [tab_query(t) for t in TAB_DOCUMENTS]
    assert config["headers"] == "" and all(tab["headers"] == "" for tab in config["tabs"])
    assert "Bearer" not in response.text


async def test_demo_mode_prefills_the_demo_team_admin_header(database_url: str) -> None:
    settings = settings_for_tests(database_url, demo=True)
    async with running_app(settings) as client:
        response = await client.http.get("/graphql", headers={"Accept": "text/html"})
    config = page_config(response.text)
    assert len(config["tabs"]) == 4
    for headers in [config["headers"], *(tab["headers"] for tab in config["tabs"])]:
        authorization = json.loads(headers)["Authorization"]
        scheme, token = authorization.split(" ")
        assert scheme == "Bearer"
        principal = verify_token(token, settings)
        assert principal.account_id == DEMO_ACCOUNT_ID
        assert principal.user_id == DEMO_TEAM_ADMIN_ID
        assert principal.role == "team_admin"
