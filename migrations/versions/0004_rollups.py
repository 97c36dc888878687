"""Rollups: exact per-account aggregates by local day, kept current by triggers.

Revision ID: 0004_rollups
Revises: 0003_psa_write_paths
Create Date: 2024-01-04 00:00:00

The analytics read these small tables instead of scanning every session of a window.
Sessions are summed into dyadic blocks of account-local days (level k covers 2^k days,
levels 0..9), so any window is a union of at most ~2 blocks per level; PSA activity is
summed per local day. Statement-level triggers with transition tables apply the signed
difference of every INSERT, UPDATE, DELETE (and COPY) on ai_sessions and
psa_activity_log in the same transaction; changing an account's time zone rebuilds its
rollups. Everything runs with the caller's rights, so row-level security keeps binding.

The tables, functions and triggers are in `0004_rollups.sql` beside this file. Its SQL
expressions (domain key, trimmed spelling, resolution minutes, numeric hours) are
spelled out there, not imported, so later code edits never rewrite history; they are
the same expressions the analytics used when they scanned sessions, so the sums agree
to the last digit. The file runs in steps (migrations/online.py): the new tables and
functions, then the triggers of each product table in a short transaction of their own,
then the build (or, adopted, the queue) of the existing accounts.
"""

import re
from collections.abc import Sequence
from pathlib import Path

from alembic import op

from migrations import online
from migrations.sql_script import statements

revision: str = "0004_rollups"
down_revision: str | None = "0003_psa_write_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQL = Path(__file__).with_suffix(".sql")
_TABLES = (
    "rollup_session_blocks",
    "rollup_flow_blocks",
    "rollup_psa_days",
    "rollup_psa_time_sessions",
    "rollup_psa_time_chains",
    "rollup_session_pushes",
)
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")

# Present only in a database adopted from the product (see persistence/operations/adoption.py).
_ADOPTION_MARKER = "analytics_adoption"
_TRIGGER = re.compile(r"CREATE TRIGGER (\w+) .*? ON (\w+)", re.DOTALL)


def _run(sql: list[str]) -> None:
    for statement in sql:
        op.execute(statement)


def _trigger_exists(name: str, table: str) -> str:
    return (
        f"EXISTS (SELECT FROM pg_trigger WHERE tgname = '{name}' "
        f"AND tgrelid = 'public.{table}'::regclass)"
    )


def upgrade() -> None:
    script = statements(_SQL.read_text(encoding="utf-8"))
    triggers = [(statement, _TRIGGER.match(statement)) for statement in script]
    objects = [statement for statement, match in triggers if match is None]
    online.step(
        lambda: _run(objects), done="to_regclass('public.rollup_session_blocks') IS NOT NULL"
    )
    for statement, match in triggers:
        if match is not None:
            # Each trigger calls the function of its own name.
            online.step(
                online.trigger_running_as_owner(match[1], statement),
                done=_trigger_exists(match[1], match[2]),
            )
    online.step(_fill)


def _fill() -> None:
    if online.adopted():
        # The product's own database: its accounts are built in batches after this
        # transaction (persistence/operations/backfill.py), each in its own; queue them here.
        op.execute(
            f"INSERT INTO {_ADOPTION_MARKER} (kind, subject) SELECT 'backfill_pending', "
            "id::text FROM flowpilot_account_ids() AS t(id) ON CONFLICT DO NOTHING"
        )
        return
    # Existing data: fill every account once.
    op.execute(
        "DO $do$ DECLARE a uuid; BEGIN "
        "FOR a IN SELECT id FROM flowpilot_account_ids() AS t(id) LOOP "
        "PERFORM rollups_rebuild_account(a); END LOOP; END $do$"
    )


def downgrade() -> None:
    if online.adopted():
        op.execute(f"DELETE FROM {_ADOPTION_MARKER} WHERE kind = 'backfill_pending'")
    op.execute("DROP TRIGGER rollup_accounts_timezone ON accounts")
    op.execute("DROP FUNCTION rollup_accounts_timezone()")
    for operation in reversed(_OPERATIONS):
        for table in ("psa_activity_log", "ai_sessions"):
            name = f"rollup_{table}_{operation.lower()}"
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION rollups_rebuild_account(uuid)")
    op.execute("DROP FUNCTION rollup_zone(text)")
    for table in reversed(_TABLES):
        op.drop_table(table)
