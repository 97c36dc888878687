"""Write paths: per-account PSA connection settings, the PSA push outbox, maintenance look-ups.

Revision ID: 0003_psa_write_paths
Revises: 0002_analytics
Create Date: 2024-01-03 00:00:00

Both tables carry `account_id` and follow the product's row-level security convention.
The two SECURITY DEFINER functions list account ids only (no other data), so that the
periodic jobs, which work account by account with the RLS setting, can find the accounts
to visit; they run with the rights of the migrating role, which must be able to read
every account (a superuser or a role with BYPASSRLS, as the schema owner normally is).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from migrations import online

revision: str = "0003_psa_write_paths"
down_revision: str | None = "0002_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"

_FUNCTIONS = {
    "flowpilot_account_ids": "SELECT id FROM public.accounts ORDER BY id",
    "psa_outbox_pending_account_ids": (
        "SELECT DISTINCT account_id FROM public.psa_outbox WHERE state = 'pending' "
        "ORDER BY account_id"
    ),
}


def _isolate(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    condition = f"account_id = {_CURRENT_ACCOUNT}"
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))
        for name in ("created_at", "updated_at")
    ]


def upgrade() -> None:
    # Each new table's keys lock the product tables they reference briefly, one table a step.
    online.step(_connections, done="to_regclass('public.psa_connections') IS NOT NULL")
    online.step(_outbox, done="to_regclass('public.psa_outbox') IS NOT NULL")


def _connections() -> None:
    op.create_table(
        "psa_connections",
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", name="fk_psa_connections_account"),
            primary_key=True,
        ),
        sa.Column("provider", sa.Text(), nullable=False, server_default=sa.text("'connectwise'")),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("codebase", sa.Text(), nullable=False),
        sa.Column("company_id", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("default_member_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("provider IN ('connectwise')", name="ck_psa_connections_provider"),
        sa.CheckConstraint(
            "default_member_id IS NULL OR default_member_id > 0",
            name="ck_psa_connections_member",
        ),
    )
    _isolate("psa_connections")


def _outbox() -> None:
    op.create_table(
        "psa_outbox",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", name="fk_psa_outbox_account"),
            nullable=False,
        ),
        sa.Column(
            "session_id",
            UUID(as_uuid=True),
            sa.ForeignKey("ai_sessions.id", name="fk_psa_outbox_session"),
            nullable=False,
        ),
        sa.Column("activity_type", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False, server_default=sa.text("'connectwise'")),
        sa.Column("psa_ticket_id", sa.Text(), nullable=False),
        sa.Column("hours_logged", sa.Float(), nullable=True),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "activity_type IN ('time_entry_posted', 'note_posted', 'status_updated')",
            name="ck_psa_outbox_type",
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed', 'abandoned')", name="ck_psa_outbox_state"
        ),
        sa.CheckConstraint("hours_logged IS NULL OR hours_logged >= 0", name="ck_psa_outbox_hours"),
        sa.CheckConstraint(
            "state <> 'done' OR external_id IS NOT NULL", name="ck_psa_outbox_done_has_id"
        ),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_psa_outbox_idempotency"),
    )
    _isolate("psa_outbox")
    op.create_index("ix_psa_outbox_state_created", "psa_outbox", ["state", "created_at"])
    op.create_index("ix_psa_outbox_session", "psa_outbox", ["session_id"])

    for name, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS SETOF uuid LANGUAGE sql STABLE "
            f"SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ {body} $$"
        )


def downgrade() -> None:
    for name in reversed(_FUNCTIONS):
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_index("ix_psa_outbox_session", table_name="psa_outbox")
    op.drop_index("ix_psa_outbox_state_created", table_name="psa_outbox")
    # Constraints and policies go with their tables.
    op.drop_table("psa_outbox")
    op.drop_table("psa_connections")
