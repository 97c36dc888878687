"""Trees carry their domain key, so flow look-ups by domain use an index, not a regex scan.

Revision ID: 0005_tree_category_key
Revises: 0004_rollups
Create Date: 2024-01-05 00:00:00

A stored generated column: the product's writers never set it, PostgreSQL keeps it equal
to the domain key of `category` (the same expression the analytics used inline).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_tree_category_key"
down_revision: str | None = "0004_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORY_KEY = "NULLIF(lower(btrim(regexp_replace(category, '\\s+', ' ', 'g'))), '')"


def upgrade() -> None:
    op.add_column(
        "trees",
        sa.Column("category_key", sa.Text(), sa.Computed(CATEGORY_KEY, persisted=True)),
    )
    op.create_index("ix_trees_account_category_key", "trees", ["account_id", "category_key"])


def downgrade() -> None:
    op.drop_index("ix_trees_account_category_key", table_name="trees")
    op.drop_column("trees", "category_key")
