"""Data versions: a per-account number that changes in every transaction that can change
an analytics answer, so a response cached at one version is exact while it is current.

Revision ID: 0008_data_versions
Revises: 0006_flow_name_order_index
Create Date: 2024-01-08 00:00:00

Statement-level triggers (beside the rollup triggers of 0004) give each touched account
a fresh value from one sequence in the writing transaction: sessions and PSA activity
(INSERT, UPDATE, DELETE, COPY), flows (every column: name, category, status, counters)
and accounts (time zone). A sequence rather than `version + 1`, so a value is never
reused even if a row is deleted and made again. `data_version_epoch` holds one random
id per database: a shared cache outliving a database that is dropped and re-made (tests,
restores) can then never match an entry of the old one. Triggers run with the caller's
rights, so row-level security binds the version rows like every other account row.

`flowpilot_data_state(account)` reads an account's version, the epoch and the account's
time zone in one round trip outside any transaction (a cache hit's only SQL): it binds
the account for its own statement (`set_config(..., true)` ends with the implicit
transaction), and runs with the caller's rights, so it shows only what the caller could
read after binding that account itself.

The new objects come in one transaction, then each trigger on a product table in a short
transaction of its own (migrations/online.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from migrations import online

revision: str = "0008_data_versions"
# Re-pointed to "0007_account_id_function_grants" when the branches meet.
down_revision: str | None = "0007_account_id_function_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")
# Table -> its account column.
_WATCHED = {
    "ai_sessions": "account_id",
    "psa_activity_log": "account_id",
    "trees": "account_id",
    "accounts": "id",
}


def _transitions(operation: str) -> str:
    if operation == "INSERT":
        return "NEW TABLE AS new_rows"
    if operation == "DELETE":
        return "OLD TABLE AS old_rows"
    return "OLD TABLE AS old_rows NEW TABLE AS new_rows"


def _touched(operation: str, column: str) -> str:
    if operation == "INSERT":
        return f"SELECT {column} FROM new_rows"
    if operation == "DELETE":
        return f"SELECT {column} FROM old_rows"
    return f"SELECT {column} FROM new_rows UNION SELECT {column} FROM old_rows"


def _bump(operation: str, column: str) -> str:
    """One upsert per statement; accounts in id order, so concurrent writers lock alike."""
    return (
        "INSERT INTO account_data_versions AS v (account_id, version) "
        "SELECT t.id, nextval('data_version_seq') "
        f"FROM (SELECT DISTINCT {column} AS id FROM ({_touched(operation, column)}) u) t "
        "ORDER BY t.id "
        "ON CONFLICT (account_id) DO UPDATE SET version = excluded.version"
    )


def _name(table: str, operation: str) -> str:
    return f"data_version_{table}_{operation.lower()}"


_STATE_FUNCTION = """
CREATE FUNCTION flowpilot_data_state(target uuid)
RETURNS TABLE (version bigint, epoch uuid, timezone text)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM set_config('app.current_account_id', target::text, true);
  RETURN QUERY
    SELECT coalesce((SELECT v.version FROM account_data_versions v
                     WHERE v.account_id = target), 0::bigint),
           (SELECT e.epoch FROM data_version_epoch e LIMIT 1),
           a.timezone
    FROM accounts a WHERE a.id = target;
END
$fn$
"""


def _objects() -> None:
    op.execute("CREATE SEQUENCE data_version_seq AS bigint")
    op.create_table(
        "account_data_versions",
        sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.execute("ALTER TABLE account_data_versions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE account_data_versions FORCE ROW LEVEL SECURITY")
    condition = f"account_id = {_CURRENT_ACCOUNT}"
    op.execute(
        "CREATE POLICY tenant_isolation ON account_data_versions "
        f"USING ({condition}) WITH CHECK ({condition})"
    )
    op.create_table(
        "data_version_epoch",
        sa.Column("epoch", UUID(as_uuid=True), primary_key=True),
    )
    op.execute("INSERT INTO data_version_epoch (epoch) VALUES (gen_random_uuid())")
    op.execute(_STATE_FUNCTION)
    for table, column in _WATCHED.items():
        for operation in _OPERATIONS:
            op.execute(
                f"CREATE FUNCTION {_name(table, operation)}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $fn$\nBEGIN\n{_bump(operation, column)};\n"
                "RETURN NULL;\nEND\n$fn$"
            )


def _trigger(table: str, operation: str) -> str:
    name = _name(table, operation)
    return (
        f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
        f"REFERENCING {_transitions(operation)} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {name}()"
    )


def upgrade() -> None:
    online.step(_objects, done="to_regclass('public.account_data_versions') IS NOT NULL")
    for table in _WATCHED:
        for operation in _OPERATIONS:
            online.step(
                online.trigger_running_as_owner(
                    _name(table, operation), _trigger(table, operation)
                ),
                done=f"EXISTS (SELECT FROM pg_trigger WHERE tgname = '{_name(table, operation)}' "
                f"AND tgrelid = 'public.{table}'::regclass)",
            )


def downgrade() -> None:
    for table in reversed(list(_WATCHED)):
        for operation in reversed(_OPERATIONS):
            name = _name(table, operation)
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION flowpilot_data_state(uuid)")
    op.drop_table("data_version_epoch")
    op.drop_table("account_data_versions")
    op.execute("DROP SEQUENCE data_version_seq")
