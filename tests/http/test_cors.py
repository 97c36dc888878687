"""CORS: only CORS_ALLOWED_ORIGINS may call from a browser; preflights answered correctly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from core.addresses import parse_origins
from core.settings import Settings, SettingsError
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

DASHBOARD = "https://dashboard.example.com"
PREFLIGHT = {
    "Origin": DASHBOARD,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture(scope="module")
async def cors_api(database_url: str) -> AsyncIterator[ApiClient]:
    settings = settings_for_tests(database_url, cors_allowed_origins=(DASHBOARD,))
    async with running_app(settings) as client:
        yield client


async def test_preflight_from_an_allowed_origin(cors_api: ApiClient) -> None:
    response = await cors_api.http.options("/graphql", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert int(response.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in response.headers["vary"].lower()


async def test_the_actual_request_carries_the_cors_headers(cors_api: ApiClient) -> None:
    response = await cors_api.http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": DASHBOARD, "Authorization": f"Bearer {token_for(uuid.uuid4())}"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "www-authenticate" in exposed
    unauthenticated = await cors_api.http.post(
        "/graphql", json={"query": "{ overview { sessionCount } }"}, headers={"Origin": DASHBOARD}
    )
    assert unauthenticated.status_code == 401  # readable by the dashboard, so it can refresh
    assert unauthenticated.headers["access-control-allow-origin"] == DASHBOARD


@pytest.mark.parametrize(
    "headers",
    [
        {**PREFLIGHT, "Origin": "https://evil.example"},
        {**PREFLIGHT, "Access-Control-Request-Method": "DELETE"},
        {**PREFLIGHT, "Access-Control-Request-Headers": "x-forbidden"},
    ],
)
async def test_a_disallowed_preflight_is_a_coded_400(
    cors_api: ApiClient, headers: dict[str, str]
) -> None:
    response = await cors_api.http.options("/graphql", headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CORS_NOT_ALLOWED"
    assert response.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_other_origins_get_no_cors_headers(cors_api: ApiClient) -> None:
    response = await cors_api.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_by_default(api: ApiClient) -> None:
    preflight = await api.http.options("/graphql", headers=PREFLIGHT)
    assert preflight.status_code == 400
    response = await api.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": DASHBOARD}
    )
    assert "access-control-allow-origin" not in response.headers


def test_origins_are_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_origins(" https://A.example.com , http://localhost:5173/,") == (
        "https://a.example.com",
        "http://localhost:5173",
    )
    assert parse_origins("") == ()
    assert parse_origins("*") == ("*",)
    for bad in ("dashboard.example.com", "https://a.example.com/app", "ftp://a.example"):
        with pytest.raises(ValueError):
            parse_origins(bad)
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://a.example.com/app")
    with pytest.raises(SettingsError, match="CORS_ALLOWED_ORIGINS"):
        Settings.from_env()
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", DASHBOARD)
    assert Settings.from_env().cors_allowed_origins == (DASHBOARD,)
