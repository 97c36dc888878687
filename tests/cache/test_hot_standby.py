"""DATABASE_READ_URL against a real hot standby of a primary this test starts.

Tabs answer from the standby, writes go to the primary, and the cache never serves an
answer other than what the standby shows: with replay paused, a write on the primary
changes no answer (cached or not); once replayed, the very next answer shows it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import create_engine, create_sessionmaker
from persistence.operations.migrate import upgrade_engine
from service.runtime.embedded import EmbeddedPostgresError
from tests.cache.standby import Pair
from tests.cache.support import Outcomes, without_as_of
from tests.factories import AccountBuilder
from tests.graphql_client import running_app, settings_for_tests, token_for

COUNT = "query Count { overview(period: LAST_7_DAYS) { asOf sessionCount } }"
DATABASE = "fp_standby"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    try:
        started = Pair.start(Path(tmp_path_factory.mktemp("standby")))
    except (EmbeddedPostgresError, RuntimeError, FileNotFoundError) as error:
        message = f"cannot start a primary and a hot standby here: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
async def urls(pair: Pair) -> AsyncIterator[tuple[str, str]]:
    admin = await asyncpg.connect(pair.url(pair.primary_port))
    try:
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    primary = pair.url(pair.primary_port, DATABASE)
    engine = create_engine(primary, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    yield primary, pair.url(pair.standby_port, DATABASE)


async def _caught_up(pair: Pair) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    primary = await asyncpg.connect(pair.url(pair.primary_port))
    standby = await asyncpg.connect(pair.url(pair.standby_port))
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()")
        for _ in range(200):
            if await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1", target):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the standby did not catch up in 10 s")
    finally:
        await primary.close()
        await standby.close()


async def _replay(pair: Pair, paused: bool) -> None:
    standby = await asyncpg.connect(pair.url(pair.standby_port))
    try:
        await standby.execute(
            "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"
        )
        assert await standby.fetchval("SELECT pg_is_in_recovery()")
    finally:
        await standby.close()


async def test_tabs_read_the_standby_and_the_cache_follows_its_replay(
    pair: Pair, urls: tuple[str, str]
) -> None:
    primary_url, standby_url = urls
    engine = create_engine(primary_url)
    sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    builder = await AccountBuilder.create(sessionmaker)
    now = datetime.now(UTC)
    for hours in (1, 2):
        await builder.session(now - timedelta(hours=hours))
    await _caught_up(pair)
    token = token_for(builder.account_id)
    cached = settings_for_tests(primary_url, database_read_url=standby_url, response_cache=True)
    fresh = settings_for_tests(primary_url, database_read_url=standby_url)
    counts = Outcomes()
    try:
        async with running_app(cached) as api, running_app(fresh) as uncached:
            first = await api.data(COUNT, token=token)
            assert first["overview"]["sessionCount"] == 2

            await _replay(pair, paused=True)
            await builder.session(now - timedelta(minutes=5))  # committed on the primary
            during = [await api.data(COUNT, token=token) for _ in range(2)]
            standby_now = await uncached.data(COUNT, token=token)
            # What the standby shows: the write is not there yet, cached or not.
            assert [d["overview"]["sessionCount"] for d in during] == [2, 2]
            assert without_as_of(during[-1]) == without_as_of(standby_now)
            assert counts.since("hit") >= 1

            await _replay(pair, paused=False)
            await _caught_up(pair)
            after = await api.data(COUNT, token=token)
            assert after["overview"]["sessionCount"] == 3

            # Writes go to the primary: a mutation through the app succeeds (the standby
            # would refuse it as read-only) and reaches the standby by replication.
            flow = await builder.flow("VPN reset", "VPN")
            session = await builder.session(now - timedelta(minutes=1))
            admin = token_for(builder.account_id, "admin")
            ids = f'sessionId: "{session}", flowId: "{flow}"'
            body = await api.execute(
                f"mutation {{ recordFlowMatch(input: {{{ids}}}) {{ __typename }} }}",
                token=admin,
            )
            assert "errors" not in body, body
            await _caught_up(pair)
            final = await api.data(COUNT, token=token)
            assert final["overview"]["sessionCount"] == 4
    finally:
        await _replay(pair, paused=False)
        await engine.dispose()


async def test_the_standby_refuses_writes(urls: tuple[str, str]) -> None:
    """The read URL really is a read-only standby (not a second primary)."""
    _primary_url, standby_url = urls
    standby = await asyncpg.connect(standby_url)
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await standby.execute(
                "INSERT INTO accounts (id, name) VALUES ($1, 'nope')", uuid.uuid4()
            )
    finally:
        await standby.close()
