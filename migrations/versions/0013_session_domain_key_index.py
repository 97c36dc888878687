"""An index that lists a domain's sessions newest first, for the evidence behind a count.

Revision ID: 0013_session_domain_key_index
Revises: 0011_rollups_built_in_chunks
Create Date: 2024-01-14 00:00:00

On the domain key of `problem_domain` (core.metrics.keys.domain_key_sql, '' for none: the
expression the evidence filters on), then `started_at` and `id`, the evidence's keyset: the first
page of a domain's (or the unmapped) sessions reads only its rows, and a page after a
cursor starts in the index. Built CONCURRENTLY: the product keeps writing its sessions
meanwhile, and no row of `ai_sessions` is written or rewritten.
"""

from collections.abc import Sequence

from alembic import op

from migrations import online

revision: str = "0013_session_domain_key_index"
down_revision: str | None = "0012_category_key_expression"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The domain key with '' for none (core.metrics.keys.domain_key_sql, NULL made ''): a
# domain's and the unmapped sessions are both an equality on it, in index order.
SESSION_KEY = "coalesce(lower(btrim(regexp_replace(problem_domain, '\\s+', ' ', 'g'))), '')"


# Built ahead by 0002 on a run that reaches this revision (online.build_ahead).
SESSION_INDEXES = (
    (
        "ix_ai_sessions_account_domain_key_started",
        "ai_sessions",
        f"account_id, ({SESSION_KEY}), started_at, id",
    ),
)


def upgrade() -> None:
    for name, table, columns in SESSION_INDEXES:
        online.index(name, table, columns)


def downgrade() -> None:
    op.drop_index("ix_ai_sessions_account_domain_key_started", table_name="ai_sessions")
