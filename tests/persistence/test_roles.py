"""The API's database role: an ordinary login role that row-level security binds, with the
privileges the API uses and no others."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn, create_engine
from persistence.models import Account, Tree
from persistence.models.rollups import ROLLUP_TABLES
from persistence.models.versions import VERSION_TABLES
from persistence.models.write import WRITE_TABLES
from persistence.operations.migrate import upgrade_engine
from persistence.operations.roles import (
    RoleNameError,
    SchemaCreateError,
    check_role_name,
    drop_app_role,
    ensure_app_role,
)
from persistence.tenancy import account_transaction


@pytest.fixture
async def app_role(engine: AsyncEngine) -> AsyncIterator[str]:
    name = f"fp_app_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as connection:
        await ensure_app_role(connection, name, "s3cret'pw")
        await ensure_app_role(connection, name, "s3cret'pw")  # idempotent
    yield name
    async with engine.begin() as connection:
        await drop_app_role(connection, name)


async def _two_accounts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[uuid.UUID, uuid.UUID]:
    ids = (uuid.uuid4(), uuid.uuid4())
    for index, account_id in enumerate(ids):
        async with account_transaction(sessionmaker, account_id) as session:
            session.add(Account(id=account_id, name=f"Roles test {index}"))
            await session.flush()
            for flow in range(index + 2):  # 2 flows for the first, 3 for the second
                session.add(Tree(id=uuid.uuid4(), account_id=account_id, name=f"flow {flow}"))
    return ids


def _as_role(database_url: str, role: str) -> str:
    url = make_url(database_url).set(username=role, password="s3cret'pw")
    return asyncpg_dsn(url.render_as_string(hide_password=False))


async def test_app_role_is_not_privileged(engine: AsyncEngine, app_role: str) -> None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb "
                    "FROM pg_roles WHERE rolname = :name"
                ),
                {"name": app_role},
            )
        ).one()
    assert tuple(row) == (False, False, True, False, False)


async def test_app_role_sees_only_the_bound_account(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    app_role: str,
) -> None:
    first, second = await _two_accounts(sessionmaker)
    connection = await asyncpg.connect(_as_role(database_url, app_role))
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(first)
            )
            mine = await connection.fetchval(
                "SELECT count(*) FROM trees WHERE account_id = $1", first
            )
            theirs = await connection.fetchval(
                "SELECT count(*) FROM trees WHERE account_id = $1", second
            )
            visible_accounts = await connection.fetch("SELECT id FROM accounts")
        assert (mine, theirs) == (2, 0)
        assert [row["id"] for row in visible_accounts] == [first]

        # Writing into another account is refused by the policy's WITH CHECK.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(first)
                )
                await connection.execute(
                    "INSERT INTO psa_activity_log (id, account_id, activity_type, "
                    "psa_ticket_id, provider, external_id) "
                    "VALUES ($1, $2, 'note_posted', 'T-1', 'connectwise', 'sneaky')",
                    uuid.uuid4(),
                    second,
                )

        # Reads the migration revision, cannot change it.
        assert await connection.fetchval("SELECT count(*) FROM alembic_version") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM alembic_version")
    finally:
        await connection.close()

    # On a connection that never set the account, nothing is visible at all.
    fresh = await asyncpg.connect(_as_role(database_url, app_role))
    try:
        assert await fresh.fetchval("SELECT count(*) FROM trees") == 0
    finally:
        await fresh.close()


async def test_app_role_refuses_bad_and_owner_names(engine: AsyncEngine) -> None:
    for bad in ("Robert'); DROP", "pg_app", "public", "9lives", ""):
        with pytest.raises(RoleNameError):
            check_role_name(bad)
    async with engine.connect() as connection:
        me = (await connection.execute(text("SELECT current_user"))).scalar_one()
        with pytest.raises(RoleNameError):
            await ensure_app_role(connection, me, None)
        await connection.rollback()


# The API's rights, derived from its SQL: table-level, then column-level.
EXPECTED_TABLE_PRIVILEGES = {
    ("accounts", "SELECT"),
    ("trees", "SELECT"),
    ("ai_sessions", "SELECT"),
    ("psa_activity_log", "SELECT"),
    ("psa_activity_log", "INSERT"),
    *((table, kind) for table in WRITE_TABLES for kind in ("SELECT", "INSERT", "UPDATE")),
    *(("domain_aliases", kind) for kind in ("SELECT", "INSERT", "DELETE")),
    *(("domain_alias_events", kind) for kind in ("SELECT", "INSERT")),
    *(
        (table, "SELECT")
        for table in (
            "rollup_session_blocks",
            "rollup_flow_blocks",
            "rollup_psa_days",
            "rollup_psa_time_chains",
            "account_data_versions",
            "data_version_epoch",
            "alembic_version",
        )
    ),
}
EXPECTED_COLUMN_PRIVILEGES = {
    ("trees", "usage_count", "UPDATE"),
    ("trees", "last_matched_at", "UPDATE"),
    ("trees", "success_rate", "UPDATE"),
    ("ai_sessions", "matched_flow_id", "UPDATE"),
    ("ai_sessions", "match_confidence", "UPDATE"),
}
_TABLE_PRIVILEGES = """
SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = to_regrole($1)
"""
_COLUMN_PRIVILEGES = """
SELECT c.relname, t.attname, a.privilege_type
FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) a
WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = to_regrole($1)
"""
# What create-app-role granted before: every table and sequence, now and later.
_EARLIER_GRANTS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
    "ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
)
DERIVED_TABLES = (*ROLLUP_TABLES, *VERSION_TABLES)


@pytest.fixture
async def head_database(empty_database_url: str) -> AsyncIterator[str]:
    """A database of its own at head, so product tables can be added to it."""
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    yield empty_database_url


async def _refused(connection: asyncpg.Connection, statement: str) -> str:
    with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
        async with connection.transaction():
            await connection.execute(statement)
    return str(refused.value)


async def test_a_re_run_leaves_only_what_the_api_reads_and_writes(head_database: str) -> None:
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    owner = await asyncpg.connect(asyncpg_dsn(head_database))
    engine = create_engine(head_database, pool_size=1, max_overflow=0)
    try:
        # A product table the analytics never use, there before the role's first run.
        await owner.execute(
            "CREATE TABLE api_keys (account_id uuid, secret text); "
            "INSERT INTO api_keys VALUES (gen_random_uuid(), 'k-1')"
        )
        await owner.execute(f"CREATE ROLE {role} LOGIN")
        for statement in _EARLIER_GRANTS:
            await owner.execute(statement.format(role=role))
        async with engine.begin() as connection:
            await ensure_app_role(connection, role, "s3cret'pw")
        # ...and one the product adds later.
        await owner.execute("CREATE TABLE later_keys (secret text)")

        tables = {tuple(row) for row in await owner.fetch(_TABLE_PRIVILEGES, role)}
        columns = {tuple(row) for row in await owner.fetch(_COLUMN_PRIVILEGES, role)}
        assert tables == EXPECTED_TABLE_PRIVILEGES
        assert columns == EXPECTED_COLUMN_PRIVILEGES
        defaults = "SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a "
        assert await owner.fetchval(defaults + "WHERE a.grantee = to_regrole($1)", role) == 0
        assert not await owner.fetchval(
            "SELECT has_sequence_privilege($1, 'public.data_version_seq', 'USAGE')", role
        )

        as_role = await asyncpg.connect(_as_role(head_database, role))
        try:
            for statement in (
                "SELECT * FROM api_keys",
                "INSERT INTO api_keys VALUES (gen_random_uuid(), 'mine')",
                "UPDATE api_keys SET secret = 'stolen'",
                "DELETE FROM api_keys",
                "SELECT * FROM later_keys",
                "SELECT * FROM users",
                "DELETE FROM ai_sessions",
                "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at) "
                "VALUES (gen_random_uuid(), gen_random_uuid(), 'x', 'active', now())",
                "UPDATE trees SET name = 'renamed'",
                "DELETE FROM trees",
                "UPDATE accounts SET timezone = 'UTC'",
                "DELETE FROM psa_outbox",
                "DELETE FROM psa_connections",
                "SELECT nextval('data_version_seq')",
                *(f"DELETE FROM {table}" for table in DERIVED_TABLES),
                *(f"UPDATE {table} SET account_id = account_id" for table in ROLLUP_TABLES),
                "UPDATE account_data_versions SET version = 0",
                "UPDATE data_version_epoch SET epoch = gen_random_uuid()",
                "INSERT INTO data_version_epoch VALUES (gen_random_uuid())",
                "INSERT INTO account_data_versions VALUES (gen_random_uuid(), 1)",
            ):
                assert "permission denied" in await _refused(as_role, statement), statement
            # What a flow match and the success-rate job do is allowed (RLS binds it).
            assert await as_role.execute(
                "UPDATE trees SET usage_count = usage_count + 1, success_rate = NULL, "
                "last_matched_at = now()"
            ) == ("UPDATE 0")
        finally:
            await as_role.close()
        async with engine.begin() as connection:
            await drop_app_role(connection, role)
    finally:
        await engine.dispose()
        await owner.close()


async def test_a_role_that_could_create_in_public_is_refused(head_database: str) -> None:
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    engine = create_engine(head_database, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            # PostgreSQL 14 and earlier grant this by default.
            await connection.execute(text("GRANT CREATE ON SCHEMA public TO PUBLIC"))
            with pytest.raises(SchemaCreateError, match="REVOKE CREATE ON SCHEMA public FROM"):
                await ensure_app_role(connection, role, None)
            await connection.rollback()
        async with engine.begin() as connection:
            await ensure_app_role(connection, role, None)  # without it, accepted
            creates = "SELECT has_schema_privilege(:role, 'public', 'CREATE')"
            assert not (await connection.execute(text(creates), {"role": role})).scalar()
            await drop_app_role(connection, role)
    finally:
        await engine.dispose()
