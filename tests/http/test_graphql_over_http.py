"""GraphQL over HTTP: media types, request-error status codes, and 401 for missing tokens."""

from __future__ import annotations

import uuid

import httpx
import pytest

from service.pipeline.content_negotiation import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    choose_media_type,
)
from tests.graphql_client import ApiClient, token_for

SPEC = GRAPHQL_RESPONSE_JSON
ACCOUNT = uuid.UUID("00000000-0000-4000-8000-00000000a0a0")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, APPLICATION_JSON),
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        (SPEC, SPEC),
        (f"{SPEC}, application/json;q=0.9", SPEC),  # Apollo Client 4, graphql-http
        (f"application/json, {SPEC}", SPEC),
        (f"application/json, {SPEC};q=0.5", APPLICATION_JSON),
        (f"{SPEC};q=0, application/json", APPLICATION_JSON),
        ("text/html, */*;q=0.1", APPLICATION_JSON),
        ("text/html", None),
        (f"{SPEC};q=0", None),
    ],
)
def test_accept_is_negotiated(accept: str | None, chosen: str | None) -> None:
    assert choose_media_type(accept) == chosen


async def _post(
    api: ApiClient, body: object, accept: str | None, token: str | None = None
) -> httpx.Response:
    headers = {} if accept is None else {"Accept": accept}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await api.http.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    "query",
    [
        "{",  # parse
        "{ noSuchField }",  # validation
    ],
)
async def test_request_errors_are_400_without_data_in_the_spec_type(
    api: ApiClient, query: str
) -> None:
    token = token_for(ACCOUNT)
    spec = await _post(api, {"query": query}, SPEC, token)
    assert spec.status_code == 400
    assert spec.headers["content-type"] == f"{SPEC}; charset=utf-8"
    body = spec.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"]
    legacy = await _post(api, {"query": query}, "application/json", token)
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["errors"]


async def test_variable_coercion_failure_is_400_in_the_spec_type(api: ApiClient) -> None:
    body = {
        "query": "query ($period: Period) { overview(period: $period) { sessionCount } }",
        "variables": {"period": "NOT_A_PERIOD"},
    }
    response = await _post(api, body, SPEC, token_for(ACCOUNT))
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_a_successful_query_is_200_in_either_type(api: ApiClient) -> None:
    for accept in (SPEC, "application/json", None):
        response = await _post(api, {"query": "{ __typename }"}, accept, token_for(ACCOUNT))
        assert response.status_code == 200
        assert response.json()["data"] == {"__typename": "Query"}


async def test_an_unacceptable_accept_is_406(api: ApiClient) -> None:
    response = await _post(api, {"query": "{ __typename }"}, "text/html")
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("accept", [SPEC, "application/json", None])
async def test_a_missing_token_is_401_with_a_bearer_challenge(
    api: ApiClient, accept: str | None
) -> None:
    response = await _post(api, {"query": "{ overview { sessionCount } }"}, accept)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="flowpilot"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_invalid_token_is_401_invalid_token(api: ApiClient) -> None:
    response = await _post(api, {"query": "{ overview { sessionCount } }"}, SPEC, "not-a-jwt")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ __typename }", "operationName": {}},
        {"query": "{ __typename }", "variables": []},
        {"query": "{ __typename }", "extensions": "x"},
    ],
)
async def test_malformed_request_parameters_are_400(api: ApiClient, body: object) -> None:
    response = await _post(api, body, SPEC)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
