"""The response cache over HTTP: hits equal their miss byte for byte, a write is seen by
the next request, ETags and 304s, the CSV export, the budget, what is never cached."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from tests.cache.support import Outcomes
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

OVERVIEW = tab_query("overview")
COUNT = "query Count { overview(period: LAST_7_DAYS) { asOf sessionCount } }"


@pytest.fixture(scope="module")
async def cached_api(database_url: str) -> AsyncIterator[ApiClient]:
    async with running_app(settings_for_tests(database_url, response_cache=True)) as client:
        yield client


async def account_with_sessions(
    sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> AccountBuilder:
    builder = await AccountBuilder.create(sessionmaker)
    for index in range(count):
        await builder.session(datetime.now(UTC) - timedelta(hours=index + 1), domain="Email")
    return builder


async def test_a_repeat_is_a_hit_with_the_same_bytes_and_a_write_is_seen_next(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 3)
    token = token_for(builder.account_id)
    counts = Outcomes()
    first = await cached_api.post(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
    second = await cached_api.post(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
    third = await cached_api.post(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["overview"]["sessionCount"] == 3
    assert second.content == third.content == first.content
    # A tab's document is looked up from its first request on.
    assert (counts.since("miss"), counts.since("hit")) == (1, 2)

    await builder.session(datetime.now(UTC) - timedelta(minutes=5), domain="VPN")
    after = await cached_api.post(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
    assert after.json()["data"]["overview"]["sessionCount"] == 4
    assert (counts.since("miss"), counts.since("hit")) == (2, 2)
    again = await cached_api.post(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
    assert again.content == after.content and counts.since("hit") == 3


async def test_the_key_separates_accounts_roles_variables_and_operations(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    one = await account_with_sessions(sessionmaker, 1)
    two = await account_with_sessions(sessionmaker, 2)
    await cached_api.post(COUNT, token=token_for(one.account_id))  # the document is known
    counts = Outcomes()
    answers = [
        await cached_api.data(COUNT, token=token_for(one.account_id)),
        await cached_api.data(COUNT, token=token_for(two.account_id)),
        await cached_api.data(COUNT, token=token_for(one.account_id, "admin")),
        await cached_api.data(
            OVERVIEW, {"period": "LAST_30_DAYS"}, token=token_for(one.account_id)
        ),
    ]
    assert [a["overview"]["sessionCount"] for a in answers] == [1, 2, 1, 1]
    assert counts.since("hit") == 1  # only the first repeats an earlier request
    # The same document with other whitespace is the same normalized document.
    spaced = COUNT.replace("{ ", "{\n  ")
    await cached_api.data(spaced, token=token_for(two.account_id))
    assert counts.since("hit") == 2


async def test_etag_and_if_none_match(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 2)
    auth = {"Authorization": f"Bearer {token_for(builder.account_id)}"}
    body = {"query": COUNT}
    first = await cached_api.http.post("/graphql", json=body, headers=auth)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    counts = Outcomes()
    conditional = {**auth, "If-None-Match": etag}
    unchanged = await cached_api.http.post("/graphql", json=body, headers=conditional)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag and counts.since("not_modified") == 1
    other = await cached_api.http.post(
        "/graphql", json=body, headers={**auth, "If-None-Match": '"something-else"'}
    )
    assert other.status_code == 200 and other.content == first.content

    await builder.session(datetime.now(UTC) - timedelta(minutes=1))
    changed = await cached_api.http.post("/graphql", json=body, headers=conditional)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["data"]["overview"]["sessionCount"] == 3
    # No token: refused as before, never a 304.
    anonymous = await cached_api.http.post("/graphql", json=body, headers={"If-None-Match": etag})
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_csv_export_uses_the_cache_and_conditional_requests(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 2)
    auth = {"Authorization": f"Bearer {token_for(builder.account_id)}"}
    url = "/export/overview.csv?period=LAST_7_DAYS"
    counts = Outcomes()
    first = await cached_api.http.get(url, headers=auth)
    second = await cached_api.http.get(url, headers=auth)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and counts.since("hit") == 1
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]
    unchanged = await cached_api.http.get(url, headers={**auth, "If-None-Match": etag})
    assert unchanged.status_code == 304

    await builder.session(datetime.now(UTC) - timedelta(minutes=1))
    changed = await cached_api.http.get(url, headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    rows = [line.split(",") for line in changed.text.splitlines()]
    header, overview = rows[0], rows[1]
    assert overview[header.index("sessionCount")] == "3"


async def test_errors_and_mutations_are_never_cached(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 1)
    engineer = token_for(builder.account_id, "engineer")
    counts = Outcomes()
    for _ in range(3):
        refused = await cached_api.execute(COUNT, token=engineer)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert counts.since("hit") == 0
    ids = f'sessionId: "{uuid.uuid4()}", flowId: "{uuid.uuid4()}"'
    mutation = f"mutation {{ recordFlowMatch(input: {{{ids}}}) {{ __typename }} }}"
    for _ in range(2):
        await cached_api.execute(mutation, token=token_for(builder.account_id, "admin"))
    assert counts.since("hit") == 0 and counts.since("bypass", "not_a_query") == 2


async def test_a_hit_charges_the_account_budget(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 1)
    token = token_for(builder.account_id)
    # COUNT costs 3 (overview + asOf + sessionCount); a hit costs 5 here: 3 + 5 + 5 > 12.
    settings = settings_for_tests(
        database_url,
        response_cache=True,
        response_cache_hit_cost=5,
        rate_limit_burst_cost=12,
        rate_limit_cost_per_s=0.001,
    )
    async with running_app(settings) as api:
        first = await api.execute(COUNT, token=token)
        second = await api.execute(COUNT, token=token)
        third = await api.execute(COUNT, token=token)
    assert first["extensions"]["cost"] == 3 and "errors" not in second
    assert third["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_entries_older_than_the_maximum_age_are_not_served(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account_with_sessions(sessionmaker, 1)
    token = token_for(builder.account_id)
    settings = settings_for_tests(database_url, response_cache=True, response_cache_max_age_s=0)
    counts = Outcomes()
    async with running_app(settings) as api:
        answers = [await api.data(COUNT, token=token) for _ in range(3)]
    assert len({a["overview"]["asOf"] for a in answers}) == 3
    assert counts.since("hit") == 0 and counts.since("miss") == 2


async def test_a_hit_answers_in_the_media_type_the_client_asked_for(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A hit has no execution result of its own: it must still be a 200 in the negotiated
    GraphQL-over-HTTP type, never read as a request error."""
    builder = await account_with_sessions(sessionmaker, 2)
    spec = "application/graphql-response+json"
    headers = {"Authorization": f"Bearer {token_for(builder.account_id)}", "Accept": spec}
    counts = Outcomes()
    miss = await cached_api.http.post("/graphql", json={"query": COUNT}, headers=headers)
    hit = await cached_api.http.post("/graphql", json={"query": COUNT}, headers=headers)
    assert counts.since("hit") == 1
    for response in (miss, hit):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(spec)
        assert response.json()["data"]["overview"]["sessionCount"] == 2
    assert hit.content == miss.content
