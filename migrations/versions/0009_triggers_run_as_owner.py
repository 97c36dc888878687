"""The analytics triggers write their tables with the schema owner's rights.

Revision ID: 0009_triggers_run_as_owner
Revises: 0008_data_versions
Create Date: 2024-01-09 00:00:00

The rollup triggers (0004) and the data-version triggers (0008) fire on the product's
own writes to `ai_sessions`, `trees`, `accounts` and `psa_activity_log`. A trigger
function runs with the rights of the role whose statement fired it, so on an adopted
database every product role that writes sessions would need privileges on tables it
knows nothing about (the rollups, `account_data_versions`, `data_version_seq`), and a
product write would fail with "permission denied" without them. Running the trigger
functions as their owner (the role that migrated, as for the account-id look-ups of
0003) removes that coupling: the product keeps the privileges it has. Row-level security
still binds the owner where it is forced, unless the owner bypasses it (superuser or
BYPASSRLS, as the migrating role normally is). `search_path` is pinned, as PostgreSQL
advises for SECURITY DEFINER functions.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_triggers_run_as_owner"
down_revision: str | None = "0008_data_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The analytics' trigger functions only (0004's `rollup_*`, 0008's `data_version_*`): an
# adopted product database may have trigger functions of its own, which stay as they are.
_EACH_TRIGGER_FUNCTION = """
DO $do$
DECLARE fn regprocedure;
BEGIN
  FOR fn IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.prorettype = 'trigger'::regtype
      AND (p.proname LIKE 'rollup\\_%' OR p.proname LIKE 'data\\_version\\_%')
  LOOP
    EXECUTE format('ALTER FUNCTION %s {change}', fn);
  END LOOP;
END
$do$
"""


def upgrade() -> None:
    op.execute(
        _EACH_TRIGGER_FUNCTION.format(
            change="SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp"
        )
    )


def downgrade() -> None:
    op.execute(_EACH_TRIGGER_FUNCTION.format(change="SECURITY INVOKER RESET search_path"))
