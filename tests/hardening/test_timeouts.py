"""Over time: a statement past statement_timeout, or a request past the request timeout,
answers TIMEOUT; the connection goes back clean and the next request succeeds."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn
from tests.graphql_client import running_app, settings_for_tests, token_for
from tests.hardening.support import codes, tenant_with_data
from tests.pool_events import all_checked_in

QUERY = "{ overview { sessionCount } }"


# The blocked statement waits for ever, so only the limit ends it; each limit is kept well
# above what the unblocked requests (the first one opens the pool) take on a busy machine.
@pytest.mark.parametrize(
    ("overrides", "limit"),
    [
        ({"statement_timeout_ms": 1500, "request_timeout_s": 30.0}, "statement"),
        ({"statement_timeout_ms": 0, "request_timeout_s": 2.0}, "request"),
    ],
)
async def test_timeout_then_clean_connection(
    app_role_database_url: str,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, float],
    limit: str,
) -> None:
    tenant = await tenant_with_data(sessionmaker, f"timeout-{limit}")
    token = token_for(tenant.account_id)
    settings = settings_for_tests(app_role_database_url, **overrides)
    async with running_app(settings) as client:
        assert "errors" not in await client.execute(QUERY, token=token)  # pool warmed
        blocker = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
            body = await client.execute(QUERY, token=token)
            await transaction.rollback()
        finally:
            await blocker.close()
        assert codes(body) == ["TIMEOUT"]
        assert body["data"] is None
        after = await client.execute(QUERY, token=token)
        # The timed-out request's connection comes back once its reset is done.
        checked_out = await all_checked_in(client.app.state.database.read_engine.pool)
    assert after["data"] == {"overview": {"sessionCount": 1}}
    assert checked_out == 0
