"""The database role the API connects as: not a superuser, not the owner, so RLS binds it.

Row-level security does not apply to superusers or to roles with BYPASSRLS, so the
service must never run as the role that owns and migrates the schema. This module
creates (or brings up to date) a login role with the privileges the API uses and no
others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.operations.migrate import ADOPTION_MARKER
from persistence.operations.product_rls import GROUPS_SQL

DEFAULT_APP_ROLE = "flowpilot_app"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED = frozenset({"public", "postgres", "current_user", "session_user", "current_role"})
# SECURITY DEFINER look-ups the background jobs call; not executable by PUBLIC (0007, 0011).
ACCOUNT_ID_FUNCTIONS = (
    "public.flowpilot_account_ids()",
    "public.psa_outbox_pending_account_ids()",
    "public.rollup_building_account_ids()",
)
# What the background jobs run as their owner besides the look-ups: finishing the rollup
# build a time-zone change started (0011).
JOB_FUNCTIONS = (*ACCOUNT_ID_FUNCTIONS, "public.rollup_build_step(uuid, integer)")


@dataclass(frozen=True)
class Grant:
    """Privileges on one table of schema public (granted when the table exists)."""

    table: str
    privileges: str


# What the API reads and writes, and nothing more. The product's tables: read, and only the
# columns a flow match and the success-rate job change (no INSERT or DELETE, no other
# product table). The rollups and data versions: read only, since their triggers write
# them as their owner (0009). The PSA write paths: no DELETE. The migration records: read
# by the readiness check.
API_GRANTS = (
    Grant("accounts", "SELECT"),
    Grant("trees", "SELECT, UPDATE (usage_count, last_matched_at, success_rate)"),
    Grant("ai_sessions", "SELECT, UPDATE (matched_flow_id, match_confidence)"),
    Grant("psa_activity_log", "SELECT, INSERT"),
    Grant("psa_connections", "SELECT, INSERT, UPDATE"),
    Grant("psa_outbox", "SELECT, INSERT, UPDATE"),
    Grant("rollup_session_blocks", "SELECT"),
    Grant("rollup_flow_blocks", "SELECT"),
    Grant("rollup_psa_days", "SELECT"),
    Grant("rollup_psa_time_chains", "SELECT"),
    Grant("account_data_versions", "SELECT"),
    Grant("domain_aliases", "SELECT, INSERT, DELETE"),
    Grant("domain_alias_events", "SELECT, INSERT"),
    Grant("data_version_epoch", "SELECT"),
    Grant("alembic_version", "SELECT"),
    Grant(ADOPTION_MARKER, "SELECT"),
)
# pg_default_acl.defaclobjtype -> the word ALTER DEFAULT PRIVILEGES uses.
_DEFAULT_ACL_OBJECTS = {
    "r": "TABLES",
    "S": "SEQUENCES",
    "f": "FUNCTIONS",
    "T": "TYPES",
    "n": "SCHEMAS",
}


class RoleNameError(ValueError):
    """The role name cannot be used; the message says why."""


class SchemaCreateError(RoleNameError):
    """The role could create objects in schema public, where the owner's code resolves names."""


def check_role_name(name: str) -> str:
    """Accept plain lower-case identifiers only (no quoting surprises in grants)."""
    if not _ROLE_NAME.match(name) or name in _RESERVED or name.startswith("pg_"):
        raise RoleNameError(
            f"role name {name!r} is not usable: use lower-case letters, digits and _ "
            "(at most 63, not starting with a digit or pg_, not a reserved name)"
        )
    return name


async def _sql(connection: AsyncConnection, template: str, *args: str | None) -> str:
    """Build a statement server-side with format() so names and passwords are quoted."""
    params = {f"a{index}": value for index, value in enumerate(args)}
    placeholders = ", ".join(f"CAST(:a{index} AS text)" for index in range(len(args)))
    result = await connection.execute(
        text(f"SELECT format(CAST(:template AS text), {placeholders})"),
        {"template": template, **params},
    )
    statement: str = result.scalar_one()
    return statement


async def _run(connection: AsyncConnection, template: str, *args: str | None) -> None:
    await connection.execute(text(await _sql(connection, template, *args)))


async def ensure_app_role(connection: AsyncConnection, name: str, password: str | None) -> None:
    """Create or update role `name` with the privileges of API_GRANTS and no others.

    Idempotent; a re-run takes back whatever earlier versions granted beyond them
    (every table of public, default privileges on future ones). Run it on the database
    the API uses as the tables' owner (the migrating role), with the rights to create
    roles (see docs/operations.md); `password=None` leaves the role without one (trust
    or peer auth). The caller commits; a refusal raises RoleNameError.
    """
    check_role_name(name)
    if name == (await connection.execute(text("SELECT current_user"))).scalar_one():
        raise RoleNameError(
            f"role {name!r} is the role running this command; the API's role must be another one"
        )
    owns = await connection.execute(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :name"
        ),
        {"name": name},
    )
    if owns.scalar_one():
        raise RoleNameError(f"role {name!r} owns tables in schema public; choose another name")
    exists = await connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
    )
    attributes = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT"
    if exists.scalar_one_or_none() is None:
        await _run(connection, f"CREATE ROLE %I {attributes}", name)
    else:
        await _run(connection, f"ALTER ROLE %I {attributes}", name)
    if password is None:
        await _run(connection, "ALTER ROLE %I PASSWORD NULL", name)
    else:
        await _run(connection, "ALTER ROLE %I PASSWORD %L", name, password)

    database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    await _run(connection, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", database, name)
    await _run(connection, "GRANT USAGE ON SCHEMA public TO %I", name)
    await _run(connection, "REVOKE CREATE ON SCHEMA public FROM %I", name)
    await _revoke_earlier_grants(connection, name)
    for grant in API_GRANTS:
        present = await connection.execute(
            text("SELECT to_regclass(:table) IS NOT NULL"), {"table": f"public.{grant.table}"}
        )
        if present.scalar_one():
            await _run(connection, f"GRANT {grant.privileges} ON public.{grant.table} TO %I", name)
    for function in JOB_FUNCTIONS:
        present = await connection.execute(
            text("SELECT to_regprocedure(:function) IS NOT NULL"), {"function": function}
        )
        if present.scalar_one():
            await _run(connection, f"GRANT EXECUTE ON FUNCTION {function} TO %I", name)
    # On an adopted product database the analytics' policies apply to a group's members
    # only (persistence.operations.product_rls): without joining it the role would not be bound.
    for group in (await connection.execute(text(GROUPS_SQL))).scalars().all():
        await _run(connection, "GRANT %I TO %I", group, name)
    creates = await connection.execute(
        text("SELECT has_schema_privilege(:name, 'public', 'CREATE')"), {"name": name}
    )
    if creates.scalar_one():
        raise SchemaCreateError(
            f"role {name!r} may create objects in schema public through PUBLIC or a role it "
            "belongs to; run `REVOKE CREATE ON SCHEMA public FROM PUBLIC` (and from that role)"
        )


async def _revoke_earlier_grants(connection: AsyncConnection, name: str) -> None:
    """Take back what earlier versions granted: every table and sequence of public, and the
    default privileges on future ones (one statement per role that set them)."""
    await _run(connection, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I", name)
    await _run(connection, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I", name)
    defaults = await connection.execute(
        text(
            "SELECT DISTINCT pg_get_userbyid(d.defaclrole) AS owner, n.nspname AS schema, "
            "d.defaclobjtype::text AS kind FROM pg_default_acl d "
            "CROSS JOIN LATERAL aclexplode(d.defaclacl) AS acl "
            "LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace "
            "JOIN pg_roles r ON r.oid = acl.grantee WHERE r.rolname = :name "
            "ORDER BY 1, 2, 3"
        ),
        {"name": name},
    )
    for owner, schema, kind in defaults.all():
        revoke = f"REVOKE ALL ON {_DEFAULT_ACL_OBJECTS[kind]} FROM %I"
        if schema is None:
            await _run(connection, f"ALTER DEFAULT PRIVILEGES FOR ROLE %I {revoke}", owner, name)
        else:
            await _run(
                connection,
                f"ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I {revoke}",
                owner,
                schema,
                name,
            )


async def drop_app_role(connection: AsyncConnection, name: str) -> None:
    """Remove the role's privileges in this database and the role itself (tests, cleanup).

    A role with privileges in other databases cannot be dropped; run this in each first.
    """
    check_role_name(name)
    present = await connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
    )
    if present.scalar_one_or_none() is None:
        return
    await _run(connection, "DROP OWNED BY %I", name)
    await _run(connection, "DROP ROLE %I", name)
