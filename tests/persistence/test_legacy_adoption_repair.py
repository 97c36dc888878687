"""`migrate` repairs a product database adopted by earlier releases, which enabled and
forced row-level security with `tenant_isolation` for every role: the product's roles
see and write what they did before that adoption, the API's role stays bound to one
account, a second run changes nothing, and a state that is not exactly what the earlier
adoption left is refused with nothing changed.

The product database is test_adoption_rls's (Acme: 3 flows, 7 sessions, 1 user; Globex:
1 session) with trees made a table without row-level security or policies, so the
earlier adoption enabled and forced it and added `tenant_isolation` there, and forced
users (the product does not force it); accounts and ai_sessions it left alone.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import asyncpg_dsn
from persistence.operations import adoption, migrate
from persistence.operations.online_ddl import LockNotGranted, LockPolicy
from persistence.operations.product_schema import PRODUCT_TABLES
from persistence.operations.roles import drop_app_role, ensure_app_role
from tests.persistence.legacy_adoption import adopt_as_earlier_releases_did
from tests.persistence.test_adoption import ACME, GLOBEX
from tests.persistence.test_adoption_rls import (
    PASSWORD,
    PRODUCT_ROLE_SEES,
    _bound_counts,
    _foreign_insert,
    _trees_without_row_level_security,
    adopt,
    observe,
    ours,
    product,
    product_role,
    security,
)

__all__ = ["product", "product_role"]  # fixtures

# What the product role saw after the earlier adoption: no flow (tenant_isolation, no
# account set), so it could add or rename none; the other tables as before.
BROKEN = PRODUCT_ROLE_SEES | {"trees": 0, "insert flow": "42501", "rename flows": "UPDATE 0"}


async def _records(engine: AsyncEngine) -> set[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT kind, subject FROM analytics_adoption WHERE kind <> 'baseline'")
        )
        return {(kind, subject) for kind, subject in rows}


async def _plan(engine: AsyncEngine) -> adoption.Plan:
    async with engine.connect() as connection:
        return await connection.run_sync(adoption.plan, "head")


async def test_migrate_repairs_an_earlier_adoption_for_the_product_and_keeps_the_api_bound(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    url = empty_database_url
    await _trees_without_row_level_security(product)
    tables, policies = await security(product)
    assert await observe(url, product_role) == PRODUCT_ROLE_SEES

    earlier = await adopt_as_earlier_releases_did(product)
    assert earlier == [
        ("rls_enabled", "trees"),
        ("rls_forced", "trees"),
        ("policy", "trees"),
        ("rls_forced", "users"),
    ]
    assert await observe(url, product_role) == BROKEN
    # The API's role as create-app-role made it then: bound by tenant_isolation, in no group.
    name = f"fp_api_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        await ensure_app_role(connection, name, PASSWORD)
        await connection.execute(text(f"GRANT SELECT ON users TO {name}"))  # see below

    planned = await _plan(product)
    assert planned.differences == [] and planned.revisions == []
    assert planned.members == [name]
    assert planned.describe()[0:2] == [
        "would use the role flowpilot_analytics, which the server has already: the policies "
        "below apply to its members only",
        f"would make role {name} (the API's, as create-app-role made it) a member of "
        "flowpilot_analytics, so that the policies below bind it to one account before the "
        "earlier ones go",
    ]
    # The tables the earlier adoption left as they were first: they only gain our policies.
    assert [repair.table for repair in planned.repairs] == [
        "accounts",
        "ai_sessions",
        "trees",
        "users",
    ]
    assert planned.describe()[2:6] == [
        "would add flowpilot_analytics_bound and flowpilot_analytics_tenant on accounts (for "
        "members of flowpilot_analytics only, which stay bound to one account): nothing "
        "changes for the product's roles on accounts",
        "would add flowpilot_analytics_bound and flowpilot_analytics_tenant on ai_sessions "
        "(for members of flowpilot_analytics only, which stay bound to one account): nothing "
        "changes for the product's roles on ai_sessions",
        "would repair trees as an earlier adoption left it: add policy "
        "flowpilot_analytics_others (every role outside flowpilot_analytics sees and changes "
        "every row; row-level security stays on, not forced); drop policy tenant_isolation "
        "(it applied to every role); stop forcing row-level security (its owner is no longer "
        "bound); add flowpilot_analytics_bound and flowpilot_analytics_tenant (for members of "
        "flowpilot_analytics only): product roles will again see all rows of trees and may "
        "write any row of it, as before the earlier adoption; members of flowpilot_analytics "
        "stay bound to one account",
        "would repair users as an earlier adoption left it: stop forcing row-level security "
        "(its owner is no longer bound); add flowpilot_analytics_bound and "
        "flowpilot_analytics_tenant (for members of flowpilot_analytics only): product roles "
        "keep the rows of users the product's own policies give them, and its owner is no "
        "longer bound by them, as before the earlier adoption; members of flowpilot_analytics "
        "stay bound to one account",
    ]

    await adopt(product)

    assert await observe(url, product_role) == PRODUCT_ROLE_SEES
    after_tables, after_policies = await security(product)
    # As before the earlier adoption, but trees keeps row-level security on (not forced):
    # it binds the API's role, and the others policy gives every other role every row.
    # (The grants differ by the API's role's, until it is dropped below.)
    assert {row[:4] for row in after_tables if row[0] != "trees"} == {
        row[:4] for row in tables if row[0] != "trees"
    }
    assert {row[:3] for row in after_tables if row[0] == "trees"} == {("trees", True, False)}
    assert after_policies == policies | ours("trees", others=True) | set().union(
        *(ours(table) for table in PRODUCT_TABLES)
    )
    records = await _records(product)
    assert {r for r in records if not r[0].startswith(("index", "backfill"))} == {
        ("group_role", "flowpilot_analytics"),
        ("row_security", "trees"),
        ("policy_others", "trees"),
        *((kind, table) for table in PRODUCT_TABLES for kind in ("policy_bound", "policy_tenant")),
    }

    # A second run finds nothing to repair and changes nothing.
    assert (await _plan(product)).repairs == []
    await adopt(product)
    assert await security(product) == (after_tables, after_policies)
    assert await _records(product) == records

    # The API's role, now a member of the group, reads one account only: by the new
    # policies, and on trees though the product's roles see every account's flows there.
    # (It reads no users; granted above, the policies must bind it on that table too.)
    try:
        assert await _bound_counts(url, name, None) == (0, 0, 0, 0)
        assert await _bound_counts(url, name, ACME) == (1, 1, 3, 7)
        assert await _bound_counts(url, name, GLOBEX) == (1, 0, 0, 1)
        assert await _foreign_insert(url, name) == "42501"
    finally:
        async with product.begin() as connection:
            await drop_app_role(connection, name)

    # The records are today's: a downgrade gives the product back its tables as they were.
    async with product.begin() as connection:
        await migrate.downgrade(connection, "base")
    assert await security(product) == (tables, policies)


async def test_a_tenant_isolation_policy_the_earlier_adoption_did_not_leave_is_refused(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    await _trees_without_row_level_security(product)
    await adopt_as_earlier_releases_did(product)
    async with product.begin() as connection:
        await connection.execute(
            text(
                "ALTER POLICY tenant_isolation ON trees "
                "USING (account_id = current_setting('app.tenant', true)::uuid)"
            )
        )
    before: tuple[Any, ...] = (await security(product), await _records(product))

    planned = await _plan(product)
    assert planned.repairs == [] and planned.group is None
    assert planned.differences == [
        "trees: an earlier adoption recorded policy tenant_isolation and forced row-level "
        "security, found policy tenant_isolation for every role, permissive, command *, "
        "USING (account_id = (current_setting('app.tenant'::text, true))::uuid), "
        "WITH CHECK (account_id = "
        "(current_setting('app.current_account_id'::text, true))::uuid), row-level security "
        "forced: not what it left, so it is not repaired; make trees as the product needs it "
        "(e.g. `DROP POLICY tenant_isolation ON trees` if the product does not use it, "
        "`DELETE FROM analytics_adoption WHERE subject = 'trees' AND kind IN ('policy', "
        "'rls_forced', 'rls_enabled')` once it is), then run migrate again"
    ]
    with pytest.raises(adoption.RepairRefused) as refused:
        await adopt(product)
    assert refused.value.lines == planned.differences
    assert (await security(product), await _records(product)) == before
    # The product role sees what the earlier adoption left it: no flow.
    assert (await observe(empty_database_url, product_role))["trees"] == 0


async def test_a_repair_waits_for_a_product_lock_only_as_long_as_the_timeout_and_resumes(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    url = empty_database_url
    await _trees_without_row_level_security(product)
    tables, policies = await security(product)
    await adopt_as_earlier_releases_did(product)
    # A product transaction that has read trees and stays open: the repair of trees needs
    # ACCESS EXCLUSIVE on it, so it gives up after 100 ms, is retried once, then stops.
    reader = await asyncpg.connect(asyncpg_dsn(url))
    policy = LockPolicy(timeout_ms=100, retries=1, first_pause_s=0.01)
    progress: list[str] = []
    try:
        reading = reader.transaction()
        await reading.start()
        await reader.fetchval("SELECT count(*) FROM trees")
        with pytest.raises(LockNotGranted, match="run migrate again to go on"):
            async with product.connect() as connection:
                await connection.run_sync(adoption.adopt, "head", False, policy, progress.append)
        await reading.rollback()
    finally:
        await reader.close()
    assert [line.split(" (CREATE")[0] for line in progress] == [
        "migrate: repairing table trees: lock not granted within 100 ms"
    ]
    # The group and the tables before trees were repaired and stay so; trees and users wait.
    planned = await _plan(product)
    assert [repair.table for repair in planned.repairs] == ["trees", "users"]
    assert (await observe(url, product_role))["trees"] == 0

    await adopt(product)
    assert await observe(url, product_role) == PRODUCT_ROLE_SEES
    after_tables, after_policies = await security(product)
    assert after_policies == policies | ours("trees", others=True) | set().union(
        *(ours(table) for table in PRODUCT_TABLES)
    )
    assert {row[:3] for row in after_tables} == {
        row[:3] if row[0] != "trees" else ("trees", True, False) for row in tables
    }
    assert (await _plan(product)).repairs == []


async def test_a_database_an_earlier_release_left_at_an_older_revision_is_repaired_then_upgraded(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    url = empty_database_url
    await _trees_without_row_level_security(product)
    await adopt_as_earlier_releases_did(product)
    async with product.begin() as connection:
        await migrate.downgrade(connection, "0006_flow_name_order_index")
    name = f"fp_api_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        await ensure_app_role(connection, name, PASSWORD)
        await connection.execute(text(f"GRANT SELECT ON users TO {name}"))
    # (At 0006 the rollup triggers ran as the writer, so the product role's session writes
    # failed as well; 0009 made them run as their owner.)
    assert (await observe(url, product_role))["trees"] == 0

    planned = await _plan(product)
    assert planned.members == [name]
    assert [repair.table for repair in planned.repairs] == [
        "accounts",
        "ai_sessions",
        "trees",
        "users",
    ]
    assert planned.revisions[0] == "0007_account_id_function_grants"

    await adopt(product)
    assert await observe(url, product_role) == PRODUCT_ROLE_SEES
    async with product.connect() as connection:
        assert await migrate.current_revision(connection) == migrate.head_revision()
    try:
        assert await _bound_counts(url, name, ACME) == (1, 1, 3, 7)
        assert await _bound_counts(url, name, GLOBEX) == (1, 0, 0, 1)
    finally:
        async with product.begin() as connection:
            await drop_app_role(connection, name)


async def test_a_table_with_row_level_security_and_no_policy_of_its_own_gets_none_back(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    # users: row-level security on, not forced, no policy: only its owner saw its rows, so
    # the earlier adoption forced it and added tenant_isolation there.
    async with product.begin() as connection:
        await connection.execute(text("DROP POLICY users_own ON users"))
    tables, policies = await security(product)
    seen = await observe(empty_database_url, product_role)
    assert (seen["users"], seen["insert user"]) == (0, "42501")
    earlier = await adopt_as_earlier_releases_did(product)
    assert [record for record in earlier if record[1] == "users"] == [
        ("rls_forced", "users"),
        ("policy", "users"),
    ]

    planned = await _plan(product)
    users = [repair.description for repair in planned.repairs if repair.table == "users"]
    assert users == [
        "repair users as an earlier adoption left it: drop policy tenant_isolation (it "
        "applied to every role); stop forcing row-level security (its owner is no longer "
        "bound); add flowpilot_analytics_bound and flowpilot_analytics_tenant (for members "
        "of flowpilot_analytics only): product roles see the rows of users the product's own "
        "policies give them (none: it has none, so only its owner sees rows), as before the "
        "earlier adoption; members of flowpilot_analytics stay bound to one account"
    ]
    await adopt(product)
    assert await observe(empty_database_url, product_role) == seen
    after_tables, after_policies = await security(product)
    assert after_tables == tables
    assert after_policies == policies | set().union(*(ours(table) for table in PRODUCT_TABLES))
