"""The hit path (answered before strawberry takes the request): the same answer, headers,
log line and metrics as the way through strawberry; whatever it cannot answer takes the
usual way with one lookup; a remembered token is accepted no longer than verification
would accept it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from core.auth import CLOCK_SKEW, AuthenticationError, Principal
from queries import tab_query
from service.pipeline.authentication import VerifiedTokens
from service.response_cache import version
from service.response_cache.cache import ResponseCache
from service.response_cache.version import ReaderDown, StateReader
from tests.cache.support import Outcomes, outcomes
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for
from tests.observability import test_request_log
from tests.observability.test_request_log import Lines

OVERVIEW = tab_query("overview")
VARIABLES = {"period": "LAST_7_DAYS"}


@pytest.fixture(scope="module")
async def cached_api(database_url: str) -> AsyncIterator[ApiClient]:
    async with running_app(settings_for_tests(database_url, response_cache=True)) as client:
        yield client


lines = test_request_log.lines  # the request log's lines, as a fixture here too


def logged(lines: Lines) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.lines]


async def account(sessionmaker: async_sessionmaker[AsyncSession]) -> AccountBuilder:
    builder = await AccountBuilder.create(sessionmaker)
    await builder.session(datetime.now(UTC) - timedelta(hours=1), domain="Email")
    return builder


def _headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}


async def test_a_hit_has_the_bytes_headers_log_line_and_count_of_the_usual_way(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], lines: Lines
) -> None:
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    counts = Outcomes()
    miss = await cached_api.post(OVERVIEW, VARIABLES, token=token)
    hit = await cached_api.post(OVERVIEW, VARIABLES, token=token)
    assert counts.since("miss") == 1 and counts.since("hit") == 1
    assert hit.content == miss.content and _headers(hit) == _headers(miss)
    assert hit.headers["content-type"] == "application/json; charset=utf-8"
    assert hit.headers["vary"] == "Origin" and hit.headers["etag"]

    mine = [line for line in logged(lines) if line["account_id"] == str(builder.account_id)]
    assert [line["cache"] for line in mine] == ["miss", "hit"]
    assert mine[1]["sql_statements"] == 1 and mine[1]["status"] == 200
    assert mine[1]["result"] == "ok"


async def test_what_the_hit_path_does_not_answer_takes_the_usual_way_once(
    cached_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], lines: Lines
) -> None:
    """A miss, a 304, the spec's media type and a refused token: one lookup each."""
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    counts = Outcomes()
    first = await cached_api.post(OVERVIEW, VARIABLES, token=token)
    etag = first.headers["etag"]
    again = await cached_api.post(OVERVIEW, VARIABLES, token=token, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    spec = "application/graphql-response+json"
    typed = await cached_api.post(OVERVIEW, VARIABLES, token=token, headers={"Accept": spec})
    assert typed.status_code == 200 and typed.content == first.content
    assert typed.headers["content-type"] == f"{spec}; charset=utf-8"
    assert (counts.since("miss"), counts.since("not_modified"), counts.since("hit")) == (1, 1, 1)
    refused = await cached_api.post(OVERVIEW, VARIABLES, token=token + "x")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    caches = [line["cache"] for line in logged(lines) if line["status"] in {200, 304, 401}]
    assert caches[-4:] == ["miss", "not_modified", "hit", None]


async def test_a_hit_waits_for_a_slot_and_a_busy_account_is_refused_once(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    settings = settings_for_tests(
        database_url, response_cache=True, account_max_concurrent_requests=1, request_timeout_s=0.2
    )
    async with running_app(settings) as api:
        await api.post(OVERVIEW, VARIABLES, token=token)
        slots = _slots(api)
        async with slots.hold(str(builder.account_id), None):
            busy = await api.post(OVERVIEW, VARIABLES, token=token)
        hit = await api.post(OVERVIEW, VARIABLES, token=token)
    assert busy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert hit.status_code == 200 and "errors" not in hit.json()


def _slots(api: ApiClient) -> Any:
    return _view(api).account_slots


def _view(api: ApiClient) -> Any:
    for route in api.app.routes:
        if getattr(route, "path", None) == "/graphql":
            return route.app  # type: ignore[attr-defined]
    raise AssertionError("no /graphql route")


def counted_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens verify_token is called with from now on (it still verifies them)."""
    calls: list[str] = []
    verify = VerifiedTokens.verify.__globals__["verify_token"]

    def counting(token: str, settings: Any) -> Any:
        calls.append(token)
        return verify(token, settings)

    monkeypatch.setattr("service.pipeline.authentication.verify_token", counting)
    return calls


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_is_accepted_only_while_verification_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for_tests("postgresql://unused/db")
    clock = Clock()
    monkeypatch.setattr("service.pipeline.authentication.time.time", clock)
    tokens = VerifiedTokens(settings)
    account_id = uuid.uuid4()
    exp = int(clock.now) + 60
    claims = {"account_id": str(account_id), "role": "team_admin", "iat": exp - 120, "exp": exp}
    token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    calls = counted_verifications(monkeypatch)
    assert tokens.verify(token).account_id == account_id
    assert tokens.verify(token).account_id == account_id
    assert len(calls) == 1  # the second was remembered

    # PyJWT accepts until exp + leeway; the entry ends there too, and is verified afresh.
    clock.now = exp + CLOCK_SKEW.total_seconds() - 1
    assert tokens.verify(token).account_id == account_id and len(calls) == 1
    clock.now = exp + CLOCK_SKEW.total_seconds() + 1
    tokens.verify(token)  # PyJWT's own clock (the real one) decides now: still valid
    assert len(calls) == 2

    # A refusal is never remembered, and a clock set back verifies afresh.
    with pytest.raises(AuthenticationError):
        tokens.verify(token + "x")
    with pytest.raises(AuthenticationError):
        tokens.verify(token + "x")
    assert len(calls) == 4
    clock.now = exp - 30
    tokens.verify(token)
    clock.now = exp - 60
    tokens.verify(token)
    assert len(calls) == 6


async def test_the_lookup_connects_with_the_urls_query_as_the_engine_does(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """`?ssl=disable` (asyncpg's TLS mode) and `?prepared_statement_cache_size=0` (an
    option of SQLAlchemy's adapter) are connect arguments, not server settings: the lookup
    reads the state and the repeated request is a hit."""
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}ssl=disable&prepared_statement_cache_size=0"
    counts = Outcomes()
    async with running_app(settings_for_tests(url, response_cache=True)) as api:
        miss = await api.post(OVERVIEW, VARIABLES, token=token)
        hit = await api.post(OVERVIEW, VARIABLES, token=token)
    assert miss.status_code == 200 and hit.content == miss.content
    assert (counts.since("miss"), counts.since("hit")) == (1, 1)


async def test_the_hit_paths_time_counts_against_the_request_timeout(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A lookup that never ends is cut at the request timeout: the request is answered
    TIMEOUT (one deadline for the hit path and the execution), not left waiting."""
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    settings = settings_for_tests(database_url, response_cache=True, request_timeout_s=0.2)
    async with running_app(settings) as api:
        view = _view(api)

        async def never(*args: Any, **kwargs: Any) -> Any:
            await asyncio.Event().wait()

        view.response_cache.lookup = never
        # The bound only keeps a regression from hanging the suite.
        answer = await asyncio.wait_for(api.post(OVERVIEW, VARIABLES, token=token), 60)
    assert answer.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


async def test_after_the_reader_cannot_connect_lookups_skip_it_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed open is not retried by every lookup: for RETRY_AFTER_S the reader
    answers ReaderDown at once (the request goes on uncached), then tries again."""
    clock = [1000.0]
    monkeypatch.setattr("service.response_cache.version.time.monotonic", lambda: clock[0])
    attempts: list[dict[str, Any]] = []

    async def refused(**kwargs: Any) -> Any:
        attempts.append(kwargs)
        raise ConnectionRefusedError("no server")

    monkeypatch.setattr("service.response_cache.version.asyncpg.create_pool", refused)
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    reader = StateReader(engine)
    now = datetime.now(UTC)
    try:
        with pytest.raises(ConnectionRefusedError):
            await reader.current(uuid.uuid4(), now)
        with pytest.raises(ReaderDown):
            await reader.current(uuid.uuid4(), now)
        assert len(attempts) == 1
        clock[0] += version.RETRY_AFTER_S
        with pytest.raises(ConnectionRefusedError):
            await reader.current(uuid.uuid4(), now)
        assert len(attempts) == 2
    finally:
        await reader.close()
        await engine.dispose()


async def test_the_lookup_pool_has_the_configured_size(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []
    create_pool = asyncpg.create_pool

    def recorded(**kwargs: Any) -> Any:
        sizes.append(kwargs["max_size"])
        return create_pool(**kwargs)

    monkeypatch.setattr("service.response_cache.version.asyncpg.create_pool", recorded)
    builder = await account(sessionmaker)
    token = token_for(builder.account_id)
    settings = settings_for_tests(
        database_url, response_cache=True, response_cache_lookup_connections=2
    )
    async with running_app(settings) as api:
        await api.post(OVERVIEW, VARIABLES, token=token)
        hit = await api.post(OVERVIEW, VARIABLES, token=token)
    assert hit.status_code == 200 and sizes == [2]


async def test_a_lookup_after_close_bypasses_and_opens_no_pool(database_url: str) -> None:
    settings = settings_for_tests(database_url, response_cache=True)
    cache = ResponseCache.from_settings(settings, None)
    cache.trust("graphql", OVERVIEW, None)
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    context: Any = SimpleNamespace(
        principal=Principal(None, uuid.uuid4(), "team_admin"),
        read_sessionmaker=async_sessionmaker(engine),
        now=datetime.now(UTC),
    )
    try:
        await cache.close()
        before = outcomes("bypass", "closed")
        ticket = await cache.lookup(
            context, kind="graphql", query=OVERVIEW, operation=None, variables=VARIABLES
        )
        assert not ticket.hit and ticket.identity is None
        assert outcomes("bypass", "closed") == before + 1
        assert not cache._readers
    finally:
        await engine.dispose()


async def test_shutdown_closes_every_resource_when_one_fails(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    async def failing_stop(self: Any) -> None:
        closed.append("jobs")
        raise RuntimeError("stop failed")

    cache_close = ResponseCache.close

    async def recorded_close(self: ResponseCache) -> None:
        closed.append("cache")
        await cache_close(self)

    monkeypatch.setattr("service.app.BackgroundJobs.stop", failing_stop)
    monkeypatch.setattr(ResponseCache, "close", recorded_close)
    with pytest.raises(RuntimeError, match="stop failed"):
        async with running_app(settings_for_tests(database_url, response_cache=True)):
            pass
    assert closed == ["jobs", "cache"]


def test_remembered_tokens_are_dropped_least_recently_used_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for_tests("postgresql://unused/db")
    tokens = VerifiedTokens(settings, capacity=2)
    exp = int(datetime.now(UTC).timestamp()) + 600
    first, second, third = (
        jwt.encode(
            {"account_id": str(uuid.uuid4()), "role": "team_admin", "iat": exp - 700, "exp": exp},
            settings.jwt_secret,
            algorithm="HS256",
        )
        for _ in range(3)
    )
    calls = counted_verifications(monkeypatch)
    tokens.verify(first)
    tokens.verify(second)
    tokens.verify(first)  # used again: now the most recent
    tokens.verify(third)  # drops `second`, the least recently used
    assert calls == [first, second, third]
    tokens.verify(first)
    assert calls == [first, second, third]
    tokens.verify(second)
    assert calls == [first, second, third, second]
