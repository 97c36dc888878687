"""The HTTP surface: GraphiQL, liveness and readiness, through the real ASGI app."""

from __future__ import annotations

from persistence.engine import create_engine
from persistence.operations.migrate import upgrade_engine
from tests.graphql_client import ApiClient, running_app, settings_for_tests


async def test_graphiql_page_is_served(api: ApiClient) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_can_be_switched_off(database_url: str) -> None:
    async with running_app(settings_for_tests(database_url, graphiql=False)) as client:
        response = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404


async def test_healthz_and_readyz_on_a_migrated_database(api: ApiClient) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_readyz_is_503_until_the_schema_is_at_head(empty_database_url: str) -> None:
    async with running_app(settings_for_tests(empty_database_url)) as client:
        before = await client.http.get("/readyz")
        engine = create_engine(empty_database_url)
        try:
            await upgrade_engine(engine)
        finally:
            await engine.dispose()
        after = await client.http.get("/readyz")
    assert before.status_code == 503
    assert before.json()["database"] == "schema not at head"
    assert after.status_code == 200


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/none"
    async with running_app(settings_for_tests(unreachable)) as client:
        response = await client.http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
