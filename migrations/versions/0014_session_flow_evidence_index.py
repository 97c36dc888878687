"""A flow's sessions newest first in the evidence's keyset order, replacing the flow index.

Revision ID: 0014_session_flow_evidence_index
Revises: 0013_session_domain_key_index
Create Date: 2024-01-15 00:00:00

On `account_id`, `matched_flow_id`, then `started_at` and `id`: the order of the evidence's
keyset (started_at, id), descending. The index it replaces, (account_id, matched_flow_id,
started_at), gives a flow's sessions by start only, so every plan of a flow's page sorts;
one costed for any flow and any window (a prepared statement's generic plan) sorted every
session of the most used flow in the window to return 50. With `id` in the index the first
page reads its rows and stops, and a page after a cursor starts at the cursor. It serves
whatever the replaced index served (that one is a prefix of it), so the product's writes
keep one index for it, not two. Both are built and dropped CONCURRENTLY: the product keeps
reading and writing its sessions meanwhile, and no row of `ai_sessions` is rewritten. A run
that passed through 0002 on its way here never built the replaced index (0002 asks
`online.reaches`), so there is nothing to drop and nothing is said.
"""

from collections.abc import Sequence

from migrations import online

revision: str = "0014_session_flow_evidence_index"
down_revision: str | None = "0013_session_domain_key_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_ai_sessions_account_flow_started_id"
REPLACED = "ix_ai_sessions_account_flow_started"
# Built ahead by 0002 on a run that reaches this revision (online.build_ahead).
SESSION_INDEXES = ((INDEX, "ai_sessions", "account_id, matched_flow_id, started_at, id"),)


def upgrade() -> None:
    for name, table, columns in SESSION_INDEXES:
        online.index(name, table, columns)
    online.drop_index(REPLACED)


def downgrade() -> None:
    online.index(REPLACED, "ai_sessions", "account_id, matched_flow_id, started_at")
    online.drop_index(INDEX)
