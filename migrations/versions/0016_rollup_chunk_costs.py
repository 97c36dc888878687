"""What a rollup build's chunk costs: its own sessions, each once.

Revision ID: 0016_rollup_chunk_costs
Revises: 0015_domain_aliases
Create Date: 2024-01-15 00:00:00

A chunk (0011) takes the `chunk` sessions of an account above its watermark in id order.
Two costs did not depend on those sessions alone:

- Finding them. With no index on (account_id, id), the chunk's upper bound and its rows
  were found either by walking the primary key over every account's sessions, keeping the
  account's (session ids are random: for an account with 1% of the table's sessions, a
  hundred entries read per session taken), or by reading every session of the account
  still above the watermark and sorting them. Measured on 2.4M sessions: the first chunk
  of an account with 30,000 of them read 1.5M primary-key entries for its bound alone
  (0.46 s), and its first three chunks of 1,000 took 1.2 s on average (3.1 s the longest;
  0.36 s with the index). The index
  `ix_ai_sessions_rollup_build` reads a chunk's own entries, whatever the account's size or
  share. Built CONCURRENTLY: the product keeps writing its sessions meanwhile, and no row of
  `ai_sessions` is written or rewritten.
- Evaluating them. The chunk function of the sessions (derived by 0011 from the insert
  trigger) computes each session's facts (day, domain key and spelling through three
  regular expressions, funnel flags) in a CTE that the planner inlined below the join with
  the ten block levels: every session's facts were computed ten times. The CTE is now
  MATERIALIZED in the chunk function, so once per session: a chunk of 1,000 sessions of the
  largest L account took 0.11 s instead of 0.17 to 0.21 s (medians of 30 chunks each).
  The triggers keep their bodies (a product statement writes a few rows). A function
  redefinition: no product table is locked.
"""

from collections.abc import Sequence

from alembic import op

from migrations import online

revision: str = "0016_rollup_chunk_costs"
down_revision: str | None = "0015_domain_aliases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_ai_sessions_rollup_build"
# Built ahead by 0002 on a run that reaches this revision (online.build_ahead).
SESSION_INDEXES = ((INDEX, "ai_sessions", "account_id, id"),)
_INLINED = "facts AS ("
_MATERIALIZED = "facts AS MATERIALIZED ("

# The chunk function redefined from its current definition (attributes kept), `before`
# replaced by `after` in its body: in both statements (session and flow blocks), as 0011
# derived them. Skipped when both have `after` already (a re-run after an interruption).
_REDEFINE = """
DO $do$
DECLARE
    definition text := pg_catalog.pg_get_functiondef(
        'public.rollup_build_sessions(uuid, uuid, uuid)'::regprocedure);
BEGIN
    IF (length(definition) - length(replace(definition, %(after)s, ''))) / length(%(after)s) = 2
    THEN
        RETURN;
    END IF;
    IF (length(definition) - length(replace(definition, %(before)s, ''))) / length(%(before)s) <> 2
    THEN
        RAISE EXCEPTION 'rollup_build_sessions(): %% not found twice', %(before)s;
    END IF;
    EXECUTE replace(definition, %(before)s, %(after)s);
END
$do$
"""


def _redefine(before: str, after: str) -> str:
    return _REDEFINE % {"before": f"'{before}'", "after": f"'{after}'"}


def upgrade() -> None:
    op.execute(_redefine(_INLINED, _MATERIALIZED))
    for name, table, columns in SESSION_INDEXES:
        online.index(name, table, columns)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ai_sessions")
    op.execute(_redefine(_MATERIALIZED, _INLINED))
