"""The database role the API connects as: not a superuser, not the owner, so RLS binds it.

Row-level security does not apply to superusers or to roles with BYPASSRLS, so the
service must never run as the role that owns and migrates the schema. This module
creates (or brings up to date) a login role with only data privileges.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.migrate import ADOPTION_MARKER

DEFAULT_APP_ROLE = "flowpilot_app"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED = frozenset({"public", "postgres", "current_user", "session_user", "current_role"})
# SECURITY DEFINER look-ups the background jobs call; not executable by PUBLIC (0007, 0011).
ACCOUNT_ID_FUNCTIONS = (
    "public.flowpilot_account_ids()",
    "public.psa_outbox_pending_account_ids()",
    "public.rollup_building_account_ids()",
)


class RoleNameError(ValueError):
    """The role name cannot be used; the message says why."""


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
    """Create or update role `name` with data privileges on every table of schema public.

    Idempotent. Run it as the owner of the tables (the migrating role) on the database
    the API uses; `password=None` leaves the role without one (trust or peer auth).
    The caller commits.
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
    await _run(
        connection,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I",
        name,
    )
    await _run(connection, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I", name)
    await _run(
        connection,
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I",
        name,
    )
    await _run(
        connection,
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I",
        name,
    )
    for function in ACCOUNT_ID_FUNCTIONS:
        present = await connection.execute(
            text("SELECT to_regprocedure(:function) IS NOT NULL"), {"function": function}
        )
        if present.scalar_one():
            await _run(connection, f"GRANT EXECUTE ON FUNCTION {function} TO %I", name)
    # The migration bookkeeping (and an adopted database's record) is readable (readiness
    # checks) but not writable.
    for table in ("alembic_version", ADOPTION_MARKER):
        present = await connection.execute(
            text("SELECT to_regclass(:table) IS NOT NULL"), {"table": f"public.{table}"}
        )
        if present.scalar_one():
            await _run(connection, f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM %I", name)


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
