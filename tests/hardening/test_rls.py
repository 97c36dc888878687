"""Row-level security binds the API's role: without any WHERE, only the bound account."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn
from tests.hardening.support import tenant_with_data

TABLES = ("trees", "ai_sessions", "psa_activity_log", "accounts")


async def test_unfiltered_reads_as_the_app_role_see_only_the_bound_account(
    app_role_database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await tenant_with_data(sessionmaker, "A")
    second = await tenant_with_data(sessionmaker, "B")
    connection = await asyncpg.connect(asyncpg_dsn(app_role_database_url))
    try:
        assert not await connection.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        # With no account bound yet on this connection, nothing at all.
        for table in TABLES:
            assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(first.account_id)
            )
            # No account filter at all: the policy is the only thing in the way.
            sessions = await connection.fetch("SELECT account_id FROM ai_sessions")
            flows = await connection.fetch("SELECT account_id, name FROM trees")
            pushes = await connection.fetchval("SELECT count(*) FROM psa_activity_log")
            accounts = await connection.fetch("SELECT id FROM accounts")
        assert {row["account_id"] for row in sessions} == {first.account_id}
        assert len(sessions) == 1
        assert [(row["account_id"], row["name"]) for row in flows] == [
            (first.account_id, "A secret flow")
        ]
        assert pushes == 2
        assert [row["id"] for row in accounts] == [first.account_id]
        # Another account's rows cannot be changed either: the update matches none.
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(first.account_id)
            )
            # usage_count: a column the API's role may update (a flow match raises it).
            changed = await connection.execute(
                "UPDATE trees SET usage_count = 999 WHERE account_id = $1", second.account_id
            )
        assert changed == "UPDATE 0"
    finally:
        await connection.close()
    async with sessionmaker() as session:  # the owner still sees B's flow untouched
        row = (
            await session.execute(
                text("SELECT name, usage_count FROM trees WHERE account_id = :id"),
                {"id": second.account_id},
            )
        ).one()
    assert tuple(row) == ("B secret flow", 1)
