"""Databases that ran the first 0005 go over to the expression index of the domain key.

Revision ID: 0012_category_key_expression
Revises: 0011_rollups_built_in_chunks
Create Date: 2024-01-12 00:00:00

The first 0005 kept the domain key in a stored generated column of `trees`,
`category_key` (a rewrite of the table under an exclusive lock), indexed with
(account_id, category_key), and the first 0006 indexed the name order on it. They now
index the expression itself; a database that ran the first ones keeps a column no code
reads and indexes that the queries' expression cannot use. Where that column is, and only
there: the two expression indexes are built CONCURRENTLY under interim names, the
column's indexes dropped CONCURRENTLY, the new ones take the released names (a brief lock
on each index), and the column is dropped (a catalog change: no row is rewritten). Each
step is skipped on a re-run once done, so an interrupted upgrade goes on where it was.
Elsewhere nothing runs, and `migrate --sql` prints these steps only for such a database.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from migrations import online

revision: str = "0012_category_key_expression"
down_revision: str | None = "0011_rollups_built_in_chunks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The domain key as 0005 and 0006 index it (core.metrics.keys.domain_key_sql).
CATEGORY_KEY = "NULLIF(lower(btrim(regexp_replace(category, '\\s+', ' ', 'g'))), '')"
# Released name -> (the expression index's columns, its name until it takes the released one).
_INDEXES = {
    "ix_trees_account_category_key": (
        f"account_id, ({CATEGORY_KEY})",
        "ix_trees_account_category_key_expr",
    ),
    "ix_trees_account_category_key_name": (
        f'account_id, ({CATEGORY_KEY}), name COLLATE "C", id',
        "ix_trees_account_category_key_name_expr",
    ),
}
LEGACY_COLUMN = "category_key"


def _holds(condition: str) -> bool:
    return bool(op.get_bind().execute(sa.text(f"SELECT {condition}")).scalar())


def _exists(name: str) -> str:
    return f"to_regclass('public.{name}') IS NOT NULL"


def _on_column(name: str) -> str:
    """Index `name` exists and is one of the column's, not an expression index."""
    return (
        f"coalesce(position('{LEGACY_COLUMN}' IN pg_catalog.pg_get_indexdef("
        f"to_regclass('public.{name}'))) > 0, false)"
    )


def _replaced(released: str) -> str:
    """The released name holds the expression index already."""
    return f"({_exists(released)} AND NOT {_on_column(released)})"


def _applies() -> bool:
    if online.offline():
        return bool(online.attribute(online.LEGACY_CATEGORY_KEY))
    return _holds(online.LEGACY_CATEGORY_KEY_SQL)


def _rename(interim: str, released: str) -> Callable[[], None]:
    def run() -> None:
        op.execute(f"ALTER INDEX public.{interim} RENAME TO {released}")

    return run


def _drop_column() -> None:
    op.execute(f"ALTER TABLE trees DROP COLUMN IF EXISTS {LEGACY_COLUMN}")


def upgrade() -> None:
    if not _applies():
        return
    offline = online.offline()
    for released, (columns, interim) in _INDEXES.items():
        if offline or not _holds(_replaced(released)):
            online.index(interim, "trees", columns)
    for released in _INDEXES:
        if offline or _holds(_on_column(released)):
            with op.get_context().autocommit_block():
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS public.{released}")
    for released, (_columns, interim) in _INDEXES.items():
        online.step(_rename(interim, released), done=f"NOT {_exists(interim)}")
    online.step(_drop_column)


def downgrade() -> None:
    # The expression indexes are what 0005 and 0006 build now: nothing to take back.
    pass
