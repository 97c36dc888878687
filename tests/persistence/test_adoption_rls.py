"""Adoption leaves the product's row-level security, policies, grants and owners as they
were: a product role that never sets `app.current_account_id` sees and writes the same
rows before and after `migrate`, while the API's role is bound to one account.

The product database is tests/persistence/product_database.py's, with its rows (Acme:
3 flows, 7 sessions, 1 user; Globex: 1 session), a product role of its own that its
policies let see every flow and session, and a product policy that shows every
account's published flows to every role.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.engine import asyncpg_dsn, create_engine
from persistence.operations import adoption, migrate
from persistence.operations.backfill import backfill
from persistence.operations.product_rls import group_difference, group_step, unbound_role
from persistence.operations.product_schema import PRODUCT_TABLES
from persistence.operations.roles import drop_app_role, ensure_app_role
from tests.graphql_client import running_app, settings_for_tests, token_for
from tests.persistence.product_database import create_product_tables
from tests.persistence.test_adoption import ACME, GLOBEX, QUERIES, insert_product_rows

PASSWORD = "product-role-password"
GROUP = "flowpilot_analytics"

# What each write does, or the SQLSTATE it fails with (each one rolled back).
WRITES = {
    "insert flow": f"INSERT INTO trees (id, account_id, name) "
    f"VALUES (gen_random_uuid(), '{ACME}', 'probe')",
    "rename flows": "UPDATE trees SET name = name || ''",
    "insert session": "INSERT INTO ai_sessions (id, account_id, status, started_at) "
    f"VALUES (gen_random_uuid(), '{GLOBEX}', 'active', now())",
    "resolve sessions": "UPDATE ai_sessions SET status = 'resolved', resolved_at = now() "
    "WHERE status = 'active'",
    "delete sessions": "DELETE FROM ai_sessions WHERE status = 'abandoned'",
    "insert user": "INSERT INTO users (id, account_id, email, role) "
    f"VALUES (gen_random_uuid(), '{ACME}', 'probe@acme.test', 'engineer')",
    "rename accounts": "UPDATE accounts SET name = name || ''",
}

# The product role, no account set: accounts and users only through their tenant policies
# (so none), every flow and session through its own policy; its insert into users fails
# the users policy (42501), as the product has it.
PRODUCT_ROLE_SEES = {
    "accounts": 0,
    "users": 0,
    "trees": 3,
    "ai_sessions": 8,
    "insert flow": "INSERT 0 1",
    "rename flows": "UPDATE 3",
    "insert session": "INSERT 0 1",
    "resolve sessions": "UPDATE 1",
    "delete sessions": "DELETE 1",
    "insert user": "42501",
    "rename accounts": "UPDATE 0",
}

_TABLES_SQL = (
    "SELECT relname, relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), "
    "relacl::text FROM pg_class WHERE relnamespace = 'public'::regnamespace "
    "AND relname = ANY(:names)"
)
_POLICIES_SQL = (
    "SELECT polrelid::regclass::text, polname, polpermissive, polcmd::text, "
    "polroles::regrole[]::text, pg_get_expr(polqual, polrelid), "
    "pg_get_expr(polwithcheck, polrelid) FROM pg_policy "
    "WHERE polrelid::regclass::text = ANY(:names)"
)


@pytest.fixture
async def product(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=2, max_overflow=0)
    async with engine.begin() as connection:
        await create_product_tables(connection)
    await insert_product_rows(engine, datetime.now(UTC))
    yield engine
    await engine.dispose()


@pytest.fixture
async def product_role(product: AsyncEngine) -> AsyncIterator[str]:
    """A role of the product's: no superuser, no BYPASSRLS, not the owner, no account set."""
    name = f"fp_product_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        for statement in (
            f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}' NOSUPERUSER NOBYPASSRLS",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, users, trees, ai_sessions "
            f"TO {name}",
            f"CREATE POLICY product_backend ON ai_sessions TO {name} USING (true) "
            "WITH CHECK (true)",
            f"CREATE POLICY product_backend ON trees TO {name} USING (true) WITH CHECK (true)",
            "CREATE POLICY published_for_all ON trees FOR SELECT USING (status = 'published')",
        ):
            await connection.execute(text(statement))
    yield name
    async with product.begin() as connection:
        await drop_app_role(connection, name)


def _as(url: str, role: str) -> str:
    rendered = make_url(url).set(username=role, password=PASSWORD)
    return asyncpg_dsn(rendered.render_as_string(hide_password=False))


async def observe(url: str, role: str) -> dict[str, Any]:
    """What `role` counts in each product table, and what each write does (rolled back)."""
    connection = await asyncpg.connect(_as(url, role))
    try:
        seen: dict[str, Any] = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in PRODUCT_TABLES
        }
        for name, statement in WRITES.items():
            transaction = connection.transaction()
            await transaction.start()
            try:
                seen[name] = await connection.execute(statement)
            except asyncpg.PostgresError as error:
                seen[name] = error.sqlstate
            finally:
                await transaction.rollback()
        return seen
    finally:
        await connection.close()


async def _rows(connection: AsyncConnection, sql: str) -> set[tuple[Any, ...]]:
    result = await connection.execute(text(sql), {"names": list(PRODUCT_TABLES)})
    return {tuple(row) for row in result}


async def security(engine: AsyncEngine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The product tables' RLS flags, owners and grants; their policies."""
    async with engine.connect() as connection:
        return await _rows(connection, _TABLES_SQL), await _rows(connection, _POLICIES_SQL)


def ours(table: str, others: bool = False) -> set[tuple[Any, ...]]:
    """The analytics' policies on `table`, as _POLICIES_SQL reads them."""
    key = "id" if table == "accounts" else "account_id"
    bound = f"({key} = (current_setting('app.current_account_id'::text, true))::uuid)"
    rows = {
        (table, "flowpilot_analytics_bound", False, "*", "{flowpilot_analytics}", bound, bound),
        (table, "flowpilot_analytics_tenant", True, "*", "{flowpilot_analytics}", bound, bound),
    }
    if others:
        outside = "( SELECT (NOT pg_has_role(CURRENT_USER, 'flowpilot_analytics'::name, "
        outside += "'MEMBER'::text)))"
        rows.add((table, "flowpilot_analytics_others", True, "*", "{-}", outside, outside))
    return rows


async def adopt(engine: AsyncEngine, enable_row_security: bool = False) -> adoption.Plan:
    async with engine.connect() as connection:  # the adoption commits step by step
        return await connection.run_sync(adoption.adopt, "head", enable_row_security)


async def test_the_product_role_sees_and_writes_the_same_rows_and_its_security_stays(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    assert await observe(empty_database_url, product_role) == PRODUCT_ROLE_SEES
    tables, policies = await security(product)

    await adopt(product)
    await backfill(product)

    assert await observe(empty_database_url, product_role) == PRODUCT_ROLE_SEES
    after_tables, after_policies = await security(product)
    # Row-level security on and forced where it was (users and trees not forced), the same
    # owner and grants; the product's five policies as they were, and ours beside them.
    assert after_tables == tables
    assert {(t, on, forced) for t, on, forced, *_rest in tables} == {
        ("accounts", True, True),
        ("users", True, False),
        ("trees", True, False),
        ("ai_sessions", True, True),
    }
    assert after_policies == policies | set().union(*(ours(table) for table in PRODUCT_TABLES))
    assert len(policies) == 7


async def _bound_counts(url: str, role: str, account: uuid.UUID | None) -> tuple[int, ...]:
    connection = await asyncpg.connect(_as(url, role))
    try:
        async with connection.transaction():
            if account is not None:
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(account)
                )
            return tuple(
                [await connection.fetchval(f"SELECT count(*) FROM {t}") for t in PRODUCT_TABLES]
            )
    finally:
        await connection.close()


async def _foreign_insert(url: str, role: str) -> str:
    """Bound to Acme, the role adds a flow to Globex: the SQLSTATE it fails with."""
    connection = await asyncpg.connect(_as(url, role))
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(ACME)
            )
            await connection.execute(
                "INSERT INTO trees (id, account_id, name) VALUES (gen_random_uuid(), $1, 'x')",
                GLOBEX,
            )
    except asyncpg.PostgresError as error:
        return str(error.sqlstate)
    finally:
        await connection.close()
    return "inserted"


@pytest.fixture
async def api_role(product: AsyncEngine) -> AsyncIterator[str]:
    """The API's role as `create-app-role` makes it, after adoption."""
    await adopt(product)
    await backfill(product)
    name = f"fp_api_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        await ensure_app_role(connection, name, PASSWORD)
    yield name
    async with product.begin() as connection:
        await drop_app_role(connection, name)


async def test_the_api_role_is_bound_to_one_account_on_every_product_table(
    product: AsyncEngine, product_role: str, api_role: str, empty_database_url: str
) -> None:
    url = empty_database_url
    # (accounts, ai_sessions, trees, users) in PRODUCT_TABLES' order.
    assert PRODUCT_TABLES == ("accounts", "users", "trees", "ai_sessions")
    # The API reads no users (create-app-role grants nothing there); granted here, the
    # policies must bind the role on that table too.
    async with product.begin() as connection:
        await connection.execute(text(f"GRANT SELECT ON users TO {api_role}"))
    assert await _bound_counts(url, api_role, None) == (0, 0, 0, 0)
    assert await _bound_counts(url, api_role, ACME) == (1, 1, 3, 7)
    # Globex sees none of Acme's flows, though the product shows its published ones to all.
    assert await _bound_counts(url, api_role, GLOBEX) == (1, 0, 0, 1)
    assert await _foreign_insert(url, api_role) == "42501"
    async with product.connect() as connection:
        await connection.execute(text(f"SET ROLE {api_role}"))
        assert await unbound_role(connection) is None
        await connection.execute(text(f"SET ROLE {product_role}"))
        assert await unbound_role(connection) == (
            f"role {product_role} is not a member of {GROUP}, so row-level security does not "
            "bind it to one account on the product's tables: run "
            f"`python main.py create-app-role --name {product_role}` as the migrating role"
        )


async def test_the_api_serves_each_account_its_own_sessions_as_the_api_role(
    api_role: str, empty_database_url: str
) -> None:
    url = make_url(empty_database_url).set(username=api_role, password=PASSWORD)
    query = (QUERIES / "overview.graphql").read_text()
    async with running_app(settings_for_tests(url.render_as_string(hide_password=False))) as api:
        acme = (await api.data(query, token=token_for(ACME)))["overview"]
        globex = (await api.data(query, token=token_for(GLOBEX)))["overview"]
    # Acme's five FlowPilot sessions of the last 30 days; Globex's one resolved Billing one.
    assert (acme["sessionCount"], acme["resolutionRate"]) == (5, 0.4)
    assert (globex["sessionCount"], globex["resolutionRate"]) == (1, 1.0)
    assert [domain["name"] for domain in globex["domains"]] == ["Billing"]


async def test_a_database_built_by_the_migrations_binds_every_role(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await unbound_role(connection) is None


REFUSAL = (
    "trees: expected row-level security enabled (it binds the analytics' role to one "
    "account), found it off; enabling it would hide every row from the product's roles but "
    "the owner: --enable-row-security enables it with policy flowpilot_analytics_others, "
    "which keeps every row for every role outside flowpilot_analytics"
)


async def _trees_without_row_level_security(product: AsyncEngine) -> None:
    """The product's trees as a product without row-level security on it has them."""
    async with product.begin() as connection:
        await connection.execute(text("ALTER TABLE trees DISABLE ROW LEVEL SECURITY"))
        for policy in ("trees_own", "product_backend", "published_for_all"):
            await connection.execute(text(f"DROP POLICY IF EXISTS {policy} ON trees"))


async def test_a_table_without_row_level_security_is_enabled_only_behind_the_flag(
    product: AsyncEngine, product_role: str, empty_database_url: str
) -> None:
    await _trees_without_row_level_security(product)
    tables, policies = await security(product)
    assert await observe(empty_database_url, product_role) == PRODUCT_ROLE_SEES

    with pytest.raises(adoption.AdoptionRefused) as refused:
        await adopt(product)
    assert refused.value.lines == [REFUSAL]
    assert await security(product) == (tables, policies)

    async with product.connect() as connection:
        planned = await connection.run_sync(adoption.plan, "head", True)
    trees = [(a.kind, a.description) for a in planned.additions if a.subject == "trees"]
    assert [kind for kind, _description in trees] == [
        "policy_bound",
        "policy_tenant",
        "policy_others",
        "row_security",
    ]
    assert trees[3][1] == (
        "enable row-level security on trees (not forced: its owner is not affected): the "
        "product's roles keep every row through flowpilot_analytics_others, but their "
        "conditions with operators that are not leakproof (LIKE, regular expressions, jsonb) "
        "are checked after the policy and can no longer use an index, and their COPY FROM "
        "into it fails"
    )

    await adopt(product, enable_row_security=True)
    await backfill(product)
    assert await observe(empty_database_url, product_role) == PRODUCT_ROLE_SEES
    after_tables, after_policies = await security(product)
    assert {row for row in after_tables if row[0] != "trees"} == {
        row for row in tables if row[0] != "trees"
    }
    assert {row[:3] for row in after_tables if row[0] == "trees"} == {("trees", True, False)}
    others = ours("trees", others=True)
    assert after_policies == policies | others | set().union(
        *(ours(table) for table in PRODUCT_TABLES)
    )
    # A product role with nothing but a grant sees every flow, with one role look-up per
    # statement (an InitPlan), not one per row.
    async with product.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text("CREATE ROLE fp_reader_only NOLOGIN"))
        await connection.execute(text("GRANT SELECT ON trees TO fp_reader_only"))
        await connection.execute(text("SET LOCAL ROLE fp_reader_only"))
        flows = (await connection.execute(text("SELECT count(*) FROM trees"))).scalar_one()
        explain = await connection.execute(text("EXPLAIN SELECT * FROM trees"))
        plan = "\n".join(explain.scalars())
        await transaction.rollback()
    assert flows == 3
    assert "InitPlan" in plan and "Filter: $0" in plan, plan

    async with product.begin() as connection:
        await migrate.downgrade(connection, "base")
    assert await security(product) == (tables, policies)


async def test_the_api_role_is_bound_on_a_table_enabled_behind_the_flag(
    product: AsyncEngine, empty_database_url: str
) -> None:
    await _trees_without_row_level_security(product)
    await adopt(product, enable_row_security=True)
    name = f"fp_api_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        await ensure_app_role(connection, name, PASSWORD)
        await connection.execute(text(f"GRANT SELECT ON users TO {name}"))  # see above
    try:
        url = empty_database_url
        assert await _bound_counts(url, name, None) == (0, 0, 0, 0)
        assert await _bound_counts(url, name, ACME) == (1, 1, 3, 7)
        assert await _bound_counts(url, name, GLOBEX) == (1, 0, 0, 1)
        assert await _foreign_insert(url, name) == "42501"
    finally:
        async with product.begin() as connection:
            await drop_app_role(connection, name)


async def test_policies_that_enabling_would_wake_are_refused_even_with_the_flag(
    product: AsyncEngine,
) -> None:
    async with product.begin() as connection:
        await connection.execute(text("ALTER TABLE trees DISABLE ROW LEVEL SECURITY"))
        await connection.execute(
            text("CREATE POLICY no_archived ON trees AS RESTRICTIVE USING (status <> 'archived')")
        )
    async with product.connect() as connection:
        planned = await connection.run_sync(adoption.plan, "head", True)
    assert planned.differences == [
        "trees: row-level security is off, and enabling it would start applying its "
        "policies (no_archived, trees_own) to the product's roles: enable it when the "
        "product is ready for that, then migrate"
    ]


async def test_the_group_is_created_once_and_only_by_a_role_that_may(product: AsyncEngine) -> None:
    group = f"fp_group_{uuid.uuid4().hex[:10]}"
    migrator = f"fp_migrator_{uuid.uuid4().hex[:10]}"
    async with product.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.execute(text(f"CREATE ROLE {migrator} BYPASSRLS NOCREATEROLE"))
            await connection.execute(text(f"SET LOCAL ROLE {migrator}"))
            refused = await connection.run_sync(group_difference, group)
            await connection.execute(text("RESET ROLE"))
            step = await connection.run_sync(group_step, group)
            await connection.execute(text(step.sql))
            await connection.execute(text(step.sql))  # a second adoption: nothing to do
            again = await connection.run_sync(group_step, group)
            await connection.execute(text(f"SET LOCAL ROLE {migrator}"))
            allowed = await connection.run_sync(group_difference, group)
            created = await connection.execute(
                text("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = :g"), {"g": group}
            )
            attributes = tuple(created.one())
        finally:
            await transaction.rollback()
    assert refused == [
        f"role {migrator}: expected CREATEROLE (to create the role {group}) or that role to "
        "exist, found neither"
    ]
    assert allowed == []
    assert attributes == (False, False)
    assert step.description == (
        f"create the role {group} (no login, no privileges of its own): `create-app-role` "
        "makes the API's role a member, the product's roles are not"
    )
    assert again.description == (
        f"use the role {group}, which the server has already: the policies below apply to "
        "its members only"
    )


@pytest.mark.parametrize(
    "stop_at", ["0004_rollups", "0008_data_versions", "0009_triggers_run_as_owner", "head"]
)
async def test_the_product_writes_as_before_between_the_revisions(
    product: AsyncEngine, product_role: str, empty_database_url: str, stop_at: str
) -> None:
    """`migrate` commits revision by revision: a product write that lands between two of
    them fires the triggers as they then are, and must still succeed (the triggers' own
    writes run as their owner from the moment they exist, not with the product's rights)."""
    before = await observe(empty_database_url, product_role)
    async with product.connect() as connection:
        await connection.run_sync(adoption.adopt, stop_at)
    assert await observe(empty_database_url, product_role) == before
