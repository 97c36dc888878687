"""Drive the real ASGI app (lifespan included) over HTTP, in process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from core.auth import issue_token
from core.settings import Settings
from service.app import create_app

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"


def settings_for_tests(database_url: str, **overrides: Any) -> Settings:
    """Settings of the real app for tests. The response cache is off unless a test asks:
    tests of execution (statement counts, budgets, snapshots) must see every request
    execute; tests/cache turns it on and checks its answers against uncached ones."""
    values: dict[str, Any] = {
        "response_cache": False,
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "demo": False,
        "graphiql": True,
        "introspection": True,
        "recalc_interval_s": 0,
        # Recovery sweeps every account's outbox; the tests that need it call it
        # themselves, so a timer in a shared app never races their rows.
        "outbox_recovery_interval_s": 0,
        # Likewise for the builds a time-zone change starts.
        "rollup_build_interval_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


def token_for(
    account_id: uuid.UUID,
    role: str = "team_admin",
    *,
    settings: Settings | None = None,
    user_id: uuid.UUID | None = None,
) -> str:
    settings = settings or Settings(jwt_secret=TEST_JWT_SECRET)
    return issue_token(settings, account_id=account_id, role=role, user_id=user_id)


class ApiClient:
    """A thin GraphQL client over an httpx client bound to the ASGI app."""

    def __init__(self, http: httpx.AsyncClient, app: Starlette) -> None:
        self.http = http
        self.app = app

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The response body, asserting the HTTP status: 200, or 401 for UNAUTHENTICATED."""
        response = await self.post(query, variables, token=token)
        body: dict[str, Any] = response.json()
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()}
        expected = 401 if "UNAUTHENTICATED" in codes else 200
        assert response.status_code == expected, response.text
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.execute(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[ApiClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield ApiClient(http, app)
