"""Automatic persisted queries and safelist mode, driven as an Apollo client drives them."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from service.pipeline.persisted_queries import PersistedQueries, PersistedQueryNotFound, sha256_hex
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

OWNER = str(uuid.uuid4())


async def send(
    api: ApiClient,
    token: str,
    *,
    query: str | None = None,
    sha: str | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if query is not None:
        body["query"] = query
    if sha is not None:
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    if variables is not None:
        body["variables"] = variables
    response = await api.http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


async def account_with_three_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> str:
    account = await AccountBuilder.create(sessionmaker)
    started = datetime.now(UTC) - timedelta(hours=3)
    for _ in range(3):
        await account.session(started, domain="Email", status="resolved")
    return token_for(account.account_id)


def ad_hoc_query() -> str:
    """A query no other test registers (its name is unique), so the cache starts cold."""
    return f"query AdHoc{uuid.uuid4().hex} {{ overview(period: LAST_7_DAYS) {{ sessionCount }} }}"


async def test_apq_round_trip_registers_then_serves_by_hash(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    query = ad_hoc_query()
    sha = sha256_hex(query)

    first = await send(api, token, sha=sha)
    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first["data"] is None

    registered = await send(api, token, query=query, sha=sha)
    assert "errors" not in registered
    assert registered["data"] == {"overview": {"sessionCount": 3}}

    by_hash = await send(api, token, sha=sha)
    assert "errors" not in by_hash
    assert by_hash["data"] == {"overview": {"sessionCount": 3}}


async def test_first_party_documents_are_known_by_hash_without_registration(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    answer = await send(
        api, token, sha=sha256_hex(tab_query("overview")), variables={"period": "LAST_7_DAYS"}
    )
    assert "errors" not in answer
    assert answer["data"]["overview"]["sessionCount"] == 3


async def test_hash_that_does_not_match_the_text_is_bad_user_input(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    query = ad_hoc_query()
    answer = await send(api, token, query=query, sha=sha256_hex(query + " "))
    assert codes(answer) == ["BAD_USER_INPUT"]
    # Nothing was stored under the wrong hash or the right one.
    assert codes(await send(api, token, sha=sha256_hex(query))) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_unsupported_version_is_bad_user_input(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}
    response = await api.http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert codes(response.json()) == ["BAD_USER_INPUT"]


@pytest.fixture(scope="module")
async def safelisted(database_url: str) -> AsyncIterator[ApiClient]:
    settings = settings_for_tests(database_url, persisted_queries_safelist=True)
    async with running_app(settings) as client:
        yield client


async def test_safelist_rejects_ad_hoc_text_and_registration(
    safelisted: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    query = ad_hoc_query()
    sha = sha256_hex(query)
    plain = await send(safelisted, token, query=query)
    assert codes(plain) == ["PERSISTED_QUERY_NOT_ALLOWED"] and plain["data"] is None
    assert codes(await send(safelisted, token, query=query, sha=sha)) == [
        "PERSISTED_QUERY_NOT_ALLOWED"
    ]
    assert codes(await send(safelisted, token, sha=sha)) == ["PERSISTED_QUERY_NOT_ALLOWED"]


async def test_safelist_accepts_first_party_documents_by_hash_or_identical_text(
    safelisted: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    text = tab_query("overview")
    variables = {"period": "LAST_7_DAYS"}
    by_hash = await send(safelisted, token, sha=sha256_hex(text), variables=variables)
    by_text = await send(safelisted, token, query=text, variables=variables)
    assert by_hash["data"]["overview"]["sessionCount"] == 3
    # Everything but asOf (each request's own now: the later request's is later) is equal.
    hashed_at = by_hash["data"]["overview"].pop("asOf")
    texted_at = by_text["data"]["overview"].pop("asOf")
    assert datetime.fromisoformat(hashed_at) <= datetime.fromisoformat(texted_at)
    assert by_text == by_hash
    edited = await send(safelisted, token, query=text + "\n# edited", variables=variables)
    assert codes(edited) == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_learned_queries_are_evicted_least_recently_used_first() -> None:
    store = PersistedQueries(capacity=2, known={})
    queries = ["{ a }", "{ b }", "{ c }"]
    extensions = [{"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(q)}} for q in queries]
    store.resolve(queries[0], extensions[0], OWNER)
    store.resolve(queries[1], extensions[1], OWNER)
    assert store.resolve(None, extensions[0], OWNER) == queries[0]  # a is now the most recent
    store.resolve(queries[2], extensions[2], OWNER)  # evicts b
    assert store.resolve(None, extensions[0], OWNER) == queries[0]
    assert store.resolve(None, extensions[2], OWNER) == queries[2]
    with pytest.raises(PersistedQueryNotFound):
        store.resolve(None, extensions[1], OWNER)


def _apq(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}


def test_the_store_is_bounded_in_bytes() -> None:
    store = PersistedQueries(capacity=1000, capacity_bytes=100_000, known={})
    texts = [f"{{ overview {{ sessionCount }} }} # {i:03d} " + "x" * 30_000 for i in range(10)]
    for text in texts:
        store.resolve(text, _apq(text), OWNER)
    assert store.stored_bytes <= 100_000
    assert store.resolve(None, _apq(texts[-1]), OWNER) == texts[-1]  # the newest stays
    with pytest.raises(PersistedQueryNotFound):
        store.resolve(None, _apq(texts[0]), OWNER)
    too_big = "{ a } #" + "x" * 200_000
    store.resolve(too_big, _apq(too_big), OWNER)  # runs, but is not kept
    with pytest.raises(PersistedQueryNotFound):
        store.resolve(None, _apq(too_big), OWNER)


def test_anonymous_callers_register_nothing() -> None:
    store = PersistedQueries(known={})
    text = "{ overview { sessionCount } }"
    store.resolve(text, _apq(text), None)
    assert store.stored_bytes == 0
    with pytest.raises(PersistedQueryNotFound):
        store.resolve(None, _apq(text), OWNER)


async def test_anonymous_registration_is_refused_and_stores_nothing(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await account_with_three_sessions(sessionmaker)
    query = ad_hoc_query()
    body = {"query": query, "extensions": _apq(query)}
    anonymous = (await api.http.post("/graphql", json=body)).json()
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert codes(await send(api, token, sha=sha256_hex(query))) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_an_account_cannot_probe_what_another_registered(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token_a = await account_with_three_sessions(sessionmaker)
    token_b = await account_with_three_sessions(sessionmaker)
    query = ad_hoc_query()
    registered = await send(api, token_a, query=query, sha=sha256_hex(query))
    assert "errors" not in registered
    assert "errors" not in await send(api, token_a, sha=sha256_hex(query))
    assert codes(await send(api, token_b, sha=sha256_hex(query))) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize("safelist", [False, True])
async def test_a_text_with_a_lone_surrogate_is_bad_user_input_not_a_500(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], safelist: bool
) -> None:
    """JSON's \\ud800 escape gives a text with no UTF-8 form, so no hash: refused with a
    code on the hit path's and the usual way's check alike (response cache on)."""
    token = await account_with_three_sessions(sessionmaker)
    query = "# \ud800\n{ __typename }"
    settings = settings_for_tests(
        database_url, response_cache=True, persisted_queries_safelist=safelist
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    async with running_app(settings) as api:
        answers = []
        for body in ({"query": query, "extensions": persisted}, {"query": query}):
            # json.dumps escapes the surrogate as \ud800 (httpx's json= cannot send it).
            response = await api.http.post("/graphql", content=json.dumps(body), headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json())
    with_hash, plain = answers
    assert codes(with_hash) == ["BAD_USER_INPUT"]
    if safelist:
        assert codes(plain) == ["BAD_USER_INPUT"]


async def test_a_failing_cache_lookup_lets_the_request_run_uncached(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = await account_with_three_sessions(sessionmaker)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr("service.response_cache.cache.ResponseCache.lookup", broken)
    async with running_app(settings_for_tests(database_url, response_cache=True)) as api:
        answer = await send(api, token, query="{ __typename }")
    assert answer == {"data": {"__typename": "Query"}}
