"""DATABASE_READ_URL: the tabs read from the replica's engine, writes stay on the primary.

A second database stands in for the replica: the same account exists in both, with a
different number of sessions, so the answer shows which database was read.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import create_engine, create_sessionmaker
from persistence.models import Account
from persistence.operations import migrate
from service.runtime.database import Database
from tests.factories import AccountBuilder
from tests.graphql_client import running_app, settings_for_tests, token_for

QUERY = "{ overview(period: LAST_7_DAYS) { sessionCount } }"


@pytest.fixture
async def replica_url(empty_database_url: str) -> AsyncIterator[str]:
    engine = create_engine(empty_database_url)
    await migrate.upgrade_engine(engine)
    await engine.dispose()
    yield empty_database_url


async def _account_with_sessions(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID, count: int
) -> None:
    builder = AccountBuilder(sessionmaker, account_id)
    await builder._insert(
        Account,
        {"id": account_id, "name": "Replica test", "timezone": "UTC"},
    )
    started = datetime.now(UTC) - timedelta(hours=2)
    for _ in range(count):
        await builder.session(started_at=started)


async def test_tabs_read_from_the_read_url_when_it_is_set(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], replica_url: str
) -> None:
    account_id = uuid.uuid4()
    await _account_with_sessions(sessionmaker, account_id, 2)
    replica_engine = create_engine(replica_url)
    await _account_with_sessions(create_sessionmaker(replica_engine), account_id, 5)
    await replica_engine.dispose()
    token = token_for(account_id)

    async with running_app(settings_for_tests(database_url)) as api:
        primary_only = await api.data(QUERY, token=token)
    settings = settings_for_tests(database_url, database_read_url=replica_url)
    async with running_app(settings) as api:
        with_replica = await api.data(QUERY, token=token)
        database: Database = api.app.state.database
        assert database.read_engine is not database.primary_engine
        assert database.primary_engine.url.database == make_url(database_url).database

    assert primary_only == {"overview": {"sessionCount": 2}}
    assert with_replica == {"overview": {"sessionCount": 5}}
