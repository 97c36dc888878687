"""Baseline: the product tables as they were before the analytics work.

Revision ID: 0001_baseline
Revises:
Create Date: 2024-01-01 00:00:00

This mirrors the product's existing schema (accounts, users, trees, ai_sessions with
their checks, keys and row-level security) so a fresh database can be built from
scratch; the analytics additions live in the later revisions. The product's own
database is never built by this revision: `migrate` adopts it (persistence/operations/adoption.py),
checking its tables against what this revision stands for and recording it as present,
and this downgrade then takes back only what the adoption added. Enumerations are
spelled out here rather than imported from the models, so that later model edits never
rewrite history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _isolate(table: str, key: str = "account_id") -> None:
    """Enable and force RLS with the product's tenant policy (USING and WITH CHECK)."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    condition = f"{key} = {_CURRENT_ACCOUNT}"
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )


def _uuid_pk() -> sa.Column[object]:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    )


def _account_fk(table: str) -> sa.Column[object]:
    return sa.Column(
        "account_id",
        UUID(as_uuid=True),
        sa.ForeignKey("accounts.id", name=f"fk_{table}_account"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        _uuid_pk(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False, server_default=sa.text("'UTC'")),
        _created_at(),
    )
    _isolate("accounts", key="id")

    op.create_table(
        "users",
        _uuid_pk(),
        _account_fk("users"),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("account_id", "email", name="uq_users_account_email"),
        sa.CheckConstraint(
            _one_of("role", ("engineer", "team_admin", "admin")), name="ck_users_role"
        ),
    )
    _isolate("users")

    op.create_table(
        "trees",
        _uuid_pk(),
        _account_fk("trees"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'published'")),
        _created_at(),
        sa.CheckConstraint(
            _one_of("status", ("draft", "published", "archived")), name="ck_trees_status"
        ),
    )
    op.create_index("ix_trees_account_id", "trees", ["account_id"])
    _isolate("trees")

    op.create_table(
        "ai_sessions",
        _uuid_pk(),
        _account_fk("ai_sessions"),
        sa.Column(
            "user_id",
            UUID(as_uuid=True),
            sa.ForeignKey("users.id", name="fk_ai_sessions_user"),
            nullable=True,
        ),
        sa.Column("session_type", sa.Text(), nullable=False, server_default=sa.text("'flowpilot'")),
        sa.Column("problem_domain", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'active'")),
        sa.Column("confidence_tier", sa.Text(), nullable=True),
        sa.Column(
            "matched_flow_id",
            UUID(as_uuid=True),
            sa.ForeignKey("trees.id", name="fk_ai_sessions_matched_flow"),
            nullable=True,
        ),
        sa.Column("match_confidence", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("psa_ticket_id", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            _one_of("session_type", ("flowpilot", "assistant")), name="ck_ai_sessions_type"
        ),
        sa.CheckConstraint(
            _one_of(
                "status",
                (
                    "active",
                    "paused",
                    "resolved",
                    "escalated",
                    "requesting_escalation",
                    "abandoned",
                ),
            ),
            name="ck_ai_sessions_status",
        ),
        sa.CheckConstraint(
            "confidence_tier IS NULL OR "
            + _one_of("confidence_tier", ("discovery", "exploring", "guided")),
            name="ck_ai_sessions_confidence_tier",
        ),
        sa.CheckConstraint(
            "match_confidence IS NULL OR (match_confidence >= 0 AND match_confidence <= 1)",
            name="ck_ai_sessions_match_confidence",
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name="ck_ai_sessions_rating"
        ),
    )
    op.create_index("ix_ai_sessions_account_started", "ai_sessions", ["account_id", "started_at"])
    op.create_index("ix_ai_sessions_user", "ai_sessions", ["user_id"])
    _isolate("ai_sessions")


# An adopted product database (see persistence/operations/adoption.py) records here what the
# adoption added to the product's tables; the tables themselves were never ours.
_ADOPTION_MARKER = "analytics_adoption"
# Row-level security is turned off before the policy that kept the product's roles'
# access goes. The role the policies name stays: roles belong to the whole server.
_UNDO = {
    "row_security": "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
    "policy_others": "DROP POLICY flowpilot_analytics_others ON {}",
    "policy_tenant": "DROP POLICY flowpilot_analytics_tenant ON {}",
    "policy_bound": "DROP POLICY flowpilot_analytics_bound ON {}",
    "policy": "DROP POLICY tenant_isolation ON {}",
    "rls_forced": "ALTER TABLE {} NO FORCE ROW LEVEL SECURITY",
    "rls_enabled": "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
    # Recorded before its CONCURRENTLY build, so an interrupted adoption may lack it.
    "index": "DROP INDEX IF EXISTS {}",
}


def _undo_adoption() -> bool:
    """On an adopted database take back only the recorded additions; False otherwise."""
    bind = op.get_bind()
    marker = sa.text(f"SELECT to_regclass('public.{_ADOPTION_MARKER}') IS NOT NULL")
    if not bind.execute(marker).scalar():
        return False
    recorded = bind.execute(sa.text(f"SELECT kind, subject FROM {_ADOPTION_MARKER}")).all()
    for kind, statement in _UNDO.items():
        for subject in sorted(s for k, s in recorded if k == kind):
            op.execute(statement.format(subject))
    op.execute(f"DROP TABLE {_ADOPTION_MARKER}")
    return True


def downgrade() -> None:
    if _undo_adoption():
        return
    # Dropping a table drops its indexes, constraints and policies with it.
    op.drop_table("ai_sessions")
    op.drop_table("trees")
    op.drop_table("users")
    op.drop_table("accounts")
