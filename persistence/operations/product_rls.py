"""Row-level security on the product's tables that binds the analytics' role and no other.

PostgreSQL applies a policy only to the roles it names (and their members), ORs the
permissive policies that apply to a role and ANDs the restrictive ones. So adoption adds
two policies to each product table, both `TO flowpilot_analytics`, a NOLOGIN group that
`create-app-role` makes the API's login role a member of: a restrictive one that keeps
its members to the account their transaction is bound to whatever the product's own
policies allow, and a permissive one that lets that account's rows through. The
product's roles are not members, never meet either policy, and see and write what they
did. FORCE is never touched, so a table's owner is not affected either.

That holds where the product already has row-level security enabled. On a table without
it nothing can bind the analytics' role, and enabling it would hide every row from the
product's roles (other than the owner and roles that bypass it) unless a policy lets
them through. So by default such a table is refused, one line each; with
`--enable-row-security` it is enabled together with `flowpilot_analytics_others`, a
policy that lets every role outside the group see and write every row, created first so
that no product statement ever runs between the two without it. A table with row-level
security off but policies of its own is refused even then: enabling would wake them
(a restrictive one would hide rows, any one can fail on a bad setting).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

ANALYTICS_GROUP = "flowpilot_analytics"
BOUND_POLICY = "flowpilot_analytics_bound"
TENANT_POLICY = "flowpilot_analytics_tenant"
OTHERS_POLICY = "flowpilot_analytics_others"
ENABLE_FLAG = "--enable-row-security"
# How adoption records the group (persistence.operations.adoption); a downgrade leaves the role.
GROUP_KIND = "group_role"

_CONDITION = "current_setting('app.current_account_id', true)::uuid"


class Step(NamedTuple):
    """One change to the product's database: recorded as (kind, subject) once made."""

    kind: str
    subject: str
    sql: str
    description: str


class TableSecurity(NamedTuple):
    table: str
    enabled: bool
    policies: set[str]


def read_tables(connection: Connection, tables: tuple[str, ...]) -> list[TableSecurity]:
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, coalesce(array_agg(p.polname::text) "
            "FILTER (WHERE p.oid IS NOT NULL), '{}') "
            "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:names) "
            "GROUP BY c.relname, c.relrowsecurity ORDER BY c.relname"
        ),
        {"names": list(tables)},
    )
    return [TableSecurity(table, enabled, set(names)) for table, enabled, names in rows]


def group_step(connection: Connection, group: str = ANALYTICS_GROUP) -> Step:
    """Create the group unless the server has it (roles belong to the whole server)."""
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": group}
    ).scalar()
    # Another database on the server may be adopted at the same moment: a lost race is fine.
    sql = (
        f"DO $$ BEGIN CREATE ROLE {group} NOLOGIN; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    if exists:
        description = (
            f"use the role {group}, which the server has already: the policies below apply "
            "to its members only"
        )
    else:
        description = (
            f"create the role {group} (no login, no privileges of its own): "
            "`create-app-role` makes the API's role a member, the product's roles are not"
        )
    return Step(GROUP_KIND, group, sql, description)


def group_difference(connection: Connection, group: str = ANALYTICS_GROUP) -> list[str]:
    """The migrating role must be able to create the group, unless it exists already."""
    user, creates, exists = connection.execute(
        text(
            "SELECT current_user, rolsuper OR rolcreaterole, "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :group) "
            "FROM pg_roles WHERE rolname = current_user"
        ),
        {"group": group},
    ).one()
    if creates or exists:
        return []
    return [
        f"role {user}: expected CREATEROLE (to create the role {group}) or that role to "
        "exist, found neither"
    ]


def _policy_steps(table: str, group: str) -> list[Step]:
    key = "id" if table == "accounts" else "account_id"
    condition = f"{key} = {_CONDITION}"
    bound = (
        f"CREATE POLICY {BOUND_POLICY} ON {table} AS RESTRICTIVE TO {group} "
        f"USING ({condition}) WITH CHECK ({condition})"
    )
    tenant = (
        f"CREATE POLICY {TENANT_POLICY} ON {table} TO {group} "
        f"USING ({condition}) WITH CHECK ({condition})"
    )
    return [
        Step(
            "policy_bound",
            table,
            bound,
            f"add policy {BOUND_POLICY} on {table} (restrictive, for members of {group} "
            "only): they see and change no account but the one their transaction is bound "
            "to, whatever other policies allow; other roles are not affected",
        ),
        Step(
            "policy_tenant",
            table,
            tenant,
            f"add policy {TENANT_POLICY} on {table} (for members of {group} only): they see "
            "and change the rows of that account; other roles are not affected",
        ),
    ]


def _enable_steps(table: str, group: str) -> list[Step]:
    # A scalar subquery is one InitPlan per statement, not a role look-up per row.
    outside = f"(SELECT NOT pg_has_role(current_user, '{group}', 'MEMBER'))"
    others = f"CREATE POLICY {OTHERS_POLICY} ON {table} USING ({outside}) WITH CHECK ({outside})"
    return [
        Step(
            "policy_others",
            table,
            others,
            f"add policy {OTHERS_POLICY} on {table}: every role outside {group} sees and "
            "changes every row, as now (no effect until row-level security is on)",
        ),
        Step(
            "row_security",
            table,
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"enable row-level security on {table} (not forced: its owner is not affected): "
            f"the product's roles keep every row through {OTHERS_POLICY}, but their "
            "conditions with operators that are not leakproof (LIKE, regular expressions, "
            "jsonb) are checked after the policy and can no longer use an index, and their "
            "COPY FROM into it fails",
        ),
    ]


def policy_sql(kind: str, table: str, group: str = ANALYTICS_GROUP) -> str:
    """The statement that adds the analytics' policy of `kind` to `table`."""
    made = {
        step.kind: step.sql for step in _policy_steps(table, group) + _enable_steps(table, group)
    }
    return made[kind]


_POLICY_OF = {
    "policy_bound": BOUND_POLICY,
    "policy_tenant": TENANT_POLICY,
    "policy_others": OTHERS_POLICY,
}


def _refusal(table: str, group: str) -> str:
    return (
        f"{table}: expected row-level security enabled (it binds the analytics' role to one "
        "account), found it off; enabling it would hide every row from the product's roles "
        f"but the owner: {ENABLE_FLAG} enables it with policy {OTHERS_POLICY}, which keeps "
        f"every row for every role outside {group}"
    )


def steps(
    connection: Connection,
    tables: tuple[str, ...],
    enable_row_security: bool = False,
    group: str = ANALYTICS_GROUP,
) -> tuple[list[Step], list[str]]:
    """The policy steps for `tables`, and one refusal line per table they cannot cover.

    Policies of these names that are there already (an interrupted run) are not added again.
    """
    found: list[Step] = []
    refusals: list[str] = []
    for table, enabled, policies in read_tables(connection, tables):
        if not enabled and policies:
            # Asleep while it is off: enabling would start checking them for the product.
            refusals.append(
                f"{table}: row-level security is off, and enabling it would start applying "
                f"its policies ({', '.join(sorted(policies))}) to the product's roles: "
                "enable it when the product is ready for that, then migrate"
            )
            continue
        if not enabled and not enable_row_security:
            refusals.append(_refusal(table, group))
            continue
        wanted = _policy_steps(table, group) + ([] if enabled else _enable_steps(table, group))
        found += [step for step in wanted if _POLICY_OF.get(step.kind) not in policies]
    return found, refusals


# The groups the analytics' policies on the product's tables apply to (one, normally).
GROUPS_SQL = f"""
    SELECT DISTINCT r.rolname FROM pg_policy p
    JOIN pg_class c ON c.oid = p.polrelid AND c.relnamespace = 'public'::regnamespace
    CROSS JOIN unnest(p.polroles) AS g(oid) JOIN pg_roles r ON r.oid = g.oid
    WHERE p.polname = '{TENANT_POLICY}' ORDER BY r.rolname
"""


async def unbound_role(connection: AsyncConnection) -> str | None:
    """Why the connected role would not be bound to one account on an adopted database.

    None on a database built by the migrations (its policies apply to every role) and for
    a member of the group the analytics' policies name. Reads the catalog only.
    """
    groups = list((await connection.execute(text(GROUPS_SQL))).scalars())
    if not groups:
        return None
    query = text("SELECT current_user, pg_has_role(current_user, :group, 'MEMBER')")
    user, member = (await connection.execute(query, {"group": groups[0]})).one()
    if member:
        return None
    return (
        f"role {user} is not a member of {groups[0]}, so row-level security does not bind it "
        "to one account on the product's tables: run "
        f"`python main.py create-app-role --name {user}` as the migrating role"
    )
