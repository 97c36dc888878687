"""The two SECURITY DEFINER account-id look-ups are executable only by the roles that need
them, not by PUBLIC.

Revision ID: 0007_account_id_function_grants
Revises: 0006_flow_name_order_index
Create Date: 2024-01-07 00:00:00

`flowpilot_account_ids()` and `psa_outbox_pending_account_ids()` run with the owner's
rights and ignore row-level security, so any role that may call them learns every
account id. PostgreSQL grants EXECUTE on new functions to PUBLIC; this revision revokes
that and grants EXECUTE to the roles that already hold data privileges on
`psa_outbox` (application roles made by `create-app-role` before this revision;
`create-app-role` grants it from now on). The owner keeps it as owner.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_account_id_function_grants"
down_revision: str | None = "0006_flow_name_order_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = ("flowpilot_account_ids()", "psa_outbox_pending_account_ids()")

_GRANT_TO_APP_ROLES = """
DO $do$
DECLARE grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT pg_get_userbyid(acl.grantee)
    FROM pg_class c, aclexplode(c.relacl) AS acl
    WHERE c.oid = 'public.psa_outbox'::regclass AND acl.privilege_type = 'SELECT'
      AND acl.grantee <> 0 AND acl.grantee <> c.relowner
  LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', '{function}', grantee);
  END LOOP;
END
$do$
"""


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION public.{function} FROM PUBLIC")
        op.execute(_GRANT_TO_APP_ROLES.replace("{function}", f"public.{function}"))


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION public.{function} TO PUBLIC")
