"""Every revision is safe on the live product's tables: no index built without
CONCURRENTLY, no ALTER that rewrites or scans one under its lock; an interrupted index
build is redone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import migrate
from persistence.operations.ddl_locks import violations
from persistence.operations.migrate import MIGRATIONS_DIR, upgrade_sql
from persistence.operations.online_ddl import LockPolicy

BASELINE = "0001_baseline"


def _violations(script_location: Path = MIGRATIONS_DIR) -> list[str]:
    found: list[str] = []
    for adopted in (False, True):
        # With the first 0005's column too, so that 0012 prints its conversion.
        for legacy in (False, True):
            units = upgrade_sql(
                BASELINE, "head", LockPolicy(), adopted, script_location, legacy_category_key=legacy
            )
            found += [problem for unit in units for problem in violations(unit)]
    return found


def test_no_revision_after_the_baseline_blocks_a_product_table() -> None:
    assert _violations() == []


def test_a_revision_with_a_plain_index_or_a_rewriting_alter_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (copy / "versions" / "0099_unsafe.py").write_text(
        f'''"""Unsafe on a live table."""
from alembic import op
revision = "0099_unsafe"
down_revision = "{head}"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.execute(
        "ALTER TABLE trees ADD COLUMN category_key text "
        "GENERATED ALWAYS AS (lower(category)) STORED"
    )
    op.create_index("ix_sessions_rating", "ai_sessions", ["rating"])
    op.execute("ALTER TABLE users ADD CONSTRAINT ck_email CHECK (email <> '')")
    op.execute("ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200)")

def downgrade() -> None:
    pass
''',
        encoding="utf-8",
    )
    found = _violations(copy)
    # Each of the four, once per path (a new database, an adopted one, each with and
    # without the first 0005's column).
    assert [problem.split(":")[0] for problem in found] == 4 * [
        "ALTER that rewrites the table trees",
        "index on ai_sessions built without CONCURRENTLY",
        "ALTER that scans the table users",
        "ALTER that rewrites the table accounts",
    ]


@pytest.fixture
async def fresh(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def test_an_index_left_invalid_by_an_interrupted_build_is_built_again(
    fresh: AsyncEngine,
) -> None:
    await migrate.upgrade_engine(fresh, "0005_tree_category_key")
    account = "00000000-0000-0000-0000-000000000001"
    async with fresh.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, name) VALUES (:a, 'Acme')"), {"a": account}
        )
        for flow in (
            "00000000-0000-0000-0000-00000000000a",
            "00000000-0000-0000-0000-00000000000b",
        ):
            await connection.execute(
                text("INSERT INTO trees (id, account_id, name) VALUES (:f, :a, 'VPN')"),
                {"f": flow, "a": account},
            )
    # A build that failed halfway leaves an INVALID index under 0006's name.
    async with fresh.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(Exception, match="could not create unique index"):
            await connection.execute(
                text(
                    "CREATE UNIQUE INDEX CONCURRENTLY ix_trees_account_category_key_name "
                    "ON trees (account_id)"
                )
            )
    query = text(
        "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indexrelid = 'public.ix_trees_account_category_key_name'::regclass"
    )
    async with fresh.connect() as connection:
        assert (await connection.execute(query)).one() == (
            False,
            "CREATE UNIQUE INDEX ix_trees_account_category_key_name ON public.trees "
            "USING btree (account_id)",
        )

    await migrate.upgrade_engine(fresh, "head")

    async with fresh.connect() as connection:
        valid, definition = (await connection.execute(query)).one()
    assert valid is True
    assert definition.startswith(
        "CREATE INDEX ix_trees_account_category_key_name ON public.trees USING btree "
        "(account_id, NULLIF(lower(btrim(regexp_replace(category, "
    )
    assert definition.endswith('name COLLATE "C", id)')
