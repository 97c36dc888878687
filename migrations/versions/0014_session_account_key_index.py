"""An index on each account's sessions in key order, for the rollup build's chunks.

Revision ID: 0014_session_account_key_index
Revises: 0015_domain_aliases
Create Date: 2024-01-15 00:00:00

A chunk of a rollup build (0011) reads an account's sessions in session-id order: the id
`chunk` sessions above the watermark (its upper bound), then the sessions between the
two bounds, once per rollup statement. With no index on (account_id, id) each of these
read every session of the account still above the watermark (an index on the account
and another column, the id filtered entry by entry, and for the bound a sort): a chunk
of the largest account cost in proportion to the whole account (1,500,000 sessions at
L), so its build was quadratic and its chunks held the account's writers for seconds.
With it, a chunk reads only its own sessions' entries, whatever the account's size.
Built CONCURRENTLY: the product keeps writing its sessions meanwhile, and no row of
`ai_sessions` is written or rewritten.
"""

from collections.abc import Sequence

from alembic import op

from migrations import online

revision: str = "0014_session_account_key_index"
down_revision: str | None = "0015_domain_aliases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.index("ix_ai_sessions_rollup_build", "ai_sessions", "account_id, id")


def downgrade() -> None:
    op.drop_index("ix_ai_sessions_rollup_build", table_name="ai_sessions")
