"""The shared tier: two app instances (two workers or hosts) share entries through Redis,
and a Redis that stops answering mid-run changes no answer (served uncached, counted)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from tests.cache.redis_server import redis_server
from tests.cache.support import Outcomes, without_as_of
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

OVERVIEW = tab_query("overview")
PSA = tab_query("psa")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of this test alone (it is stopped mid-run), on a free loopback port."""
    with redis_server(tmp_path) as (port, process):
        yield f"redis://127.0.0.1:{port}/0", process


@asynccontextmanager
async def _apps(database_url: str, *redis_urls: str | None) -> AsyncIterator[list[ApiClient]]:
    async with AsyncExitStack() as stack:
        clients = []
        for url in redis_urls:
            settings = settings_for_tests(
                database_url, response_cache=url is not None, redis_url=url
            )
            clients.append(await stack.enter_async_context(running_app(settings)))
        yield clients


async def test_two_instances_share_entries(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], redis_url: str
) -> None:
    builder = await AccountBuilder.create(sessionmaker)
    await builder.session(datetime.now(UTC) - timedelta(hours=1), domain="Email")
    token = token_for(builder.account_id)
    counts = Outcomes()
    async with _apps(database_url, redis_url, redis_url) as (one, two):
        first = await one.post(OVERVIEW, {"period": "LAST_30_DAYS"}, token=token)
        second = await two.post(OVERVIEW, {"period": "LAST_30_DAYS"}, token=token)
        assert second.content == first.content
        assert (counts.since("miss"), counts.since("hit")) == (1, 1)
        await builder.session(datetime.now(UTC) - timedelta(minutes=5), domain="VPN")
        third = await two.post(OVERVIEW, {"period": "LAST_30_DAYS"}, token=token)
        fourth = await one.post(OVERVIEW, {"period": "LAST_30_DAYS"}, token=token)
        assert third.json()["data"]["overview"]["sessionCount"] == 2
        assert fourth.content == third.content
        assert (counts.since("miss"), counts.since("hit")) == (2, 2)


async def test_redis_stopped_mid_run_changes_no_answer(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = own_redis
    builder = await AccountBuilder.create(sessionmaker)
    token = token_for(builder.account_id)
    counts = Outcomes()
    async with _apps(database_url, url, url, None) as (one, two, uncached):
        for step in range(12):
            if step == 6:
                process.kill()
                process.wait()
                await asyncio.sleep(0.1)
            if step % 3 == 0:
                await builder.session(datetime.now(UTC) - timedelta(minutes=step), domain="VPN")
            for client in (one, two):
                for query in (OVERVIEW, PSA):
                    variables = {"period": "LAST_7_DAYS"}
                    served = await client.data(query, variables, token=token)
                    fresh = await uncached.data(query, variables, token=token)
                    assert without_as_of(served) == without_as_of(fresh)
            expected = step // 3 + 1
            assert served["psaActivity"] is not None
            overview = await one.data(OVERVIEW, {"period": "LAST_7_DAYS"}, token=token)
            assert overview["overview"]["sessionCount"] == expected
    assert counts.since("hit") > 0
    assert counts.since("bypass", "tier_unavailable") > 0
