"""A product database as earlier releases adopted it: row-level security enabled and
forced on the product's tables, with `tenant_isolation` for every role where a table had
no policy, each change recorded in `analytics_adoption` (kinds rls_enabled, rls_forced,
policy). The statements are the earlier adoption's, read from the catalog the same way.

The rest of the schema is today's: the database is adopted as it is now, then the
product tables' security is put back the way the earlier adoption had left it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.operations import adoption
from persistence.operations.backfill import backfill
from persistence.operations.product_schema import PRODUCT_TABLES

_CONDITION = "current_setting('app.current_account_id', true)::uuid"
_OURS_NOW = (
    "flowpilot_analytics_bound",
    "flowpilot_analytics_tenant",
    "flowpilot_analytics_others",
)


def _earlier_additions(connection: Connection) -> list[tuple[str, str, str]]:
    """(kind, table, statement) as the earlier adoption chose them."""
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relname = ANY(:names) ORDER BY c.relname"
        ),
        {"names": list(PRODUCT_TABLES)},
    )
    additions: list[tuple[str, str, str]] = []
    for table, enabled, forced, policies in rows:
        if not enabled:
            additions.append(
                ("rls_enabled", table, f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            )
        if not forced:
            additions.append(("rls_forced", table, f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
        if not policies:
            key = "id" if table == "accounts" else "account_id"
            condition = f"{key} = {_CONDITION}"
            sql = (
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )
            additions.append(("policy", table, sql))
    return additions


async def adopt_as_earlier_releases_did(product: AsyncEngine) -> list[tuple[str, str]]:
    """Adopt `product` and leave its tables' security as the earlier adoption did; the
    (kind, table) records of that adoption."""
    async with product.connect() as connection:
        earlier = await connection.run_sync(_earlier_additions)
        await connection.rollback()
        await connection.run_sync(adoption.adopt, "head", True)
    await backfill(product)
    async with product.begin() as connection:
        for table in PRODUCT_TABLES:
            for name in _OURS_NOW:
                await connection.execute(text(f"DROP POLICY IF EXISTS {name} ON {table}"))
        await connection.execute(
            text(
                "DELETE FROM analytics_adoption WHERE kind IN "
                "('group_role', 'policy_bound', 'policy_tenant', 'policy_others', 'row_security')"
            )
        )
        for kind, table, statement in earlier:
            await connection.execute(text(statement))
            await connection.execute(
                text("INSERT INTO analytics_adoption (kind, subject) VALUES (:kind, :table)"),
                {"kind": kind, "table": table},
            )
    return [(kind, table) for kind, table, _statement in earlier]
