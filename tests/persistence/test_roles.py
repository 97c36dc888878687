"""The API's database role: an ordinary login role that row-level security binds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn
from persistence.models import Account, Tree
from persistence.roles import RoleNameError, check_role_name, drop_app_role, ensure_app_role
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
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(first)
                )
                await connection.execute(
                    "INSERT INTO trees (id, account_id, name) VALUES ($1, $2, 'sneaky')",
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
