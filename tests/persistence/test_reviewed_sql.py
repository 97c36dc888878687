"""The script `migrate --sql` prints is what runs: executed statement by statement on a
product database it adopts it to the same schema as `migrate`, and each statement takes
on the product's tables exactly the lock its `-- lock:` comment names."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import asyncpg_dsn, create_engine
from persistence.operations.adoption import BASELINE, plan, steps_sql
from persistence.operations.ddl_locks import PRODUCT_TABLES, locks
from persistence.operations.migrate import upgrade_sql
from persistence.operations.online_ddl import LockPolicy
from tests.conftest import create_database, drop_database
from tests.persistence.product_database import create_product_tables
from tests.persistence.test_adoption import adopt, insert_product_rows, snapshot

_HELD = """
    SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relname = ANY($1)
"""
# pg_locks' names, weakest first.
_MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)


def _stronger(mode: str, than: str | None) -> bool:
    return than is None or _MODES.index(mode) > _MODES.index(than)


def _mode(comment_mode: str) -> str:
    return "".join(word.capitalize() for word in comment_mode.split()) + "Lock"


async def _product(url: str) -> AsyncEngine:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    async with engine.begin() as connection:
        await create_product_tables(connection)
    await insert_product_rows(engine, datetime.now(UTC))
    return engine


@pytest.fixture
async def two_products(
    empty_database_url: str, server_url: str
) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    other_url = await create_database(server_url, prefix="fp_mig")
    first, second = await _product(empty_database_url), await _product(other_url)
    yield first, second
    await first.dispose()
    await second.dispose()
    await drop_database(other_url)


async def _script(engine: AsyncEngine) -> list[str]:
    policy = LockPolicy()
    async with engine.connect() as connection:
        planned = await connection.run_sync(plan, "head")
    units = steps_sql(planned, policy) + upgrade_sql(BASELINE, "head", policy, adopted=True)
    return [unit for unit in units if not unit.startswith("--")]


async def _run(url: str, units: list[str]) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Execute each unit; inside a transaction, the product-table locks each one added
    (strongest per table) beside those its comment names that it could add."""
    observed = []
    connection: Any = await asyncpg.connect(asyncpg_dsn(url))
    try:
        in_transaction = False
        for unit in units:
            before = await _held(connection) if in_transaction else {}
            await connection.execute(unit)
            upper = unit.upper()
            if upper.startswith("BEGIN"):
                in_transaction = True
                continue
            if upper.startswith("COMMIT"):
                in_transaction = False
                continue
            if not in_transaction:
                continue
            after = await _held(connection)
            created = re.match(r"CREATE TABLE (\w+)", unit)  # its own lock blocks no one
            added = {
                t: m
                for t, m in after.items()
                if _stronger(m, before.get(t)) and not (created and created[1] == t)
            }
            named = {
                lock.table: _mode(lock.mode)
                for lock in locks(unit) or []
                if lock.table in PRODUCT_TABLES
            }
            # A lock the transaction already held at least as strongly shows nothing new.
            expected = {t: m for t, m in named.items() if _stronger(m, before.get(t))}
            observed.append((unit, added, expected))
    finally:
        await connection.close()
    return observed


async def _held(connection: Any) -> dict[str, str]:
    strongest: dict[str, str] = {}
    for table, mode in await connection.fetch(_HELD, list(PRODUCT_TABLES)):
        if _MODES.index(mode) > _MODES.index(strongest.get(table, _MODES[0])):
            strongest[table] = mode
    return strongest


async def test_the_printed_script_runs_as_migrate_does_with_the_locks_it_names(
    two_products: tuple[AsyncEngine, AsyncEngine],
) -> None:
    by_script, by_migrate = two_products
    units = await _script(by_script)

    observed = await _run(by_script.url.render_as_string(hide_password=False), units)
    await adopt(by_migrate)

    mismatched = [(unit[:90], added, named) for unit, added, named in observed if added != named]
    assert mismatched == []
    # The comments do name product-table locks: adoption's RLS, new columns, triggers.
    named_tables = {table for _unit, _added, named in observed for table in named}
    assert named_tables == {"accounts", "users", "trees", "ai_sessions", "psa_activity_log"}
    first, second = await snapshot(by_script), await snapshot(by_migrate)
    # Row values (generated ids, timestamps) aside, the catalogs are the same.
    for part in ("relations", "columns", "constraints", "indexes", "policies", "rls", "triggers"):
        assert first[part] == second[part], part
