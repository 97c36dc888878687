"""Domain aliases: a spelling read as another domain, and the audit of every change.

Revision ID: 0015_domain_aliases
Revises: 0014_session_flow_evidence_index
Create Date: 2024-01-16 00:00:00

Two analytics tables, owned by the analytics and read by the tabs (the product never
writes them): `domain_aliases` (one row per aliased key: which domain key it is read as)
and `domain_alias_events` (who added, removed or dismissed which pair, and when). Both
follow the tenant convention: row-level security enabled and forced, `tenant_isolation`.

A change of the aliases changes the tabs' answers at once (they merge at read time), so
statement-level triggers on both tables bump the account's data version (0008) in the
writing transaction, as the product tables' triggers do; they run as their owner with a
search path of pg_catalog and pg_temp alone and every name qualified (0009, 0010), so the
API's role needs no right on the version table and nothing placed in `public` runs as them.

The tables' foreign keys lock `accounts` briefly; everything comes in one short step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from migrations import online

revision: str = "0015_domain_aliases"
down_revision: str | None = "0014_session_flow_evidence_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"
# Table -> the operations whose statements bump the version (the audit is append-only).
_WATCHED = {
    "domain_aliases": ("INSERT", "UPDATE", "DELETE"),
    "domain_alias_events": ("INSERT",),
}


def _isolate(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    condition = f"account_id = {_CURRENT_ACCOUNT}"
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )


def _transitions(operation: str) -> str:
    if operation == "INSERT":
        return "NEW TABLE AS new_rows"
    if operation == "DELETE":
        return "OLD TABLE AS old_rows"
    return "OLD TABLE AS old_rows NEW TABLE AS new_rows"


def _touched(operation: str) -> str:
    if operation == "INSERT":
        return "SELECT account_id FROM new_rows"
    if operation == "DELETE":
        return "SELECT account_id FROM old_rows"
    return "SELECT account_id FROM new_rows UNION SELECT account_id FROM old_rows"


def _name(table: str, operation: str) -> str:
    return f"data_version_{table}_{operation.lower()}"


def _bump(operation: str) -> str:
    """0008's upsert: one per statement, accounts in id order."""
    return (
        "INSERT INTO public.account_data_versions AS v (account_id, version) "
        "SELECT t.id, pg_catalog.nextval('public.data_version_seq'::pg_catalog.regclass) "
        f"FROM (SELECT DISTINCT account_id AS id FROM ({_touched(operation)}) u) t "
        "ORDER BY t.id "
        "ON CONFLICT (account_id) DO UPDATE SET version = excluded.version"
    )


def _tables() -> None:
    op.create_table(
        "domain_aliases",
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", name="fk_domain_aliases_account"),
            primary_key=True,
        ),
        sa.Column("alias_key", sa.Text(), primary_key=True),
        sa.Column("spelling", sa.Text(), nullable=False),
        sa.Column("target_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("created_by", UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint("alias_key <> target_key", name="ck_domain_aliases_not_self"),
    )
    op.create_index("ix_domain_aliases_target", "domain_aliases", ["account_id", "target_key"])
    _isolate("domain_aliases")
    op.create_table(
        "domain_alias_events",
        sa.Column(
            "id",
            UUID(as_uuid=True),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", name="fk_domain_alias_events_account"),
            nullable=False,
        ),
        sa.Column("alias_key", sa.Text(), nullable=False),
        sa.Column("target_key", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
        sa.CheckConstraint(
            "action IN ('added', 'removed', 'dismissed')", name="ck_domain_alias_events_action"
        ),
    )
    op.create_index(
        "ix_domain_alias_events_pair",
        "domain_alias_events",
        ["account_id", "alias_key", "target_key"],
    )
    _isolate("domain_alias_events")
    for table, operations in _WATCHED.items():
        for operation in operations:
            name = _name(table, operation)
            op.execute(
                f"CREATE FUNCTION public.{name}() RETURNS trigger LANGUAGE plpgsql "
                "SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
                f"AS $fn$\nBEGIN\n{_bump(operation)};\nRETURN NULL;\nEND\n$fn$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
                f"REFERENCING {_transitions(operation)} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION public.{name}()"
            )


def upgrade() -> None:
    online.step(_tables, done="to_regclass('public.domain_aliases') IS NOT NULL")


def downgrade() -> None:
    for table, operations in reversed(list(_WATCHED.items())):
        for operation in reversed(operations):
            name = _name(table, operation)
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION public.{name}()")
    # Their indexes, constraints and policies go with the tables.
    op.drop_table("domain_alias_events")
    op.drop_table("domain_aliases")
