"""Revision 0012: a database that ran the first 0005 (a stored generated `category_key`
column on `trees`, indexed) goes over to the expression indexes without a rewrite, also
when an earlier upgrade stopped halfway; any other database is left as it is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import migrate
from persistence.operations.ddl_locks import violations
from persistence.operations.migrate import upgrade_sql
from persistence.operations.online_ddl import LockPolicy

BEFORE = "0011_rollups_built_in_chunks"
REVISION = "0012_category_key_expression"
KEY = "NULLIF(lower(btrim(regexp_replace(category, '\\s+', ' ', 'g'))), '')"
ACCOUNT = "00000000-0000-0000-0000-000000000001"
FLOW = "00000000-0000-0000-0000-00000000000a"
_INDEXES = text(
    "SELECT c.relname, i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = 'public.trees'::regclass AND c.relname LIKE '%category_key%' "
    "ORDER BY c.relname"
)
_COLUMN = text(
    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.trees'::regclass "
    "AND attname = 'category_key' AND NOT attisdropped"
)
# As 0005 and 0006 build them now (pg_get_indexdef's spelling).
EXPECTED = [
    (
        "ix_trees_account_category_key",
        True,
        "CREATE INDEX ix_trees_account_category_key ON public.trees USING btree (account_id, "
        "NULLIF(lower(btrim(regexp_replace(category, '\\s+'::text, ' '::text, 'g'::text))), "
        "''::text))",
    ),
    (
        "ix_trees_account_category_key_name",
        True,
        "CREATE INDEX ix_trees_account_category_key_name ON public.trees USING btree "
        "(account_id, NULLIF(lower(btrim(regexp_replace(category, '\\s+'::text, ' '::text, "
        "'g'::text))), ''::text), name COLLATE \"C\", id)",
    ),
]


@pytest.fixture
async def before(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database at 0011 shaped as the first 0005 and 0006 left it, with one flow."""
    engine = create_engine(empty_database_url, pool_size=2, max_overflow=0)
    await migrate.upgrade_engine(engine, BEFORE)
    async with engine.begin() as connection:
        for statement in (
            "DROP INDEX ix_trees_account_category_key",
            "DROP INDEX ix_trees_account_category_key_name",
            f"ALTER TABLE trees ADD COLUMN category_key text GENERATED ALWAYS AS ({KEY}) STORED",
            "CREATE INDEX ix_trees_account_category_key ON trees (account_id, category_key)",
            "CREATE INDEX ix_trees_account_category_key_name ON trees "
            '(account_id, category_key, name COLLATE "C", id)',
            f"INSERT INTO accounts (id, name) VALUES ('{ACCOUNT}', 'Acme')",
            f"INSERT INTO trees (id, account_id, name, category) "
            f"VALUES ('{FLOW}', '{ACCOUNT}', 'Printer offline', '  Printing  ')",
        ):
            await connection.execute(text(statement))
    yield engine
    await engine.dispose()


async def _state(engine: AsyncEngine) -> tuple[int, list[tuple[object, ...]], str]:
    async with engine.connect() as connection:
        column = int((await connection.execute(_COLUMN)).scalar_one())
        indexes = [tuple(row) for row in await connection.execute(_INDEXES)]
        found = await connection.execute(
            text(f"SELECT id::text FROM trees WHERE account_id = :a AND {KEY} = 'printing'"),
            {"a": ACCOUNT},
        )
        return column, indexes, found.scalar_one()


async def test_the_stored_column_gives_way_to_the_expression_indexes(before: AsyncEngine) -> None:
    column, indexes, _flow = await _state(before)
    assert column == 1
    assert [name for name, _valid, _definition in indexes] == [n for n, _v, _d in EXPECTED]
    assert all("category_key)" in str(d) or "category_key," in str(d) for _n, _v, d in indexes)

    await migrate.upgrade_engine(before, "head")

    assert await _state(before) == (0, EXPECTED, FLOW)
    # Again: nothing left to do.
    await migrate.upgrade_engine(before, "head")
    assert await _state(before) == (0, EXPECTED, FLOW)


async def test_an_upgrade_stopped_after_the_first_rename_goes_on(before: AsyncEngine) -> None:
    # What a run interrupted after its first rename leaves: both interim indexes built,
    # the column's indexes dropped, the first interim renamed; the column still there.
    async with before.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in (
            f"CREATE INDEX ix_trees_account_category_key_expr ON trees (account_id, ({KEY}))",
            "CREATE INDEX ix_trees_account_category_key_name_expr ON trees "
            f'(account_id, ({KEY}), name COLLATE "C", id)',
            "DROP INDEX ix_trees_account_category_key",
            "DROP INDEX ix_trees_account_category_key_name",
            "ALTER INDEX ix_trees_account_category_key_expr "
            "RENAME TO ix_trees_account_category_key",
        ):
            await connection.execute(text(statement))

    await migrate.upgrade_engine(before, "head")

    assert await _state(before) == (0, EXPECTED, FLOW)


async def test_a_database_whose_0005_was_the_expression_index_is_left_as_it_is(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        await migrate.upgrade_engine(engine, BEFORE)
        oids = text(
            "SELECT relname, oid::int FROM pg_class WHERE relname LIKE 'ix_trees_account_cat%' "
            "ORDER BY relname"
        )
        async with engine.connect() as connection:
            kept = [tuple(row) for row in await connection.execute(oids)]
        await migrate.upgrade_engine(engine, "head")
        async with engine.connect() as connection:
            assert [tuple(row) for row in await connection.execute(oids)] == kept
            assert len(kept) == 2
    finally:
        await engine.dispose()


def test_the_reviewed_sql_shows_the_conversion_only_for_such_a_database() -> None:
    plain = upgrade_sql(BEFORE, REVISION, LockPolicy())
    assert not any("_category_key_expr " in unit or "DROP COLUMN" in unit for unit in plain)
    units = upgrade_sql(BEFORE, REVISION, LockPolicy(), legacy_category_key=True)
    assert any(
        unit.startswith("CREATE INDEX CONCURRENTLY ix_trees_account_category_key_expr ")
        for unit in units
    )
    assert any(
        "DROP INDEX CONCURRENTLY IF EXISTS public.ix_trees_account_category_key" in unit
        for unit in units
    )
    assert any("ALTER TABLE trees DROP COLUMN IF EXISTS category_key" in unit for unit in units)
    # Every statement is one a live product table may get.
    assert [problem for unit in units for problem in violations(unit)] == []
