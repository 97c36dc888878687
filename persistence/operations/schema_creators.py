"""Who else may create objects in schema public, where `migrate` works.

`migrate` runs as a role that is normally a superuser (or at least the owner of every
analytics object and BYPASSRLS), and every statement it runs, Alembic's own among them,
resolves unqualified names through `public` after pg_catalog. A function or operator
another role places there with a better-matching signature runs with the migrating
role's rights (PostgreSQL's CVE-2018-1058 advice: in a schema others may create in, only
trusted roles' search_path may include it). PostgreSQL 14 and earlier grant CREATE on
public to PUBLIC, every role; 15 and later to the database owner only.

Trusted: superusers, the migrating role itself, and the schema's owner and its members
(on PostgreSQL 15 `pg_database_owner`, i.e. the database's owner). Everyone else who may
CREATE is listed, PUBLIC alone when PUBLIC may (then every role may).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

SCHEMA = "public"

_PUBLIC_MAY_CREATE = text(
    "SELECT EXISTS (SELECT 1 FROM pg_namespace n, "
    "aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
    "WHERE n.nspname = :schema AND a.grantee = 0 AND a.privilege_type = 'CREATE')"
)
_ROLES_WHO_MAY_CREATE = text(
    "SELECT r.rolname FROM pg_roles r, pg_namespace n "
    "WHERE n.nspname = :schema AND NOT r.rolsuper AND r.rolname <> current_user "
    "AND r.rolname !~ '^pg_' AND has_schema_privilege(r.oid, n.oid, 'CREATE') "
    "AND NOT pg_has_role(r.oid, n.nspowner, 'MEMBER') ORDER BY r.rolname"
)


async def untrusted_creators(connection: AsyncConnection) -> list[str]:
    """The roles besides the trusted ones that may CREATE in public; ['PUBLIC'] for all."""
    if (await connection.execute(_PUBLIC_MAY_CREATE, {"schema": SCHEMA})).scalar_one():
        return ["PUBLIC"]
    return list((await connection.execute(_ROLES_WHO_MAY_CREATE, {"schema": SCHEMA})).scalars())


def describe(creators: list[str]) -> list[str]:
    """One line per role: what it could do and the statement that takes it back."""
    return [
        f"{role} may create objects in schema {SCHEMA}, where migrate resolves names, so its "
        f"code could run with the migrating role's rights: "
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM {role}"
        for role in creators
    ]


async def close_to_public(connection: AsyncConnection) -> None:
    """For a database that is the service's own (the embedded one): as PostgreSQL 15 does."""
    await connection.execute(text(f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC"))
