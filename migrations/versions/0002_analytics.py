"""Analytics: flow usage columns, the PSA activity log and the indexes the analytics read.

Revision ID: 0002_analytics
Revises: 0001_baseline
Create Date: 2024-01-02 00:00:00

Applied on its own to the product's existing database, so it only adds: the new
trees columns are nullable or carry a constant default (PostgreSQL fills those
without rewriting the table), and no existing row is touched. Each product table is
changed in its own short transaction (migrations/online.py): the trees columns and their
checks (added NOT VALID, so no scan under the exclusive lock), the checks' validation (a
scan that lets reads and writes go on), the new activity log (its keys briefly lock
accounts and ai_sessions), then the indexes, built CONCURRENTLY. The flow index is left
out when the same run goes on to 0014, which replaces it: building it would only make
the product's commits wait behind its pages in the log. The session indexes of the later
revisions this run reaches are built here too (`online.build_ahead`), while the product's
writes are as light as they were: from 0004 on, each one also updates the rollups.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from migrations import online

revision: str = "0002_analytics"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"

# Replaced by revision 0014's index, which serves whatever it served.
_FLOW_INDEX = "ix_ai_sessions_account_flow_started"
_REPLACED_BY = "0014_session_flow_evidence_index"

# name -> (table, columns); created in this order, dropped in reverse.
_INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    (_FLOW_INDEX, "ai_sessions", ["account_id", "matched_flow_id", "started_at"]),
    ("ix_ai_sessions_matched_flow", "ai_sessions", ["matched_flow_id"]),
    ("ix_psa_activity_log_account_created", "psa_activity_log", ["account_id", "created_at"]),
    ("ix_psa_activity_log_session", "psa_activity_log", ["session_id"]),
)


_CHECKS = {
    "ck_trees_usage_count": "usage_count >= 0",
    "ck_trees_success_rate": "success_rate IS NULL OR (success_rate >= 0 AND success_rate <= 1)",
}


def _trees_columns() -> None:
    op.add_column(
        "trees",
        sa.Column("usage_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("trees", sa.Column("success_rate", sa.Float(), nullable=True))
    op.add_column("trees", sa.Column("last_matched_at", sa.DateTime(timezone=True), nullable=True))
    for name, condition in _CHECKS.items():
        op.execute(f"ALTER TABLE trees ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID")


def _validate_checks() -> None:
    for name in _CHECKS:
        op.execute(f"ALTER TABLE trees VALIDATE CONSTRAINT {name}")


def _activity_log() -> None:
    op.create_table(
        "psa_activity_log",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", name="fk_psa_activity_log_account"),
            nullable=False,
        ),
        sa.Column(
            "session_id",
            UUID(as_uuid=True),
            sa.ForeignKey("ai_sessions.id", name="fk_psa_activity_log_session"),
            nullable=True,
        ),
        sa.Column("activity_type", sa.Text(), nullable=False),
        sa.Column("hours_logged", sa.Float(), nullable=True),
        sa.Column("psa_ticket_id", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False, server_default=sa.text("'connectwise'")),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint(
            "activity_type IN ('time_entry_posted', 'note_posted', 'status_updated')",
            name="ck_psa_activity_log_type",
        ),
        sa.CheckConstraint(
            "hours_logged IS NULL OR hours_logged >= 0", name="ck_psa_activity_log_hours"
        ),
        sa.UniqueConstraint(
            "account_id",
            "provider",
            "activity_type",
            "external_id",
            name="uq_psa_activity_log_push",
        ),
    )
    op.execute("ALTER TABLE psa_activity_log ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE psa_activity_log FORCE ROW LEVEL SECURITY")
    condition = f"account_id = {_CURRENT_ACCOUNT}"
    op.execute(
        "CREATE POLICY tenant_isolation ON psa_activity_log "
        f"USING ({condition}) WITH CHECK ({condition})"
    )


def upgrade() -> None:
    online.step(
        _trees_columns,
        done="EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'public.trees'::regclass "
        "AND attname = 'usage_count' AND NOT attisdropped)",
    )
    online.step(_validate_checks)
    online.step(_activity_log, done="to_regclass('public.psa_activity_log') IS NOT NULL")
    replaced = online.reaches(_REPLACED_BY)
    for name, table, columns in _INDEXES:
        if not (name == _FLOW_INDEX and replaced):
            online.index(name, table, ", ".join(columns))
    # Before 0004's triggers make each product write heavier and longer to flush.
    online.build_ahead(revision)


def downgrade() -> None:
    for name, _table, _columns in reversed(_INDEXES):
        op.execute(f"DROP INDEX IF EXISTS public.{name}")
    # Its constraints and policy go with the table.
    op.drop_table("psa_activity_log")

    op.drop_constraint("ck_trees_success_rate", "trees", type_="check")
    op.drop_constraint("ck_trees_usage_count", "trees", type_="check")
    op.drop_column("trees", "last_matched_at")
    op.drop_column("trees", "success_rate")
    op.drop_column("trees", "usage_count")
