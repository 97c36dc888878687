"""Flows are found by their domain key through an index, not a regex scan.

Revision ID: 0005_tree_category_key
Revises: 0004_rollups
Create Date: 2024-01-05 00:00:00

An index on the domain key of `category` (the same expression the analytics read,
core.metrics.keys.domain_key_sql), built CONCURRENTLY: the product keeps reading and
writing its flows meanwhile, and no row of `trees` is written or rewritten. (A stored
generated column would rewrite the table under an exclusive lock.)
"""

from collections.abc import Sequence

from alembic import op

from migrations import online

revision: str = "0005_tree_category_key"
down_revision: str | None = "0004_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORY_KEY = "NULLIF(lower(btrim(regexp_replace(category, '\\s+', ' ', 'g'))), '')"


def upgrade() -> None:
    online.index("ix_trees_account_category_key", "trees", f"account_id, ({CATEGORY_KEY})")


def downgrade() -> None:
    op.drop_index("ix_trees_account_category_key", table_name="trees")
