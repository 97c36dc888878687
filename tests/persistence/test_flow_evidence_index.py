"""Revision 0014: a flow's sessions indexed in the evidence's keyset order, replacing the
flow index that lacked `id`; its downgrade gives the replaced index back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import migrate

BEFORE = "0013_session_domain_key_index"
REVISION = "0014_session_flow_evidence_index"
NEW = (
    "CREATE INDEX ix_ai_sessions_account_flow_started_id ON public.ai_sessions "
    "USING btree (account_id, matched_flow_id, started_at, id)"
)
REPLACED = (
    "CREATE INDEX ix_ai_sessions_account_flow_started ON public.ai_sessions "
    "USING btree (account_id, matched_flow_id, started_at)"
)


@pytest.fixture
async def fresh_engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def flow_indexes(engine: AsyncEngine) -> set[str]:
    """The definitions of the sessions' indexes that lead with (account_id, matched_flow_id)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'ai_sessions' "
                "AND indexdef LIKE '%(account_id, matched_flow_id%'"
            )
        )
        return {definition for (definition,) in rows}


async def test_upgrade_replaces_the_flow_index_and_downgrade_restores_it(
    fresh_engine: AsyncEngine,
) -> None:
    await migrate.upgrade_engine(fresh_engine, BEFORE)
    assert await flow_indexes(fresh_engine) == {REPLACED}
    # As a deployment runs it: CONCURRENTLY, each statement outside a transaction.
    await migrate.upgrade_engine(fresh_engine, REVISION)
    assert await flow_indexes(fresh_engine) == {NEW}
    async with fresh_engine.begin() as connection:
        await migrate.downgrade(connection, BEFORE)
    assert await flow_indexes(fresh_engine) == {REPLACED}
    await migrate.upgrade_engine(fresh_engine, REVISION)
    assert await flow_indexes(fresh_engine) == {NEW}


async def test_an_interrupted_upgrade_is_finished_by_the_next_run(
    fresh_engine: AsyncEngine,
) -> None:
    """Built but not yet dropped (the run stopped between its two statements): the next
    run keeps the valid new index and drops the replaced one."""
    await migrate.upgrade_engine(fresh_engine, BEFORE)
    async with fresh_engine.begin() as connection:
        await connection.execute(text(NEW.replace("public.ai_sessions USING btree", "ai_sessions")))
    assert await flow_indexes(fresh_engine) == {NEW, REPLACED}
    await migrate.upgrade_engine(fresh_engine, REVISION)
    assert await flow_indexes(fresh_engine) == {NEW}
