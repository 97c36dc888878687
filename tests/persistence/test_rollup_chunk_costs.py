"""Revision 0016: the sessions' chunk function computes each session's facts once (a
MATERIALIZED CTE), and an index lists each account's sessions in key order. A re-run
after an interruption changes nothing; the downgrade gives 0011's function back."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import migrate

PREVIOUS = "0015_domain_aliases"
_BODY = text("SELECT prosrc FROM pg_proc WHERE oid = 'rollup_build_sessions'::regproc")
_INDEX = text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ai_sessions_rollup_build'")


def _revision() -> ModuleType:
    path = migrate.MIGRATIONS_DIR / "versions" / "0016_rollup_chunk_costs.py"
    spec = importlib.util.spec_from_file_location("revision_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def fresh_engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def _state(engine: AsyncEngine) -> tuple[int, int, str | None]:
    """(inlined facts CTEs, materialized ones, the index's definition or None)."""
    async with engine.connect() as connection:
        body = (await connection.execute(_BODY)).scalar_one()
        index = (await connection.execute(_INDEX)).scalar()
    return body.count("facts AS ("), body.count("facts AS MATERIALIZED ("), index


async def test_the_chunk_function_computes_facts_once_and_downgrades_back(
    fresh_engine: AsyncEngine,
) -> None:
    await migrate.upgrade_engine(fresh_engine, PREVIOUS)
    assert await _state(fresh_engine) == (2, 0, None)

    await migrate.upgrade_engine(fresh_engine, "head")
    index = "CREATE INDEX ix_ai_sessions_rollup_build ON public.ai_sessions USING btree "
    assert await _state(fresh_engine) == (0, 2, index + "(account_id, id)")

    # Interrupted after the redefinition committed: running it again changes nothing.
    redefine = _revision()._redefine("facts AS (", "facts AS MATERIALIZED (")
    async with fresh_engine.begin() as connection:
        await connection.execute(text(redefine))
    assert await _state(fresh_engine) == (0, 2, index + "(account_id, id)")

    async with fresh_engine.begin() as connection:
        await migrate.downgrade(connection, PREVIOUS)
    assert await _state(fresh_engine) == (2, 0, None)


async def test_a_body_not_as_0011_derived_it_is_refused(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade_engine(fresh_engine, "head")
    # Neither spelling twice (one CTE each way): the redefinition refuses to guess.
    async with fresh_engine.begin() as connection:
        definition = (
            await connection.execute(
                text("SELECT pg_get_functiondef('rollup_build_sessions'::regproc)")
            )
        ).scalar_one()
        once = definition.replace("facts AS MATERIALIZED (", "facts AS (", 1)
        await connection.execute(text(once))
    with pytest.raises(Exception, match=r"rollup_build_sessions\(\): facts AS \( not found"):
        async with fresh_engine.begin() as connection:
            await connection.execute(
                text(_revision()._redefine("facts AS (", "facts AS MATERIALIZED ("))
            )
