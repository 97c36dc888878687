"""An index that lists a domain's flows in name order, so a preview of the first few
flows per domain reads only those rows.

Revision ID: 0006_flow_name_order_index
Revises: 0005_tree_category_key
Create Date: 2024-01-06 00:00:00

Built CONCURRENTLY, on the domain key expression of 0005.
"""

from collections.abc import Sequence

from alembic import op

from migrations import online

revision: str = "0006_flow_name_order_index"
down_revision: str | None = "0005_tree_category_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = "NULLIF(lower(btrim(regexp_replace(category, '\\s+', ' ', 'g'))), '')"
    online.index(
        "ix_trees_account_category_key_name", "trees", f'account_id, ({key}), name COLLATE "C", id'
    )


def downgrade() -> None:
    op.drop_index("ix_trees_account_category_key_name", table_name="trees")
